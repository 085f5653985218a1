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


def test_llm_settings_from_the_anthropic_connection_reach_its_endpoint(monkeypatch, tmp_path):
    from gaggle.ledger import Ledger
    from gaggle.repo import rewrite_repo
    from gaggle_airflow.connections import llm_settings

    from tests.fakes.anthropic_server import API_KEY, FakeAnthropic
    from tests.llm.conftest import ACTIVE_USERS, ACTIVE_USERS_MIGRATED, answer, make_repo

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with FakeAnthropic() as server:
        connection = {
            "conn_type": "generic", "host": server.endpoint, "password": API_KEY,
            "extra": {"model": "claude-from-connection", "max_attempts": 2,
                      "prices": "claude-from-connection=1/5"},
        }  # fmt: skip
        monkeypatch.setenv("AIRFLOW_CONN_ANTHROPIC_DEFAULT", json.dumps(connection))
        assert not llm_settings(use_llm=False).enabled  # the run did not ask
        settings = llm_settings(use_llm=True)
        assert (settings.enabled, settings.model, settings.max_attempts) == (
            True, "claude-from-connection", 2,
        )  # fmt: skip
        from gaggle.llm import resolve_with_llm
        from gaggle.spec import load_migration

        migration = load_migration(DEMO_MIGRATION)
        root = make_repo(tmp_path / "repo", {"sql/a.sql": ACTIVE_USERS})
        server.add(answer(ACTIVE_USERS, ACTIVE_USERS_MIGRATED))
        ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
        ledger.migrate()
        # the LLM goes first; flags become comments only for what it leaves
        outcome = rewrite_repo(root, migration, write=False, comment_flags=False)
        report = resolve_with_llm(outcome, migration, None, settings, ledger, "r", "acme/a")
        assert report.changes == 4
        assert server.requests[0].body["model"] == "claude-from-connection"


def test_without_a_key_the_llm_stays_off_whatever_the_run_asks(monkeypatch):
    from gaggle_airflow.connections import llm_settings

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_ANTHROPIC_DEFAULT", raising=False)
    assert not llm_settings(use_llm=True).enabled
