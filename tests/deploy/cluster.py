"""A real Airflow cluster on this machine: CeleryExecutor, Postgres, Redis, separate processes.

One place for what the deployment test (tests/deploy/test_celery_deployment.py) and the
distributed benchmark (bench/distributed.py) both run: a fresh Postgres database for
Airflow's metadata and another for the ledger, a Redis database of its own as the Celery
broker, the demo fleet in a local forge, then the api-server (127.0.0.1, a free port;
the execution API points at it), scheduler, dag-processor, triggerer and N Celery
workers, each in its own process group. `stop()` ends every process group it started
and drops what it created, whatever happened before.

Nothing of gaggle is replaced: the workers run dags/migrate_<id>.py as deployed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER = "127.0.0.1", 5432, "postgres"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
POOLS_FILE = ROOT / "include" / "airflow" / "pools.json"
ADMIN = "admin"


def postgres_url(database: str, driver: str = "postgresql+psycopg") -> str:
    return f"{driver}://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{database}"


def missing_services() -> list[str]:
    """Why the cluster cannot run here: one line per unreachable server (empty: all fine)."""
    import redis
    import sqlalchemy as sa

    missing = []
    try:
        engine = sa.create_engine(postgres_url("postgres"))
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as err:
        missing.append(f"PostgreSQL at {POSTGRES_HOST}:{POSTGRES_PORT}: {err}".splitlines()[0])
    try:
        redis.Redis(REDIS_HOST, REDIS_PORT, socket_timeout=3).ping()
    except Exception as err:
        missing.append(f"Redis at {REDIS_HOST}:{REDIS_PORT}: {err}".splitlines()[0])
    return missing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path


@dataclass
class Cluster:
    """Start with `start()` (or `with Cluster(...) as cluster:`); always `stop()`."""

    workdir: Path
    repos: int = 5
    seed: int = 4
    workers: int = 2
    concurrency: int = 2
    migration: str = "users_v2"
    processes: list[Process] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir)
        self.home = self.workdir / "airflow"
        self.forge_root = self.workdir / "forge"
        self.logs = self.workdir / "process-logs"
        suffix = secrets.token_hex(4)
        self.metadata_db = f"gaggle_deploy_{suffix}"
        self.ledger_db = f"gaggle_deploy_{suffix}_ledger"
        self.redis_db = 1 + int(suffix, 16) % 15  # 1..15: never Redis's default db 0
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(16)
        self.ledger_url = postgres_url(self.ledger_db)
        self._created_dbs: list[str] = []
        self._previous_sigterm = None
        self._token: str | None = None
        self.fleet: list[str] = []

    @property
    def dag_id(self) -> str:
        return f"migrate_{self.migration}"

    # ------------------------------------------------------------ set-up

    def env(self, node: str | None = None) -> dict[str, str]:
        """The environment every process of the cluster shares (plus its node name)."""
        metadata = postgres_url(self.metadata_db)
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
            # psycopg 3 is async too; Airflow would otherwise want asyncpg for its async engine.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": postgres_url(
                self.metadata_db, "postgresql+psycopg_async"
            ),
            "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{self.redis_db}",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{metadata}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.concurrency),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__MAX_MAP_LENGTH": "2000",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__WORKERS": "1",
            # Shared by every process: the scheduler signs the workers' execution tokens
            # and the api-server checks them.
            "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt"),
            "AIRFLOW__API__SECRET_KEY": self._secret("api"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
            # One machine, several nodes: each process reports its own name on the task
            # instances it runs (tests/deploy/hostname.py).
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.deploy.hostname.node_name",
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
            "AIRFLOW_CONN_GAGGLE_LEDGER": self.ledger_url,
            "GAGGLE_FORGE_ROOT": str(self.forge_root),
            "GAGGLE_MERGE_POKE_SECONDS": "1",
            "GAGGLE_MERGE_TIMEOUT_SECONDS": "2",
            "GAGGLE_TASK_RETRIES": "1",
            "GAGGLE_RETRY_SECONDS": "1",
        }
        if node:
            env["GAGGLE_NODE_NAME"] = node
        return env

    def _secret(self, name: str) -> str:
        if not hasattr(self, "_secrets"):
            self._secrets = {"jwt": secrets.token_hex(32), "api": secrets.token_hex(32)}
        return self._secrets[name]

    def start(self) -> Cluster:
        # A SIGTERM (a CI timeout, a killed pytest) unwinds as SystemExit, so whoever
        # started the cluster still reaches stop(): no orphaned processes or databases.
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        started = time.monotonic()
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({ADMIN: self.password}))
        self._create_databases()
        self._flush_redis()
        self.fleet = self._make_fleet()
        self._airflow("db", "migrate")
        if POOLS_FILE.is_file():
            self._airflow("pools", "import", str(POOLS_FILE))
        self.timings["set-up"] = time.monotonic() - started
        api = ["api-server", "-H", "127.0.0.1", "-p", str(self.port), "-w", "1"]
        self._launch("api-server", api)
        self._launch("scheduler", ["scheduler", "--skip-serve-logs"])
        self._launch("dag-processor", ["dag-processor"])
        self._launch("triggerer", ["triggerer", "--skip-serve-logs"])
        for name in self.worker_names:
            worker = ["celery", "worker", "-H", name, "-c", str(self.concurrency), "-s"]
            self._launch(name, worker)
        self._wait(self._api_healthy, 120, "the api-server to answer")
        self._wait(self._dag_parsed, 180, f"the dag-processor to parse {self.dag_id}")
        self._wait(self._workers_ready, 120, "every Celery worker to answer a ping")
        self.timings["start-up"] = time.monotonic() - started
        return self

    @property
    def worker_names(self) -> list[str]:
        return [f"worker-{chr(ord('a') + n)}" for n in range(self.workers)]

    def _create_databases(self) -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(postgres_url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in (self.metadata_db, self.ledger_db):
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
                self._created_dbs.append(name)
        engine.dispose()

    def _flush_redis(self) -> None:
        import redis

        redis.Redis(REDIS_HOST, REDIS_PORT, db=self.redis_db, socket_timeout=5).flushdb()

    def _make_fleet(self) -> list[str]:
        from gaggle.fleet import generate_fleet
        from gaggle.forges.local import LocalForge
        from gaggle.spec import load_migration

        # The spec's explicitly named consumers are part of the fleet, as in production.
        named = load_migration(ROOT / "include" / "migrations" / self.migration).consumers.repos
        repos = generate_fleet(self.forge_root, self.repos, seed=self.seed, named=tuple(named))
        forge = LocalForge(self.forge_root)
        for repo in repos:
            forge.init_repo(repo.name)
        return sorted(repo.name for repo in repos)

    def _airflow(self, *args: str) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self.env(), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if result.returncode:
            raise RuntimeError(
                f"airflow {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )

    def _launch(self, name: str, args: list[str]) -> None:
        log = self.logs / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", "airflow", *args],
                env=self.env(node=name), stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.workdir,
            )  # fmt: skip
        self.processes.append(Process(name, popen, log))

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [p.name for p in self.processes if p.popen.poll() is not None]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited while waiting for {what}")
            with contextlib.suppress(Exception):
                if ready():
                    return
            time.sleep(1)
        raise TimeoutError(f"waited {timeout:.0f} s for {what}")

    def _api_healthy(self) -> bool:
        import httpx

        return httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).status_code == 200

    def _dag_parsed(self) -> bool:
        return self.request("GET", f"/api/v2/dags/{self.dag_id}").status_code == 200

    def _workers_ready(self) -> bool:
        from celery import Celery

        app = Celery(broker=self.env()["AIRFLOW__CELERY__BROKER_URL"])
        try:
            answered = {name for reply in app.control.ping(timeout=2) for name in reply}
        finally:
            app.close()
        return all(f"celery@{name}" in answered for name in self.worker_names)

    # ------------------------------------------------------------ the REST API

    def token(self) -> str:
        import httpx

        if self._token is None:
            response = httpx.post(
                f"{self.base_url}/auth/token",
                json={"username": ADMIN, "password": self.password}, timeout=30,
            )  # fmt: skip
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token

    def request(self, method: str, path: str, body: dict | None = None, **params):
        """One REST call; a refused or dropped connection (a loaded machine) is retried."""
        import httpx

        for attempt in range(5):
            try:
                return httpx.request(
                    method, f"{self.base_url}{path}", json=body, params=params or None,
                    headers={"Authorization": f"Bearer {self.token()}"}, timeout=60,
                )  # fmt: skip
            except httpx.TransportError:
                if attempt == 4:
                    raise
                time.sleep(2)

    def api(self, method: str, path: str, body: dict | None = None, **params) -> dict:
        response = self.request(method, path, body, **params)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:2000]}")
        return response.json()

    def trigger(self, conf: dict | None = None) -> str:
        """Unpause the DAG and start a run; its run id."""
        self.api("PATCH", f"/api/v2/dags/{self.dag_id}", {"is_paused": False})
        run = self.api(
            "POST",
            f"/api/v2/dags/{self.dag_id}/dagRuns",
            {"logical_date": None, "conf": conf or {}},
        )
        return run["dag_run_id"]

    def wait_for_run(self, run_id: str, timeout: float = 600) -> str:
        """The run's final state (success or failed), or TimeoutError."""
        deadline = time.monotonic() + timeout
        state = "?"
        while time.monotonic() < deadline:
            dead = [p.name for p in self.processes if p.popen.poll() is not None]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited during the run")
            state = self.api("GET", f"/api/v2/dags/{self.dag_id}/dagRuns/{run_id}")["state"]
            if state in ("success", "failed"):
                return state
            time.sleep(1)
        raise TimeoutError(f"run {run_id} still {state} after {timeout:.0f} s")

    def task_instances(self, run_id: str) -> list[dict]:
        found: list[dict] = []
        while True:
            page = self.api(
                "GET", f"/api/v2/dags/{self.dag_id}/dagRuns/{run_id}/taskInstances",
                limit=100, offset=len(found),
            )  # fmt: skip
            found += page["task_instances"]
            if not page["task_instances"] or len(found) >= page["total_entries"]:
                return found

    # ------------------------------------------------------------ results

    def ledger(self):
        from gaggle.ledger import Ledger

        return Ledger(self.ledger_url)

    def forge(self):
        from gaggle.forges.local import LocalForge

        return LocalForge(self.forge_root)

    def log_tails(self, chars: int = 2500) -> str:
        """The end of every process's log, for a failure message."""
        parts = []
        for process in self.processes:
            text = process.log.read_text(errors="replace") if process.log.exists() else ""
            parts.append(
                f"----- {process.name} (exit {process.popen.poll()}) -----\n{text[-chars:]}"
            )
        return "\n".join(parts)

    # ------------------------------------------------------------ tear-down

    def stop(self) -> None:
        """End every process group started (TERM, then KILL), drop the databases, flush Redis."""
        for process in reversed(self.processes):
            _signal_group(process.popen, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in reversed(self.processes):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(max(0.1, deadline - time.monotonic()))
            # The group may outlive its leader (task runners, log servers): KILL it all.
            _signal_group(process.popen, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(10)
        self._drop_databases()
        with contextlib.suppress(Exception):
            self._flush_redis()
        previous, self._previous_sigterm = self._previous_sigterm, None
        if previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)

    def _drop_databases(self) -> None:
        import sqlalchemy as sa

        if not self._created_dbs:
            return
        engine = sa.create_engine(postgres_url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in self._created_dbs:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
        self._created_dbs.clear()

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _signal_group(popen: subprocess.Popen, sig: signal.Signals) -> None:
    """Signal the process group the cluster started (its leader's pid is the group id)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, sig)
