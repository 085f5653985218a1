"""Credentials from Airflow connections, turned into the engine's clients.

A BigQuery connection (`google_cloud_platform` type, like the Google provider's) holds
the project, the location and either a service-account key (`keyfile_dict`, a JSON
object or string) or nothing, in which case application default credentials apply.
`endpoint` (an extra) points the client at another API endpoint.
"""

from __future__ import annotations

import json

from airflow.sdk import BaseHook
from gaggle.validation.bigquery import BigQueryValidator

BIGQUERY_CONN_ID = "gaggle_bigquery"


def bigquery_validator(conn_id: str = BIGQUERY_CONN_ID) -> BigQueryValidator:
    connection = BaseHook.get_connection(conn_id)
    extra = connection.extra_dejson
    credentials = None
    key = extra.get("keyfile_dict") or extra.get("extra__google_cloud_platform__keyfile_dict")
    if key:
        from google.oauth2 import service_account

        info = json.loads(key) if isinstance(key, str) else key
        credentials = service_account.Credentials.from_service_account_info(info)
    elif extra.get("anonymous"):
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()
    project = extra.get("project") or extra.get("extra__google_cloud_platform__project")
    return BigQueryValidator.from_settings(
        project, extra.get("location"), extra.get("endpoint"), credentials
    )


GITHUB_CONN_ID = "github_default"


def github_forge(conn_id: str = GITHUB_CONN_ID, **kwargs):
    """The github provider's conventions: the token in `password`, the API base URL (for
    Enterprise) in `host`; a GitHub App by the extras `app_id`, `installation_id` and
    `private_key` (or `key_path`)."""
    from gaggle.forges.github import DEFAULT_BASE_URL, GitHubForge, auth_from_settings

    connection = BaseHook.get_connection(conn_id)
    extra = connection.extra_dejson
    key = extra.get("private_key")
    if not key and extra.get("key_path"):
        with open(extra["key_path"], encoding="utf-8") as handle:
            key = handle.read()
    auth = auth_from_settings(
        connection.password, extra.get("app_id"), key, extra.get("installation_id")
    )
    return GitHubForge(auth, connection.host or DEFAULT_BASE_URL, **kwargs)
