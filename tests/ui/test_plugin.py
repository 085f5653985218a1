"""The plugin file is what Airflow's scanner imports; the package behind it never is."""

from __future__ import annotations

import subprocess
import sys

from fastapi.testclient import TestClient
from gaggle.ledger import Ledger

from tests.conftest import ROOT


def test_the_scanner_imports_the_plugin_file_and_nothing_of_its_package():
    from airflow._shared.module_loading import find_path_from_directory

    scanned = list(find_path_from_directory(str(ROOT / "plugins"), ".airflowignore", "glob"))
    assert str(ROOT / "plugins" / "gaggle_dashboard.py") in scanned
    assert not [p for p in scanned if "/gaggle_ui/" in p]


def test_the_plugin_serves_the_app_outside_airflows_reserved_prefixes_with_a_nav_entry():
    import gaggle_dashboard
    from airflow.api_fastapi.app import RESERVED_URL_PREFIXES
    from fastapi import FastAPI

    plugin = gaggle_dashboard.GaggleDashboardPlugin
    [app] = plugin.fastapi_apps
    assert app["url_prefix"] == "/gaggle"
    assert not any(app["url_prefix"].startswith(p) for p in RESERVED_URL_PREFIXES)
    assert isinstance(app["app"].app, FastAPI)  # built when first called
    [view] = plugin.external_views
    assert view["destination"] == "nav" and view["href"] == app["url_prefix"] + "/"


def test_a_process_that_imports_the_plugin_file_loads_no_web_app_until_a_request():
    code = (
        "import sys, gaggle_dashboard\n"
        "heavy = ['fastapi', 'gaggle_ui.app', 'airflow.api_fastapi.core_api.security']\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_deferred_app_answers_like_the_app(demo, auth_manager):
    from gaggle_ui.app import create_app
    from gaggle_ui.asgi import DeferredApp

    ledger = Ledger(demo.url)
    client = TestClient(DeferredApp(lambda: create_app(lambda: ledger)))
    assert client.get("/api/migrations").status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/auth/login")
