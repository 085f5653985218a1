"""The demo migration's DAG over the demo fleet, two ways: distributed (CeleryExecutor,
separate processes, Postgres and Redis: the cluster of tests/deploy/cluster.py) and
embedded (`dag.test()` in one process on SQLite). Prints each run's wall time and task
instances per second. Needs PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379 for
the distributed half; without them it says so and runs the embedded half alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIGRATION = "users_v2"
FAST_SENSOR = {  # the merge wait gives up after 2 s, as in the tests
    "GAGGLE_MERGE_POKE_SECONDS": "1",
    "GAGGLE_MERGE_TIMEOUT_SECONDS": "2",
    "GAGGLE_TASK_RETRIES": "1",
    "GAGGLE_RETRY_SECONDS": "1",
}

# Runs in a fresh interpreter: import the DAG file, time dag.test(), count what ran.
EMBEDDED = """
import importlib.util, json, sys, time
spec = importlib.util.spec_from_file_location("dagfile", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
started = time.monotonic()
run = module.dag.test()
wall = time.monotonic() - started
from airflow.models import TaskInstance
from airflow.utils.session import create_session
with create_session() as session:
    ran = session.query(TaskInstance).filter(
        TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id,
        TaskInstance.start_date.isnot(None),
    ).count()
print("EMBEDDED", json.dumps({"state": str(run.state), "wall": wall, "ran": ran}))
"""


def _fleet(root: Path, repos: int) -> list[str]:
    from gaggle.fleet import generate_fleet
    from gaggle.forges.local import LocalForge
    from gaggle.spec import load_migration

    named = load_migration(ROOT / "include" / "migrations" / MIGRATION).consumers.repos
    forge = LocalForge(root)
    fleet = generate_fleet(root, repos, seed=7, named=tuple(named))
    for repo in fleet:
        forge.init_repo(repo.name)
    return [repo.name for repo in fleet]


def embedded(repos: int) -> dict:
    """dag.test() over a fresh fleet, SQLite metadata and ledger."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "airflow"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
            **FAST_SENSOR,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__MAX_MAP_LENGTH": "2000",
            "GAGGLE_FORGE_ROOT": str(Path(tmp) / "forge"),
        }
        airflow = [sys.executable, "-m", "airflow"]
        subprocess.run([*airflow, "db", "migrate"], env=env, check=True, capture_output=True)
        pools = ROOT / "include" / "airflow" / "pools.json"
        if pools.is_file():
            subprocess.run(
                [*airflow, "pools", "import", str(pools)], env=env, check=True, capture_output=True
            )
        _fleet(Path(tmp) / "forge", repos)
        dag_file = ROOT / "dags" / f"migrate_{MIGRATION}.py"
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-c", EMBEDDED, str(dag_file)],
            env=env, capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
        process = time.monotonic() - started
    line = next((x for x in result.stdout.splitlines() if x.startswith("EMBEDDED ")), None)
    if line is None:
        raise RuntimeError(f"dag.test() printed no result:\n{result.stderr[-3000:]}")
    return {**json.loads(line.removeprefix("EMBEDDED ")), "process": process}


def distributed(repos: int, workers: int = 2, concurrency: int = 2) -> dict | str:
    """The Celery cluster over a fresh fleet; a string says why it could not run."""
    sys.path.insert(0, str(ROOT))
    from tests.deploy.cluster import Cluster, missing_services

    missing = missing_services()
    if missing:
        return "; ".join(missing)
    with (
        tempfile.TemporaryDirectory() as tmp,
        Cluster(Path(tmp), repos=repos, seed=7, workers=workers, concurrency=concurrency) as c,
    ):
        try:
            started = time.monotonic()
            run_id = c.trigger()
            state = c.wait_for_run(run_id, timeout=1800)
            wall = time.monotonic() - started
            instances = c.task_instances(run_id)
        except Exception:
            print(c.log_tails(), file=sys.stderr)
            raise
        ran = [ti for ti in instances if ti["start_date"]]
        hosts = sorted({ti["hostname"] for ti in ran if ti["hostname"]})
        return {
            "state": state, "wall": wall, "ran": len(ran), "hosts": hosts,
            "start_up": c.timings["start-up"],
        }  # fmt: skip


def main(repos: int = 24) -> None:
    print(f"Airflow over the demo fleet ({repos} repos, migrate_{MIGRATION}):")
    cluster = distributed(repos)
    if isinstance(cluster, str):
        print(f"  distributed: NOT RUN, {cluster}")
    else:
        print(
            f"  distributed (CeleryExecutor, {len(cluster['hosts'])} workers x 2 slots, Postgres,"
            f" Redis): run {cluster['state']} in {cluster['wall']:.1f} s, {cluster['ran']} task"
            f" instances, {cluster['ran'] / cluster['wall']:.2f} per s"
            f" (cluster start-up {cluster['start_up']:.1f} s, not counted)"
        )
    local = embedded(repos)
    print(
        f"  embedded (dag.test(), SQLite): run {local['state'].split('.')[-1].lower()}"
        f" in {local['wall']:.1f} s, {local['ran']} task instances,"
        f" {local['ran'] / local['wall']:.2f} per s"
        f" ({local['process']:.1f} s with interpreter start and DAG import)"
    )


if __name__ == "__main__":
    main()
