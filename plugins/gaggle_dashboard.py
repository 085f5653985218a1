"""Airflow plugin: the gaggle migration dashboard in the Airflow UI.

Airflow's plugin manager imports every .py file under plugins/ as a top-level module,
so this file stays a thin registration; the app lives in the gaggle_ui package (kept
out of the scanner by plugins/.airflowignore). The api-server serves the app at
/gaggle/ with no authentication of its own: the app enforces Airflow's (gaggle_ui.auth).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from gaggle_ui.app import URL_PREFIX, create_app


class GaggleDashboardPlugin(AirflowPlugin):
    name = "gaggle_dashboard"
    fastapi_apps = [  # noqa: RUF012 (AirflowPlugin's own attribute shape)
        {"app": create_app(), "url_prefix": URL_PREFIX, "name": "gaggle migrations"}
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
