"""The fake GitHub, driven by the real PyGithub, and checked against GitHub's OpenAPI description."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
import requests
from github import Auth, Github, GithubException, InputGitTreeElement, RateLimitExceededException

from tests.fakes import openapi
from tests.fakes.github_server import SECONDARY_MESSAGE, FakeGitHub

REPO = "acme/widgets"
FILES = {"README.md": "# widgets\n", "models/users.sql": "select id from users_v1\n"}


def client(server: FakeGitHub, **kwargs) -> Github:
    """PyGithub as the client code builds it: no client-side throttling in tests."""
    options = {"retry": None, "seconds_between_requests": 0, "seconds_between_writes": 0}
    return Github(base_url=server.endpoint, auth=Auth.Token("t"), **{**options, **kwargs})


def make_branch(repo, branch: str, files: dict[str, str | None], message: str = "gaggle: migrate"):
    """One tree (inline contents; None deletes) and one commit on the default branch's head."""
    base = repo.get_git_commit(repo.get_branch(repo.default_branch).commit.sha)
    elements = [
        InputGitTreeElement(path, "100644", "blob", content=text)
        if text is not None
        else InputGitTreeElement(path, "100644", "blob", sha=None)
        for path, text in files.items()
    ]
    tree = repo.create_git_tree(elements, base_tree=repo.get_git_tree(base.tree.sha))
    commit = repo.create_git_commit(message, tree, [base])
    repo.create_git_ref(f"refs/heads/{branch}", commit.sha)
    return commit


@pytest.fixture
def server():
    with FakeGitHub() as fake:
        fake.add_repo(REPO, FILES)
        yield fake
        assert fake.errors == [], fake.errors[0]


@pytest.fixture(scope="module")
def spec() -> openapi.OpenAPI:
    openapi.require_spec()
    return openapi.load_spec()


# --- the whole lifecycle, every exchange checked against GitHub's description ---------------


def test_lifecycle_and_every_response_follows_the_openapi_description(server, spec):
    gh = client(server)
    repo = gh.get_repo(REPO)
    assert repo.default_branch == "main"
    main_sha = repo.get_branch("main").commit.sha
    assert repo.get_git_ref("heads/main").object.sha == main_sha
    base = repo.get_git_commit(main_sha)
    assert {e.path for e in repo.get_git_tree(base.tree.sha, recursive=True).tree} == {
        "README.md",
        "models",
        "models/users.sql",
    }
    current = repo.get_contents("models/users.sql", ref="main")
    assert current.decoded_content == FILES["models/users.sql"].encode()
    assert repo.get_git_blob(current.sha).content.replace("\n", "") != ""

    commit = make_branch(
        repo,
        "gaggle/users-v2",
        {"models/users.sql": "select id from users_v2\n", "README.md": None, "NEW.md": "x\n"},
    )
    assert server.files_at(REPO, "gaggle/users-v2") == {
        "NEW.md": "x\n",
        "models/users.sql": "select id from users_v2\n",
    }
    assert commit.author.name == "gaggle-bot"

    head = "acme:gaggle/users-v2"
    assert list(repo.get_pulls(state="open", head=head, base="main")) == []
    pr = repo.create_pull(base="main", head="gaggle/users-v2", title="Migrate users", body="Why")
    assert (pr.number, pr.state, pr.draft, pr.merged) == (1, "open", False, False)
    assert (pr.head.ref, pr.head.sha, pr.head.label, pr.base.ref) == (
        "gaggle/users-v2",
        commit.sha,
        head,
        "main",
    )
    assert pr.html_url.endswith("/acme/widgets/pull/1")
    with pytest.raises(GithubException) as duplicate:
        repo.create_pull(base="main", head="gaggle/users-v2", title="again", body="")
    assert duplicate.value.status == 422
    assert "A pull request already exists for acme:gaggle/users-v2." in str(duplicate.value)
    assert [p.number for p in repo.get_pulls(state="open", head=head, base="main")] == [1]

    pr.add_to_labels("gaggle", "needs-review")
    pr.create_issue_comment("Consumers of users_v1 found: 1")
    pr.create_review_request(reviewers=["alice"], team_reviewers=["data-eng"])
    pr.edit(title="Migrate users to v2", body="Updated")
    assert [c.body for c in pr.get_issue_comments()] == ["Consumers of users_v1 found: 1"]

    server.set_check_runs(
        REPO, commit.sha, [("build", "completed", "success"), ("lint", "in_progress", None)]
    )
    server.set_status(REPO, commit.sha, "success", "ci/legacy")
    on_head = repo.get_commit(pr.head.sha)
    assert on_head.get_combined_status().state == "success"
    assert {(r.name, r.status, r.conclusion) for r in on_head.get_check_runs()} == {
        ("build", "completed", "success"),
        ("lint", "in_progress", None),
    }
    server.add_review(REPO, 1, "APPROVED", "alice")
    assert [(r.user.login, r.state) for r in pr.get_reviews()] == [("alice", "APPROVED")]

    fresh = repo.get_pull(1)
    assert [label.name for label in fresh.labels] == ["gaggle", "needs-review"]
    assert fresh.title == "Migrate users to v2"
    assert [u.login for u in fresh.requested_reviewers] == []  # alice has reviewed
    assert (fresh.mergeable, fresh.mergeable_state) == (True, "unstable")  # lint still running

    # A second commit: fast-forward is fine, going back without force is not.
    ref = repo.get_git_ref("heads/gaggle/users-v2")
    tree = repo.create_git_tree(
        [InputGitTreeElement("models/more.sql", "100644", "blob", content="select 1\n")],
        base_tree=repo.get_git_tree(commit.tree.sha),
    )
    second = repo.create_git_commit("gaggle: more", tree, [repo.get_git_commit(commit.sha)])
    ref.edit(second.sha)
    with pytest.raises(GithubException) as rewind:
        ref.edit(main_sha)
    assert (rewind.value.status, rewind.value.data["message"]) == (
        422,
        "Update is not a fast forward",
    )
    ref.edit(commit.sha, force=True)
    assert server.branches(REPO)["gaggle/users-v2"] == commit.sha

    assert gh.get_rate_limit().resources.core.limit == 5000
    server.merge_pr(REPO, 1)
    merged = repo.get_pull(1)
    assert (merged.state, merged.merged, merged.merged_by.login) == ("closed", True, "human")
    assert merged.is_merged()
    repo.get_git_ref("heads/gaggle/users-v2").delete()
    assert "gaggle/users-v2" not in server.branches(REPO)
    assert server.files_at(REPO, "main")["models/users.sql"] == "select id from users_v2\n"

    # Every response, and every request body, against GitHub's description.
    failures, covered = [], set()
    for method, path, status, body in server.responses:
        try:
            covered.add(spec.validate_response(method, path, status, body))
        except openapi.SpecMismatch as error:
            failures.append(str(error))
    for method, path, _query, body in server.requests:
        if (method, path.rsplit("/", 1)[-1]) == ("POST", "labels") and isinstance(body, list):
            continue  # PyGithub sends a bare array, which GitHub accepts but the schema omits
        try:
            spec.validate_request(method, path, body)
        except openapi.SpecMismatch as error:
            failures.append(str(error))
    assert failures == []
    assert len(server.responses) == len(server.calls) > 30
    assert covered >= {
        "repos/get",
        "repos/get-branch",
        "git/get-ref",
        "git/get-commit",
        "git/get-tree",
        "git/get-blob",
        "repos/get-content",
        "git/create-tree",
        "git/create-commit",
        "git/create-ref",
        "git/update-ref",
        "git/delete-ref",
        "pulls/list",
        "pulls/create",
        "pulls/get",
        "pulls/update",
        "pulls/request-reviewers",
        "pulls/list-reviews",
        "pulls/check-if-merged",
        "issues/add-labels",
        "issues/create-comment",
        "issues/list-comments",
        "repos/get-commit",
        "repos/get-combined-status-for-ref",
        "checks/list-for-ref",
        "rate-limit/get",
    }


def test_openapi_catches_a_response_that_github_would_not_send(server, spec):
    requests.get(f"{server.endpoint}/repos/{REPO}", timeout=5)
    method, path, status, body = server.responses[-1]
    spec.validate_response(method, path, status, body)
    del body["default_branch"]
    with pytest.raises(openapi.SpecMismatch, match="default_branch"):
        spec.validate_response(method, path, status, body)
    with pytest.raises(openapi.SpecMismatch, match="not documented"):
        spec.validate_response(method, path, 418, body)
    assert (
        spec.operation("GET", "/repos/o/r/git/ref/heads/a/b")[0]
        == "/repos/{owner}/{repo}/git/ref/{ref}"
    )
    assert spec.operation("GET", "/repos/o/r/commits/feature/x/status")[1]["operationId"] == (
        "repos/get-combined-status-for-ref"
    )
    spec.validate_schema("basic-error", {"message": "Not Found", "documentation_url": "x"})


def test_nullable_becomes_a_json_schema_type_union():
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "nullable": True, "enum": ["x"]},
            "b": {"nullable": True, "allOf": [{"type": "integer"}]},
        },
    }
    assert openapi.to_json_schema(schema)["properties"] == {
        "a": {"type": ["string", "null"], "enum": ["x", None]},
        "b": {"anyOf": [{"type": "null"}, {"allOf": [{"type": "integer"}]}]},
    }


# --- git and pull-request semantics ---------------------------------------------------------


def test_git_objects_are_hashed_like_git(server):
    gh = client(server)
    repo = gh.get_repo(REPO)
    blob_sha = hashlib.sha1(b"blob 6\0hello\n").hexdigest()
    assert blob_sha == "ce013625030ba8dba906f756967f9e9ca394464a"
    tree = repo.create_git_tree(
        [InputGitTreeElement("a/b/hello.txt", "100644", "blob", content="hello\n")]
    )
    listing = repo.get_git_tree(tree.sha, recursive=True).tree
    assert [(e.path, e.type) for e in listing] == [
        ("a", "tree"),
        ("a/b", "tree"),
        ("a/b/hello.txt", "blob"),
    ]
    assert listing[-1].sha == blob_sha
    empty = repo.create_git_tree([InputGitTreeElement("x", "100644", "blob", sha=None)])
    assert empty.sha == "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's empty tree
    assert repo.get_git_blob(blob_sha).size == 6


def test_pull_request_states_after_close_reopen_and_branch_deletion(server):
    repo = client(server).get_repo(REPO)
    make_branch(repo, "gaggle/a", {"models/users.sql": "select 2\n"})
    pr = repo.create_pull(base="main", head="gaggle/a", title="A", body="")
    server.close_pr(REPO, pr.number)
    closed = repo.get_pull(pr.number)
    assert (closed.state, closed.merged, closed.mergeable) == ("closed", False, None)
    assert [p.number for p in repo.get_pulls(state="closed")] == [pr.number]
    closed.edit(state="open")
    assert repo.get_pull(pr.number).state == "open"
    server.delete_branch(REPO, "gaggle/a")  # GitHub closes a PR whose head branch is deleted
    assert repo.get_pull(pr.number).state == "closed"
    with pytest.raises(GithubException) as reopen:
        repo.get_pull(pr.number).edit(state="open")
    assert reopen.value.status == 422


def test_human_push_to_main_makes_the_pull_request_conflict(server):
    repo = client(server).get_repo(REPO)
    make_branch(repo, "gaggle/b", {"models/users.sql": "select 2\n"})
    pr = repo.create_pull(base="main", head="gaggle/b", title="B", body="")
    assert repo.get_pull(pr.number).mergeable_state == "clean"
    server.push(REPO, "main", {"README.md": "unrelated\n"})
    assert repo.get_pull(pr.number).mergeable_state == "behind"
    server.push(REPO, "main", {"models/users.sql": "select 3\n"})
    assert (repo.get_pull(pr.number).mergeable, repo.get_pull(pr.number).mergeable_state) == (
        False,
        "dirty",
    )
    pushed = server.push(REPO, "gaggle/b", {"x.txt": "by hand\n"}, author="human")
    assert server.commit(REPO, pushed)["author"]["name"] == "human"
    assert repo.get_pull(pr.number).head.sha == pushed


def test_head_filter_needs_the_owner_as_on_github(server):
    repo = client(server).get_repo(REPO)
    make_branch(repo, "gaggle/c", {"c.sql": "1\n"})
    make_branch(repo, "gaggle/d", {"d.sql": "1\n"})
    repo.create_pull(base="main", head="gaggle/c", title="C", body="")
    repo.create_pull(base="main", head="gaggle/d", title="D", body="")
    assert [p.head.ref for p in repo.get_pulls(head="acme:gaggle/c")] == ["gaggle/c"]
    assert len(list(repo.get_pulls(head="gaggle/c"))) == 2  # ignored without "owner:"
    with pytest.raises(GithubException) as no_commits:
        repo.create_pull(base="main", head="main", title="nothing", body="")
    assert "No commits between main and main" in str(no_commits.value)


def test_lists_are_paginated_with_link_headers(server):
    gh = client(server, per_page=2)
    pr = _open_pr(gh.get_repo(REPO))
    for i in range(5):
        pr.create_issue_comment(f"comment {i}")
    assert [c.body for c in pr.get_issue_comments()] == [f"comment {i}" for i in range(5)]
    pages = [
        query.get("page")
        for m, p, query, _ in server.requests
        if p.endswith("/comments") and m == "GET"
    ]
    assert pages == [None, "2", "3"]


def _open_pr(repo, branch: str = "gaggle/e"):
    make_branch(repo, branch, {"e.sql": "1\n"})
    return repo.create_pull(base="main", head=branch, title="E", body="")


# --- rate limits -----------------------------------------------------------------------------


def test_primary_rate_limit_headers_count_down_then_403():
    with FakeGitHub(primary_limit=3) as server:
        server.add_repo(REPO, FILES)
        url = f"{server.endpoint}/repos/{REPO}"
        seen = [requests.get(url, timeout=5).headers for _ in range(3)]
        assert [h["x-ratelimit-remaining"] for h in seen] == ["2", "1", "0"]
        assert [h["x-ratelimit-used"] for h in seen] == ["1", "2", "3"]
        assert {h["x-ratelimit-limit"] for h in seen} == {"3"}
        assert {h["x-ratelimit-resource"] for h in seen} == {"core"}
        assert 3500 < int(seen[0]["x-ratelimit-reset"]) - time.time() <= 3601
        assert (
            requests.get(f"{server.endpoint}/rate_limit", timeout=5).json()["rate"]["remaining"]
            == 0
        )
        with pytest.raises(RateLimitExceededException) as limited:
            client(server).get_repo(REPO)
        assert limited.value.status == 403
        assert limited.value.data["message"].startswith("API rate limit exceeded for ")
        assert limited.value.headers["x-ratelimit-remaining"] == "0"
        assert server.primary_limit_hits == 1
        server.advance(3600)  # the window resets
        assert client(server).get_repo(REPO).full_name == REPO


def test_secondary_limit_answers_retry_after_on_the_scaled_clock():
    with FakeGitHub(clock_scale=60) as server:  # a simulated minute lasts a real second
        server.add_repo(REPO, FILES)
        pr = _open_pr(client(server).get_repo(REPO))  # 4 writes: tree, commit, ref, pull
        server.writes_per_minute = 3
        server.advance(60)  # those 4 writes leave the one-minute window
        for i in range(3):
            pr.create_issue_comment(f"ok {i}")
        with pytest.raises(RateLimitExceededException) as limited:
            pr.create_issue_comment("one too many")
        assert limited.value.status == 403
        assert limited.value.data["message"] == SECONDARY_MESSAGE
        assert limited.value.headers["retry-after"] == "1"
        assert server.secondary_limit_hits == 1
        time.sleep(1)  # retry-after: a simulated minute has passed
        pr.create_issue_comment("after waiting")
        assert len(server.comments(REPO, pr.number)) == 4


def test_secondary_limit_is_waited_out_by_pygithubs_default_retry():
    with FakeGitHub(writes_per_minute=2, clock_scale=60) as server:
        server.add_repo(REPO, FILES)
        repo = client(server, retry=Github.default_retry).get_repo(REPO)
        started = time.monotonic()
        pr = _open_pr(repo)  # 4 writes at 2 a minute: at least one wait of retry-after
        assert time.monotonic() - started >= 0.9
        assert server.secondary_limit_hits >= 1
        assert pr.number == 1 and len(server.pulls(REPO)) == 1


def test_hourly_write_limit_and_the_simulated_clock():
    with FakeGitHub(writes_per_hour=2, clock_scale=60) as server:
        server.add_repo(REPO, FILES)
        pr_repo = client(server).get_repo(REPO)
        before = server.now()
        pr_repo.create_git_tree([InputGitTreeElement("a", "100644", "blob", content="1")])
        pr_repo.create_git_tree([InputGitTreeElement("a", "100644", "blob", content="2")])
        with pytest.raises(RateLimitExceededException) as limited:
            pr_repo.create_git_tree([InputGitTreeElement("a", "100644", "blob", content="3")])
        assert 55 <= int(limited.value.headers["retry-after"]) <= 61  # an hour is a minute here
        server.advance(3600)
        pr_repo.create_git_tree([InputGitTreeElement("a", "100644", "blob", content="3")])
        assert server.now() - before >= 3600


# --- fault injection, counting, concurrency ---------------------------------------------------


def test_after_500_creates_the_pull_request_and_default_retry_then_gets_422(server):
    repo = client(server, retry=Github.default_retry).get_repo(REPO)
    make_branch(repo, "gaggle/f", {"f.sql": "1\n"})
    server.fail_next("POST", r"/pulls$", "after-500")
    with pytest.raises(GithubException) as retried:
        repo.create_pull(base="main", head="gaggle/f", title="F", body="")
    assert retried.value.status == 422
    assert "A pull request already exists for acme:gaggle/f." in str(retried.value)
    assert [p["state"] for p in server.pulls(REPO)] == ["open"]
    assert [c for c in server.calls if c == ("POST", f"/repos/{REPO}/pulls")] == [
        ("POST", f"/repos/{REPO}/pulls")
    ] * 2
    assert [r[2] for r in server.responses if r[:2] == ("POST", f"/repos/{REPO}/pulls")] == [
        500,
        422,
    ]


def test_plain_500_does_nothing_and_is_retried_by_default(server):
    repo = client(server).get_repo(REPO)
    make_branch(repo, "gaggle/g", {"g.sql": "1\n"})
    server.fail_next("POST", r"/pulls$", "500")
    with pytest.raises(GithubException) as failed:
        repo.create_pull(base="main", head="gaggle/g", title="G", body="")
    assert failed.value.status == 500 and server.pulls(REPO) == []
    server.fail_next("*", r"/pulls$", "502")
    retrying = client(server, retry=Github.default_retry).get_repo(REPO)
    assert retrying.create_pull(base="main", head="gaggle/g", title="G", body="").number == 1
    assert [mode for _, _, mode in server.faults_fired] == ["500", "502"]


def test_timeout_and_disconnect_happen_after_the_work_is_done(server):
    server.fault_delay_s = 1.5
    repo = client(server, timeout=1).get_repo(REPO)
    make_branch(repo, "gaggle/h", {"h.sql": "1\n"})
    server.fail_next("POST", r"/pulls$", "timeout")
    with pytest.raises(requests.exceptions.Timeout):
        repo.create_pull(base="main", head="gaggle/h", title="H", body="")
    assert len(server.pulls(REPO)) == 1
    server.fail_next("POST", r"/issues/1/comments$", "disconnect")
    with pytest.raises(requests.exceptions.ConnectionError):
        repo.get_pull(1).create_issue_comment("lost answer")
    assert [c["body"] for c in server.comments(REPO, 1)] == ["lost answer"]
    with pytest.raises(ValueError, match="unknown fault mode"):
        server.fail_next("GET", ".", "explode")


def test_calls_and_content_creating_requests_are_counted(server):
    gh = client(server)
    repo = gh.get_repo(REPO)
    _open_pr(repo)
    writes = [c for c in server.calls if c[0] in ("POST", "PATCH", "PUT", "DELETE")]
    assert server.content_creating == len(writes) == 4
    assert server.calls[0] == ("GET", f"/repos/{REPO}")
    missing = requests.get(f"{server.endpoint}/nope", timeout=5)
    assert missing.status_code == 404
    assert missing.json()["message"] == "Not Found" and "documentation_url" in missing.json()
    assert requests.get(f"{server.endpoint}/repos/acme/none", timeout=5).status_code == 404


def test_concurrent_requests_are_observed():
    with FakeGitHub(latency_s=0.2) as server:
        server.add_repo(REPO, FILES)
        gh = [client(server) for _ in range(4)]
        threads = [threading.Thread(target=g.get_repo, args=(REPO,)) for g in gh]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert server.max_concurrent >= 2
        assert server.calls.count(("GET", f"/repos/{REPO}")) == 4


def test_too_many_concurrent_requests_hit_a_secondary_limit():
    with FakeGitHub(latency_s=0.3, max_concurrent_requests=1) as server:
        server.add_repo(REPO, FILES)
        statuses: list[int] = []

        def fetch() -> None:
            statuses.append(requests.get(f"{server.endpoint}/repos/{REPO}", timeout=5).status_code)

        threads = [threading.Thread(target=fetch) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert 200 in statuses and 403 in statuses
        assert server.secondary_limit_hits == statuses.count(403)


def test_without_npm_the_spec_fails_in_ci_and_skips_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setattr(openapi, "CACHE", tmp_path)
    monkeypatch.setattr(openapi, "PACKAGE_DIR", tmp_path / "missing")
    monkeypatch.setattr(openapi, "DEREFERENCED", tmp_path / "missing" / "api.github.com.deref.json")
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm here
    with pytest.raises(openapi.SpecUnavailable, match="npm is not on PATH"):
        openapi.ensure_spec()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required in CI"):
        openapi.require_spec()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="unavailable"):
        openapi.require_spec()
