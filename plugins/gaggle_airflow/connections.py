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
