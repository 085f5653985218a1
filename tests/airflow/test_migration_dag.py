"""The migrate_<id> DAG under Airflow's dag.test(): a run opens PRs, a second run opens none,
a dry run opens none, a failing repo isolates, a malformed spec is an import error."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gaggle.fleet import generate_fleet
from gaggle.forges.local import LocalForge
from gaggle.spec import load_migration

from tests.conftest import MIGRATIONS, ROOT

PYTHON = sys.executable
NAMED = load_migration(MIGRATIONS / "users_v2").consumers.repos  # the spec's explicit list
RUN_DAG = """
import importlib.util, json, sys
path, conf = sys.argv[1], json.loads(sys.argv[2])
spec = importlib.util.spec_from_file_location("dagfile", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
run = module.dag.test(run_conf=conf)
print("DAG-RUN-STATE", run.state)
from airflow.utils.session import create_session
from airflow.models import TaskInstance
with create_session() as session:
    for ti in session.query(TaskInstance).filter_by(run_id=run.run_id, dag_id=run.dag_id):
        print("TI", ti.task_id, ti.map_index, ti.state, ti.pool, ti.rendered_map_index)
    from airflow.models.xcom import XComModel
    for xcom in session.query(XComModel).filter_by(run_id=run.run_id, dag_id=run.dag_id):
        print("XCOM", xcom.task_id, xcom.map_index, xcom.key, len(json.dumps(xcom.value)))
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
        "GAGGLE_TASK_RETRIES": "1",
        "GAGGLE_RETRY_SECONDS": "1",
    }
    subprocess.run(
        [PYTHON, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True
    )
    subprocess.run(
        [PYTHON, "-m", "airflow", "pools", "import", str(ROOT / "include/airflow/pools.json")],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    repos = generate_fleet(home / "forge", 4, seed=4, named=NAMED)
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
    xcoms = [line.split()[1:] for line in first.stdout.splitlines() if line.startswith("XCOM ")]
    assert len(xcoms) >= 4 * len(opened)  # the four steps before the merge wait, per repo
    # One small return value per task: no key of a returned dict pushed on its own (each
    # is a round trip to the API server), no diff or file contents in XCom.
    assert {key for _, _, key, _ in xcoms} == {"return_value"}, xcoms
    assert max(int(size) for *_, size in xcoms) < 2000, xcoms
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
    expected = sorted([f"migrate_{n}" for n in folders] + ["gaggle_status_sweep"])
    assert result.stdout.strip().endswith(f"{expected} {{}}"), result.stderr


def _task_states(result) -> dict[tuple[str, int], tuple[str, str]]:
    found = {}
    for line in result.stdout.splitlines():
        if line.startswith("TI "):
            _, task_id, map_index, state, pool, _label = line.split()
            found[(task_id, int(map_index))] = (state, pool)
    return found


@pytest.fixture
def own_fleet(airflow_home, tmp_path) -> dict:
    """A fresh forge and ledger for one test, through the `gaggle_ledger` connection."""
    env = {
        **airflow_home,
        "GAGGLE_FORGE_ROOT": str(tmp_path / "forge"),
        "AIRFLOW_CONN_GAGGLE_LEDGER": f"sqlite:///{tmp_path / 'ledger.db'}",
    }
    forge = LocalForge(tmp_path / "forge")
    for repo in generate_fleet(tmp_path / "forge", 6, seed=11, named=NAMED):
        forge.init_repo(repo.name)
    done_by_hand = tmp_path / "forge" / "acme" / "migrated-by-hand"  # search hits a comment
    (done_by_hand / "sql").mkdir(parents=True)
    (done_by_hand / "sql" / "report.sql").write_text(
        "-- moved off core.users_v1 last year\nselect user_id from `acme-prod.core.users_v2`\n"
    )
    forge.init_repo("acme/migrated-by-hand")
    return env


def _ledger(env: dict):
    from gaggle.ledger import Ledger

    return Ledger(env["AIRFLOW_CONN_GAGGLE_LEDGER"])


def _labels(result) -> dict[tuple[str, int], str]:
    """(task, map index) -> the label Airflow shows for that mapped instance."""
    return {
        (task_id, int(index)): label
        for _, task_id, index, _, _, label in (
            line.split() for line in result.stdout.splitlines() if line.startswith("TI ")
        )
    }


NOTIFYING_DAG = """
from pathlib import Path
from gaggle_airflow.migration_dag import migration_dag

def note(context):  # a user's notifier: one line per failed task
    ti = context["ti"]
    with open({out!r}, "a") as stream:
        stream.write(f"{{ti.task_id}} {{ti.rendered_map_index}}\\n")

dag = migration_dag("users_v2", on_task_failure_callback=note)
"""


def test_one_broken_repo_fails_alone_and_the_summary_lists_everyone(own_fleet, tmp_path):
    forge = LocalForge(Path(own_fleet["GAGGLE_FORGE_ROOT"]))
    broken = forge.repos()[0]
    shutil.rmtree(forge.path(broken) / ".git" / "objects")  # its commits can no longer be read
    notes = tmp_path / "notified.txt"
    dag_file = tmp_path / "migrate_users_v2_notifying.py"
    dag_file.write_text(NOTIFYING_DAG.format(out=str(notes)))
    result = _run(own_fleet, dag_file=dag_file)
    assert "DAG-RUN-STATE failed" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
    states = {s.repo: s for s in _ledger(own_fleet).states("users_v2")}
    assert states[broken].status == "failed"
    assert states[broken].last_error.startswith("find_references: LocalForgeError")
    # While Airflow still had a try left, the ledger said `retrying` (with the error), not
    # failed; the last try made it failed.
    history = [e["status"] for e in _ledger(own_fleet).events("users_v2", broken)]
    assert history[-2:] == ["retrying", "failed"], history
    # The task log names the repo, the step and the reason before Airflow's traceback.
    output = result.stdout + result.stderr
    retry_line = f"{broken} failed in find_references: LocalForgeError"
    assert f"{retry_line}" in output and "Airflow retries it (try 1 of 2)" in output, output[-5000:]
    final = output.index(f"{retry_line}", output.index("Airflow retries it (try 1 of 2)"))
    assert "no retry left: the repo is failed in the ledger" in output[final:].splitlines()[0]
    assert "Traceback" in output[final:]  # Airflow's own, after gaggle's line
    # Every mapped instance that ran is labelled by its repo, the failed one included.
    labels = _labels(result)
    index = next(s.map_index for s in states.values() if s.repo == broken)
    assert _task_states(result)[("per_repo.find_references", index)][0] == "failed"
    assert labels[("per_repo.find_references", index)] == broken
    ran = {k: v for k, v in labels.items() if k[0] == "per_repo.find_references"}
    assert sorted(ran.values()) == sorted(states), ran
    # summary's table and progress come out in order, before its failure.
    table = output.index("outcome of 6 repos:")
    assert table < output.index("progress: ", table) < output.index("1 of 6 repos failed", table)
    # The user's notifier (off by default) heard of each failed task, labelled.
    assert notes.read_text().splitlines() == [f"per_repo.find_references {broken}", "summary None"]
    others = [s for repo, s in states.items() if repo != broken]
    assert len(others) >= 4 and all(s.status in ("created", "no-change-needed") for s in others)
    assert sum(1 for s in others if s.pr_number) >= 3
    tasks = _task_states(result)
    assert tasks[("per_repo.open_pr", index)][0] == "upstream_failed"
    assert tasks[("summary", -1)][0] == "failed"  # ran despite the failure, and reports it
    assert {pool for (task, _), (_, pool) in tasks.items() if "find_references" in task} == {
        "gaggle_github"
    }
    assert {pool for (task, _), (_, pool) in tasks.items() if "validate" in task} == {
        "gaggle_bigquery"
    }


def test_more_repos_than_airflow_maps_fails_discovery_saying_what_to_raise(own_fleet):
    result = _run({**own_fleet, "AIRFLOW__CORE__MAX_MAP_LENGTH": "3"})
    output = result.stdout + result.stderr
    assert "DAG-RUN-STATE failed" in result.stdout, output[-3000:]
    assert _task_states(result)[("discover_consumers", -1)][0] == "failed"
    assert "Airflow maps at most 3 (core.max_map_length)" in output, output[-3000:]
    count = int(re.search(r"(\d+) consumer repos, but Airflow maps", output).group(1))
    assert count > 3 and f"AIRFLOW__CORE__MAX_MAP_LENGTH above {count} on" in output
    assert not any(_prs(own_fleet).values())


def test_max_prs_caps_new_prs_exactly_and_a_repo_with_nothing_to_change_skips_its_steps(
    own_fleet,
):
    result = _run(own_fleet, {"max_prs": 2})
    assert "DAG-RUN-STATE success" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
    states = _ledger(own_fleet).states("users_v2")
    assert sum(1 for s in states if s.status == "created") == 2
    assert sum(1 for records in _prs(own_fleet).values() for _ in records) == 2
    assert {s.status for s in states} <= {"created", "capped", "no-change-needed"}
    capped = next(s for s in states if s.status == "capped")
    assert capped.dag_run_id.startswith("manual__") and capped.map_index is not None
    assert json.loads(capped.details)["validation"]["statements"]  # evidence kept for the UI
    tasks = _task_states(result)
    settled = next(s for s in states if s.repo == "acme/migrated-by-hand")
    assert settled.status == "no-change-needed"  # found by search, nothing to rewrite
    assert tasks[("per_repo.validate", settled.map_index)][0] == "skipped"
    assert tasks[("per_repo.open_pr", settled.map_index)][0] == "skipped"


def test_the_whole_lifecycle_run_merge_close_sweep_rerun(own_fleet, tmp_path):
    env = {**own_fleet, "GAGGLE_REPORTS_DIR": str(tmp_path / "reports")}
    first = _run(env)
    assert "DAG-RUN-STATE success" in first.stdout, first.stdout[-3000:] + first.stderr[-3000:]
    forge = LocalForge(Path(env["GAGGLE_FORGE_ROOT"]))
    branch = "data-migration/users-v2"
    with_pr = sorted(repo for repo, records in _prs(env).items() if records)
    merged, closed = with_pr[:2], with_pr[2]
    for repo in merged:
        forge.merge(repo, forge.pull_request(repo, branch).number)
    forge.close(closed, forge.pull_request(closed, branch).number, "we retire this job instead")

    sweep = _run(env, dag_file=ROOT / "dags" / "gaggle_status_sweep.py")
    assert "DAG-RUN-STATE success" in sweep.stdout, sweep.stdout[-3000:] + sweep.stderr[-3000:]
    from gaggle.progress import bucket_of

    ledger = _ledger(env)
    buckets = {s.repo: bucket_of(s) for s in ledger.states("users_v2")}
    assert [buckets[r] for r in merged] == ["done", "done"]
    assert buckets[closed] == "attention"
    assert list(ledger.snapshots("users_v2").values())[-1]["done"] == 2
    report = (tmp_path / "reports" / "users_v2" / "status.md").read_text()
    assert "**2 of" in report and closed in report
    assert (tmp_path / "reports" / "users_v2" / "status.html").read_text().startswith("<!doctype")

    again = _run(env)  # merged and closed PRs stay as they are: no new PR anywhere
    assert "DAG-RUN-STATE success" in again.stdout, again.stdout[-3000:] + again.stderr[-3000:]
    assert sorted(repo for repo, records in _prs(env).items() if records) == with_pr
    assert all(len(records) == 1 for records in _prs(env).values() if records)
    assert forge.pull_request(closed, branch).state == "closed"  # never reopened


def test_a_valid_spec_is_validated_once_per_content_and_a_broken_one_never_cached(
    tmp_path, monkeypatch
):
    from gaggle.errors import SpecError
    from gaggle_airflow.migration_dag import checked_spec

    monkeypatch.setenv("GAGGLE_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "users_v2"
    shutil.copytree(MIGRATIONS / "users_v2", folder)
    header = checked_spec(folder)
    assert header["id"] == "users_v2" and header["guide_url"].startswith("https://")
    cached = list((tmp_path / "cache").iterdir())
    assert len(cached) == 1 and json.loads(cached[0].read_text()) == header
    assert checked_spec(folder) == header  # from the cache
    yaml = folder / "migration.yaml"
    yaml.write_text(yaml.read_text().replace("title:", "titel:"))
    with pytest.raises(SpecError, match="titel"):
        checked_spec(folder)
    with pytest.raises(SpecError):  # still an error on the next parse: never cached
        checked_spec(folder)
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_the_repos_param_takes_owner_name_or_nothing(tmp_path, monkeypatch):
    from airflow.sdk.exceptions import ParamValidationError
    from gaggle_airflow.migration_dag import migration_dag

    monkeypatch.setenv("GAGGLE_CACHE_DIR", str(tmp_path / "cache"))
    dag = migration_dag("users_v2")

    def validated(**conf) -> dict:
        params = copy.deepcopy(dag.params)
        params.update(conf)
        return params.validate()

    assert validated()["repos"] is None  # optional: the form shows no red asterisk
    assert validated(repos=["acme/ops-jobs-019", "Acme/x.y_z-1"])["repos"][0] == "acme/ops-jobs-019"
    for bad in (["not a repo"], ["acme/does/not"], ["acme"], [""], "acme/x", ["a/b", "a/b"]):
        with pytest.raises(ParamValidationError):
            validated(repos=bad)
    schema = dag.params.get_param("repos").schema
    assert schema["type"] == ["array", "null"] and schema["title"]
    for name in dag.params:  # every field of the trigger form is titled and explained
        param = dag.params.get_param(name)
        assert param.schema.get("title") and param.description, name
    assert dag.params.get_param("max_prs").schema["maximum"] == 5000
    assert "0 to 5000" in dag.params.get_param("max_prs").description
    assert "anthropic_default" in dag.params.get_param("use_llm").description
    assert validated(backend=None)["backend"] is None  # Airflow's clear button: the default
    with pytest.raises(ParamValidationError):
        validated(backend="bigqery")
    assert dag.owner == "data-platform"
    assert "## What the states mean" in dag.doc_md and "](/plugin/gaggle)" in dag.doc_md
    assert all(t.doc_md for t in dag.tasks), [t.task_id for t in dag.tasks if not t.doc_md]
    mapped = [t for t in dag.tasks if t.task_id.startswith("per_repo.")]
    assert {t.map_index_template for t in mapped} == {"{{ repo_label }}"}


def test_requested_repos_not_found_fail_the_summary_naming_each(own_fleet):
    conf = {"repos": ["acme/does-not-exist", "ACME/growth-dbt", "acme/gone"], "dry_run": True,
            "use_llm": True}  # fmt: skip
    result = _run({**own_fleet, "ANTHROPIC_API_KEY": ""}, conf)
    output = result.stdout + result.stderr
    # Asked for the LLM without a key: the run says so, names the connection, goes on.
    assert "LLM fallback asked for, but OFF for this run: no anthropic_default connection" in (
        output
    )
    assert "DAG-RUN-STATE failed" in result.stdout, output[-3000:]
    tasks = _task_states(result)
    assert tasks[("summary", -1)][0] == "failed"
    assert "2 requested repos not found among the consumers: acme/does-not-exist, acme/gone" in (
        output
    ), output[-3000:]
    assert _labels(result)[("per_repo.open_pr", 0)] == "acme/growth-dbt"  # the one found ran
    assert {index for (_, index) in tasks if index >= 0} == {0}
    assert _ledger(own_fleet).get("users_v2", "acme/growth-dbt").status == "dry-run"

    bad = _run(own_fleet, {"repos": ["not a repo"]})
    assert "DAG-RUN-STATE success" not in bad.stdout
    assert "not a repo" in bad.stdout + bad.stderr
    assert not any(_prs(own_fleet).values())


def test_the_sweep_dag_explains_itself_and_labels_each_migration():
    from gaggle_airflow.sweep_dag import status_sweep_dag

    dag = status_sweep_dag()
    assert "# Nightly status of every migration" in dag.doc_md and dag.owner == "data-platform"
    assert all(t.doc_md for t in dag.tasks)
    assert dag.get_task("sweep").map_index_template == "{{ migration_id }}"
    assert all(dag.params.get_param(n).schema.get("title") for n in dag.params)
