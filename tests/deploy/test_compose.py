"""docker-compose.yaml, checked without a Docker engine: every component of a Celery
deployment is there with its health check and start order, every Airflow service shares
one environment (executor, broker, result backend, execution API, ledger connection),
dags/, plugins/ and include/ are mounted, the init step migrates the database and
imports the pools, and every AIRFLOW__SECTION__KEY it sets is a real Airflow 3.3
config key. (It has never been run here: no Docker engine on this machine.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import sqlalchemy as sa
from ruamel.yaml import YAML

from tests.conftest import ROOT

COMPOSE = ROOT / "docker-compose.yaml"
AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)
LONG_RUNNING = ("postgres", "redis", *AIRFLOW_SERVICES)


@pytest.fixture(scope="module")
def compose() -> dict:
    return YAML(typ="safe").load(COMPOSE.read_text())  # merge keys (<<) resolved


@pytest.fixture(scope="module")
def airflow_keys(tmp_path_factory) -> set[tuple[str, str]]:
    """(section, key) of every option `airflow config list --defaults` knows, providers' too."""
    home = tmp_path_factory.mktemp("airflow-config")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "config", "list", "--defaults"],
        env={**env, "AIRFLOW_HOME": str(home)}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    keys, section = set(), None
    for line in result.stdout.splitlines():
        if match := re.fullmatch(r"\[(.+)\]", line):
            section = match.group(1)
        elif match := re.match(r"# ([a-z0-9_]+) = ", line):
            keys.add((section, match.group(1)))
    assert ("celery", "broker_url") in keys  # the Celery provider's options are listed
    return keys


def test_every_component_of_a_celery_deployment_is_a_service(compose):
    assert set(compose["services"]) >= {*LONG_RUNNING, "airflow-init"}
    commands = {name: compose["services"][name].get("command") for name in AIRFLOW_SERVICES}
    assert commands == {
        "airflow-apiserver": "api-server",
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer",
        "airflow-worker": "celery worker",
    }
    assert compose["services"]["airflow-worker"]["deploy"]["replicas"] >= 2


def test_every_long_running_service_has_a_health_check(compose):
    for name in LONG_RUNNING:
        check = compose["services"][name].get("healthcheck", {})
        assert check.get("test") and check.get("interval"), name


def test_start_order_waits_for_health_and_for_the_init_step(compose):
    services = compose["services"]
    for name, service in services.items():
        for needed, how in service.get("depends_on", {}).items():
            assert needed in services, f"{name} depends on unknown {needed}"
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[needed], f"{name} waits on {needed}'s health"
    for name in AIRFLOW_SERVICES:
        needs = services[name]["depends_on"]
        assert needs["postgres"]["condition"] == "service_healthy", name
        assert needs["redis"]["condition"] == "service_healthy", name
        assert needs["airflow-init"]["condition"] == "service_completed_successfully", name
    # Workers run tasks through the execution API: they start once it answers.
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"] == {
        "condition": "service_healthy"
    }


def test_every_airflow_service_shares_the_celery_settings(compose):
    reference = compose["services"]["airflow-scheduler"]["environment"]
    for name in (*AIRFLOW_SERVICES, "airflow-init"):
        env = compose["services"][name]["environment"]
        assert {k: v for k, v in env.items() if k in reference} == reference, name
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://:@redis:6379/")
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == (
            "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        )
        sync = sa.engine.make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        asynchronous = sa.engine.make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"])
        assert (sync.host, sync.drivername) == ("postgres", "postgresql+psycopg")
        # Without its own async URL Airflow derives one for asyncpg, which is not installed.
        assert asynchronous.set(drivername="postgresql+psycopg") == sync
        assert asynchronous.drivername == "postgresql+psycopg_async"
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
            "http://airflow-apiserver:8080/execution/"
        )
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] and env["AIRFLOW__API__SECRET_KEY"]
        assert int(env["AIRFLOW__CORE__MAX_MAP_LENGTH"]) >= 2000


def test_connections_come_from_the_environment(compose):
    env = compose["services"]["airflow-worker"]["environment"]
    ledger = sa.engine.make_url(env["AIRFLOW_CONN_GAGGLE_LEDGER"])
    assert (ledger.drivername, ledger.host, ledger.database) == (
        "postgresql+psycopg", "postgres", "gaggle_ledger",
    )  # fmt: skip
    ledger.get_dialect()  # the driver is one the image installs (psycopg, requirements.txt)
    # Placeholders: passed through from the host when set (a null value), never hard-coded.
    assert env["AIRFLOW_CONN_GITHUB_DEFAULT"] is None
    assert env["AIRFLOW_CONN_GAGGLE_BIGQUERY"] is None
    header = "".join(line for line in COMPOSE.read_text().splitlines() if line.startswith("#"))
    assert "AIRFLOW_CONN_GITHUB_DEFAULT" in header and "AIRFLOW_CONN_GAGGLE_BIGQUERY" in header


def test_dags_plugins_and_include_are_mounted_everywhere(compose):
    for name in (*AIRFLOW_SERVICES, "airflow-init"):
        volumes = compose["services"][name]["volumes"]
        for folder in ("dags", "plugins", "include"):
            assert f"./{folder}:/opt/airflow/{folder}" in volumes, (name, folder)
            assert (ROOT / folder).is_dir()
        # Logs are shared, so the api-server reads every worker's task logs.
        assert any(v.endswith(":/opt/airflow/logs") for v in volumes), name


def test_the_init_step_migrates_imports_the_pools_and_creates_the_ledger_database(compose):
    script = compose["services"]["airflow-init"]["command"][-1]
    assert "airflow db migrate" in script
    assert "airflow pools import /opt/airflow/include/airflow/pools.json" in script
    assert "CREATE DATABASE gaggle_ledger" in script
    pools = json.loads((ROOT / "include" / "airflow" / "pools.json").read_text())
    assert {"gaggle_github", "gaggle_bigquery"} <= set(pools)
    for pool in pools.values():  # the shape `airflow pools import` accepts
        assert isinstance(pool["slots"], int) and isinstance(pool["description"], str)


def test_every_airflow_setting_is_a_real_config_key(compose, airflow_keys):
    used = set()
    for service in compose["services"].values():
        used |= {k for k in service.get("environment", {}) if k.startswith("AIRFLOW__")}
    assert len(used) > 10
    unknown = []
    for name in sorted(used):
        section, key = name.removeprefix("AIRFLOW__").split("__", 1)
        if (section.lower(), key.lower()) not in airflow_keys:
            unknown.append(name)
    assert not unknown, f"not Airflow 3.3 config keys: {unknown}"


def test_interpolation_is_well_formed_and_every_variable_documented():
    lines = COMPOSE.read_text().splitlines()
    unescaped = "\n".join(line for line in lines if not line.startswith("#")).replace("$$", "")
    assert not re.findall(r"\$(?!\{)", unescaped), "a bare $ must be written $$ in compose"
    header = "\n".join(line for line in lines if line.startswith("#"))
    for name in set(re.findall(r"\$\{(\w+)", unescaped)):
        assert name in header, f"${{{name}}} is not documented at the top of the file"


def test_ports_bind_to_loopback_only(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_the_image_is_the_airflow_version_the_project_pins():
    pinned = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    base = re.search(r"^FROM apache/airflow:(\S+)$", (ROOT / "Dockerfile").read_text(), re.M)
    assert base and pinned and base.group(1) == f"{pinned.group(1)}-python3.11"


def test_the_inline_scripts_parse(compose):
    scripts = {
        name: service["command"][-1].replace("$$", "$")
        for name, service in compose["services"].items()
        if service.get("entrypoint") == "/bin/bash"
    }
    assert {"airflow-init", "gaggle-demo-fleet"} <= set(scripts)
    for name, script in scripts.items():
        result = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True)
        assert result.returncode == 0, (name, result.stderr)
        for python in re.findall(r"python - <<'EOF'\n(.*?)\nEOF", script, re.S):
            compile(python, f"{name} (docker-compose.yaml)", "exec")
