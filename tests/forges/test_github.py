"""The GitHub forge through the real PyGithub against a local server speaking GitHub's REST
API (its responses validated against GitHub's OpenAPI description)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from gaggle.forges.base import GAGGLE_EMAIL, FileChange, Proposal
from gaggle.forges.github import GitHubForge
from gaggle.forges.pacing import Limits, SqlPacer
from github import Auth, GithubException

from tests.fakes.github_server import FakeGitHub
from tests.fakes.openapi import validate_response

REPO = "acme/growth-sql"
BRANCH = "data-migration/users-v2"
BEFORE = {"sql/a.sql": "SELECT country FROM core.users_v1\n", "README.md": "jobs\n"}
AFTER = "SELECT geo.country_code AS country FROM core.users_v2\n"


def _forge(server: FakeGitHub, pacer: SqlPacer | None = None, timeout: int = 5) -> GitHubForge:
    return GitHubForge(
        Auth.Token("t"), server.endpoint, pacer, timeout=timeout, seconds_between_requests=0
    )


def _proposal(forge: GitHubForge, content: str = AFTER, **kw) -> Proposal:
    branch, sha = forge.default_branch(REPO)
    forge.read_files(REPO, sha)
    return Proposal(
        repo=REPO,
        migration_id="users_v2",
        branch=BRANCH,
        title="Migrate from core.users_v1 to core.users_v2",
        body="what changed and why",
        changes=(FileChange("sql/a.sql", content),),
        labels=("dataset-migration",),
        base_branch=branch,
        base_sha=sha,
        **kw,
    )


@pytest.fixture
def server():
    with FakeGitHub() as fake:
        fake.add_repo(REPO, BEFORE)
        yield fake
        _follows_the_description(fake)


def _follows_the_description(server: FakeGitHub) -> None:
    """Every answer the server gave follows GitHub's OpenAPI description; but 5xx made up
    by fault injection and rate-limit answers, which GitHub describes once for every
    operation rather than in each."""
    for method, path, status, body in server.responses:
        limited = status in (403, 429) and "rate limit" in str(body).lower()
        if status < 500 and not limited:
            validate_response(method, path, status, body)


def test_a_new_pr_takes_one_commit_seven_calls_and_five_writes(server):
    forge = _forge(server)
    proposal = _proposal(forge)
    calls_before, writes_before = len(server.calls), server.content_creating
    outcome = forge.propose(proposal)
    assert outcome.action == "created"
    assert (outcome.calls, outcome.writes) == (7, 5)  # tree, commit, ref, PR, labels
    # ...as the server counted them.
    assert len(server.calls) - calls_before == 7
    assert server.content_creating - writes_before == 5
    assert server.files_at(REPO, BRANCH)["sql/a.sql"] == AFTER
    assert server.files_at(REPO, "main") == BEFORE
    [pull] = server.pulls(REPO)
    assert pull["head"]["ref"] == BRANCH and [lb["name"] for lb in pull["labels"]] == [
        "dataset-migration"
    ]
    assert "Gaggle-Migration: users_v2" in server.commit(REPO, BRANCH)["message"]
    for method, path, status, body in server.responses:
        validate_response(method, path, status, body)


def test_a_rerun_changes_nothing_and_an_update_moves_the_same_branch(server):
    forge = _forge(server)
    first = forge.propose(_proposal(forge))
    again = forge.propose(_proposal(forge))
    assert again.action == "unchanged" and again.writes == 0
    assert again.pull_request.number == first.pull_request.number
    updated = forge.propose(_proposal(forge, "SELECT 2\n"))
    assert updated.action == "updated" and len(server.pulls(REPO)) == 1
    assert server.files_at(REPO, BRANCH)["sql/a.sql"] == "SELECT 2\n"


def test_a_human_commit_is_never_overwritten_and_gets_one_comment(server):
    forge = _forge(server)
    pr = forge.propose(_proposal(forge)).pull_request
    human = server.push(REPO, BRANCH, {"sql/a.sql": "-- reviewer fix\n"}, author="human")
    for _ in range(2):
        outcome = forge.propose(_proposal(forge, "SELECT 3\n"))
        assert outcome.action == "human-commit"
    assert server.branches(REPO)[BRANCH] == human
    comments = server.comments(REPO, pr.number)
    assert len(comments) == 1 and "did not update this branch" in comments[0]["body"]


def test_a_closed_pr_is_reopened_only_when_asked(server):
    forge = _forge(server)
    pr = forge.propose(_proposal(forge)).pull_request
    server.close_pr(REPO, pr.number)
    assert forge.propose(_proposal(forge, "SELECT 4\n")).action == "closed-by-human"
    reopened = forge.propose(_proposal(forge, "SELECT 4\n", reopen_closed=True))
    assert reopened.pull_request.state == "open" and len(server.pulls(REPO)) == 1


STEPS = [
    ("POST", r"/git/trees$"),
    ("POST", r"/git/commits$"),
    ("POST", r"/git/refs$"),
    ("POST", r"/pulls$"),
    ("POST", r"/issues/\d+/labels$"),
]


@pytest.mark.parametrize("mode", ["500", "after-500", "timeout"])
@pytest.mark.parametrize(("method", "path"), STEPS, ids=[p for _, p in STEPS])
def test_a_failure_at_any_step_then_a_retry_ends_with_one_branch_and_one_pr(method, path, mode):
    with FakeGitHub(fault_delay_s=2.0) as server:
        server.add_repo(REPO, BEFORE)
        forge = _forge(server, timeout=1)
        server.fail_next(method, path, mode)
        try:
            forge.propose(_proposal(forge))
        except (GithubException, OSError) as err:
            assert err is not None  # the step failed as injected; the retry must converge
        outcome = forge.propose(_proposal(forge))
        assert outcome.action in ("created", "updated", "unchanged")
        assert sorted(server.branches(REPO)) == sorted(["main", BRANCH])
        [pull] = server.pulls(REPO)
        assert pull["head"]["ref"] == BRANCH
        assert [lb["name"] for lb in pull["labels"]] == ["dataset-migration"]
        assert server.files_at(REPO, BRANCH)["sql/a.sql"] == AFTER


def test_pr_state_combines_check_runs_statuses_and_reviews(server):
    forge = _forge(server)
    pr = forge.propose(_proposal(forge)).pull_request
    server.set_check_runs(REPO, pr.head_sha, [("build", "completed", "success")])
    server.set_status(REPO, pr.head_sha, "pending", "ci/lint")
    state = forge.pull_request(REPO, BRANCH)
    assert (state.state, state.ci, state.review) == ("open", "pending", "review_required")
    server.set_status(REPO, pr.head_sha, "success", "ci/lint")
    server.add_review(REPO, pr.number, "APPROVED", "alice")
    state = forge.pull_request(REPO, BRANCH)
    assert (state.ci, state.review) == ("success", "approved")
    server.merge_pr(REPO, pr.number)
    assert forge.pull_request(REPO, BRANCH).state == "merged"
    assert forge.propose(_proposal(forge)).action == "merged"


def test_closing_an_orphan_comments_why(server):
    forge = _forge(server)
    pr = forge.propose(_proposal(forge)).pull_request
    forge.close(REPO, pr.number, "nothing left to change")
    [pull] = server.pulls(REPO)
    assert pull["state"] == "closed"
    assert "nothing left to change" in server.comments(REPO, pr.number)[-1]["body"]


def test_reviewers_are_requested_on_creation(server):
    forge = _forge(server)
    forge.propose(_proposal(forge, reviewers=("@alice", "@acme/data")))
    [pull] = server.pulls(REPO)
    assert [u["login"] for u in pull["requested_reviewers"]] == ["alice"]
    assert [t["slug"] for t in pull["requested_teams"]] == ["data"]


def test_paced_writes_never_trip_the_secondary_limit(tmp_path):
    with FakeGitHub(writes_per_minute=20, clock_scale=60.0) as server:
        names = [f"acme/repo-{i}" for i in range(6)]
        for name in names:
            server.add_repo(name, BEFORE)
        pacer = SqlPacer(
            sa.create_engine(f"sqlite:///{tmp_path / 'ledger.db'}"),
            limits=Limits(per_minute=20, per_hour=500),
            clock=server.now,
            sleep=lambda s: server.advance(s),
        )
        forge = _forge(server, pacer)
        for name in names:
            branch, sha = forge.default_branch(name)
            forge.read_files(name, sha)
            forge.propose(
                Proposal(name, "users_v2", BRANCH, "t", "b", (FileChange("sql/a.sql", AFTER),),
                         ("dataset-migration",), base_branch=branch, base_sha=sha)
            )  # fmt: skip
        assert server.secondary_limit_hits == 0
        assert sum(len(server.pulls(n)) for n in names) == 6


def test_the_rollout_window_defers_new_prs_beyond_its_budget(tmp_path):
    with FakeGitHub() as server:
        names = [f"acme/repo-{i}" for i in range(4)]
        for name in names:
            server.add_repo(name, BEFORE)
        rollout = SqlPacer(
            sa.create_engine(f"sqlite:///{tmp_path / 'ledger.db'}"),
            scope="rollout:users_v2",
            limits=Limits(per_minute=2, per_hour=2),
            clock=server.now,
        )
        forge = GitHubForge(
            Auth.Token("t"), server.endpoint, rollout=rollout, seconds_between_requests=0
        )
        actions = []
        for name in names:
            branch, sha = forge.default_branch(name)
            proposal = Proposal(name, "users_v2", BRANCH, "t", "b", (FileChange("sql/a.sql", AFTER),),
                                base_branch=branch, base_sha=sha)  # fmt: skip
            actions.append(forge.propose(proposal).action)
        assert actions.count("created") == 1 and actions.count("deferred") == 3
        assert sum(len(server.pulls(n)) for n in names) == 1
        assert all(
            BRANCH not in server.branches(n)
            for n, a in zip(names, actions, strict=True)
            if a == "deferred"
        )


def test_an_exhausted_primary_limit_is_waited_out_not_failed():
    with FakeGitHub(primary_limit=6, clock_scale=3600.0) as server:
        server.add_repo(REPO, BEFORE)
        forge = _forge(server)
        outcome = forge.propose(_proposal(forge))
        assert outcome.action == "created"
        assert server.primary_limit_hits >= 1  # it did run out, and the client waited for reset
        assert len(server.pulls(REPO)) == 1


def test_a_github_app_installation_token_is_renewed_before_it_expires():
    import time

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from gaggle.forges.github import app_auth

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with FakeGitHub() as server:
        server.add_repo(REPO, BEFORE)
        server.token_lifetime_s = 21.5  # PyGithub renews within 20 s of expiry
        forge = GitHubForge(app_auth(123, pem, 42), server.endpoint, seconds_between_requests=0)
        forge.default_branch(REPO)
        assert server.tokens_issued == 1
        forge.default_branch(REPO)
        assert server.tokens_issued == 1  # still fresh: reused
        time.sleep(1.6)
        forge.default_branch(REPO)
        assert server.tokens_issued == 2  # renewed before expiring
        for method, path, status, body in server.responses:
            validate_response(method, path, status, body)


# --- issue 19: what gaggle wrote, unclear failures, limits through the shared budget ----


def test_an_amended_human_commit_is_never_force_overwritten(server):
    forge = _forge(server)
    first = forge.propose(_proposal(forge))
    # A person fixes the file on the PR branch, `git commit --amend` (the trailer and the
    # author stay gaggle's), `git push -f`.
    amended = server.amend(REPO, BRANCH, {"sql/a.sql": "-- fixed by alice\n"}, committer="alice")
    assert "Gaggle-Migration: users_v2" in server.commit(REPO, BRANCH)["message"]
    for recorded in (first.branch_sha, ""):  # with the ledger's record, and without it
        outcome = forge.propose(_proposal(forge, "SELECT 3\n", recorded_head=recorded))
        assert outcome.action == "human-commit"
        assert server.branches(REPO)[BRANCH] == amended
    assert server.files_at(REPO, BRANCH)["sql/a.sql"] == "-- fixed by alice\n"
    comments = server.comments(REPO, first.pull_request.number)
    assert len(comments) == 1 and amended[:12] in comments[0]["body"]


def test_gaggles_own_head_is_moved_whether_or_not_the_ledger_recorded_it(server):
    forge = _forge(server)
    first = forge.propose(_proposal(forge))
    recorded = forge.propose(_proposal(forge, "SELECT 2\n", recorded_head=first.branch_sha))
    assert recorded.action == "updated"
    # A crash after the write, before the ledger recorded it: gaggle's identity and trailer.
    unrecorded = forge.propose(_proposal(forge, "SELECT 5\n", recorded_head=first.branch_sha))
    assert unrecorded.action == "updated"
    commit = server.commit(REPO, BRANCH)
    assert commit["author"]["email"] == commit["committer"]["email"] == GAGGLE_EMAIL


UNCLEAR = ["after-500", "timeout", "disconnect"]


@pytest.mark.parametrize("mode", UNCLEAR)
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", r"/git/refs$"), ("POST", r"/issues/\d+/labels$"), ("POST", r"/pulls$")],
)
def test_an_unclear_write_is_looked_at_not_re_sent(method, path, mode):
    with FakeGitHub(fault_delay_s=2.0) as server:
        server.add_repo(REPO, BEFORE)
        forge = _forge(server, timeout=1)
        server.fail_next(method, path, mode)
        outcome = forge.propose(_proposal(forge))  # converges in the same call
        assert outcome.action == "created"
        sent = [c for c in server.calls if c[0] == method and re.search(path, c[1])]
        assert len(sent) == 1  # it had landed: looked at, never sent twice
        [pull] = server.pulls(REPO)
        assert [lb["name"] for lb in pull["labels"]] == ["dataset-migration"]
        assert server.files_at(REPO, BRANCH)["sql/a.sql"] == AFTER
        _follows_the_description(server)


@pytest.mark.parametrize("mode", UNCLEAR)
def test_an_unclear_ref_update_is_looked_at_not_re_sent(mode):
    with FakeGitHub(fault_delay_s=2.0) as server:
        server.add_repo(REPO, BEFORE)
        forge = _forge(server, timeout=1)
        forge.propose(_proposal(forge))
        server.fail_next("PATCH", r"/git/refs/", mode)
        assert forge.propose(_proposal(forge, "SELECT 2\n")).action == "updated"
        assert sum(1 for c in server.calls if c[0] == "PATCH") == 1
        assert server.files_at(REPO, BRANCH)["sql/a.sql"] == "SELECT 2\n"
        _follows_the_description(server)


@pytest.mark.parametrize("mode", UNCLEAR)
def test_an_unclear_comment_is_posted_once(mode):
    with FakeGitHub(fault_delay_s=2.0) as server:
        server.add_repo(REPO, BEFORE)
        forge = _forge(server, timeout=1)
        pr = forge.propose(_proposal(forge)).pull_request
        server.push(REPO, BRANCH, {"sql/a.sql": "-- reviewer fix\n"}, author="human")
        server.fail_next("POST", r"/issues/\d+/comments$", mode)
        assert forge.propose(_proposal(forge, "SELECT 3\n")).action == "human-commit"
        assert forge.propose(_proposal(forge, "SELECT 3\n")).action == "human-commit"
        assert len(server.comments(REPO, pr.number)) == 1
        _follows_the_description(server)


@pytest.mark.parametrize(
    ("method", "path"), [("POST", r"/issues/\d+/labels$"), ("POST", r"/issues/\d+/comments$")]
)
def test_a_write_github_did_not_do_is_sent_again_after_looking(method, path):
    with FakeGitHub() as server:
        server.add_repo(REPO, BEFORE)
        forge = _forge(server)
        pr = forge.propose(_proposal(forge)).pull_request
        server.fail_next(method, path, "502")
        before = len(server.calls)
        if "labels" in path:
            server.remove_labels(REPO, pr.number)
            forge.propose(_proposal(forge))
            [pull] = server.pulls(REPO)
            assert [lb["name"] for lb in pull["labels"]] == ["dataset-migration"]
        else:
            assert forge.comment(REPO, pr.number, "hello", marker="m") is True
            assert len(server.comments(REPO, pr.number)) == 1
        sent = [c for c in server.calls[before:] if c[0] == method and re.search(path, c[1])]
        assert len(sent) == 2
        _follows_the_description(server)


def test_a_limit_answer_pauses_every_forge_sharing_the_ledger(tmp_path):
    """Two workers, one ledger: a secondary-limit answer to one pauses the other's writes,
    and every write sent, re-sends included, took a slot of the shared budget."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    with FakeGitHub(secondary_retry_after_s=1) as server:
        for name in ("acme/one", "acme/two"):
            server.add_repo(name, BEFORE)
        second_writes: list[float] = []

        def pacer(sleep) -> SqlPacer:
            return SqlPacer(engine, limits=Limits(per_minute=1000, per_hour=10_000),
                            clock=server.now, sleep=sleep)  # fmt: skip

        second = _forge(server, pacer(server.advance))
        second_proposal = _proposal_for(second, "acme/two")
        taken = second.pacer.acquire

        def second_acquire() -> None:
            taken()
            second_writes.append(server.now())

        second.pacer.acquire = second_acquire

        def first_sleeps(seconds: float) -> None:
            if first.limit_answers and not second_writes:  # the second writes meanwhile
                second.propose(second_proposal)
            server.advance(seconds)

        first = _forge(server, pacer(first_sleeps))
        first_proposal = _proposal_for(first, "acme/one")
        server.fail_next("POST", r"/pulls$", "secondary")
        hit_at = server.now()
        assert first.propose(first_proposal).action == "created"
        paused_until = first.pacer.paused_until()
        assert paused_until >= hit_at + 1 and second.pacer.paused_until() == paused_until
        assert second_writes and min(second_writes) >= paused_until
        assert first.limit_answers == 1 and server.secondary_limit_hits == 1
        with engine.connect() as conn:
            slots = conn.execute(sa.text("SELECT count(*) FROM gaggle_write_log")).scalar()
        assert slots == server.content_creating == 11  # 2 PRs x 5 writes + the re-sent POST
        assert sum(len(server.pulls(n)) for n in ("acme/one", "acme/two")) == 2


def test_a_limit_answer_to_a_read_pauses_the_shared_budget(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    with FakeGitHub(secondary_retry_after_s=1) as server:
        server.add_repo(REPO, BEFORE)
        pacer = SqlPacer(engine, clock=server.now, sleep=server.advance)
        forge = _forge(server, pacer)
        server.fail_next("GET", r"/pulls$", "secondary")
        hit_at = server.now()
        assert forge.pull_request(REPO, BRANCH) is None
        assert pacer.paused_until() >= hit_at + 1 and forge.limit_answers == 1
        _follows_the_description(server)


def _proposal_for(forge: GitHubForge, repo: str) -> Proposal:
    branch, sha = forge.default_branch(repo)
    forge.read_files(repo, sha)
    return Proposal(repo, "users_v2", BRANCH, "t", "b", (FileChange("sql/a.sql", AFTER),),
                    ("dataset-migration",), base_branch=branch, base_sha=sha)  # fmt: skip


# --- issue 18 item 10: symbolic links are not followed, file modes are kept ----------------


def test_symlinks_are_skipped_and_each_files_mode_is_kept():
    files = {
        "sql/a.sql": "SELECT country FROM core.users_v1\n",
        "bin/run.sql": "SELECT country FROM core.users_v1\n",
        "sql/link.sql": "../../etc/passwd",
    }
    with FakeGitHub() as server:
        server.add_repo(REPO, files, modes={"bin/run.sql": "100755", "sql/link.sql": "120000"})
        forge = _forge(server)
        branch, sha = forge.default_branch(REPO)
        read = forge.read_files(REPO, sha)
        assert sorted(read) == ["bin/run.sql", "sql/a.sql"]  # the link is not read as a file
        changes = (FileChange("sql/a.sql", AFTER), FileChange("bin/run.sql", AFTER))
        for fresh in (False, True):  # modes from the forge's read, or a forge that read nothing
            if fresh:
                forge = _forge(server)
            proposal = Proposal(REPO, "users_v2", f"{BRANCH}-{fresh}", "t", "b", changes,
                                base_branch=branch, base_sha=sha)  # fmt: skip
            forge.propose(proposal)
            modes = server.modes_at(REPO, proposal.branch)
            assert modes == {"sql/a.sql": "100644", "bin/run.sql": "100755",
                             "sql/link.sql": "120000"}  # fmt: skip
        with pytest.raises(ValueError, match="symbolic link"):
            forge.propose(Proposal(REPO, "users_v2", "x", "t", "b",
                                   (FileChange("sql/link.sql", "x"),), base_branch=branch,
                                   base_sha=sha))  # fmt: skip
        _follows_the_description(server)


def test_the_github_forge_reads_every_suffix_a_framework_handles():
    """One list of suffixes for both forges: a Dataform .sqlx (or an upper-case .SQL) on
    GitHub is read like on the local forge, never silently skipped."""
    from gaggle.repo import TEXT_SUFFIXES

    files = {f"defs/f{n}{suffix}": "SELECT 1\n" for n, suffix in enumerate(sorted(TEXT_SUFFIXES))}
    files["defs/upper.SQL"] = "SELECT 1\n"
    files["defs/image.png"] = "not text"
    with FakeGitHub() as server:
        server.add_repo(REPO, files)
        forge = _forge(server)
        _, sha = forge.default_branch(REPO)
        assert sorted(forge.read_files(REPO, sha)) == sorted(set(files) - {"defs/image.png"})


def test_a_push_while_gaggle_updates_the_branch_is_not_overwritten(server):
    forge = _forge(server)
    forge.propose(_proposal(forge))
    pushed: list[str] = []
    server.before_next(  # a person pushes while gaggle writes its new commit
        "POST",
        r"/git/commits$",
        lambda: pushed.append(server.push(REPO, BRANCH, {"sql/a.sql": "-- mine\n"}, "bob")),
    )
    outcome = forge.propose(_proposal(forge, "SELECT 9\n"))
    assert outcome.action == "human-commit" and pushed
    assert server.branches(REPO)[BRANCH] == pushed[0]
    assert not any(method == "PATCH" for method, _ in server.calls)
