"""The plugin file is what Airflow's scanner imports; the package behind it never is."""

from __future__ import annotations

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
    assert isinstance(app["app"], FastAPI) and app["url_prefix"] == "/gaggle"
    assert not any(app["url_prefix"].startswith(p) for p in RESERVED_URL_PREFIXES)
    [view] = plugin.external_views
    assert view["destination"] == "nav" and view["href"] == app["url_prefix"] + "/"
