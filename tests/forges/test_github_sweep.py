"""The nightly sweep re-validates what people push to a PR branch, against the local GitHub
server: the verdict is the commit status `gaggle/validation` on the new head."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from gaggle.forges.github import GitHubForge
from gaggle.ledger import Ledger
from gaggle.pipeline import Steps
from gaggle.spec import load_migration
from gaggle.sweep import STATUS_CONTEXT, SweepSettings, sweep_migration
from gaggle.validation.offline import OfflineValidator
from github import Auth

from tests.conftest import DEMO_MIGRATION
from tests.fakes.github_server import FakeGitHub
from tests.fakes.openapi import validate_response

MIGRATION = load_migration(DEMO_MIGRATION)
BRANCH = MIGRATION.pull_request.branch
REPO = "acme/growth-sql"
ORIGINAL = "SELECT user_id, country, age_bucket\nFROM `acme-prod.core.users_v1`\n"
SETTINGS = SweepSettings(dashboard_url="https://airflow.acme.dev/gaggle")


@pytest.fixture
def campaign(tmp_path):
    with FakeGitHub() as server:
        server.add_repo(REPO, {"sql/daily.sql": ORIGINAL})
        ledger = Ledger(sa.create_engine(f"sqlite:///{tmp_path / 'ledger.db'}"))
        ledger.migrate()
        forge = GitHubForge(Auth.Token("t"), server.endpoint, seconds_between_requests=0)
        steps = Steps(forge, MIGRATION, ledger, OfflineValidator(MIGRATION.catalog))
        steps.log = lambda _: None
        run = steps.run(REPO)
        assert run.status == "created"  # a draft: age_bucket is a decision (a TODO)
        yield server, forge, ledger


def _sweep(forge, ledger) -> dict:
    return sweep_migration(forge, MIGRATION, ledger, SETTINGS).revalidated


def test_gaggles_own_head_gets_no_status(campaign):
    server, forge, ledger = campaign
    assert _sweep(forge, ledger) == {}
    assert server.statuses(REPO, server.branches(REPO)[BRANCH]) == {}


def test_a_push_that_leaves_the_todo_is_pending_then_the_fix_turns_it_green(campaign):
    server, forge, ledger = campaign
    rewritten = server.files_at(REPO, BRANCH)["sql/daily.sql"]
    assert "TODO(data-migration users_v2)" in rewritten
    tweak = server.push(REPO, BRANCH, {"sql/daily.sql": rewritten + "-- reviewed\n"}, author="al")
    assert _sweep(forge, ledger) == {REPO: "pending"}
    status = server.statuses(REPO, tweak)[STATUS_CONTEXT]
    assert status["state"] == "pending" and "decision left" in status["description"]
    assert status["target_url"] == (
        "https://airflow.acme.dev/gaggle/migrations/users_v2/repos/acme/growth-sql"
    )
    assert _sweep(forge, ledger) == {}  # this head was judged: nothing read or written again

    fixed = (
        "SELECT user_id, geo.country_code AS country,\n"
        "  CASE WHEN birth_year > 1990 THEN '18-34' ELSE '35+' END AS age_bucket\n"
        "FROM `acme-prod.core.users_v2`\n"
    )
    head = server.push(REPO, BRANCH, {"sql/daily.sql": fixed}, author="al")
    assert _sweep(forge, ledger) == {REPO: "success"}
    assert server.statuses(REPO, head)[STATUS_CONTEXT]["state"] == "success"
    for method, path, code, body in server.responses:
        validate_response(method, path, code, body)


def test_a_human_fix_that_changes_a_consumers_output_fails(campaign):
    server, forge, ledger = campaign
    broken = (
        "SELECT user_id, 1 AS country,\n"
        "  CASE WHEN birth_year > 1990 THEN '18-34' ELSE '35+' END AS age_bucket\n"
        "FROM `acme-prod.core.users_v2`\n"
    )
    head = server.push(REPO, BRANCH, {"sql/daily.sql": broken}, author="al")
    assert _sweep(forge, ledger) == {REPO: "failure"}
    status = server.statuses(REPO, head)[STATUS_CONTEXT]
    assert status["state"] == "failure" and "sql/daily.sql:1" in status["description"]
    assert "INT64" in status["description"] and len(status["description"]) <= 140
    state = ledger.get(MIGRATION.id, REPO)
    assert "fail validation" in state.attention
