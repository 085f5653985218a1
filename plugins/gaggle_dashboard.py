"""Airflow plugin: the gaggle migration dashboard in the Airflow UI.

Airflow's plugin manager imports every .py file under plugins/ as a top-level module,
so this file stays a thin registration; the app lives in the gaggle_ui package (kept
out of the scanner by plugins/.airflowignore) and is built on the api-server's first
request (gaggle_ui.asgi: every task's process imports this file too). The api-server
serves it at /gaggle/ with no authentication of its own: it enforces Airflow's
(gaggle_ui.auth).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from gaggle_ui.asgi import URL_PREFIX, DeferredApp


class GaggleDashboardPlugin(AirflowPlugin):
    name = "gaggle_dashboard"
    fastapi_apps = [  # noqa: RUF012 (AirflowPlugin's own attribute shape)
        {"app": DeferredApp(), "url_prefix": URL_PREFIX, "name": "gaggle migrations"}
    ]
    external_views = [  # noqa: RUF012
        {
            "name": "Migrations",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "gaggle",
            "category": "browse",
        }
    ]
