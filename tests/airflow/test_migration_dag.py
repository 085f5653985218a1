"""The migrate_<id> DAG under Airflow's dag.test(): a run opens PRs, a second run opens none,
a dry run opens none, a failing repo isolates, a malformed spec is an import error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gaggle.fleet import generate_fleet
from gaggle.forges.local import LocalForge

from tests.conftest import MIGRATIONS, ROOT

PYTHON = sys.executable
RUN_DAG = """
import importlib.util, json, sys
path, conf = sys.argv[1], json.loads(sys.argv[2])
spec = importlib.util.spec_from_file_location("dagfile", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
run = module.dag.test(run_conf=conf)
print("DAG-RUN-STATE", run.state)
"""


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("airflow")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "GAGGLE_FORGE_ROOT": str(home / "forge"),
        "GAGGLE_MERGE_POKE_SECONDS": "1",
        "GAGGLE_MERGE_TIMEOUT_SECONDS": "2",
    }
    subprocess.run(
        [PYTHON, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True
    )
    repos = generate_fleet(home / "forge", 4, seed=4)
    forge = LocalForge(home / "forge")
    for repo in repos:
        forge.init_repo(repo.name)
    return env


def _run(
    env: dict, conf: dict | None = None, dag_file: Path = ROOT / "dags" / "migrate_users_v2.py"
):
    result = subprocess.run(
        [PYTHON, "-c", RUN_DAG, str(dag_file), json.dumps(conf or {})],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return result


def _prs(env: dict) -> dict[str, dict]:
    forge = LocalForge(Path(env["GAGGLE_FORGE_ROOT"]))
    return {repo: forge.records(repo) for repo in forge.repos()}


def test_a_dry_run_opens_no_pr(airflow_home):
    result = _run(airflow_home, {"dry_run": True})
    assert "DAG-RUN-STATE success" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
    assert all(not records for records in _prs(airflow_home).values())


def test_a_run_opens_prs_and_a_second_run_opens_none(airflow_home):
    first = _run(airflow_home)
    assert "DAG-RUN-STATE success" in first.stdout, first.stdout[-3000:] + first.stderr[-3000:]
    opened = {repo: records for repo, records in _prs(airflow_home).items() if records}
    assert opened and all(len(records) == 1 for records in opened.values())
    heads = {repo: next(iter(r.values()))["number"] for repo, r in opened.items()}
    second = _run(airflow_home)
    assert "DAG-RUN-STATE success" in second.stdout
    again = {repo: records for repo, records in _prs(airflow_home).items() if records}
    assert {repo: next(iter(r.values()))["number"] for repo, r in again.items()} == heads


def test_a_malformed_spec_is_an_import_error_of_its_own_dag_file(tmp_path, airflow_home):
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS / "users_v2", migrations / "users_v2")
    yaml = migrations / "users_v2" / "migration.yaml"
    yaml.write_text(yaml.read_text().replace("title:", "titel:"))
    code = (
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(ROOT / 'dags')!r})\n"
        "print(list(bag.import_errors.values()))\n"
    )
    env = {**airflow_home, "GAGGLE_MIGRATIONS": str(migrations)}
    result = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True)
    assert "titel: is not a known key" in result.stdout, result.stdout + result.stderr


def test_airflows_plugin_scanner_never_imports_the_engine_as_top_level_modules():
    from airflow._shared.module_loading import find_path_from_directory

    scanned = list(find_path_from_directory(str(ROOT / "plugins"), ".airflowignore", "glob"))
    assert not [p for p in scanned if "/gaggle/" in p or "/gaggle_airflow/" in p]


def test_every_migration_folder_has_its_dag_and_the_dag_folder_imports_cleanly(airflow_home):
    folders = sorted(p.name for p in MIGRATIONS.iterdir() if (p / "migration.yaml").is_file())
    assert all((ROOT / "dags" / f"migrate_{name}.py").is_file() for name in folders)
    code = (
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(ROOT / 'dags')!r})\n"
        "print(sorted(bag.dag_ids), bag.import_errors)\n"
    )
    result = subprocess.run([PYTHON, "-c", code], env=airflow_home, capture_output=True, text=True)
    assert result.stdout.strip().endswith(f"{[f'migrate_{n}' for n in folders]} {{}}"), (
        result.stderr
    )
