"""Airflow's own authentication, enforced by the dashboard itself.

The api-server mounts a plugin's FastAPI app with no authentication at all, so every
route here depends on Airflow's `get_user` (the same dependency the core API's routes
use): the JWT from `Authorization: Bearer` or else the UI's `_token` cookie, validated
by the configured auth manager (signature, expiry, revocation). Then the auth manager
decides: reading a migration needs read access to its DAG, `migrate_<id>`.

Without a valid token, the API answers 401 (403 for a bad token, as Airflow does) and a
page redirects to the auth manager's login, which comes back to the page afterwards.
"""

from __future__ import annotations

from airflow.api_fastapi.core_api.security import get_user
from fastapi import HTTPException, Request, status

__all__ = ["get_user", "login_url", "may_read_migration", "require_migration"]


def may_read_migration(user, migration_id: str) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    dag_id = f"migrate_{migration_id}"
    return get_auth_manager().is_authorized_dag(
        method="GET", details=DagDetails(id=dag_id, team_name=_team(dag_id)), user=user
    )


def _team(dag_id: str) -> str | None:
    from airflow.configuration import conf

    if not conf.getboolean("core", "multi_team", fallback=False):
        return None
    from airflow.models.dag import DagModel

    return DagModel.get_team_name(dag_id)


def require_migration(user, migration_id: str) -> None:
    if not may_read_migration(user, migration_id):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"not allowed to read the DAG migrate_{migration_id}"
        )


def login_url(request: Request, airflow_root: str) -> str:
    """The auth manager's login page, coming back to this page."""
    from airflow.api_fastapi.app import get_auth_manager

    return airflow_root + get_auth_manager().get_url_login(next_url=str(request.url))
