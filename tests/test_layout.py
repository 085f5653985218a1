"""The project's shape: the engine stays free of Airflow, deployment files are coherent."""

from __future__ import annotations

import subprocess
import sys

from ruamel.yaml import YAML

from tests.conftest import ROOT


def test_engine_imports_without_airflow():
    modules = sorted(
        f"gaggle.{p.stem}"
        for p in (ROOT / "plugins" / "gaggle").glob("*.py")
        if p.stem != "__init__"
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
    assert len(modules) >= 8


def test_compose_mounts_the_project_and_binds_to_loopback():
    compose = YAML(typ="safe").load((ROOT / "docker-compose.yaml").read_text())
    services = compose["services"]
    for name in (
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
    ):
        volumes = services[name]["volumes"]
        assert {v.split(":")[1] for v in volumes} >= {
            "/opt/airflow/dags",
            "/opt/airflow/plugins",
            "/opt/airflow/include",
        }
    assert services["airflow-apiserver"]["ports"] == ["127.0.0.1:8080:8080"]


def test_every_direct_dependency_is_pinned_in_the_lock():
    pins = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    direct = [
        line.split("==")[0].split(">=")[0].split("[")[0].strip().lower()
        for name in ("requirements.txt", "requirements-dev.txt")
        for line in (ROOT / name).read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-r"))
    ]
    assert direct and not [d for d in direct if d not in pins]
