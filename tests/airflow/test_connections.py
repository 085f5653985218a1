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


def test_github_forge_from_the_providers_connection_conventions(monkeypatch):
    from gaggle_airflow.connections import github_forge

    from tests.fakes.github_server import FakeGitHub

    with FakeGitHub() as server:
        server.add_repo("acme/jobs", {"a.sql": "SELECT 1\n"})
        connection = {"conn_type": "github", "host": server.endpoint, "password": "ghp_token"}
        monkeypatch.setenv("AIRFLOW_CONN_GITHUB_DEFAULT", json.dumps(connection))
        forge = github_forge(seconds_between_requests=0)
        assert forge.default_branch("acme/jobs")[0] == "main"
        assert forge.reads.requester.base_url == server.endpoint


def test_github_forge_from_the_environment():
    from gaggle.forges.github import forge_from_environment

    from tests.fakes.github_server import FakeGitHub

    with FakeGitHub() as server:
        server.add_repo("acme/jobs", {"a.sql": "SELECT 1\n"})
        forge = forge_from_environment(
            {"GITHUB_TOKEN": "t", "GITHUB_API_URL": server.endpoint}, seconds_between_requests=0
        )
        assert forge.default_branch("acme/jobs")[0] == "main"


def test_no_github_credentials_is_a_clear_error():
    import pytest
    from gaggle.forges.github import forge_from_environment

    with pytest.raises(ValueError, match="no GitHub credentials"):
        forge_from_environment({})
