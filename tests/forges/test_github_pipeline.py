"""The pipeline's steps, as the DAG runs them, on the GitHub forge against the local GitHub
server: what the ledger records after retries, and people's commits left alone."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from gaggle.forges.github import GitHubForge
from gaggle.ledger import Ledger
from gaggle.pipeline import Steps
from gaggle.spec import load_migration
from gaggle.validation.offline import OfflineValidator
from github import Auth, GithubException

from tests.conftest import DEMO_MIGRATION
from tests.fakes.github_server import FakeGitHub

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


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    book = Ledger(sa.create_engine(f"sqlite:///{tmp_path / 'ledger.db'}"))
    book.migrate()
    return book


def _steps(server: FakeGitHub, ledger: Ledger) -> Steps:
    """A fresh forge per step, as each Airflow task builds its own."""
    forge = GitHubForge(Auth.Token("t"), server.endpoint, seconds_between_requests=0)
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
