"""The BigQuery validator built from an Airflow connection reaches the endpoint it names."""

from __future__ import annotations

import json

from gaggle.spec import load_migration
from gaggle_airflow.connections import bigquery_validator

from tests.conftest import DEMO_MIGRATION
from tests.fakes.bigquery_server import FakeBigQuery


def test_validator_from_an_airflow_connection_dry_runs_through_it(monkeypatch):
    migration = load_migration(DEMO_MIGRATION)
    with FakeBigQuery(migration.catalog) as server:
        connection = {
            "conn_type": "google_cloud_platform",
            "extra": {"project": "acme-prod", "location": "EU", "endpoint": server.endpoint,
                      "anonymous": True},
        }  # fmt: skip
        monkeypatch.setenv("AIRFLOW_CONN_GAGGLE_BIGQUERY", json.dumps(connection))
        validator = bigquery_validator()
        analysis = validator.analyze("SELECT country FROM `acme-prod.core.users_v1`")
    assert analysis.ok and analysis.tables == ("acme-prod.core.users_v1",)
    assert validator.location == "EU"
    assert server.requests[-1]["jobReference"]["projectId"] == "acme-prod"
