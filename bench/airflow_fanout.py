"""The migration DAG at fleet scale, against Airflow's own floor, in one run.

Three figures over the same N generated repos on the local forge (default 1,800):
- the engine's work alone: every repo through gaggle's steps in one process, no Airflow;
- Airflow's floor: a DAG of the same shape (discover, five mapped tasks per repo with the
  same pools and the reschedule sensor, summary) whose tasks do nothing, under dag.test();
- migrate_users_v2 itself under dag.test().
gaggle's overhead is what the real run costs beyond floor + engine. Also: parse time of
a DAG folder holding 20 migrations. Run: `python -m bench.airflow_fanout [repos]`.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASKS_PER_REPO = 5
NOOP_DAG = """
from datetime import timedelta
from airflow.sdk import DAG, PokeReturnValue, task, task_group

with DAG(dag_id="noop_fanout", schedule=None) as dag:
    @task(pool="gaggle_github")
    def discover_consumers():
        return list(range(int({repos})))

    @task_group
    def per_repo(repo):
        @task(pool="gaggle_github")
        def find_references(repo):
            return {{"repo": repo}}

        @task
        def rewrite(found):
            return found

        @task(pool="gaggle_bigquery")
        def validate(rewritten):
            return rewritten

        @task(pool="gaggle_github")
        def open_pr(validated):
            return validated

        @task.sensor(pool="gaggle_github", mode="reschedule", poke_interval=1, timeout=1)
        def await_merge(opened):
            return PokeReturnValue(is_done=True, xcom_value=None)

        return await_merge(open_pr(validate(rewrite(find_references(repo)))))

    @task(trigger_rule="all_done")
    def summary(repos):
        return len(repos)

    repos = discover_consumers()
    per_repo.expand(repo=repos) >> summary(repos)
"""
RUN_DAG = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("dagfile", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
started = time.monotonic()
run = module.dag.test()
print("DAG-RUN", run.state, time.monotonic() - started)
"""
PARSE = """
import sys, time
from airflow.dag_processing.dagbag import DagBag
started = time.monotonic()
bag = DagBag(dag_folder=sys.argv[1])
print("PARSE", len(bag.dag_ids), len(bag.import_errors), time.monotonic() - started,
      sum(s.duration.total_seconds() for s in bag.dagbag_stats))
"""


def _environment(home: Path, dags: Path, forge: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__MAX_MAP_LENGTH": "2000",  # the default 1,024 fails 1,800 repos
        "GAGGLE_FORGE_ROOT": str(forge),
        "GAGGLE_MERGE_POKE_SECONDS": "1",
        # One poke per repo, as the floor's sensor: a longer timeout reschedules every
        # open PR's merge wait once more, which would count as gaggle's overhead.
        "GAGGLE_MERGE_TIMEOUT_SECONDS": "0",
        "GAGGLE_TASK_RETRIES": "0",
    }


def _dag_run(env: dict[str, str], dag_file: Path) -> tuple[str, float, float]:
    """(state, wall seconds, peak RSS MiB) of one dag.test() in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = subprocess.run(
        [sys.executable, "-c", RUN_DAG, str(dag_file)], env=env, capture_output=True, text=True
    )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    line = next((x for x in result.stdout.splitlines() if x.startswith("DAG-RUN")), None)
    if line is None:
        raise SystemExit(f"{dag_file.name} crashed:\n{result.stderr[-3000:]}")
    _, state, seconds = line.split()
    return state, float(seconds), max(peak, before) / 1024


def _engine_only(forge_root: Path) -> float:
    """Discovery, then every repo through the steps in this process, PRs included, on a
    copy of the forge (the DAG run then starts from the same untouched fleet): the work
    Airflow wraps."""
    from gaggle.discovery import discover
    from gaggle.forges.local import LocalForge
    from gaggle.ledger import Ledger
    from gaggle.pipeline import Steps
    from gaggle.spec import load_migration
    from gaggle.validation.offline import OfflineValidator

    migration = load_migration(ROOT / "include" / "migrations" / "users_v2")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "forge"
        shutil.copytree(forge_root, copy, symlinks=True)
        ledger = Ledger(f"sqlite:///{tmp}/ledger.db")
        ledger.migrate()
        forge = LocalForge(copy)
        steps = Steps(
            forge, migration, ledger, OfflineValidator(migration.catalog), log=lambda _: None
        )
        started = time.monotonic()
        found = [c.repo for c in discover(migration, forge=forge).repos]
        for repo in found:
            steps.run(repo)
        return time.monotonic() - started


def parse_time(home: Path, migrations: int = 20) -> tuple[float, float, int]:
    """(cold, warm) summed per-file parse seconds as Airflow's DagBag reports them, and the
    number of DAGs, for a folder of N migrations."""
    folder, dags = home / "migrations", home / "parse-dags"
    dags.mkdir(parents=True, exist_ok=True)
    source = ROOT / "include" / "migrations" / "users_v2"
    for number in range(migrations):
        name = f"users_v2_{number:02d}"
        shutil.copytree(source, folder / name, dirs_exist_ok=True)
        spec = folder / name / "migration.yaml"
        spec.write_text(spec.read_text().replace("id: users_v2", f"id: {name}", 1))
        (dags / f"migrate_{name}.py").write_text(
            "from gaggle_airflow.migration_dag import migration_dag\n"
            f"dag = migration_dag({name!r})\n"
        )
    env = {**_environment(home, dags, home / "forge"), "GAGGLE_MIGRATIONS": str(folder)}
    figures = []
    for _ in range(2):  # cold: every spec validated; warm: the DAG processor's steady state
        result = subprocess.run(
            [sys.executable, "-c", PARSE, str(dags)], env=env, capture_output=True, text=True
        )
        line = next(x for x in result.stdout.splitlines() if x.startswith("PARSE"))
        _, count, errors, _, files = line.split()
        assert errors == "0", result.stdout
        figures.append(float(files))
    return figures[0], figures[1], int(count)


def main(repos: int = 1800) -> None:
    from gaggle.fleet import generate_fleet
    from gaggle.forges.local import LocalForge
    from gaggle.spec import load_migration

    with tempfile.TemporaryDirectory(prefix="gaggle-bench-") as tmp:
        home = Path(tmp)
        cold, warm = parse_time(home)[:2]
        print(
            f"parse of 20 migration DAG files: {cold:.2f} s cold (specs validated), "
            f"{warm:.2f} s warm (validated specs cached by content)"
        )

        forge_root = home / "forge"
        named = load_migration(ROOT / "include" / "migrations" / "users_v2").consumers.repos
        forge = LocalForge(forge_root)
        fleet = generate_fleet(forge_root, repos, seed=7, named=named)
        for repo in fleet:
            forge.init_repo(repo.name)
        engine = _engine_only(forge_root)
        print(
            f"engine alone: {repos} repos in {engine:.1f} s ({1000 * engine / repos:.0f} ms/repo)"
        )

        noop_dags = home / "noop-dags"
        noop_dags.mkdir()
        (noop_dags / "noop_fanout.py").write_text(NOOP_DAG.format(repos=repos))
        env = _environment(home, noop_dags, forge_root)
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True,
                       capture_output=True)  # fmt: skip
        pools = ROOT / "include" / "airflow" / "pools.json"
        subprocess.run([sys.executable, "-m", "airflow", "pools", "import", str(pools)], env=env,
                       check=True, capture_output=True)  # fmt: skip
        instances = 2 + TASKS_PER_REPO * repos
        figures = {}
        for label, dags, dag_file in (
            ("floor (no-op tasks)", noop_dags, noop_dags / "noop_fanout.py"),
            ("migrate_users_v2", ROOT / "dags", ROOT / "dags" / "migrate_users_v2.py"),
        ):
            state, seconds, peak = _dag_run({**env, "AIRFLOW__CORE__DAGS_FOLDER": str(dags)},
                                            dag_file)  # fmt: skip
            figures[label] = seconds
            print(
                f"{label:<22} {state:<8} {seconds:8.0f} s  {instances / seconds:5.1f} TI/s  "
                f"{1000 * seconds / repos:6.0f} ms/repo  peak RSS {peak:6.0f} MiB"
            )
        overhead = figures["migrate_users_v2"] - figures["floor (no-op tasks)"] - engine
        print(
            f"gaggle on top of the floor: {figures['migrate_users_v2'] - figures['floor (no-op tasks)']:.0f} s"
            f" for {engine:.0f} s of engine work: overhead {overhead:+.0f} s "
            f"({1000 * overhead / repos:+.0f} ms/repo)"
        )
        print(
            json.dumps({"repos": repos, "task_instances": instances, "engine_s": engine, **figures})
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1800)
