"""The pipeline's steps, as the DAG runs them, on the GitHub forge against the local GitHub
server: what the ledger records after retries, and people's commits left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from gaggle.forges.github import GitHubForge
from gaggle.forges.http_cache import SqlHttpCache
from gaggle.ledger import Ledger
from gaggle.pipeline import Steps
from gaggle.spec import load_migration
from gaggle.validation.offline import OfflineValidator
from github import Auth, GithubException

from tests.conftest import DEMO_MIGRATION
from tests.fakes.github_server import FakeGitHub
from tests.fakes.openapi import validate_response

MIGRATION = load_migration(DEMO_MIGRATION)
BRANCH = MIGRATION.pull_request.branch
REPO = "acme/growth-sql"
FILES = {
    "sql/daily.sql": "SELECT user_id, country\nFROM `acme-prod.core.users_v1`\n",
    "README.md": "jobs\n",
}


@pytest.fixture
def server():
    with FakeGitHub() as fake:
        fake.add_repo(REPO, FILES)
        yield fake
        for method, path, status, body in fake.responses:  # GitHub's OpenAPI description
            if status < 500:
                validate_response(method, path, status, body)


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    book = Ledger(sa.create_engine(f"sqlite:///{tmp_path / 'ledger.db'}"))
    book.migrate()
    return book


def _steps(server: FakeGitHub, ledger: Ledger) -> Steps:
    """A fresh forge per step, as each Airflow task builds its own: ETags kept in the
    ledger's database, as the DAG's forge keeps them (with its write budget)."""
    forge = GitHubForge(
        Auth.Token("t"),
        server.endpoint,
        seconds_between_requests=0,
        http_cache=SqlHttpCache(ledger.engine),
    )
    return Steps(forge, MIGRATION, ledger, OfflineValidator(MIGRATION.catalog), log=lambda _: None)


def _until_open_pr(server: FakeGitHub, ledger: Ledger) -> str:
    sha = _steps(server, ledger).find_references(REPO)["base_sha"]
    _steps(server, ledger).rewrite(REPO, sha)
    _steps(server, ledger).validate(REPO, sha)
    return sha


def test_a_pr_opened_by_a_failed_attempt_is_recorded_created_without_the_old_error(server, ledger):
    sha = _until_open_pr(server, ledger)
    server.fail_next("POST", r"/issues/\d+/labels$", "502", times=3)  # every send fails
    with pytest.raises(GithubException):
        _steps(server, ledger).open_pr(REPO, sha)
    failed = ledger.get(MIGRATION.id, REPO)
    assert failed.status == "failed" and "open_pr" in failed.last_error
    assert len(server.pulls(REPO)) == 1  # the PR was opened before the labels failed

    retried = _steps(server, ledger).open_pr(REPO, sha)  # Airflow's retry of the task
    state = ledger.get(MIGRATION.id, REPO)
    assert retried["status"] == state.status == "created"
    assert state.last_error == ""  # the summary shows no error for a repo that succeeded
    assert state.branch_sha == server.branches(REPO)[BRANCH]
    [pull] = server.pulls(REPO)
    assert [lb["name"] for lb in pull["labels"]] == ["dataset-migration"]
    assert [e["status"] for e in ledger.events(MIGRATION.id, REPO)][-2:] == ["failed", "created"]


def test_a_rerun_after_success_stays_unchanged(server, ledger):
    sha = _until_open_pr(server, ledger)
    assert _steps(server, ledger).open_pr(REPO, sha)["status"] == "created"
    assert _steps(server, ledger).open_pr(REPO, sha)["status"] == "unchanged"


def test_an_amended_human_commit_survives_a_rerun_through_the_pipeline(server, ledger):
    sha = _until_open_pr(server, ledger)
    _steps(server, ledger).open_pr(REPO, sha)
    gaggles = ledger.get(MIGRATION.id, REPO).branch_sha
    assert gaggles == server.branches(REPO)[BRANCH]
    fixed = "SELECT user_id, geo.country_code AS country\nFROM `acme-prod.core.users_v2` -- ok\n"
    amended = server.amend(REPO, BRANCH, {"sql/daily.sql": fixed}, committer="alice")
    again = _steps(server, ledger).open_pr(REPO, sha)
    assert again["status"] == "human-commit"
    assert server.branches(REPO)[BRANCH] == amended
    assert server.files_at(REPO, BRANCH)["sql/daily.sql"] == fixed
    assert ledger.get(MIGRATION.id, REPO).branch_sha == gaggles  # still what gaggle wrote


def test_max_prs_caps_new_prs_but_never_an_existing_one(server, ledger):
    server.add_repo("acme/other", FILES)
    sha = _until_open_pr(server, ledger)
    assert _steps(server, ledger).open_pr(REPO, sha, run_id="r1", max_prs=1)["status"] == "created"
    other = _steps(server, ledger).find_references("acme/other")["base_sha"]
    _steps(server, ledger).rewrite("acme/other", other)
    _steps(server, ledger).validate("acme/other", other)
    capped = _steps(server, ledger).open_pr("acme/other", other, run_id="r1", max_prs=1)
    assert capped["status"] == "capped" and server.pulls("acme/other") == []
    assert "data-migration/users-v2" not in server.branches("acme/other")
    # A later run whose budget is spent elsewhere: the existing PR is still kept up to date.
    assert ledger.grant_new_pr(MIGRATION.id, "r2", "acme/elsewhere", 1)
    again = _steps(server, ledger).open_pr(REPO, sha, run_id="r2", max_prs=1)
    assert again["status"] == "unchanged"


def _every_step(server: FakeGitHub, ledger: Ledger) -> dict:
    found = _steps(server, ledger).find_references(REPO)
    sha = found["base_sha"]
    _steps(server, ledger).rewrite(REPO, sha)
    _steps(server, ledger).validate(REPO, sha)
    opened = _steps(server, ledger).open_pr(REPO, sha)
    _steps(server, ledger).await_merge(REPO)  # the sensor's first poke
    return opened


def test_a_rerun_with_nothing_to_change_costs_two_calls_then_none_counted(server, ledger):
    assert _every_step(server, ledger)["status"] == "created"
    calls = len(server.calls)
    assert _every_step(server, ledger)["status"] == "unchanged"
    assert len(server.calls) - calls <= 2  # the default branch's head, the PR
    calls, counted = len(server.calls), server.counted
    assert _every_step(server, ledger)["status"] == "unchanged"
    assert len(server.calls) - calls <= 2
    assert server.counted == counted  # both answered 304: nothing counted against the limit
    assert server.content_creating == 5  # the first run's writes only


def test_a_rerun_after_a_person_pushed_still_looks_at_the_branch(server, ledger):
    _every_step(server, ledger)
    _every_step(server, ledger)
    server.push(REPO, BRANCH, {"sql/daily.sql": "SELECT 1\n"}, author="bob")
    assert _every_step(server, ledger)["status"] == "human-commit"


def test_a_merge_check_is_one_conditional_call(server, tmp_path):
    now = [datetime.now(UTC)]
    ledger = Ledger(sa.create_engine(f"sqlite:///{tmp_path / 'l.db'}"), clock=lambda: now[0])
    ledger.migrate()
    _every_step(server, ledger)
    now[0] += timedelta(minutes=10)  # the next poke: open_pr's reading is no longer fresh
    for expected_counted in (1, 0):  # the first keeps the ETag, the next is a 304
        calls, counted = len(server.calls), server.counted
        assert _steps(server, ledger).await_merge(REPO) == "open"
        assert len(server.calls) - calls == 1
        assert server.counted - counted == expected_counted
    server.merge_pr(REPO, server.pulls(REPO)[0]["number"])
    assert _steps(server, ledger).await_merge(REPO) == "merged"
    assert ledger.get(MIGRATION.id, REPO).pr_state == "merged"
