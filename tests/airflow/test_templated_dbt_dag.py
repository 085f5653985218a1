"""A dbt project full of templates through the migrate_<id> DAG on the local forge: the PR's
branch holds exactly the fixture's after tree (templated sources, dispatched macro, SQL var,
incremental branches, package macro untouched), validated branch by branch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from gaggle.forges.local import LocalForge

from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "repos" / "dbt_templated"
RUN_DAG = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("dagfile", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print("DAG-RUN-STATE", module.dag.test(run_conf=json.loads(sys.argv[2])).state)
"""


def test_a_templated_dbt_project_migrates_through_the_dag_on_the_local_forge(tmp_path: Path):
    migrations = tmp_path / "migrations"
    shutil.copytree(ROOT / "tests" / "fixtures" / "migrations" / "shop_v2", migrations / "shop_v2")
    dags = tmp_path / "dags"
    dags.mkdir()
    dag_file = dags / "migrate_shop_v2.py"
    dag_file.write_text(
        'from gaggle_airflow.migration_dag import migration_dag\n\ndag = migration_dag("shop_v2")\n'
    )
    forge_root = tmp_path / "forge"
    shutil.copytree(FIXTURE / "before", forge_root / "acme" / "shop-dbt")
    forge = LocalForge(forge_root)
    forge.init_repo("acme/shop-dbt")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "GAGGLE_MIGRATIONS": str(migrations),
        "GAGGLE_FORGE_ROOT": str(forge_root),
        "AIRFLOW_CONN_GAGGLE_LEDGER": f"sqlite:///{tmp_path / 'ledger.db'}",
        "GAGGLE_MERGE_POKE_SECONDS": "1",
        "GAGGLE_MERGE_TIMEOUT_SECONDS": "2",
        "GAGGLE_TASK_RETRIES": "0",
    }
    python = sys.executable
    subprocess.run(
        [python, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True
    )
    subprocess.run(
        [python, "-m", "airflow", "pools", "import", str(ROOT / "include/airflow/pools.json")],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    result = subprocess.run(
        [python, "-c", RUN_DAG, str(dag_file), json.dumps({})],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert "DAG-RUN-STATE success" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]

    pull = forge.pull_request("acme/shop-dbt", "data-migration/shop-v2")
    assert pull is not None
    proposed = forge.read_files("acme/shop-dbt", "data-migration/shop-v2")
    expected = {
        p.relative_to(FIXTURE / "after").as_posix(): p.read_text()
        for p in (FIXTURE / "after").rglob("*")
        if p.is_file()
    }
    assert proposed == expected
    from gaggle.ledger import Ledger

    (state,) = Ledger(env["AIRFLOW_CONN_GAGGLE_LEDGER"]).states("shop_v2")
    assert state.status == "created"
    validation = json.loads(state.details)["validation"]
    notes = {s.get("note") for s in validation["statements"]}
    assert {"if is_incremental()", "not (is_incremental())"} <= notes
