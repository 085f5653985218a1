"""PullRequest.updated_at, the sweep's idle clock, from both forges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from gaggle.forges.base import FileChange, Proposal
from gaggle.forges.github import GitHubForge
from gaggle.forges.local import LocalForge
from github import Auth

from tests.fakes.github_server import FakeGitHub

REPO = "acme/growth-sql"
BRANCH = "data-migration/users-v2"


def _proposal(content: str = "SELECT 2\n", **kw) -> Proposal:
    return Proposal(
        REPO, "users_v2", BRANCH, "Migrate", "body", (FileChange("sql/a.sql", content),), **kw
    )


def test_github_updated_at_is_the_pull_requests_last_activity():
    with FakeGitHub() as server:
        server.add_repo(REPO, {"sql/a.sql": "SELECT 1\n"})
        forge = GitHubForge(Auth.Token("t"), server.endpoint, seconds_between_requests=0)
        opened = forge.propose(_proposal()).pull_request
        assert opened.updated_at is not None and opened.updated_at.tzinfo is not None
        assert abs(opened.updated_at.timestamp() - server.now()) < 5
        server.advance(3 * 86400)  # three idle days, then a human closes it
        server.close_pr(REPO, opened.number)
        closed = forge.pull_request(REPO, BRANCH)
        assert closed.state == "closed"
        assert closed.updated_at - opened.updated_at >= timedelta(days=3)


def test_local_updated_at_moves_on_activity_and_not_on_a_no_op_rerun(tmp_path: Path):
    (tmp_path / REPO / "sql").mkdir(parents=True)
    (tmp_path / REPO / "sql" / "a.sql").write_text("SELECT 1\n")
    forge = LocalForge(tmp_path)
    forge.init_repo(REPO)
    before = datetime.now(UTC)
    opened = forge.propose(_proposal()).pull_request
    assert opened.updated_at is not None and opened.updated_at >= before
    again = forge.propose(_proposal()).pull_request  # nothing changed
    assert again.updated_at == opened.updated_at
    forge.comment(REPO, opened.number, "a polite nudge", marker="nudge")
    nudged = forge.pull_request(REPO, BRANCH)
    assert nudged.updated_at > opened.updated_at
