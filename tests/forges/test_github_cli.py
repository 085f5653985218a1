"""`gaggle run --forge github`: one repo migrated (or dry-run) on GitHub without Airflow,
with the settings the DAG reads, against the local GitHub server."""

from __future__ import annotations

import json

import pytest
from gaggle.cli import main
from gaggle.forges.github import settings_from_environment

from tests.conftest import DEMO_MIGRATION
from tests.fakes.github_server import FakeGitHub
from tests.fakes.openapi import validate_response

REPO = "acme/growth-sql"
BRANCH = "data-migration/users-v2"
FILES = {"sql/daily.sql": "SELECT user_id, country\nFROM `acme-prod.core.users_v1`\n"}


@pytest.fixture
def server(monkeypatch):
    for name in ("AIRFLOW_CONN_GITHUB_DEFAULT", "GITHUB_TOKEN", "GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    with FakeGitHub() as fake:
        fake.add_repo(REPO, FILES)
        yield fake


def _run(tmp_path, *extra: str) -> int:
    return main(
        ["run", "--forge", "github", "--repo", REPO, "--migration", str(DEMO_MIGRATION),
         "--root", str(tmp_path), *extra]
    )  # fmt: skip


def test_dry_run_then_run_with_the_dags_github_connection(server, tmp_path, monkeypatch, capsys):
    connection = {"conn_type": "github", "password": "t", "host": server.endpoint}
    monkeypatch.setenv("AIRFLOW_CONN_GITHUB_DEFAULT", json.dumps(connection))
    assert _run(tmp_path, "--dry-run") == 0
    out = capsys.readouterr().out
    assert f"{REPO}" in out and "dry-run" in out and "acme-prod.core.users_v2" in out
    assert server.pulls(REPO) == [] and server.content_creating == 0

    assert _run(tmp_path) == 0
    assert "created PR #1" in capsys.readouterr().out
    [pull] = server.pulls(REPO)
    assert pull["head"]["ref"] == BRANCH
    assert "acme-prod.core.users_v2" in server.files_at(REPO, BRANCH)["sql/daily.sql"]
    for method, path, status, body in server.responses:
        validate_response(method, path, status, body)


def test_githubs_own_variables_when_there_is_no_connection(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("GITHUB_API_URL", server.endpoint)
    assert _run(tmp_path, "--dry-run") == 0
    assert "dry-run" in capsys.readouterr().out


def test_missing_credentials_or_repos_are_clear_errors(server, tmp_path, capsys):
    assert _run(tmp_path) == 2
    assert "no GitHub credentials" in capsys.readouterr().err
    code = main(["run", "--forge", "github", "--migration", str(DEMO_MIGRATION),
                 "--root", str(tmp_path)])  # fmt: skip
    assert code == 2 and "--repo owner/name" in capsys.readouterr().err


def test_the_connection_as_an_airflow_uri():
    settings = settings_from_environment(
        {"AIRFLOW_CONN_GITHUB_DEFAULT": "github://:ghp_x%2Fy@github.acme.com/api/v3?app_id=7"}
    )
    assert settings["token"] == "ghp_x/y" and settings["app_id"] == "7"
    assert settings["base_url"] == "https://github.acme.com/api/v3"
