"""The dashboard against a ledger the engine filled (tests/ui/demo.py).

In-process tests authenticate as a real SimpleAuthManager user through FastAPI's
dependency override of Airflow's `get_user` (which validates a JWT against the metadata
database, which an in-process test does not have); authorization is the real auth
manager's. Real tokens against a real api-server: test_browser.py.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from gaggle.ledger import Ledger

from tests.ui.demo import Demo, build_demo


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Demo:
    folder = tmp_path_factory.mktemp("dashboard-demo")
    return build_demo(folder, f"sqlite:///{folder / 'gaggle_ledger.db'}")


@pytest.fixture(scope="session")
def auth_manager():
    from airflow.api_fastapi.app import create_auth_manager

    return create_auth_manager()


def user(role: str | None):
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return SimpleAuthManagerUser(username=f"a-{role}", role=role)


def client_for(url: str, role: str | None = "viewer") -> TestClient:
    from gaggle_ui.app import create_app
    from gaggle_ui.auth import get_user

    ledger = Ledger(url)
    app = create_app(lambda: ledger)
    if role != "anonymous":
        app.dependency_overrides[get_user] = lambda: user(role)
    return TestClient(app)


@pytest.fixture(scope="session")
def client(demo, auth_manager) -> TestClient:
    return client_for(demo.url)
