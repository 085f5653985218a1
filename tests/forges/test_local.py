"""The local forge walks a PR's whole lifecycle offline, idempotently and safely."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from gaggle.forges.base import FileChange, Proposal, codeowners_for
from gaggle.forges.local import LocalForge, LocalForgeError

REPO = "acme/growth-sql"


@pytest.fixture
def forge(tmp_path: Path) -> LocalForge:
    repo = tmp_path / REPO
    (repo / "sql").mkdir(parents=True)
    (repo / "sql" / "a.sql").write_text("SELECT country FROM core.users_v1\n")
    (repo / "README.md").write_text("jobs\n")
    forge = LocalForge(tmp_path)
    forge.init_repo(REPO)
    return forge


def _proposal(content: str = "SELECT geo.country_code AS country FROM core.users_v2\n", **kw):
    return Proposal(
        repo=REPO,
        migration_id="users_v2",
        branch="data-migration/users-v2",
        title="Migrate from core.users_v1 to core.users_v2",
        body="body",
        changes=(FileChange("sql/a.sql", content),),
        labels=("dataset-migration",),
        **kw,
    )


def _git(forge: LocalForge, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=forge.path(REPO), capture_output=True, text=True, check=True
    ).stdout


def test_first_run_creates_one_branch_with_one_commit_and_one_pr(forge: LocalForge):
    outcome = forge.propose(_proposal())
    assert outcome.action == "created" and outcome.pull_request.number == 1
    assert forge.read_files(REPO, "data-migration/users-v2")["sql/a.sql"].startswith("SELECT geo")
    assert forge.read_files(REPO, "main")["sql/a.sql"] == "SELECT country FROM core.users_v1\n"
    assert _git(forge, "rev-list", "--count", "main..data-migration/users-v2").strip() == "1"
    assert "Gaggle-Migration: users_v2" in _git(
        forge, "log", "-1", "--format=%B", outcome.branch_sha
    )


def test_rerun_is_a_no_op_and_a_new_content_updates_the_same_pr(forge: LocalForge):
    first = forge.propose(_proposal())
    again = forge.propose(_proposal())
    assert again.action == "unchanged" and again.branch_sha == first.branch_sha
    updated = forge.propose(_proposal("SELECT 2\n"))
    assert updated.action == "updated" and updated.pull_request.number == first.pull_request.number
    assert _git(forge, "branch", "--list").split().count("data-migration/users-v2") == 1


def test_a_human_commit_on_the_branch_is_never_overwritten(forge: LocalForge):
    forge.propose(_proposal())
    _git(forge, "checkout", "-q", "data-migration/users-v2")
    (forge.path(REPO) / "sql" / "a.sql").write_text("-- reviewer's fix\n")
    _git(forge, "-c", "user.name=reviewer", "-c", "user.email=r@x", "commit", "-qam", "fix")
    human = _git(forge, "rev-parse", "HEAD").strip()
    _git(forge, "checkout", "-q", "main")
    outcome = forge.propose(_proposal("SELECT 3\n"))
    assert outcome.action == "human-commit"
    assert _git(forge, "rev-parse", "data-migration/users-v2").strip() == human
    records = forge._records(REPO)["data-migration/users-v2"]
    assert len(records["comments"]) == 1
    forge.propose(_proposal("SELECT 3\n"))
    assert len(forge._records(REPO)["data-migration/users-v2"]["comments"]) == 1  # once


def test_an_amended_commit_keeping_the_trailer_is_never_overwritten(forge: LocalForge):
    first = forge.propose(_proposal())
    _git(forge, "checkout", "-q", "data-migration/users-v2")
    (forge.path(REPO) / "sql" / "a.sql").write_text("-- reviewer's fix\n")
    # `--amend` keeps the message (and its Gaggle-Migration trailer) and gaggle as author.
    _git(forge, "-c", "user.name=reviewer", "-c", "user.email=r@x", "commit", "-qa",
         "--amend", "--no-edit")  # fmt: skip
    amended = _git(forge, "rev-parse", "HEAD").strip()
    _git(forge, "checkout", "-q", "main")
    assert "Gaggle-Migration: users_v2" in _git(forge, "log", "-1", "--format=%B", amended)
    for recorded in (first.branch_sha, ""):
        outcome = forge.propose(_proposal("SELECT 3\n", recorded_head=recorded))
        assert outcome.action == "human-commit"
        assert _git(forge, "rev-parse", "data-migration/users-v2").strip() == amended


def test_a_closed_pr_is_not_reopened_unless_asked(forge: LocalForge):
    pr = forge.propose(_proposal()).pull_request
    forge.close(REPO, pr.number, "not now")
    assert forge.propose(_proposal("SELECT 4\n")).action == "closed-by-human"
    reopened = forge.propose(_proposal("SELECT 4\n", reopen_closed=True))
    assert reopened.action == "updated" and reopened.pull_request.state == "open"


def test_merge_lands_the_change_and_later_runs_leave_it(forge: LocalForge):
    pr = forge.propose(_proposal()).pull_request
    forge.merge(REPO, pr.number)
    assert forge.read_files(REPO, "main")["sql/a.sql"].startswith("SELECT geo")
    assert forge.pull_request(REPO, "data-migration/users-v2").state == "merged"
    assert forge.propose(_proposal()).action == "merged"


def test_the_default_branch_is_never_written(forge: LocalForge):
    with pytest.raises(LocalForgeError, match="default branch"):
        forge.propose(Proposal(REPO, "users_v2", "main", "t", "b", ()))


def test_codeowners_assigns_reviewers_by_the_last_matching_rule():
    codeowners = "* @acme/data\n/sql/ @acme/growth\nmodels/**/*.sql @acme/analytics @ana\n# c\n"
    assert codeowners_for(codeowners, ["sql/a.sql"]) == ["@acme/growth"]
    assert codeowners_for(codeowners, ["dbt/models/marts/x.sql"]) == ["@acme/analytics", "@ana"]
    assert codeowners_for(codeowners, ["README.md"]) == ["@acme/data"]
