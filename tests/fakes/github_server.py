"""A local HTTP server that speaks the part of GitHub's REST API that PyGithub uses to open
pull requests: repositories, branches, git refs/trees/blobs/commits, contents, pulls,
reviews, labels, issue comments, check runs, combined status and rate limits.

Start it with `with FakeGitHub() as server:` and point PyGithub at it::

    Github(base_url=server.endpoint, auth=Auth.Token("t"),
           seconds_between_requests=0, seconds_between_writes=0)

State lives in memory behind one lock. Git objects are real git objects: blobs, trees and
commits are hashed the way git hashes them, so SHAs are 40-hex and content-addressed.
Responses follow GitHub's OpenAPI description (see tests/fakes/openapi.py, which checks
them); URLs in bodies are absolute and point back at the server, as PyGithub follows them.

What the fake does to test a client's safety:
- counts: `calls` [(method, path)], `requests`, `responses` [(method, path, status, body)],
  `content_creating` (POST/PATCH/PUT/DELETE received), `max_concurrent`;
- the primary rate limit (`primary_limit` per simulated hour, x-ratelimit-* headers on every
  answer, 403 "API rate limit exceeded ..." when spent);
- secondary limits on writes (`writes_per_minute`, `writes_per_hour`, and optionally
  `max_concurrent_requests`): 403 with `retry-after` and GitHub's message;
- a scaled clock: simulated time runs `clock_scale` times faster than real time, so a
  simulated minute can last a real second; `now()` reads it and `advance()` jumps it;
  `retry-after` and `x-ratelimit-reset` are in real seconds so a client waits the scaled time;
- one-shot faults: `fail_next(method, path_regex, mode)`;
- conditional requests: an ETag on every 200 to a GET; `If-None-Match` with the current
  one answers 304 without a body, not counted against the rate limit (`counted` counts
  the requests that are; `not_modified` the 304s);
- code search (`GET /search/code`, GitHub's legacy syntax: terms, "phrases", `org:`/`user:`,
  `repo:`, `path:`, `filename:`, `extension:`, `language:`, `size:`, `in:`) over each
  repository's default branch, files under 384 KB only, at most 1,000 results per query
  (a page past them answers 422), with its own rate limit bucket (`code_search_per_minute`,
  10 by default, a sliding simulated minute; 403 with x-ratelimit-* headers when spent).
"""

from __future__ import annotations

import base64
import copy
import difflib
import hashlib
import itertools
import json
import math
import re
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.serving import LoopbackServer

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
DOCS = "https://docs.github.com/rest"
PRIMARY_MESSAGE = "API rate limit exceeded for user ID {user_id}."
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
FAULT_MODES = (
    "NNN (e.g. 500)",
    "after-NNN (e.g. after-500)",
    "timeout",
    "disconnect",
    "secondary",
)
SEARCH_CAP = 1000  # results GitHub serves for one search query
SEARCH_SIZE_LIMIT = 384 * 1024  # only smaller files are indexed for code search
SEARCH_CAP_MESSAGE = (
    "Cannot access beyond the first 1000 results, or the endpoint has been spammed."
)
# Linguist language names (lower-cased) as file extensions, for `language:`.
LANGUAGE_EXTENSIONS = {
    "sql": (".sql",),
    "scala": (".scala", ".sc", ".sbt"),
    "yaml": (".yml", ".yaml"),
    "json": (".json",),
    "python": (".py",),
    "markdown": (".md",),
    "shell": (".sh",),
}
CHECK_STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CHECK_CONCLUSIONS = (
    "success",
    "failure",
    "neutral",
    "cancelled",
    "skipped",
    "timed_out",
    "action_required",
)
STATUS_STATES = ("error", "failure", "pending", "success")
REVIEW_STATES = ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING")
_FILE_MODES = ("100644", "100755", "040000", "160000", "120000")
_TYPE_OF_MODE = {"040000": "tree", "160000": "commit"}
_PASSING_CHECKS = ("success", "neutral", "skipped")
_VERIFICATION = {
    "verified": False,
    "reason": "unsigned",
    "signature": None,
    "payload": None,
    "verified_at": None,
}

# --- git objects ---------------------------------------------------------------------------


def _git_hash(kind: str, payload: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(payload)}\0".encode() + payload).hexdigest()


def _type_of(mode: str) -> str:
    return _TYPE_OF_MODE.get(mode, "blob")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def _b64(data: bytes) -> str:
    """Base64 wrapped at 60 columns, as GitHub sends blob and file contents."""
    text = base64.b64encode(data).decode()
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))


def _line_changes(old: bytes | None, new: bytes | None) -> tuple[int, int]:
    before = (old or b"").decode("utf-8", "replace").splitlines()
    after = (new or b"").decode("utf-8", "replace").splitlines()
    added = removed = 0
    for line in difflib.unified_diff(before, after, lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


@dataclass
class _Commit:
    tree: str
    parents: list[str]
    message: str
    author: dict  # {"name", "email", "date"}
    committer: dict
    login: str | None  # the GitHub user the author email belongs to, if any


@dataclass
class _Pull:
    number: int
    id: int
    title: str
    body: str | None
    head: str
    base: str
    user: str
    draft: bool
    maintainer_can_modify: bool
    created_at: float
    updated_at: float
    head_sha: str
    base_sha: str
    state: str = "open"
    closed_at: float | None = None
    merged_at: float | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    labels: list[str] = field(default_factory=list)
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)
    comments: list[dict] = field(default_factory=list)


@dataclass
class _Repo:
    owner: str
    name: str
    id: int
    default_branch: str
    private: bool
    archived: bool
    created_at: float
    objects: dict[str, tuple[str, Any]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/main" -> commit sha
    pulls: dict[int, _Pull] = field(default_factory=dict)
    labels: dict[str, dict] = field(default_factory=dict)
    check_runs: dict[str, list[dict]] = field(default_factory=dict)
    statuses: dict[str, list[dict]] = field(default_factory=dict)
    next_number: int = 1
    pushed_at: float = 0.0

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def commit(self, sha: str) -> _Commit:
        return self.objects[sha][1]

    def kind(self, sha: str) -> str | None:
        found = self.objects.get(sha)
        return found[0] if found else None

    def branch_sha(self, branch: str) -> str | None:
        return self.refs.get(f"refs/heads/{branch}")


class ApiError(Exception):
    """Raised inside a route: answered as GitHub answers errors."""

    def __init__(
        self, status: int, message: str, errors: list | None = None, docs: str = DOCS
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {
            "message": message,
            "documentation_url": docs,
            "status": str(status),
        }
        if errors is not None:
            self.body["errors"] = errors


def _not_found(message: str = "Not Found") -> ApiError:
    return ApiError(404, message)


def _invalid(resource: str, field_name: str, code: str = "invalid") -> ApiError:
    return ApiError(
        422, "Validation Failed", [{"resource": resource, "field": field_name, "code": code}]
    )


def _custom(resource: str, message: str) -> ApiError:
    return ApiError(
        422, "Validation Failed", [{"resource": resource, "code": "custom", "message": message}]
    )


@dataclass
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern
    mode: str
    times: int


_REPO_URLS = {  # GitHub's URL templates, relative to the repository's API URL
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}

_R = r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_N = r"(?P<number>\d+)"
_ROUTES: list[tuple[str, re.Pattern, str]] = [
    (method, re.compile(pattern), handler)
    for method, pattern, handler in [
        ("GET", r"^/rate_limit$", "_rate_limit"),
        ("GET", r"^/search/code$", "_search_code"),
        ("POST", r"^/app/installations/(?P<installation>\d+)/access_tokens$", "_access_token"),
        ("GET", _R + r"$", "_get_repo"),
        ("GET", _R + r"/branches/(?P<branch>.+)$", "_get_branch"),
        ("GET", _R + r"/git/ref/(?P<ref>.+)$", "_get_ref"),
        ("GET", _R + r"/git/refs/(?P<ref>.+)$", "_get_ref"),
        ("POST", _R + r"/git/refs$", "_create_ref"),
        ("PATCH", _R + r"/git/refs/(?P<ref>.+)$", "_update_ref"),
        ("DELETE", _R + r"/git/refs/(?P<ref>.+)$", "_delete_ref"),
        ("GET", _R + r"/git/trees/(?P<sha>[^/]+)$", "_get_tree"),
        ("POST", _R + r"/git/trees$", "_create_tree"),
        ("GET", _R + r"/git/blobs/(?P<sha>[^/]+)$", "_get_blob"),
        ("POST", _R + r"/git/blobs$", "_create_blob"),
        ("GET", _R + r"/git/commits/(?P<sha>[^/]+)$", "_get_git_commit"),
        ("POST", _R + r"/git/commits$", "_create_git_commit"),
        ("GET", _R + r"/commits/(?P<ref>.+)/check-runs$", "_list_check_runs"),
        ("GET", _R + r"/commits/(?P<ref>.+)/status$", "_combined_status"),
        ("POST", _R + r"/statuses/(?P<sha>[^/]+)$", "_create_status"),
        ("GET", _R + r"/commits/(?P<ref>.+)$", "_get_commit"),
        ("GET", _R + r"/contents/?(?P<path>.*)$", "_get_contents"),
        ("GET", _R + r"/pulls$", "_list_pulls"),
        ("POST", _R + r"/pulls$", "_create_pull"),
        ("GET", _R + rf"/pulls/{_N}$", "_get_pull"),
        ("PATCH", _R + rf"/pulls/{_N}$", "_update_pull"),
        ("GET", _R + rf"/pulls/{_N}/merge$", "_is_merged"),
        ("GET", _R + rf"/pulls/{_N}/requested_reviewers$", "_list_requested_reviewers"),
        ("POST", _R + rf"/pulls/{_N}/requested_reviewers$", "_request_reviewers"),
        ("GET", _R + rf"/pulls/{_N}/reviews$", "_list_reviews"),
        ("GET", _R + rf"/issues/{_N}/labels$", "_list_labels"),
        ("POST", _R + rf"/issues/{_N}/labels$", "_add_labels"),
        ("GET", _R + rf"/issues/{_N}/comments$", "_list_comments"),
        ("POST", _R + rf"/issues/{_N}/comments$", "_create_comment"),
    ]
]


class FakeGitHub(LoopbackServer):
    """An in-memory GitHub. `with FakeGitHub() as server:`; `server.endpoint` is the base URL.

    Any token authenticates as `login`. Seed state with `add_repo`, `push`,
    `set_check_runs`, `set_status`, `add_review`, `merge_pr`, `close_pr`,
    `delete_branch`; read it with `branches`, `pulls`, `comments`, `files_at`, `commit`.
    """

    def __init__(
        self,
        *,
        login: str = "gaggle-bot",
        primary_limit: int = 5000,
        writes_per_minute: int = 80,
        writes_per_hour: int = 500,
        max_concurrent_requests: int | None = None,
        clock_scale: float = 1.0,
        latency_s: float = 0.0,
        fault_delay_s: float = 3.0,
        html_base: str = "https://github.com",
        code_search_per_minute: int = 10,
        secondary_retry_after_s: int = 60,
    ) -> None:
        self.login = login
        self.tokens_issued = 0
        self.token_lifetime_s = 3600.0
        self.primary_limit = primary_limit
        self.writes_per_minute = writes_per_minute
        self.writes_per_hour = writes_per_hour
        self.max_concurrent_requests = max_concurrent_requests
        self.clock_scale = clock_scale
        self.latency_s = latency_s
        self.fault_delay_s = fault_delay_s
        self.html_base = html_base.rstrip("/")
        self.code_search_per_minute = code_search_per_minute
        self.secondary_retry_after_s = secondary_retry_after_s
        self.code_search_limit_hits = 0
        self.searches: list[float] = []  # admitted code searches in the last simulated minute
        self.search_times: list[float] = []  # every admitted code search, simulated time
        # what happened
        self.calls: list[tuple[str, str]] = []
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.responses: list[tuple[str, str, int, Any]] = []
        self.content_creating = 0
        self.counted = 0  # requests counted against the primary rate limit (a 304 is not)
        self.not_modified = 0  # 304 answers to conditional requests
        self.secondary_limit_hits = 0
        self.primary_limit_hits = 0
        self.faults_fired: list[tuple[str, str, str]] = []
        self.errors: list[str] = []  # tracebacks of bugs in the fake itself (answered 500)
        self.in_flight = 0
        self.max_concurrent = 0
        # state
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._repos: dict[str, _Repo] = {}
        self._user_ids: dict[str, int] = {}
        self._ids = itertools.count(1_000_001)
        self._faults: list[_Fault] = []
        self._hooks: list[tuple[str, re.Pattern, Callable[[], None]]] = []
        self._writes: list[float] = []  # simulated times of admitted writes, last hour
        self._real0 = time.monotonic()
        self._epoch0 = time.time()
        self._offset = 0.0
        self._window_start = self.now()
        self._used = 0
        self._serve(self._handler(), poll_interval=0.02)

    def __exit__(self, *exc) -> None:
        self._closing.set()  # hung requests (faults) give up first
        super().__exit__(*exc)

    # --- the clock -----------------------------------------------------------------------

    def now(self) -> float:
        """Simulated epoch seconds: real time since start times `clock_scale`, plus `advance`."""
        elapsed = (time.monotonic() - self._real0) * self.clock_scale
        return self._epoch0 + elapsed + self._offset

    def advance(self, seconds: float) -> None:
        """Jump the simulated clock forward (e.g. past a rate-limit window)."""
        with self._lock:
            self._offset += seconds

    def _real_epoch_at(self, simulated: float) -> float:
        return time.time() + (simulated - self.now()) / self.clock_scale

    # --- fault injection -----------------------------------------------------------------

    def fail_next(self, method: str, path_regex: str, mode: str = "500", times: int = 1) -> None:
        """Make the next `times` requests matching method ("*" for any) and a regex searched
        in the path fail.

        Modes: "500" (or any status: answer it without doing anything); "after-500" (do the
        work, then answer 500 — GitHub created it but the client saw an error); "timeout"
        (do the work, then wait `fault_delay_s` before answering); "disconnect" (do the work,
        then close the connection without answering); "secondary" (do nothing and answer
        403 with GitHub's secondary-limit message and `retry-after: secondary_retry_after_s`).
        """
        if not re.fullmatch(r"\d{3}|after-\d{3}|timeout|disconnect|secondary", mode):
            raise ValueError(f"unknown fault mode {mode!r}; use one of {FAULT_MODES}")
        with self._lock:
            self._faults.append(_Fault(method.upper(), re.compile(path_regex), mode, times))

    def before_next(self, method: str, path_regex: str, action: Callable[[], None]) -> None:
        """Run `action` (under the server's lock, e.g. `push`) just before the next request
        matching method and path is handled: something happening between two requests."""
        with self._lock:
            self._hooks.append((method.upper(), re.compile(path_regex), action))

    def _take_fault(self, method: str, path: str) -> str | None:
        for fault in self._faults:
            if fault.method in ("*", method) and fault.pattern.search(path):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                self.faults_fired.append((method, path, fault.mode))
                return fault.mode
        return None

    # --- seeding and reading state (for tests) --------------------------------------------

    def add_repo(
        self,
        full_name: str,
        files: dict[str, str],
        default_branch: str = "main",
        *,
        private: bool = False,
        archived: bool = False,
        author: str = "human",
        modes: dict[str, str] | None = None,
    ) -> str:
        """Create a repository with one commit of `files` on `default_branch`; its SHA.
        `modes` gives a path another git mode: "100755" (executable), "120000" (a symbolic
        link whose content is its target)."""
        owner, name = full_name.split("/")
        with self._lock:
            now = self.now()
            repo = _Repo(owner, name, next(self._ids), default_branch, private, archived, now)
            self._repos[full_name.lower()] = repo
            flat = {
                path: ((modes or {}).get(path, "100644"), self._store_blob(repo, text.encode()))
                for path, text in files.items()
            }
            tree = self._store_flat(repo, flat)
            sha = self._store_commit(repo, tree, [], "Initial commit", *self._signature(author))
            repo.refs[f"refs/heads/{default_branch}"] = sha
            repo.pushed_at = now
            return sha

    def push(
        self,
        full_name: str,
        branch: str,
        files: dict[str, str | None],
        message: str = "Human change",
        author: str = "human",
    ) -> str:
        """A commit by `author` on top of `branch` (created from the default branch if new);
        a None value deletes that path. Returns the new head SHA."""
        with self._lock:
            repo = self._repo(full_name)
            parent = repo.branch_sha(branch) or repo.branch_sha(repo.default_branch)
            assert parent is not None, f"{full_name} has no branch {branch}"
            flat = self._flat(repo, repo.commit(parent).tree)
            for path, text in files.items():
                if text is None:
                    flat.pop(path, None)
                else:
                    flat[path] = ("100644", self._store_blob(repo, text.encode()))
            tree = self._store_flat(repo, flat)
            sha = self._store_commit(repo, tree, [parent], message, *self._signature(author))
            repo.refs[f"refs/heads/{branch}"] = sha
            repo.pushed_at = self.now()
            return sha

    def amend(self, full_name: str, branch: str, files: dict[str, str], committer: str) -> str:
        """`git commit --amend` by `committer`, then `git push -f`: the head commit's files
        changed, its message (trailers included), parents and author kept, `committer` as
        the committer. Returns the new head SHA."""
        with self._lock:
            repo = self._repo(full_name)
            head = repo.commit(repo.branch_sha(branch) or "")
            flat = self._flat(repo, head.tree)
            for path, text in files.items():
                mode = flat.get(path, ("100644", ""))[0]
                flat[path] = (mode, self._store_blob(repo, text.encode()))
            tree = self._store_flat(repo, flat)
            who = self._signature(committer)[1]
            sha = self._store_commit(
                repo, tree, list(head.parents), head.message, head.author, who, head.login
            )
            repo.refs[f"refs/heads/{branch}"] = sha
            repo.pushed_at = self.now()
            return sha

    def modes_at(self, full_name: str, ref: str) -> dict[str, str]:
        """{path: git mode} of every non-tree entry at a branch, tag or commit SHA."""
        with self._lock:
            repo = self._repo(full_name)
            sha = self._resolve_commit(repo, ref)
            assert sha is not None, f"{full_name} has no ref {ref}"
            return {
                path: mode for path, (mode, _) in self._flat(repo, repo.commit(sha).tree).items()
            }

    def delete_branch(self, full_name: str, branch: str) -> None:
        """A human deletes a branch (open pull requests from or into it are closed)."""
        with self._lock:
            repo = self._repo(full_name)
            self._remove_ref(repo, f"refs/heads/{branch}")

    def set_check_runs(
        self, full_name: str, sha: str, runs: Iterable[tuple[str, str, str | None]]
    ) -> None:
        """Replace the check runs on a commit (or ref) with [(name, status, conclusion)]."""
        with self._lock:
            repo = self._repo(full_name)
            sha = self._resolve_commit(repo, sha) or sha
            now = self.now()
            made = []
            for name, status, conclusion in runs:
                assert status in CHECK_STATUSES, status
                assert conclusion is None or conclusion in CHECK_CONCLUSIONS, conclusion
                done = status == "completed"
                made.append(
                    {
                        "id": next(self._ids),
                        "name": name,
                        "status": status,
                        "conclusion": conclusion if done else None,
                        "started_at": now,
                        "completed_at": now if done else None,
                        "suite": next(self._ids),
                    }
                )
            repo.check_runs[sha] = made

    def set_status(
        self,
        full_name: str,
        sha: str,
        state: str,
        context: str,
        description: str | None = None,
        target_url: str | None = None,
    ) -> None:
        """Set the commit status of one context (the latest per context counts)."""
        assert state in STATUS_STATES, state
        with self._lock:
            repo = self._repo(full_name)
            sha = self._resolve_commit(repo, sha) or sha
            statuses = [s for s in repo.statuses.get(sha, []) if s["context"] != context]
            now = self.now()
            statuses.append(
                {
                    "id": next(self._ids),
                    "state": state,
                    "context": context,
                    "description": description,
                    "target_url": target_url,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            repo.statuses[sha] = statuses

    def add_review(
        self, full_name: str, number: int, state: str, user: str, body: str = ""
    ) -> None:
        """`user` submits a review (APPROVED, CHANGES_REQUESTED, COMMENTED, ...)."""
        assert state in REVIEW_STATES, state
        with self._lock:
            repo = self._repo(full_name)
            pull = repo.pulls[number]
            pull.reviews.append(
                {
                    "id": next(self._ids),
                    "user": user,
                    "state": state,
                    "body": body,
                    "commit_id": self._pull_head_sha(repo, pull),
                    "submitted_at": self.now(),
                }
            )
            if user in pull.requested_reviewers:
                pull.requested_reviewers.remove(user)

    def merge_pr(self, full_name: str, number: int, by: str = "human") -> str:
        """A human merges an open pull request with a merge commit; its SHA."""
        with self._lock:
            repo = self._repo(full_name)
            pull = repo.pulls[number]
            assert pull.state == "open", f"#{number} is {pull.state}"
            base_sha = repo.branch_sha(pull.base)
            head_sha = self._pull_head_sha(repo, pull)
            assert base_sha is not None, f"base branch {pull.base} is gone"
            mergeable, state = self._mergeability(repo, pull)
            assert mergeable, f"#{number} cannot be merged ({state})"
            base = self._merge_base(repo, base_sha, head_sha)
            merged = self._flat(repo, repo.commit(base_sha).tree)
            theirs = self._flat(repo, repo.commit(head_sha).tree)
            ancestor = self._flat(repo, repo.commit(base).tree) if base else {}
            for path in self._changed(ancestor, theirs):
                if path in theirs:
                    merged[path] = theirs[path]
                else:
                    merged.pop(path, None)
            message = f"Merge pull request #{number} from {repo.owner}/{pull.head}\n\n{pull.title}"
            tree = self._store_flat(repo, merged)
            sha = self._store_commit(
                repo, tree, [base_sha, head_sha], message, *self._signature(by)
            )
            repo.refs[f"refs/heads/{pull.base}"] = sha
            now = self.now()
            pull.head_sha, pull.base_sha = head_sha, base_sha
            pull.state, pull.closed_at, pull.merged_at, pull.updated_at = "closed", now, now, now
            pull.merged_by, pull.merge_commit_sha = by, sha
            return sha

    def close_pr(self, full_name: str, number: int) -> None:
        """A human closes a pull request without merging it."""
        with self._lock:
            repo = self._repo(full_name)
            self._close(repo, repo.pulls[number])

    def remove_labels(self, full_name: str, number: int) -> None:
        """A human removes every label from a pull request."""
        with self._lock:
            self._repo(full_name).pulls[number].labels.clear()

    def branches(self, full_name: str) -> dict[str, str]:
        """{branch: head SHA}."""
        with self._lock:
            repo = self._repo(full_name)
            return {
                ref.removeprefix("refs/heads/"): sha
                for ref, sha in repo.refs.items()
                if ref.startswith("refs/heads/")
            }

    def pulls(self, full_name: str) -> list[dict]:
        """Every pull request, as GET /repos/{o}/{r}/pulls/{n} would answer, by number."""
        with self._lock:
            repo = self._repo(full_name)
            return [self._pull_json(repo, repo.pulls[n]) for n in sorted(repo.pulls)]

    def comments(self, full_name: str, number: int) -> list[dict]:
        """The issue comments on a pull request, as the API answers them."""
        with self._lock:
            repo = self._repo(full_name)
            return [self._comment_json(repo, number, c) for c in repo.pulls[number].comments]

    def files_at(self, full_name: str, ref: str) -> dict[str, str]:
        """{path: text} of every file at a branch, tag or commit SHA."""
        with self._lock:
            repo = self._repo(full_name)
            sha = self._resolve_commit(repo, ref)
            assert sha is not None, f"{full_name} has no ref {ref}"
            flat = self._flat(repo, repo.commit(sha).tree)
            return {
                path: repo.objects[blob][1].decode("utf-8", "replace")
                for path, (mode, blob) in sorted(flat.items())
                if _type_of(mode) == "blob"
            }

    def commit(self, full_name: str, ref: str) -> dict:
        """The git commit at a ref, as GET /repos/{o}/{r}/git/commits/{sha} answers it."""
        with self._lock:
            repo = self._repo(full_name)
            sha = self._resolve_commit(repo, ref)
            assert sha is not None, f"{full_name} has no ref {ref}"
            return self._git_commit_json(repo, sha)

    # --- HTTP ----------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as GitHub and PyGithub's pool use
            disable_nagle_algorithm = True  # else headers then body wait on a delayed ACK

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PATCH(self) -> None:
                self._serve("PATCH")

            def do_PUT(self) -> None:
                self._serve("PUT")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                reply = fake._handle(method, self.path, raw, self.headers.get("If-None-Match"))
                if reply is None:  # "disconnect": drop the connection unanswered
                    self.close_connection = True
                    return
                data = b"" if reply.body is None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if reply.body is not None:
                        self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (e.g. after a "timeout" fault)
                    self.close_connection = True

        return Handler

    def _handle(
        self, method: str, target: str, raw: bytes, if_none_match: str | None = None
    ) -> _Reply | None:
        split = urllib.parse.urlsplit(target)
        path = split.path
        query = dict(urllib.parse.parse_qsl(split.query))
        try:
            body = json.loads(raw) if raw.strip() else None
            bad_json = False
        except ValueError:
            body, bad_json = raw.decode("utf-8", "replace"), True
        with self._lock:  # one critical section: arrival, admission and the work itself
            self.calls.append((method, path))
            self.requests.append((method, path, query, body))
            if method in WRITE_METHODS:
                self.content_creating += 1
            self.in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self.in_flight)
            try:
                reply, mode = self._admit_and_route(method, path, query, body, bad_json)
            except BaseException:
                self.in_flight -= 1
                raise
            if method == "GET" and reply.status == 200 and reply.body is not None:
                reply = self._conditional(path, reply, if_none_match)
            reply.headers.update(self._rate_headers(path))
            if mode != "disconnect":
                self.responses.append((method, path, reply.status, copy.deepcopy(reply.body)))
        try:
            delay = self.latency_s + (self.fault_delay_s if mode == "timeout" else 0.0)
            if delay:  # the request stays in flight meanwhile; shutdown cuts the wait short
                self._closing.wait(delay)
            return None if mode == "disconnect" else reply
        finally:
            with self._lock:
                self.in_flight -= 1

    def _admit_and_route(
        self, method: str, path: str, query: dict, body: Any, bad_json: bool
    ) -> tuple[_Reply, str | None]:
        limited = self._admit(method, path)
        if limited is not None:
            return limited, None
        for hook in [h for h in self._hooks if h[0] in ("*", method) and h[1].search(path)]:
            self._hooks.remove(hook)
            hook[2]()  # e.g. a person pushes while this request is on its way
        mode = self._take_fault(method, path)
        if mode == "secondary":
            self.secondary_limit_hits += 1
            docs = f"{DOCS}/using-the-rest-api/rate-limits"
            body = ApiError(403, SECONDARY_MESSAGE, docs=docs).body
            return _Reply(403, body, {"retry-after": str(self.secondary_retry_after_s)}), mode
        if mode is not None and mode.isdigit():
            return _Reply(int(mode), {"message": "Server Error", "status": mode}), mode
        if bad_json:
            reply = _Reply(400, ApiError(400, "Problems parsing JSON").body)
        else:
            reply = self._route(method, path, query, body)
        if mode is not None and mode.startswith("after-"):
            status = mode.removeprefix("after-")
            return _Reply(int(status), {"message": "Server Error", "status": status}), mode
        return reply, mode

    def _route(self, method: str, path: str, query: dict, body: Any) -> _Reply:
        for route_method, pattern, name in _ROUTES:
            match = pattern.match(path) if route_method == method else None
            if match is None:
                continue
            args = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
            try:
                repo = None
                if "owner" in args:
                    repo = self._repos.get(f"{args.pop('owner')}/{args.pop('repo')}".lower())
                    if repo is None:
                        raise _not_found()
                    if repo.archived and method in WRITE_METHODS:
                        raise ApiError(403, "Repository was archived so is read-only.")
                return getattr(self, name)(repo, args, query, body)
            except ApiError as error:
                return _Reply(error.status, error.body)
            except Exception:  # a bug in the fake: answer 500 and keep the traceback
                self.errors.append(traceback.format_exc())
                return _Reply(500, {"message": "Server Error (bug in FakeGitHub)", "status": "500"})
        return _Reply(404, _not_found().body)

    def _conditional(self, path: str, reply: _Reply, if_none_match: str | None) -> _Reply:
        """GitHub's conditional requests: every 200 to a GET carries an ETag (a weak one, of
        the body); a request whose If-None-Match names the current one gets 304 Not
        Modified without a body, and a 304 does not count against the rate limit."""
        digest = hashlib.sha1(
            json.dumps(reply.body, sort_keys=True).encode(), usedforsecurity=False
        ).hexdigest()
        etag = f'W/"{digest}"'
        reply.headers["ETag"] = etag
        asked = {tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")}
        if f'"{digest}"' not in asked:
            return reply
        self.not_modified += 1
        if path not in ("/rate_limit", "/search/code"):
            self._used = max(0, self._used - 1)
            self.counted -= 1
        return _Reply(304, None, {"ETag": etag})

    # --- rate limits ---------------------------------------------------------------------

    def _roll_window(self, now: float) -> None:
        if now >= self._window_start + 3600:
            self._window_start, self._used = now, 0

    def _rate_headers(self, path: str = "") -> dict[str, str]:
        core = self._search_rate() if path == "/search/code" else self._core_rate()
        return {
            "x-ratelimit-limit": str(core["limit"]),
            "x-ratelimit-remaining": str(core["remaining"]),
            "x-ratelimit-reset": str(core["reset"]),
            "x-ratelimit-used": str(core["used"]),
            "x-ratelimit-resource": core["resource"],
            "x-github-api-version-selected": "2022-11-28",
            "x-github-media-type": "github.v3; format=json",
            "x-github-request-id": f"FAKE:{len(self.calls):08X}",
        }

    def _core_rate(self) -> dict[str, Any]:
        self._roll_window(self.now())
        reset = math.ceil(self._real_epoch_at(self._window_start + 3600))
        return {
            "limit": self.primary_limit,
            "remaining": max(0, self.primary_limit - self._used),
            "reset": reset,
            "used": self._used,
            "resource": "core",
        }

    def _search_rate(self) -> dict[str, Any]:
        """The code_search bucket: a sliding simulated minute."""
        now = self.now()
        self.searches = [t for t in self.searches if t > now - 60]
        used = len(self.searches)
        frees_at = self.searches[0] + 60 if used >= self.code_search_per_minute else now + 60
        return {
            "limit": self.code_search_per_minute,
            "remaining": max(0, self.code_search_per_minute - used),
            "reset": math.ceil(self._real_epoch_at(frees_at)),
            "used": used,
            "resource": "code_search",
        }

    def _admit_search(self) -> _Reply | None:
        rate = self._search_rate()
        if rate["remaining"] > 0:
            self.searches.append(self.now())
            self.search_times.append(self.now())
            return None
        self.code_search_limit_hits += 1
        message = PRIMARY_MESSAGE.format(user_id=self._user_id(self.login))
        return _Reply(
            403, ApiError(403, message, docs=f"{DOCS}/using-the-rest-api/rate-limits").body
        )

    def _admit(self, method: str, path: str) -> _Reply | None:
        """None when the request may proceed, else the 403 that a rate limit answers."""
        now = self.now()
        if path == "/search/code":  # its own bucket, not the core one
            limited = self._admit_search()
            if limited is not None:
                return limited
        elif path != "/rate_limit":  # GET /rate_limit does not count against the limit
            self._roll_window(now)
            if self._used >= self.primary_limit:
                self.primary_limit_hits += 1
                message = PRIMARY_MESSAGE.format(user_id=self._user_id(self.login))
                return _Reply(
                    403,
                    ApiError(403, message, docs=f"{DOCS}/using-the-rest-api/rate-limits").body,
                )
            self._used += 1
            self.counted += 1
        wait = self._secondary_wait(method, now)
        if wait is None:
            if method in WRITE_METHODS:
                self._writes.append(now)
            return None
        self.secondary_limit_hits += 1
        retry_after = max(1, math.ceil(wait / self.clock_scale))
        body = ApiError(403, SECONDARY_MESSAGE, docs=f"{DOCS}/using-the-rest-api/rate-limits").body
        return _Reply(403, body, {"retry-after": str(retry_after)})

    def _secondary_wait(self, method: str, now: float) -> float | None:
        """Simulated seconds to wait, or None when no secondary limit is hit."""
        if self.max_concurrent_requests and self.in_flight > self.max_concurrent_requests:
            return 60.0
        if method not in WRITE_METHODS:
            return None
        self._writes = [t for t in self._writes if t > now - 3600]
        minute = [t for t in self._writes if t > now - 60]
        waits = []
        if len(minute) >= self.writes_per_minute:
            waits.append(minute[len(minute) - self.writes_per_minute] + 60 - now)
        if len(self._writes) >= self.writes_per_hour:
            waits.append(self._writes[len(self._writes) - self.writes_per_hour] + 3600 - now)
        return max(waits) if waits else None

    def _access_token(self, _repo, args, _query, _body) -> _Reply:
        """A GitHub App installation token; it expires `token_lifetime_s` real seconds on."""
        self.tokens_issued += 1
        expires = datetime.now(UTC) + timedelta(seconds=self.token_lifetime_s)
        token = {
            "token": f"ghs_installation_{args['installation']}_{self.tokens_issued}",
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "permissions": {"contents": "write", "pull_requests": "write"},
            "repository_selection": "all",
        }
        return _Reply(201, token)

    def _rate_limit(self, _repo, _args, _query, _body) -> _Reply:
        core = self._core_rate()

        def spare(name: str, limit: int) -> dict:
            return {
                "limit": limit,
                "remaining": limit,
                "reset": core["reset"],
                "used": 0,
                "resource": name,
            }

        resources = {
            "core": core,
            "search": spare("search", 30),
            "graphql": spare("graphql", 5000),
            "integration_manifest": spare("integration_manifest", 5000),
            "code_search": self._search_rate(),
        }
        return _Reply(200, {"resources": resources, "rate": core})

    # --- git storage ---------------------------------------------------------------------

    def _repo(self, full_name: str) -> _Repo:
        repo = self._repos.get(full_name.lower())
        assert repo is not None, f"no repository {full_name}; add_repo() it first"
        return repo

    def _store_blob(self, repo: _Repo, data: bytes) -> str:
        sha = _git_hash("blob", data)
        repo.objects[sha] = ("blob", data)
        return sha

    def _store_tree(self, repo: _Repo, entries: list[tuple[str, str, str]]) -> str:
        """entries: [(mode, name, sha)] of one directory."""
        entries = sorted(entries, key=lambda e: e[1] + ("/" if e[0] == "040000" else ""))
        payload = b"".join(
            f"{mode.lstrip('0')} {name}".encode() + b"\0" + bytes.fromhex(sha)
            for mode, name, sha in entries
        )
        sha = _git_hash("tree", payload)
        repo.objects[sha] = ("tree", entries)
        return sha

    def _store_flat(self, repo: _Repo, flat: dict[str, tuple[str, str]]) -> str:
        """Store the trees of {path: (mode, sha)}; the root tree's SHA."""
        here: list[tuple[str, str, str]] = []
        below: dict[str, dict[str, tuple[str, str]]] = {}
        for path, (mode, sha) in flat.items():
            first, slash, rest = path.partition("/")
            if slash:
                below.setdefault(first, {})[rest] = (mode, sha)
            else:
                here.append((mode, first, sha))
        for name, sub in below.items():
            here.append(("040000", name, self._store_flat(repo, sub)))
        return self._store_tree(repo, here)

    def _flat(self, repo: _Repo, tree: str, prefix: str = "") -> dict[str, tuple[str, str]]:
        """{path: (mode, sha)} of every non-tree entry under a tree."""
        flat: dict[str, tuple[str, str]] = {}
        for mode, name, sha in repo.objects[tree][1]:
            if mode == "040000":
                flat.update(self._flat(repo, sha, f"{prefix}{name}/"))
            else:
                flat[f"{prefix}{name}"] = (mode, sha)
        return flat

    def _signature(self, login: str) -> tuple[dict, dict, str]:
        user_id = self._user_id(login)
        who = {
            "name": login,
            "email": f"{user_id}+{login}@users.noreply.github.com",
            "date": _iso(self.now()),
        }
        return who, dict(who), login

    def _store_commit(
        self,
        repo: _Repo,
        tree: str,
        parents: list[str],
        message: str,
        author: dict,
        committer: dict,
        login: str | None,
    ) -> str:
        lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
        for role, who in (("author", author), ("committer", committer)):
            lines.append(f"{role} {who['name']} <{who['email']}> {_epoch(who['date'])} +0000")
        sha = _git_hash("commit", ("\n".join(lines) + "\n\n" + message).encode())
        repo.objects[sha] = ("commit", _Commit(tree, parents, message, author, committer, login))
        return sha

    def _resolve_commit(self, repo: _Repo, ref: str) -> str | None:
        """A commit SHA for a SHA (or unique prefix), branch, tag, heads/x or refs/heads/x."""
        for name in (ref, f"refs/{ref}", f"refs/heads/{ref}", f"refs/tags/{ref}"):
            if name.startswith("refs/") and name in repo.refs:
                return repo.refs[name]
        if ref == "HEAD":  # the default branch's head, as GitHub resolves it
            return repo.branch_sha(repo.default_branch)
        if re.fullmatch(r"[0-9a-f]{7,40}", ref):
            found = [s for s, (k, _) in repo.objects.items() if k == "commit" and s.startswith(ref)]
            if len(found) == 1:
                return found[0]
        return None

    def _ancestors(self, repo: _Repo, sha: str) -> set[str]:
        seen, todo = set(), [sha]
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(repo.commit(current).parents)
        return seen

    def _merge_base(self, repo: _Repo, a: str, b: str) -> str | None:
        common = self._ancestors(repo, a) & self._ancestors(repo, b)
        # the best common ancestor is not an ancestor of another common ancestor
        for sha in common:
            if not any(sha != other and sha in self._ancestors(repo, other) for other in common):
                return sha
        return None

    @staticmethod
    def _changed(old: dict, new: dict) -> list[str]:
        return sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))

    def _user_id(self, login: str) -> int:
        if login not in self._user_ids:
            self._user_ids[login] = 500_000 + len(self._user_ids) * 17
        return self._user_ids[login]

    # --- JSON representations -------------------------------------------------------------

    def _api(self, repo: _Repo) -> str:
        return f"{self.endpoint}/repos/{repo.owner}/{repo.name}"

    def _html(self, repo: _Repo) -> str:
        return f"{self.html_base}/{repo.owner}/{repo.name}"

    def _user(self, login: str | None, kind: str = "User") -> dict | None:
        if login is None:
            return None
        user_id = self._user_id(login)
        url = f"{self.endpoint}/users/{login}"
        return {
            "login": login,
            "id": user_id,
            "node_id": f"U_kgDO{user_id:08d}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{self.html_base}/{login}",
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": kind,
            "user_view_type": "public",
            "site_admin": False,
        }

    def _repo_json(self, repo: _Repo) -> dict:
        api, html = self._api(repo), self._html(repo)
        host = urllib.parse.urlsplit(self.html_base).netloc
        open_pulls = sum(1 for p in repo.pulls.values() if p.state == "open")
        data = {
            "id": repo.id,
            "node_id": f"R_kgDO{repo.id:08d}",
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": self._user(repo.owner, "Organization"),
            "html_url": html,
            "description": None,
            "fork": False,
            "url": api,
            **{key: api + suffix for key, suffix in _REPO_URLS.items()},
            "git_url": f"git://{host}/{repo.full_name}.git",
            "ssh_url": f"git@{host}:{repo.full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "size": sum(len(o[1]) for o in repo.objects.values() if o[0] == "blob") // 1024,
            "default_branch": repo.default_branch,
            "visibility": "private" if repo.private else "public",
            "archived": repo.archived,
            "disabled": False,
            "license": None,
            "topics": [],
            "is_template": False,
            "allow_forking": True,
            "web_commit_signoff_required": False,
            "permissions": {
                "admin": False,
                "maintain": False,
                "push": True,
                "triage": True,
                "pull": True,
            },
            "created_at": _iso(repo.created_at),
            "updated_at": _iso(repo.pushed_at),
            "pushed_at": _iso(repo.pushed_at),
        }
        for key in ("has_issues", "has_projects", "has_wiki", "has_downloads"):
            data[key] = True
        for key in ("has_pages", "has_discussions"):
            data[key] = False
        for key in ("forks", "forks_count", "stargazers_count", "watchers", "watchers_count"):
            data[key] = 0
        for key in ("network_count", "subscribers_count"):
            data[key] = 0
        data["open_issues"] = data["open_issues_count"] = open_pulls
        return data

    def _ref_json(self, repo: _Repo, ref: str) -> dict:
        sha = repo.refs[ref]
        return {
            "ref": ref,
            "node_id": f"REF_{hashlib.sha1(ref.encode()).hexdigest()[:16]}",
            "url": f"{self._api(repo)}/git/{urllib.parse.quote(ref)}",
            "object": {"sha": sha, "type": "commit", "url": f"{self._api(repo)}/git/commits/{sha}"},
        }

    def _parents_json(self, repo: _Repo, commit: _Commit) -> list[dict]:
        return [
            {
                "sha": p,
                "url": f"{self._api(repo)}/git/commits/{p}",
                "html_url": f"{self._html(repo)}/commit/{p}",
            }
            for p in commit.parents
        ]

    def _git_commit_json(self, repo: _Repo, sha: str) -> dict:
        commit = repo.commit(sha)
        return {
            "sha": sha,
            "node_id": f"C_kwDO{sha[:24]}",
            "url": f"{self._api(repo)}/git/commits/{sha}",
            "html_url": f"{self._html(repo)}/commit/{sha}",
            "author": dict(commit.author),
            "committer": dict(commit.committer),
            "tree": {"sha": commit.tree, "url": f"{self._api(repo)}/git/trees/{commit.tree}"},
            "message": commit.message,
            "parents": self._parents_json(repo, commit),
            "verification": dict(_VERIFICATION),
        }

    def _commit_json(self, repo: _Repo, sha: str, *, with_files: bool = False) -> dict:
        """A commit as /repos/{o}/{r}/commits/{ref} and /branches/{b} answer it."""
        commit = repo.commit(sha)
        api, html = self._api(repo), self._html(repo)
        data = {
            "sha": sha,
            "node_id": f"C_kwDO{sha[:24]}",
            "commit": {
                "author": dict(commit.author),
                "committer": dict(commit.committer),
                "message": commit.message,
                "tree": {"sha": commit.tree, "url": f"{api}/git/trees/{commit.tree}"},
                "url": f"{api}/git/commits/{sha}",
                "comment_count": 0,
                "verification": dict(_VERIFICATION),
            },
            "url": f"{api}/commits/{sha}",
            "html_url": f"{html}/commit/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "author": self._user(commit.login),
            "committer": self._user(commit.login),
            "parents": [
                {**p, "url": f"{api}/commits/{p['sha']}"} for p in self._parents_json(repo, commit)
            ],
        }
        if with_files:
            before = self._flat(repo, repo.commit(commit.parents[0]).tree) if commit.parents else {}
            files = self._diff_json(repo, sha, before, self._flat(repo, commit.tree))
            additions = sum(f["additions"] for f in files)
            deletions = sum(f["deletions"] for f in files)
            data["stats"] = {
                "total": additions + deletions,
                "additions": additions,
                "deletions": deletions,
            }
            data["files"] = files
        return data

    def _diff_json(self, repo: _Repo, sha: str, before: dict, after: dict) -> list[dict]:
        api, html = self._api(repo), self._html(repo)
        files = []
        for path in self._changed(before, after):
            old, new = before.get(path), after.get(path)
            status = "added" if old is None else "removed" if new is None else "modified"
            blob = (new or old)[1]
            added, removed = _line_changes(
                repo.objects[old[1]][1] if old and _type_of(old[0]) == "blob" else None,
                repo.objects[new[1]][1] if new and _type_of(new[0]) == "blob" else None,
            )
            quoted = urllib.parse.quote(path)
            files.append(
                {
                    "sha": blob,
                    "filename": path,
                    "status": status,
                    "additions": added,
                    "deletions": removed,
                    "changes": added + removed,
                    "blob_url": f"{html}/blob/{sha}/{quoted}",
                    "raw_url": f"{html}/raw/{sha}/{quoted}",
                    "contents_url": f"{api}/contents/{quoted}?ref={sha}",
                }
            )
        return files

    def _tree_json(self, repo: _Repo, sha: str, recursive: bool) -> dict:
        api = self._api(repo)
        entries = []

        def walk(tree: str, prefix: str) -> None:
            for mode, name, child in repo.objects[tree][1]:
                kind = _type_of(mode)
                entry = {"path": prefix + name, "mode": mode, "type": kind, "sha": child}
                if kind == "blob":
                    entry["size"] = len(repo.objects[child][1])
                if kind != "commit":
                    entry["url"] = f"{api}/git/{kind}s/{child}"
                entries.append(entry)
                if kind == "tree" and recursive:
                    walk(child, f"{prefix}{name}/")

        walk(sha, "")
        return {"sha": sha, "url": f"{api}/git/trees/{sha}", "tree": entries, "truncated": False}

    def _label_json(self, repo: _Repo, name: str) -> dict:
        label = repo.labels[name]
        return {
            "id": label["id"],
            "node_id": f"LA_kwDO{label['id']:08d}",
            "url": f"{self._api(repo)}/labels/{urllib.parse.quote(name)}",
            "name": name,
            "color": label["color"],
            "default": False,
            "description": "",  # "" not None: pull-request-simple's label schema is not nullable
        }

    def _team_json(self, repo: _Repo, slug: str) -> dict:
        team_id = self._user_id(f"team:{slug}")
        url = f"{self.endpoint}/organizations/{repo.id}/team/{team_id}"
        return {
            "id": team_id,
            "node_id": f"T_kwDO{team_id:08d}",
            "url": url,
            "members_url": f"{url}/members{{/member}}",
            "name": slug,
            "slug": slug,
            "description": None,
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "permission": "pull",
            "parent": None,
            "html_url": f"{self.html_base}/orgs/{repo.owner}/teams/{slug}",
            "repositories_url": f"{url}/repos",
            "type": "organization",
        }

    def _pull_head_sha(self, repo: _Repo, pull: _Pull) -> str:
        if pull.state == "open":
            return repo.branch_sha(pull.head) or pull.head_sha
        return pull.head_sha

    def _branch_end(self, repo: _Repo, branch: str, sha: str) -> dict:
        return {
            "label": f"{repo.owner}:{branch}",
            "ref": branch,
            "sha": sha,
            "user": self._user(repo.owner, "Organization"),
            "repo": self._repo_json(repo),
        }

    def _pull_json(self, repo: _Repo, pull: _Pull, *, full: bool = True) -> dict:
        api, html = self._api(repo), self._html(repo)
        head_sha = self._pull_head_sha(repo, pull)
        base_sha = repo.branch_sha(pull.base) if pull.state == "open" else pull.base_sha
        url = f"{api}/pulls/{pull.number}"
        issue = f"{api}/issues/{pull.number}"
        page = f"{html}/pull/{pull.number}"
        links = {
            "self": url,
            "html": page,
            "issue": issue,
            "comments": f"{issue}/comments",
            "review_comments": f"{url}/comments",
            "review_comment": f"{api}/pulls/comments{{/number}}",
            "commits": f"{url}/commits",
            "statuses": f"{api}/statuses/{head_sha}",
        }
        data = {
            "url": url,
            "id": pull.id,
            "node_id": f"PR_kwDO{pull.id:08d}",
            "html_url": page,
            "diff_url": f"{page}.diff",
            "patch_url": f"{page}.patch",
            "issue_url": issue,
            "commits_url": links["commits"],
            "review_comments_url": links["review_comments"],
            "review_comment_url": links["review_comment"],
            "comments_url": links["comments"],
            "statuses_url": links["statuses"],
            "number": pull.number,
            "state": pull.state,
            "locked": False,
            "title": pull.title,
            "user": self._user(pull.user),
            "body": pull.body,
            "labels": [self._label_json(repo, name) for name in pull.labels],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": _iso(pull.created_at),
            "updated_at": _iso(pull.updated_at),
            "closed_at": _iso(pull.closed_at) if pull.closed_at else None,
            "merged_at": _iso(pull.merged_at) if pull.merged_at else None,
            "merge_commit_sha": pull.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [self._user(login) for login in pull.requested_reviewers],
            "requested_teams": [self._team_json(repo, slug) for slug in pull.requested_teams],
            "head": self._branch_end(repo, pull.head, head_sha),
            "base": self._branch_end(repo, pull.base, base_sha or pull.base_sha),
            "_links": {name: {"href": href} for name, href in links.items()},
            "author_association": "CONTRIBUTOR",
            "auto_merge": None,
            "draft": pull.draft,
        }
        if full:
            data.update(self._pull_details(repo, pull, head_sha, base_sha))
        return data

    def _pull_details(self, repo: _Repo, pull: _Pull, head_sha: str, base_sha: str | None) -> dict:
        mergeable, state = self._mergeability(repo, pull)
        base = self._merge_base(repo, head_sha, base_sha) if base_sha else None
        commits = self._ancestors(repo, head_sha) - (self._ancestors(repo, base) if base else set())
        before = self._flat(repo, repo.commit(base).tree) if base else {}
        files = self._diff_json(
            repo, head_sha, before, self._flat(repo, repo.commit(head_sha).tree)
        )
        return {
            "merged": pull.merged_at is not None,
            "mergeable": mergeable,
            "rebaseable": mergeable,
            "mergeable_state": state,
            "merged_by": self._user(pull.merged_by),
            "comments": len(pull.comments),
            "review_comments": 0,
            "maintainer_can_modify": pull.maintainer_can_modify,
            "commits": len(commits),
            "additions": sum(f["additions"] for f in files),
            "deletions": sum(f["deletions"] for f in files),
            "changed_files": len(files),
        }

    def _mergeability(self, repo: _Repo, pull: _Pull) -> tuple[bool | None, str]:
        """(mergeable, mergeable_state) as GitHub reports them once it has computed them."""
        base_sha, head_sha = repo.branch_sha(pull.base), self._pull_head_sha(repo, pull)
        if pull.state != "open" or base_sha is None:
            return None, "unknown"
        base = self._merge_base(repo, base_sha, head_sha)
        ancestor = self._flat(repo, repo.commit(base).tree) if base else {}
        ours = self._flat(repo, repo.commit(base_sha).tree)
        theirs = self._flat(repo, repo.commit(head_sha).tree)
        ours_changed = set(self._changed(ancestor, ours))
        if any(
            p in ours_changed and ours.get(p) != theirs.get(p)
            for p in self._changed(ancestor, theirs)
        ):
            return False, "dirty"
        if pull.draft:
            return True, "draft"
        latest = {r["user"]: r["state"] for r in pull.reviews if r["state"] != "COMMENTED"}
        if "CHANGES_REQUESTED" in latest.values():
            return True, "blocked"
        runs = repo.check_runs.get(head_sha, [])
        statuses = repo.statuses.get(head_sha, [])
        if any(r["conclusion"] not in _PASSING_CHECKS for r in runs) or any(
            s["state"] != "success" for s in statuses
        ):
            return True, "unstable"
        if base_sha not in self._ancestors(repo, head_sha):
            return True, "behind"
        return True, "clean"

    def _comment_json(self, repo: _Repo, number: int, comment: dict) -> dict:
        api, html = self._api(repo), self._html(repo)
        return {
            "id": comment["id"],
            "node_id": f"IC_kwDO{comment['id']:08d}",
            "url": f"{api}/issues/comments/{comment['id']}",
            "html_url": f"{html}/pull/{number}#issuecomment-{comment['id']}",
            "body": comment["body"],
            "user": self._user(comment["user"]),
            "created_at": _iso(comment["created_at"]),
            "updated_at": _iso(comment["created_at"]),
            "issue_url": f"{api}/issues/{number}",
            "author_association": "CONTRIBUTOR",
        }

    def _review_json(self, repo: _Repo, pull: _Pull, review: dict) -> dict:
        api, html = self._api(repo), self._html(repo)
        page = f"{html}/pull/{pull.number}#pullrequestreview-{review['id']}"
        pull_url = f"{api}/pulls/{pull.number}"
        return {
            "id": review["id"],
            "node_id": f"PRR_kwDO{review['id']:08d}",
            "user": self._user(review["user"]),
            "body": review["body"],
            "state": review["state"],
            "html_url": page,
            "pull_request_url": pull_url,
            "_links": {"html": {"href": page}, "pull_request": {"href": pull_url}},
            "submitted_at": _iso(review["submitted_at"]),
            "commit_id": review["commit_id"],
            "author_association": "MEMBER",
        }

    def _check_run_json(self, repo: _Repo, sha: str, run: dict) -> dict:
        api, html = self._api(repo), self._html(repo)
        app_owner = self._user("github", "Organization")
        pulls = [
            {
                "id": p.id,
                "number": p.number,
                "url": f"{api}/pulls/{p.number}",
                "head": {
                    "ref": p.head,
                    "sha": sha,
                    "repo": {"id": repo.id, "url": api, "name": repo.name},
                },
                "base": {
                    "ref": p.base,
                    "sha": repo.branch_sha(p.base) or p.base_sha,
                    "repo": {"id": repo.id, "url": api, "name": repo.name},
                },
            }
            for p in repo.pulls.values()
            if p.state == "open" and self._pull_head_sha(repo, p) == sha
        ]
        return {
            "id": run["id"],
            "name": run["name"],
            "node_id": f"CR_kwDO{run['id']:08d}",
            "head_sha": sha,
            "external_id": "",
            "url": f"{api}/check-runs/{run['id']}",
            "html_url": f"{html}/runs/{run['id']}",
            "details_url": f"{html}/runs/{run['id']}",
            "status": run["status"],
            "conclusion": run["conclusion"],
            "started_at": _iso(run["started_at"]),
            "completed_at": _iso(run["completed_at"]) if run["completed_at"] else None,
            "output": {
                "title": None,
                "summary": None,
                "text": None,
                "annotations_count": 0,
                "annotations_url": f"{api}/check-runs/{run['id']}/annotations",
            },
            "check_suite": {"id": run["suite"]},
            "app": {
                "id": 15368,
                "slug": "github-actions",
                "node_id": "MDM6QXBwMTUzNjg=",
                "owner": app_owner,
                "name": "GitHub Actions",
                "description": "Automate your workflow from idea to production",
                "external_url": "https://help.github.com/en/actions",
                "html_url": f"{self.html_base}/apps/github-actions",
                "created_at": "2018-07-30T09:30:17Z",
                "updated_at": "2024-04-10T20:33:16Z",
                "permissions": {"checks": "write", "contents": "write", "pull_requests": "write"},
                "events": ["check_run", "pull_request", "push"],
            },
            "pull_requests": pulls,
        }

    def _status_json(self, repo: _Repo, status: dict) -> dict:
        login = status.get("creator", "github-actions[bot]")
        creator = self._user(login, "Bot" if login.endswith("[bot]") else "User")
        return {
            "url": f"{self._api(repo)}/statuses/{status['id']}",
            "avatar_url": creator["avatar_url"],
            "id": status["id"],
            "node_id": f"SC_kwDO{status['id']:08d}",
            "state": status["state"],
            "description": status["description"],
            "target_url": status["target_url"],
            "context": status["context"],
            "created_at": _iso(status["created_at"]),
            "updated_at": _iso(status["updated_at"]),
            "creator": creator,
        }

    def _paginate(self, items: list, query: dict, path: str) -> _Reply:
        """One page of a list, with GitHub's Link header (per_page defaults to 30, max 100)."""
        per_page = min(max(int(query.get("per_page", 30)), 1), 100)
        page = max(int(query.get("page", 1)), 1)
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]

        def link(number: int, rel: str) -> str:
            params = urllib.parse.urlencode({**query, "per_page": per_page, "page": number})
            return f'<{self.endpoint}{path}?{params}>; rel="{rel}"'

        links = []
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        return _Reply(200, chunk, {"Link": ", ".join(links)} if links else {})

    # --- routes: code search ---------------------------------------------------------------

    def _search_code(self, _repo, _args, query: dict, _body) -> _Reply:
        q = (query.get("q") or "").strip()
        if not q:
            raise ApiError(
                422, "Validation Failed", [{"resource": "Search", "field": "q", "code": "missing"}]
            )
        terms, qualifiers = _parse_search(q)
        if not terms:
            raise _custom("Search", "Must include at least one search term besides qualifiers.")
        per_page = min(max(int(query.get("per_page", 30)), 1), 100)
        page = max(int(query.get("page", 1)), 1)
        if page * per_page > SEARCH_CAP:
            raise ApiError(422, SEARCH_CAP_MESSAGE)
        hits = self._search_hits(terms, qualifiers)
        chunk = hits[(page - 1) * per_page : page * per_page]
        repos: dict[str, dict] = {}
        items = []
        for repo, path, sha, commit in chunk:
            if repo.full_name not in repos:
                full = self._repo_json(repo)
                repos[repo.full_name] = {k: v for k, v in full.items() if k in _MINIMAL_REPO}
            items.append(
                {
                    "name": path.rsplit("/", 1)[-1],
                    "path": path,
                    "sha": sha,
                    "url": f"{self._api(repo)}/contents/{urllib.parse.quote(path)}?ref={commit}",
                    "git_url": f"{self._api(repo)}/git/blobs/{sha}",
                    "html_url": f"{self._html(repo)}/blob/{commit}/{urllib.parse.quote(path)}",
                    "repository": repos[repo.full_name],
                    "score": 1.0,
                }
            )
        body = {"total_count": len(hits), "incomplete_results": False, "items": items}
        last = max(1, math.ceil(min(len(hits), SEARCH_CAP) / per_page))
        links = []
        for number, rel, wanted in (
            (page + 1, "next", page < last),
            (last, "last", page < last),
            (1, "first", page > 1),
            (page - 1, "prev", page > 1),
        ):
            if wanted:
                params = urllib.parse.urlencode({"q": q, "per_page": per_page, "page": number})
                links.append(f'<{self.endpoint}/search/code?{params}>; rel="{rel}"')
        return _Reply(200, body, {"Link": ", ".join(links)} if links else {})

    def _search_hits(self, terms: list[str], qualifiers: list[tuple[str, str]]) -> list[tuple]:
        """[(repo, path, blob sha, commit sha)] matching, in a stable order."""
        owners = {v.lower() for k, v in qualifiers if k in ("org", "user")}
        names = {v.lower() for k, v in qualifiers if k == "repo"}
        in_path = ("in", "path") in [(k, v.lower()) for k, v in qualifiers]
        hits = []
        for key in sorted(self._repos):
            repo = self._repos[key]
            if (owners and repo.owner.lower() not in owners) or (names and key not in names):
                continue
            commit = repo.branch_sha(repo.default_branch)
            if commit is None:
                continue
            for path, (mode, sha) in sorted(self._flat(repo, repo.commit(commit).tree).items()):
                if _type_of(mode) != "blob":
                    continue
                data = repo.objects[sha][1]
                if not _search_filters(path, len(data), qualifiers):
                    continue
                haystack = (path if in_path else data.decode("utf-8", "replace")).lower()
                if all(term.lower() in haystack for term in terms):
                    hits.append((repo, path, sha, commit))
        return hits

    # --- routes: repository, branches, refs -----------------------------------------------

    def _get_repo(self, repo: _Repo, _args, _query, _body) -> _Reply:
        return _Reply(200, self._repo_json(repo))

    def _get_branch(self, repo: _Repo, args: dict, _query, _body) -> _Reply:
        branch = args["branch"]
        sha = repo.branch_sha(branch)
        if sha is None:
            raise _not_found("Branch not found")
        api, html = self._api(repo), self._html(repo)
        quoted = urllib.parse.quote(branch)
        return _Reply(
            200,
            {
                "name": branch,
                "commit": self._commit_json(repo, sha),
                "_links": {"self": f"{api}/branches/{quoted}", "html": f"{html}/tree/{quoted}"},
                "protected": False,
                "protection": {
                    "enabled": False,
                    "required_status_checks": {
                        "enforcement_level": "off",
                        "contexts": [],
                        "checks": [],
                    },
                },
                "protection_url": f"{api}/branches/{quoted}/protection",
            },
        )

    def _get_ref(self, repo: _Repo, args: dict, _query, _body) -> _Reply:
        ref = "refs/" + args["ref"].removeprefix("refs/")
        if ref in repo.refs:
            return _Reply(200, self._ref_json(repo, ref))
        raise _not_found()

    def _create_ref(self, repo: _Repo, _args, _query, body: Any) -> _Reply:
        body = body if isinstance(body, dict) else {}
        ref, sha = body.get("ref"), body.get("sha")
        if not isinstance(ref, str) or not isinstance(sha, str):
            raise ApiError(422, 'Invalid request.\n\n"ref", "sha" weren\'t supplied.')
        if not ref.startswith("refs/") or ref.count("/") < 2 or ref.endswith("/"):
            raise ApiError(422, "Reference name is not well-formed.")
        if repo.kind(sha) != "commit":
            raise ApiError(422, "Object does not exist")
        if ref in repo.refs:
            raise ApiError(422, "Reference already exists")
        repo.refs[ref] = sha
        repo.pushed_at = self.now()
        data = self._ref_json(repo, ref)
        return _Reply(201, data, {"Location": data["url"]})

    def _update_ref(self, repo: _Repo, args: dict, _query, body: Any) -> _Reply:
        body = body if isinstance(body, dict) else {}
        ref = "refs/" + args["ref"].removeprefix("refs/")
        sha = body.get("sha")
        if not isinstance(sha, str):
            raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if ref not in repo.refs:
            raise ApiError(422, "Reference does not exist")
        if repo.kind(sha) != "commit":
            raise ApiError(422, "Object does not exist")
        if not body.get("force") and repo.refs[ref] not in self._ancestors(repo, sha):
            raise ApiError(422, "Update is not a fast forward")
        repo.refs[ref] = sha
        repo.pushed_at = self.now()
        return _Reply(200, self._ref_json(repo, ref))

    def _delete_ref(self, repo: _Repo, args: dict, _query, _body) -> _Reply:
        ref = "refs/" + args["ref"].removeprefix("refs/")
        if ref not in repo.refs:
            raise ApiError(422, "Reference does not exist")
        self._remove_ref(repo, ref)
        return _Reply(204)

    def _remove_ref(self, repo: _Repo, ref: str) -> None:
        """Delete a ref; open pull requests from or into a deleted branch are closed."""
        del repo.refs[ref]
        branch = ref.removeprefix("refs/heads/")
        for pull in repo.pulls.values():
            if pull.state == "open" and branch in (pull.head, pull.base):
                self._close(repo, pull)

    def _close(self, repo: _Repo, pull: _Pull) -> None:
        if pull.state == "open":
            pull.head_sha = self._pull_head_sha(repo, pull)
            pull.base_sha = repo.branch_sha(pull.base) or pull.base_sha
            pull.state = "closed"
            pull.closed_at = pull.updated_at = self.now()

    # --- routes: git objects --------------------------------------------------------------

    def _get_tree(self, repo: _Repo, args: dict, query: dict, _body) -> _Reply:
        sha = args["sha"]
        if repo.kind(sha) == "commit":
            sha = repo.commit(sha).tree
        elif repo.kind(sha) != "tree":
            sha = self._resolve_commit(repo, sha) or ""
            if not sha:
                raise _not_found()
            sha = repo.commit(sha).tree
        recursive = query.get("recursive", "") not in ("", "0", "false")
        return _Reply(200, self._tree_json(repo, sha, recursive))

    def _create_tree(self, repo: _Repo, _args, _query, body: Any) -> _Reply:
        body = body if isinstance(body, dict) else {}
        entries = body.get("tree")
        if not isinstance(entries, list):
            raise ApiError(422, 'Invalid request.\n\n"tree" wasn\'t supplied.')
        base = body.get("base_tree")
        flat: dict[str, tuple[str, str]] = {}
        if base is not None:
            if repo.kind(base) == "commit":
                base = repo.commit(base).tree
            if repo.kind(base) != "tree":
                raise ApiError(
                    422,
                    "Invalid tree info",
                    [{"resource": "Tree", "field": "base_tree", "code": "invalid"}],
                )
            flat = self._flat(repo, base)
        for index, entry in enumerate(entries):
            self._apply_tree_entry(repo, flat, entry, index)
        sha = self._store_flat(repo, flat)
        data = self._tree_json(repo, sha, recursive=False)
        return _Reply(201, data, {"Location": data["url"]})

    def _apply_tree_entry(self, repo: _Repo, flat: dict, entry: Any, index: int) -> None:
        if not isinstance(entry, dict):
            raise ApiError(422, f"tree[{index}] is not an object")
        path, mode = entry.get("path"), entry.get("mode")
        kind = entry.get("type") or _type_of(str(mode))
        parts = path.split("/") if isinstance(path, str) else [""]
        if any(part in ("", ".", "..", ".git") for part in parts):
            raise ApiError(422, f"tree.path contains a malformed path component (tree[{index}])")
        if mode not in _FILE_MODES or kind != _type_of(mode):
            raise ApiError(422, f"Must supply a valid tree.mode and tree.type (tree[{index}])")
        if "content" in entry and entry.get("sha") is not None:
            raise ApiError(
                422, f"Must supply either tree.sha or tree.content, not both (tree[{index}])"
            )
        for other in [p for p in flat if p.startswith(path + "/")]:
            del flat[other]  # a path replaces (or deletes) whatever was under it
        for cut in range(1, len(parts)):
            flat.pop("/".join(parts[:cut]), None)  # a file where a directory now goes
        if "content" in entry:
            content = entry["content"]
            if not isinstance(content, str):
                raise ApiError(422, f"tree.content must be a string (tree[{index}])")
            flat[path] = (mode, self._store_blob(repo, content.encode()))
            return
        sha = entry.get("sha")
        if sha is None:
            flat.pop(path, None)
            return
        if kind == "tree" and repo.kind(sha) == "tree":
            flat.pop(path, None)
            flat.update({f"{path}/{p}": v for p, v in self._flat(repo, sha).items()})
            return
        if kind == "blob" and repo.kind(sha) != "blob":
            raise ApiError(422, f"tree.sha {sha} is not a valid blob")
        if kind == "tree":
            raise ApiError(422, f"tree.sha {sha} is not a valid tree")
        flat[path] = (mode, sha)

    def _get_blob(self, repo: _Repo, args: dict, _query, _body) -> _Reply:
        sha = args["sha"]
        if repo.kind(sha) != "blob":
            raise _not_found()
        data = repo.objects[sha][1]
        return _Reply(
            200,
            {
                "sha": sha,
                "node_id": f"B_kwDO{sha[:24]}",
                "size": len(data),
                "url": f"{self._api(repo)}/git/blobs/{sha}",
                "content": _b64(data),
                "encoding": "base64",
            },
        )

    def _create_blob(self, repo: _Repo, _args, _query, body: Any) -> _Reply:
        body = body if isinstance(body, dict) else {}
        content, encoding = body.get("content"), body.get("encoding", "utf-8")
        if not isinstance(content, str) or encoding not in ("utf-8", "base64"):
            raise ApiError(422, 'Invalid request.\n\n"content" wasn\'t supplied.')
        data = base64.b64decode(content) if encoding == "base64" else content.encode()
        sha = self._store_blob(repo, data)
        url = f"{self._api(repo)}/git/blobs/{sha}"
        return _Reply(201, {"sha": sha, "url": url}, {"Location": url})

    def _get_git_commit(self, repo: _Repo, args: dict, _query, _body) -> _Reply:
        if repo.kind(args["sha"]) != "commit":
            raise _not_found()
        return _Reply(200, self._git_commit_json(repo, args["sha"]))

    def _create_git_commit(self, repo: _Repo, _args, _query, body: Any) -> _Reply:
        body = body if isinstance(body, dict) else {}
        message, tree, parents = body.get("message"), body.get("tree"), body.get("parents", [])
        if not isinstance(message, str) or not isinstance(tree, str):
            raise ApiError(422, 'Invalid request.\n\n"message", "tree" weren\'t supplied.')
        if repo.kind(tree) != "tree":
            raise ApiError(422, "Tree SHA does not exist")
        if not isinstance(parents, list) or any(repo.kind(p) != "commit" for p in parents):
            raise ApiError(422, "Parent SHA does not exist or is not a commit object")
        default_author, _, login = self._signature(self.login)
        author = {**default_author, **(body.get("author") or {})}
        committer = {**author, "date": default_author["date"], **(body.get("committer") or {})}
        if author["email"] != default_author["email"]:
            login = None  # GitHub links a commit to a user by the author's e-mail
        sha = self._store_commit(repo, tree, list(parents), message, author, committer, login)
        data = self._git_commit_json(repo, sha)
        return _Reply(201, data, {"Location": data["url"]})

    def _get_commit(self, repo: _Repo, args: dict, _query, _body) -> _Reply:
        sha = self._resolve_commit(repo, args["ref"])
        if sha is None:
            raise ApiError(422, f"No commit found for SHA: {args['ref']}")
        return _Reply(200, self._commit_json(repo, sha, with_files=True))

    def _get_contents(self, repo: _Repo, args: dict, query: dict, _body) -> _Reply:
        ref = query.get("ref") or repo.default_branch
        sha = self._resolve_commit(repo, ref)
        if sha is None:
            raise _not_found(f"No commit found for the ref {ref}")
        path = args["path"].strip("/")
        flat = self._flat(repo, repo.commit(sha).tree)
        if path in flat:
            return _Reply(200, self._content_json(repo, path, flat[path], ref, with_content=True))
        prefix = f"{path}/" if path else ""
        names: dict[str, tuple[str, str] | None] = {}
        for other, entry in flat.items():
            if other.startswith(prefix):
                first, slash, _ = other[len(prefix) :].partition("/")
                names[first] = None if slash else entry
        if not names:
            raise _not_found()
        listing = [
            self._content_json(repo, prefix + name, entry, ref, with_content=False)
            for name, entry in sorted(names.items())
        ]
        return _Reply(200, listing)

    def _content_json(
        self, repo: _Repo, path: str, entry: tuple[str, str] | None, ref: str, *, with_content: bool
    ) -> dict:
        api, html = self._api(repo), self._html(repo)
        quoted = urllib.parse.quote(path)
        if entry is None:  # a directory
            kind, sha, size = "dir", self._dir_sha(repo, ref, path), 0
        else:
            kind, sha = "file", entry[1]
            size = len(repo.objects[sha][1]) if repo.kind(sha) == "blob" else 0
        self_url = f"{api}/contents/{quoted}?ref={urllib.parse.quote(ref)}"
        git_url = f"{api}/git/{'trees' if kind == 'dir' else 'blobs'}/{sha}"
        html_url = f"{html}/{'tree' if kind == 'dir' else 'blob'}/{ref}/{quoted}"
        data = {
            "type": kind,
            "size": size,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "url": self_url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": None
            if kind == "dir"
            else f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{quoted}",
            "_links": {"self": self_url, "git": git_url, "html": html_url},
        }
        if with_content:
            data["content"] = _b64(repo.objects[sha][1])
            data["encoding"] = "base64"
        return data

    def _dir_sha(self, repo: _Repo, ref: str, path: str) -> str:
        tree = repo.commit(self._resolve_commit(repo, ref)).tree
        for part in filter(None, path.split("/")):
            tree = next(sha for mode, name, sha in repo.objects[tree][1] if name == part)
        return tree

    # --- routes: pull requests ------------------------------------------------------------

    def _pull(self, repo: _Repo, args: dict) -> _Pull:
        pull = repo.pulls.get(int(args["number"]))
        if pull is None:
            raise _not_found()
        return pull

    def _list_pulls(self, repo: _Repo, _args, query: dict, _body) -> _Reply:
        state = query.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise _invalid("PullRequest", "state")
        pulls = [p for p in repo.pulls.values() if state in ("all", p.state)]
        head = query.get("head", "")
        if ":" in head:  # GitHub ignores a head filter without "owner:" (a classic trap)
            owner, _, branch = head.partition(":")
            same_owner = owner.lower() == repo.owner.lower()
            pulls = [p for p in pulls if same_owner and p.head == branch]
        if query.get("base"):
            pulls = [p for p in pulls if p.base == query["base"]]
        sort = query.get("sort", "created")
        key: Callable[[_Pull], float] = {
            "created": lambda p: p.created_at,
            "updated": lambda p: p.updated_at,
        }.get(sort, lambda p: p.created_at)
        direction = query.get("direction", "desc" if sort == "created" else "asc")
        pulls.sort(key=lambda p: (key(p), p.number), reverse=direction == "desc")
        items = [self._pull_json(repo, p, full=False) for p in pulls]
        return self._paginate(items, query, f"/repos/{repo.owner}/{repo.name}/pulls")

    def _open_pull_for(
        self, repo: _Repo, head: str, base: str, other_than: int = 0
    ) -> _Pull | None:
        for pull in repo.pulls.values():
            if (
                pull.state == "open"
                and (pull.head, pull.base) == (head, base)
                and pull.number != other_than
            ):
                return pull
        return None

    def _create_pull(self, repo: _Repo, _args, _query, body: Any) -> _Reply:
        body = body if isinstance(body, dict) else {}
        head, base, title = body.get("head"), body.get("base"), body.get("title")
        for name, value in (("head", head), ("base", base)):
            if not isinstance(value, str) or not value:
                raise _invalid("PullRequest", name, "missing_field")
        owner, _, branch = head.rpartition(":")
        if (owner and owner.lower() != repo.owner.lower()) or repo.branch_sha(branch) is None:
            raise _invalid("PullRequest", "head")
        if repo.branch_sha(base) is None:
            raise _invalid("PullRequest", "base")
        if not isinstance(title, str) or not title.strip():
            raise _invalid("PullRequest", "title", "missing_field")
        if self._open_pull_for(repo, branch, base):
            raise _custom(
                "PullRequest", f"A pull request already exists for {repo.owner}:{branch}."
            )
        head_sha, base_sha = repo.branch_sha(branch), repo.branch_sha(base)
        if head_sha in self._ancestors(repo, base_sha):
            raise _custom("PullRequest", f"No commits between {base} and {branch}")
        now = self.now()
        pull = _Pull(
            number=repo.next_number,
            id=next(self._ids),
            title=title,
            body=body.get("body"),
            head=branch,
            base=base,
            user=self.login,
            draft=bool(body.get("draft", False)),
            maintainer_can_modify=bool(body.get("maintainer_can_modify", True)),
            created_at=now,
            updated_at=now,
            head_sha=head_sha,
            base_sha=base_sha,
        )
        repo.pulls[pull.number] = pull
        repo.next_number += 1
        data = self._pull_json(repo, pull)
        return _Reply(201, data, {"Location": data["url"]})

    def _get_pull(self, repo: _Repo, args: dict, _query, _body) -> _Reply:
        return _Reply(200, self._pull_json(repo, self._pull(repo, args)))

    def _update_pull(self, repo: _Repo, args: dict, _query, body: Any) -> _Reply:
        """title, body, state (open/closed), base, maintainer_can_modify; `draft` is ignored
        (GitHub changes draft state only through GraphQL)."""
        pull = self._pull(repo, args)
        body = body if isinstance(body, dict) else {}
        state = body.get("state")
        if state not in (None, "open", "closed"):
            raise _invalid("PullRequest", "state")
        if "base" in body and repo.branch_sha(str(body["base"])) is None:
            raise _invalid("PullRequest", "base")
        if state == "open" and pull.state == "closed":
            self._reopen(repo, pull, body.get("base", pull.base))
        for key in ("title", "body", "maintainer_can_modify", "base"):
            if key in body:
                setattr(pull, key, body[key])
        if state == "closed":
            self._close(repo, pull)
        pull.updated_at = self.now()
        return _Reply(200, self._pull_json(repo, pull))

    def _reopen(self, repo: _Repo, pull: _Pull, base: str) -> None:
        if pull.merged_at is not None:
            raise _custom("PullRequest", "Cannot change the state of a merged pull request.")
        if repo.branch_sha(pull.head) is None:
            raise _custom(
                "PullRequest", "state cannot be changed. The head branch has been deleted."
            )
        if self._open_pull_for(repo, pull.head, base, other_than=pull.number):
            raise _custom(
                "PullRequest", f"A pull request already exists for {repo.owner}:{pull.head}."
            )
        pull.state, pull.closed_at = "open", None

    def _is_merged(self, repo: _Repo, args: dict, _query, _body) -> _Reply:
        if self._pull(repo, args).merged_at is None:
            raise _not_found()
        return _Reply(204)

    def _list_requested_reviewers(self, repo: _Repo, args: dict, _query, _body) -> _Reply:
        pull = self._pull(repo, args)
        return _Reply(
            200,
            {
                "users": [self._user(u) for u in pull.requested_reviewers],
                "teams": [self._team_json(repo, t) for t in pull.requested_teams],
            },
        )

    def _request_reviewers(self, repo: _Repo, args: dict, _query, body: Any) -> _Reply:
        pull = self._pull(repo, args)
        body = body if isinstance(body, dict) else {}
        users, teams = body.get("reviewers") or [], body.get("team_reviewers") or []
        if not isinstance(users, list) or not isinstance(teams, list) or not (users or teams):
            raise ApiError(422, 'Invalid request.\n\nNo subschema in "anyOf" matched.')
        if pull.user in users:
            raise _custom("PullRequest", "Review cannot be requested from pull request author.")
        for user in users:
            if user not in pull.requested_reviewers:
                pull.requested_reviewers.append(user)
        for team in teams:
            if team not in pull.requested_teams:
                pull.requested_teams.append(team)
        pull.updated_at = self.now()
        return _Reply(201, self._pull_json(repo, pull, full=False))

    def _list_reviews(self, repo: _Repo, args: dict, query: dict, _body) -> _Reply:
        pull = self._pull(repo, args)
        items = [self._review_json(repo, pull, r) for r in pull.reviews]
        return self._paginate(
            items, query, f"/repos/{repo.owner}/{repo.name}/pulls/{pull.number}/reviews"
        )

    # --- routes: issues (labels, comments) --------------------------------------------------

    def _list_labels(self, repo: _Repo, args: dict, query: dict, _body) -> _Reply:
        pull = self._pull(repo, args)
        items = [self._label_json(repo, name) for name in pull.labels]
        return self._paginate(
            items, query, f"/repos/{repo.owner}/{repo.name}/issues/{pull.number}/labels"
        )

    def _add_labels(self, repo: _Repo, args: dict, _query, body: Any) -> _Reply:
        pull = self._pull(repo, args)
        names = body.get("labels") if isinstance(body, dict) else body
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not names:
            raise ApiError(422, 'Invalid request.\n\nNo subschema in "oneOf" matched.')
        for item in names:
            name = item.get("name") if isinstance(item, dict) else item
            if not isinstance(name, str) or not name:
                raise _invalid("Label", "name")
            if name not in repo.labels:
                repo.labels[name] = {"id": next(self._ids), "color": "ededed"}
            if name not in pull.labels:
                pull.labels.append(name)
        pull.updated_at = self.now()
        return _Reply(200, [self._label_json(repo, name) for name in pull.labels])

    def _list_comments(self, repo: _Repo, args: dict, query: dict, _body) -> _Reply:
        pull = self._pull(repo, args)
        items = [self._comment_json(repo, pull.number, c) for c in pull.comments]
        return self._paginate(
            items, query, f"/repos/{repo.owner}/{repo.name}/issues/{pull.number}/comments"
        )

    def _create_comment(self, repo: _Repo, args: dict, _query, body: Any) -> _Reply:
        pull = self._pull(repo, args)
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            raise _invalid("IssueComment", "body", "missing_field")
        comment = {
            "id": next(self._ids),
            "body": text,
            "user": self.login,
            "created_at": self.now(),
        }
        pull.comments.append(comment)
        pull.updated_at = self.now()
        data = self._comment_json(repo, pull.number, comment)
        return _Reply(201, data, {"Location": data["url"]})

    # --- routes: checks and statuses -------------------------------------------------------

    def _list_check_runs(self, repo: _Repo, args: dict, query: dict, _body) -> _Reply:
        sha = self._resolve_commit(repo, args["ref"])
        if sha is None:
            raise ApiError(422, f"No commit found for SHA: {args['ref']}")
        runs = repo.check_runs.get(sha, [])
        if query.get("check_name"):
            runs = [r for r in runs if r["name"] == query["check_name"]]
        if query.get("status"):
            runs = [r for r in runs if r["status"] == query["status"]]
        page = self._paginate(
            [self._check_run_json(repo, sha, r) for r in runs],
            query,
            f"/repos/{repo.owner}/{repo.name}/commits/{args['ref']}/check-runs",
        )
        page.body = {"total_count": len(runs), "check_runs": page.body}
        return page

    def _create_status(self, repo: _Repo, args: dict, _query, body: Any) -> _Reply:
        """POST /repos/{o}/{r}/statuses/{sha}: the latest status of a context replaces the
        one before (GitHub keeps both; the combined status shows the latest)."""
        body = body if isinstance(body, dict) else {}
        state, context = body.get("state"), body.get("context", "default")
        if state not in STATUS_STATES:
            raise _invalid("Status", "state")
        description = body.get("description")
        if description is not None and len(description) > 140:
            raise ApiError(422, "Validation Failed", [{
                "resource": "Status", "field": "description", "code": "custom",
                "message": "description is too long (maximum is 140 characters)",
            }])  # fmt: skip
        if repo.kind(args["sha"]) != "commit":
            raise ApiError(422, f"No commit found for SHA: {args['sha']}")
        now = self.now()
        status = {
            "id": next(self._ids), "state": state, "context": context,
            "description": description, "target_url": body.get("target_url"),
            "created_at": now, "updated_at": now, "creator": self.login,
        }  # fmt: skip
        kept = [s for s in repo.statuses.get(args["sha"], []) if s["context"] != context]
        repo.statuses[args["sha"]] = [*kept, status]
        data = self._status_json(repo, status)
        return _Reply(201, data, {"Location": data["url"]})

    def statuses(self, full_name: str, sha: str) -> dict[str, dict]:
        """{context: status} of a commit, as the API answers each."""
        with self._lock:
            repo = self._repo(full_name)
            return {s["context"]: self._status_json(repo, s) for s in repo.statuses.get(sha, [])}

    def _combined_status(self, repo: _Repo, args: dict, _query, _body) -> _Reply:
        sha = self._resolve_commit(repo, args["ref"])
        if sha is None:
            raise _not_found(f"No commit found for SHA: {args['ref']}")
        statuses = repo.statuses.get(sha, [])
        states = {s["state"] for s in statuses}
        if states & {"error", "failure"}:
            state = "failure"
        elif not statuses or "pending" in states:
            state = "pending"
        else:
            state = "success"
        api = self._api(repo)
        return _Reply(
            200,
            {
                "state": state,
                "statuses": [self._status_json(repo, s) for s in statuses],
                "sha": sha,
                "total_count": len(statuses),
                "repository": self._repo_json(repo),
                "commit_url": f"{api}/commits/{sha}",
                "url": f"{api}/commits/{sha}/status",
            },
        )


_MINIMAL_REPO = frozenset(  # what a search item's `repository` (minimal-repository) holds
    {"id", "node_id", "name", "full_name", "owner", "private", "html_url", "description"}
    | {"fork", "url", *_REPO_URLS}
)


def _parse_search(q: str) -> tuple[list[str], list[tuple[str, str]]]:
    """GitHub's legacy search syntax: terms, "quoted phrases" and qualifier:value pairs."""
    terms, qualifiers = [], []
    for match in re.finditer(r'(\w+):("[^"]*"|\S+)|"([^"]*)"|(\S+)', q):
        if match[1]:
            qualifiers.append((match[1].lower(), match[2].strip('"')))
        elif match[3] is not None:
            terms.append(match[3])
        elif match[4].upper() not in ("AND", "OR", "NOT"):
            terms.append(match[4])
    return terms, qualifiers


def _size_range(value: str) -> tuple[int, int]:
    """`size:` in bytes: N, >N, >=N, <N, <=N, A..B, A..*, *..B (inclusive)."""
    top = SEARCH_SIZE_LIMIT - 1
    if ".." in value:
        lo, hi = value.split("..", 1)
        return (0 if lo == "*" else int(lo), top if hi == "*" else int(hi))
    for op, make in ((">=", lambda n: (n, top)), ("<=", lambda n: (0, n)),
                     (">", lambda n: (n + 1, top)), ("<", lambda n: (0, n - 1))):  # fmt: skip
        if value.startswith(op):
            return make(int(value[len(op) :]))
    return int(value), int(value)


def _search_filters(path: str, size: int, qualifiers: list[tuple[str, str]]) -> bool:
    """Whether a file passes the qualifiers other than scope and in:."""
    if size >= SEARCH_SIZE_LIMIT:
        return False
    base = path.rsplit("/", 1)[-1].lower()
    for key, value in qualifiers:
        value = value.lower()
        if key == "size":
            lo, hi = _size_range(value)
            ok = lo <= size <= hi
        elif key == "path":
            folder = value.strip("/")
            ok = "/" not in path if not folder else path.lower().startswith(folder + "/")
        elif key == "filename":
            ok = base == value
        elif key == "extension":
            ok = base.endswith("." + value.lstrip("."))
        elif key == "language":
            ok = base.endswith(LANGUAGE_EXTENSIONS.get(value, ("." + value,)))
        else:
            ok = True
        if not ok:
            return False
    return True
