"""`make demo` and `make airflow`: the demo migration through Airflow on one machine.

`demo`: a fresh fleet of demo repos on the local forge, the `migrate_users_v2` DAG run
under `dag.test()` (SQLite, offline validator), a reviewer merging some PRs and
closing one, the `gaggle_status_sweep` DAG, then the status table and the reports.
`standalone`: the same Airflow home and fleet, then `airflow standalone`, so the DAGs
can be triggered and watched in the UI.

Each DAG run is a child process with the demo's environment, its log kept in the
demo folder; this process prints what a person wants to see.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MIGRATION = "users_v2"
RUN_DAG = """
import importlib.util, os, sys, tempfile
from pathlib import Path
import airflow.sdk.execution_time.supervisor as supervisor

# dag.test() runs each task in this process and prints its log; the api-server shows a
# task's log from AIRFLOW_HOME/logs. Keep a copy of each task's output where it looks.
logs, run_in_process = Path(os.environ["AIRFLOW_HOME"]) / "logs", supervisor.run_task_in_process

def run_and_keep_the_log(ti, task, client=None):
    folder = logs / f"dag_id={ti.dag_id}" / f"run_id={ti.run_id}" / f"task_id={ti.task_id}"
    if ti.map_index >= 0:
        folder = folder / f"map_index={ti.map_index}"
    folder.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush(); sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 1); os.dup2(captured.fileno(), 2)
        try:
            return run_in_process(ti, task, client)
        finally:
            sys.stdout.flush(); sys.stderr.flush()
            os.dup2(saved[0], 1); os.dup2(saved[1], 2)
            os.close(saved[0]); os.close(saved[1])
            captured.seek(0)
            text = captured.read()
            os.write(1, text)
            with open(folder / f"attempt={ti.try_number}.log", "ab") as kept:
                kept.write(text)

supervisor.run_task_in_process = run_and_keep_the_log
spec = importlib.util.spec_from_file_location("dagfile", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
run = module.dag.test()
print("DAG-RUN-STATE", run.state)
"""
MERGE_WAIT_NOTE = (
    "await_merge shows Skipped for each repo with a PR: the demo stops waiting after {seconds} "
    "(GAGGLE_MERGE_TIMEOUT_SECONDS) so the run can end; deployed, it waits up to 60 days "
    "without holding a worker, and the nightly gaggle_status_sweep follows every PR either way."
)


def demo_environment(out: Path) -> dict[str, str]:
    """Airflow and gaggle settings for the demo: everything under `out`, bound to localhost."""
    home = out.resolve() / "airflow"
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__MAX_MAP_LENGTH": "2000",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "false",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "GAGGLE_FORGE_ROOT": str(out.resolve() / "forge"),
        "GAGGLE_REPORTS_DIR": str(out.resolve() / "reports"),
        "GAGGLE_MERGE_POKE_SECONDS": "1",
        "GAGGLE_MERGE_TIMEOUT_SECONDS": "1",  # the demo's reviewers act after the run
    }


def prepare(out: Path, repos: int, seed: int, fresh: bool) -> dict[str, str]:
    """The Airflow home (metadata DB, pools) and, when fresh or absent, a new fleet."""
    from gaggle.fleet import generate_fleet
    from gaggle.forges.local import LocalForge
    from gaggle.spec import load_migration

    env = demo_environment(out)
    home, forge_root = Path(env["AIRFLOW_HOME"]), Path(env["GAGGLE_FORGE_ROOT"])
    if fresh:
        for stale in (forge_root, home / "gaggle_ledger.db", Path(env["GAGGLE_REPORTS_DIR"])):
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(
                missing_ok=True
            )
    home.mkdir(parents=True, exist_ok=True)
    _airflow(env, "db", "migrate")
    _airflow(env, "pools", "import", str(ROOT / "include" / "airflow" / "pools.json"))
    if not forge_root.exists():
        named = load_migration(ROOT / "include" / "migrations" / MIGRATION).consumers.repos
        forge = LocalForge(forge_root)
        for repo in generate_fleet(forge_root, repos, seed=seed, named=named):
            forge.init_repo(repo.name)
        print(f"Demo fleet: {repos} consumer repos on the local forge at {shown(forge_root)}")
    return env


def shown(path: Path) -> Path:
    """A path as the user typed its folder: relative to the working directory when under it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def run_dag(env: dict[str, str], dag_file: Path, log: Path) -> str:
    """One DAG run under dag.test(); its state. The full log goes to `log`."""
    started = time.monotonic()
    with log.open("w") as stream:
        subprocess.run(
            [sys.executable, "-c", RUN_DAG, str(dag_file)],
            env=env, stdout=stream, stderr=subprocess.STDOUT, check=False,
        )  # fmt: skip
    text = log.read_text()
    state = next(
        (line.split()[-1] for line in text.splitlines() if line.startswith("DAG-RUN-STATE")),
        "crashed",
    )
    print(f"{dag_file.stem}: {state} in {time.monotonic() - started:.0f} s (log: {shown(log)})")
    return state


def demo(out: Path, repos: int, seed: int) -> int:
    from datetime import UTC, datetime

    from gaggle.forges.local import LocalForge
    from gaggle.ledger import Ledger
    from gaggle.spec import load_migration
    from gaggle.status_report import Status, status_table

    env = prepare(out, repos, seed, fresh=True)
    logs = out.resolve() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    migration = load_migration(ROOT / "include" / "migrations" / MIGRATION)
    migrated = run_dag(env, ROOT / "dags" / f"migrate_{MIGRATION}.py", logs / "migrate.log")

    print(MERGE_WAIT_NOTE.format(seconds=f"{env['GAGGLE_MERGE_TIMEOUT_SECONDS']} s"))
    forge = LocalForge(Path(env["GAGGLE_FORGE_ROOT"]))
    branch = migration.pull_request.branch
    open_prs = [
        r for r in forge.repos() if (p := forge.pull_request(r, branch)) and p.state == "open"
    ]
    print(f"{len(open_prs)} PRs open. A reviewer merges {min(5, len(open_prs))} and closes one:")
    for repo in open_prs[:5]:
        forge.merge(repo, forge.pull_request(repo, branch).number)
        print(f"  merged {repo}")
    if len(open_prs) > 5:
        closed = open_prs[5]
        forge.close(closed, forge.pull_request(closed, branch).number, "we retire this job")
        print(f"  closed {closed}")

    swept = run_dag(env, ROOT / "dags" / "gaggle_status_sweep.py", logs / "sweep.log")
    ledger = Ledger(f"sqlite:///{Path(env['AIRFLOW_HOME']) / 'gaggle_ledger.db'}")
    print()
    print(status_table(Status.read(migration, ledger, datetime.now(UTC))))
    reports = Path(env["GAGGLE_REPORTS_DIR"]) / MIGRATION
    print(f"\nReports: {shown(reports / 'status.md')} and {shown(reports / 'status.html')}")
    print(
        "Watch it in the Airflow UI, this run's task logs included: make airflow "
        "(another port than 8080: make airflow PORT=8081)"
    )
    return 0 if migrated == swept == "success" else 1  # the logs above say why


def ui_settings(port: int) -> dict[str, str]:
    """The UI's port, and where tasks find the execution API (Airflow's default assumes
    http://localhost:8080, so another port needs both)."""
    return {"AIRFLOW__API__PORT": str(port), "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}"}


def standalone(out: Path, repos: int, seed: int, port: int = 8080) -> int:
    env = {**prepare(out, repos, seed, fresh=False), **ui_settings(port)}
    passwords = Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
    print(
        f"Starting Airflow at http://127.0.0.1:{port} (Ctrl-C stops it). Log in as admin with "
        f"the password in {passwords}; trigger migrate_{MIGRATION}, then gaggle_status_sweep."
    )
    return subprocess.call([sys.executable, "-m", "airflow", "standalone"], env=env)


def _airflow(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"airflow {' '.join(args)} failed:\n{result.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gaggle_airflow.demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("build/demo"))
    parser.add_argument("--repos", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--standalone", action="store_true", help="start Airflow's UI instead")
    parser.add_argument("--port", type=int, default=8080, help="the UI's port (--standalone)")
    args = parser.parse_args(argv)
    if args.standalone:
        return standalone(args.out, args.repos, args.seed, args.port)
    return demo(args.out, args.repos, args.seed)


if __name__ == "__main__":
    raise SystemExit(main())
