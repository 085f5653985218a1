"""GitHub (github.com or Enterprise) through PyGithub, idempotent and paced.

Reads and writes use two clients; neither waits out a rate limit on its own. Reads
retry at the transport level on 5xx and broken connections (a GET is safe to repeat).
Writes are never re-sent by the transport: a POST/PATCH/PUT/DELETE that failed with a
5xx, a timeout or a dropped connection may have been done, so the forge first looks
whether it took effect (the ref, the PR, the comment's marker, the labels) and sends
it again only when it did not. Trees and commits are content-addressed: sending one
again makes no duplicate anyone sees.

Every write, a re-send included, first takes a slot from the shared write budget
(`SqlPacer`, kept in the ledger's database), and every rate-limit answer, to a read or
a write, pauses that budget for every worker for as long as GitHub says, then the
request is sent again (a 403/429 limit answer means GitHub did not act on it).

A new PR costs 7 REST calls, 5 of them writes (tree, commit, ref, PR, labels; 4
without labels), counted in `ProposalOutcome.calls` and `.writes`. PRs, check runs,
statuses, reviews and the default branch's head are read with conditional requests
(`http_cache.py`): an unchanged answer is a 304, which GitHub does not count.

Code search (`search_code`) uses a third client that never sleeps on its own: each
request first takes a slot from the code search budget (10 a minute, shared through the
ledger's database), and a rate-limit answer pauses that budget for every worker for as
long as GitHub says (`retry-after`, else until `x-ratelimit-reset`, else a minute).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import time
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

import requests
from github import Auth, Github, GithubException, InputGitAuthor, InputGitTreeElement
from github.GitCommit import GitCommit
from github.GitTree import GitTree
from github.PullRequest import PullRequest as GithubPullRequest
from urllib3.util.retry import Retry

from gaggle.errors import GaggleError
from gaggle.forges.base import (
    CODEOWNERS_PATHS,
    GAGGLE_EMAIL,
    GAGGLE_NAME,
    Proposal,
    ProposalOutcome,
    PullRequest,
    RepoFiles,
    is_gaggle_head,
)
from gaggle.forges.http_cache import HttpCache, MemoryHttpCache, SqlHttpCache
from gaggle.forges.pacing import SqlPacer, code_search_pacer
from gaggle.repo import TEXT_SUFFIXES  # the files any framework reads: one list

DEFAULT_BASE_URL = "https://api.github.com"
SEARCH_CAP = 1000  # GitHub returns at most this many results of one code search query
SEARCH_PER_PAGE = 100
SEARCH_ATTEMPTS = 6  # rate-limit answers waited out before giving up on one page
SYMLINK_MODE = "120000"
IDENTITY = InputGitAuthor(GAGGLE_NAME, GAGGLE_EMAIL)  # author and committer of gaggle's commits
LIMIT_ATTEMPTS = 8  # rate-limit answers waited out for one request before giving up
WRITE_ATTEMPTS = 3  # sends of one write after unclear failures (each looked at first)


class GitHubForge:
    name = "github"

    def __init__(
        self,
        auth: Auth.Auth,
        base_url: str = DEFAULT_BASE_URL,
        pacer: SqlPacer | None = None,
        timeout: int = 30,
        rollout: SqlPacer | None = None,
        seconds_between_requests: float = 0.25,
        search_pacer: SqlPacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        http_cache: HttpCache | None = None,
    ) -> None:
        common: dict[str, Any] = {
            "auth": auth,
            "base_url": base_url,
            "timeout": timeout,
            "seconds_between_requests": seconds_between_requests,
            "seconds_between_writes": 0,  # the shared pacer spaces writes across workers
            "lazy": True,  # objects by name cost no request until an attribute is read
        }
        # Rate limits are ours (the shared budget), never the client's: neither client
        # retries a 403/429. Reads repeat a GET after a 5xx or a broken connection.
        self.reads = Github(**common, retry=_read_retry())
        self.writes = Github(**common, retry=0)  # a write is never re-sent by the transport
        self.pacer = pacer
        self.rollout = rollout  # at most N new PRs an hour, across the whole campaign
        self.sleep = sleep  # waits out a limit when there is no shared budget
        # ETags of earlier answers: re-reads are conditional (a 304 costs no rate limit).
        # Shared where the write budget is (the ledger's database), else this process's.
        if http_cache is None:
            http_cache = SqlHttpCache(pacer.engine) if pacer is not None else MemoryHttpCache()
        self.http_cache = http_cache
        self.not_modified = 0  # 304 answers: calls that did not count against the limit
        self.calls = 0
        self.write_calls = 0
        self.limit_answers = 0  # 403/429 rate-limit answers seen (each paused the budget)
        self.trees: dict[tuple[str, str], str] = {}  # (repo, commit sha) -> tree sha read
        self.modes: dict[tuple[str, str], dict[str, str]] = {}  # (repo, sha) -> {path: mode}
        # Code search: its own budget; the client retries only 5xx, rate limits are ours.
        self.search = Github(
            **{**common, "seconds_between_requests": 0},
            retry=Retry(
                total=3,
                status_forcelist=[500, 502, 503, 504],
                backoff_factor=0.5,
                respect_retry_after_header=False,  # 429 + retry-after: the pacer waits
            ),
        )
        self.search_pacer = search_pacer
        self.search_calls = 0
        self.search_notes: list[str] = []  # what the last search could not cover

    # ------------------------------------------------------------ reading

    def default_branch(self, repo: str) -> tuple[str, str]:
        handle = self.reads.get_repo(repo)
        name = self._read(lambda: handle.default_branch)  # lazy: this is the GET
        branch = self._read(lambda: handle.get_branch(name))
        return name, branch.commit.sha

    def read_files(self, repo: str, ref: str) -> RepoFiles:
        """Text files at the ref. Symbolic links (mode 120000) are not followed: their
        content is a path, not a file of the repo. Each file's mode is kept for commits."""
        handle = self.reads.get_repo(repo)
        tree = self._read(lambda: handle.get_git_tree(ref, recursive=True))
        self.trees[(repo, ref)] = tree.sha
        self.modes[(repo, ref)] = {e.path: e.mode for e in tree.tree if e.type == "blob"}
        files = RepoFiles()
        if tree.truncated:
            files.unreadable["*"] = "GitHub truncated the tree listing: files past it were not read"
        for element in tree.tree:
            wanted = (
                PurePosixPath(element.path).suffix.lower() in TEXT_SUFFIXES
                or element.path in CODEOWNERS_PATHS
            )
            if element.type != "blob" or element.mode == SYMLINK_MODE or not wanted:
                continue
            if (element.size or 0) > 1_000_000:
                files.unreadable[element.path] = "larger than 1 MB"
                continue
            blob = self._read(lambda sha=element.sha: handle.get_git_blob(sha))
            try:
                files[element.path] = base64.b64decode(blob.content).decode("utf-8")
            except UnicodeDecodeError:
                files.unreadable[element.path] = "not UTF-8 text"
        return files

    def default_head(self, repo: str) -> str:
        """The default branch's head SHA in one conditional request (GET commits/HEAD)."""
        return self._get(f"/repos/{repo}/commits/HEAD")["sha"]

    def tree_info(self, repo: str, ref: str) -> dict:
        """The tree SHA and file modes read at the ref: a later task's commit needs no read."""
        if (repo, ref) not in self.trees:
            return {}
        return {"tree": self.trees[(repo, ref)], "modes": dict(self.modes[(repo, ref)])}

    def pull_request(self, repo: str, branch: str, detailed: bool = True) -> PullRequest | None:
        """The PR from the branch: one conditional request, three more for CI and reviews
        when `detailed` (a merge check needs only the state)."""
        found = self._find_pr(None, repo, branch)
        if found is None:
            return None
        return self._describe(repo, found, detailed=detailed)

    # ------------------------------------------------------------ code search

    def search_code(self, query: str) -> dict[str, set[str]]:
        """Every file GitHub's code search finds for the query: {repo full name: paths}.

        GitHub answers at most 1,000 results per query. When `total_count` says there are
        more, the query is split on the `size:` qualifier (byte ranges; only files under
        384 KB are indexed) until each part fits, and the parts are merged.
        """
        from gaggle.discovery import DiscoveryError, parse_search_query

        parsed = parse_search_query(query)
        if not parsed.terms:
            raise DiscoveryError(
                f"code search query {query!r} has no search term; GitHub needs one besides "
                "qualifiers (e.g. org:acme users_v1)"
            )
        if self.search_pacer is None:
            self.search_pacer = code_search_pacer()
        self.search_notes = []
        found: dict[str, set[str]] = {}
        given = parsed.size_range() if parsed.values("size") else None
        self._search_range(parsed, given, found)
        return found

    def _search_range(self, parsed, span: tuple[int, int] | None, found: dict) -> None:
        from gaggle.discovery import split_range

        text = (
            parsed.text()
            if span is None
            else parsed.text(without={"size"}, extra=[f"size:{span[0]}..{span[1]}"])
        )
        first = self._search_page(text, 1)
        total = first["total_count"]
        if total > SEARCH_CAP:
            lo, hi = span if span is not None else parsed.size_range()
            if lo < hi:
                for half in split_range(lo, hi):
                    self._search_range(parsed, half, found)
                return
            self.search_notes.append(
                f"{total} files of exactly {lo} bytes match {text!r}; only the first "
                f"{SEARCH_CAP} could be fetched: narrow the query (e.g. path: or extension:)"
            )
        if first.get("incomplete_results"):
            self.search_notes.append(f"GitHub timed out on {text!r}: results may be incomplete")
        _collect(first, found)
        pages = math.ceil(min(total, SEARCH_CAP) / SEARCH_PER_PAGE)
        for page in range(2, pages + 1):
            data = self._search_page(text, page)
            _collect(data, found)
            if len(data.get("items", [])) < SEARCH_PER_PAGE:
                break

    def _search_page(self, text: str, page: int) -> dict:
        """One page of results, within the code search budget; rate limits are waited out."""
        parameters = {"q": text, "per_page": SEARCH_PER_PAGE, "page": page}
        for _ in range(SEARCH_ATTEMPTS):
            self.search_pacer.acquire()
            self.calls += 1
            self.search_calls += 1
            try:
                _, data = self.search.requester.requestJsonAndCheck(
                    "GET", "/search/code", parameters=parameters
                )
                return data
            except GithubException as err:
                wait = _rate_limit_wait(err)
                if wait is None:
                    raise
                self.search_pacer.pause(wait)
        raise GithubException(
            403, {"message": f"code search still rate limited after {SEARCH_ATTEMPTS} tries"}, None
        )

    # ------------------------------------------------------------ proposing

    def propose(self, proposal: Proposal) -> ProposalOutcome:
        start_calls, start_writes = self.calls, self.write_calls
        outcome = self._propose(proposal)
        outcome.calls = self.calls - start_calls
        outcome.writes = self.write_calls - start_writes
        return outcome

    def _propose(self, proposal: Proposal) -> ProposalOutcome:
        reader = self.reads.get_repo(proposal.repo)
        writer = self.writes.get_repo(proposal.repo)
        existing = self._find_pr(reader, proposal.repo, proposal.branch)
        if existing is not None and existing.merged_at is not None:
            return ProposalOutcome("merged", self._describe(proposal.repo, existing))
        if existing is not None and existing.state == "closed" and not proposal.reopen_closed:
            return ProposalOutcome("closed-by-human", self._describe(proposal.repo, existing))
        if (
            existing is not None
            and existing.state == "open"
            and proposal.recorded_head_current
            and existing.head.sha == proposal.recorded_head
        ):
            # The PR's head is the commit gaggle recorded, and the ledger says it holds
            # exactly these changes: nothing to read or write but the PR's own fields.
            pr, _ = self._ensure_pr(reader, writer, proposal, existing)
            return ProposalOutcome("unchanged", self._describe(proposal.repo, pr), pr.head.sha)
        if existing is None and proposal.admit_new is not None and not proposal.admit_new():
            return ProposalOutcome("capped", None, notes=["no new PR allowed in this run"])
        ref = self._branch_ref(reader, proposal.branch)
        if existing is None and ref is None and self.rollout is not None:
            wait = self.rollout.try_acquire()
            if wait > 0:
                note = f"rollout window full: the next new PR may open in {wait:.0f} s"
                return ProposalOutcome("deferred", None, notes=[note])
        if proposal.branch == self._default_branch_name(reader, proposal):
            raise GithubException(422, {"message": "refusing to write the default branch"}, None)
        if ref is not None:
            head = self._read(lambda: reader.get_git_commit(ref.object.sha))
            if not is_gaggle_head(
                head.sha, head.message, head.author.email, head.committer.email, proposal
            ):
                return self._human_commit(writer, proposal, existing, head.sha)
            if self._same_content(reader, head.tree.sha, proposal):
                pr, opened = self._ensure_pr(reader, writer, proposal, existing)
                action = "created" if opened else "unchanged"
                return ProposalOutcome(action, self._describe(proposal.repo, pr), head.sha)
        base_sha, base_tree = self._base(reader, proposal)
        sha = self._commit(reader, writer, proposal, base_sha, base_tree)
        if ref is None:
            self._create_ref(reader, writer, proposal.branch, sha)
        else:
            # Only ever gaggle's own head: looked at again just before the move (REST has
            # no compare-and-swap for refs), so a push meanwhile is never overwritten.
            now = self._branch_ref(reader, proposal.branch)
            if now is None:
                raise GithubException(
                    409, {"message": f"{proposal.branch} was deleted while gaggle updated it"}, None
                )
            if now.object.sha != ref.object.sha:
                return self._human_commit(writer, proposal, existing, now.object.sha)
            self._move_ref(reader, ref, sha)
        pr, opened = self._ensure_pr(reader, writer, proposal, existing)
        action = "created" if opened or ref is None else "updated"
        return ProposalOutcome(action, self._describe(proposal.repo, pr), sha)

    def _base(self, reader, proposal: Proposal) -> tuple[str, str]:
        tree = proposal.base_tree or self.trees.get((proposal.repo, proposal.base_sha), "")
        if proposal.base_sha and tree:
            return proposal.base_sha, tree
        sha = proposal.base_sha or self.default_branch(proposal.repo)[1]
        commit = self._read(lambda: reader.get_git_commit(sha))
        return sha, commit.tree.sha

    def _default_branch_name(self, reader, proposal: Proposal) -> str:
        return proposal.base_branch or self._read(lambda: reader.default_branch)

    def _modes(self, reader, proposal: Proposal, base_sha: str) -> dict[str, str]:
        """Each file's mode at the base: an executable stays executable. Known from the
        snapshot or this forge's read; else one read of the base tree."""
        modes = dict(proposal.modes) or self.modes.get((proposal.repo, base_sha))
        if modes is None:
            tree = self._read(lambda: reader.get_git_tree(base_sha, recursive=True))
            modes = {e.path: e.mode for e in tree.tree if e.type == "blob"}
            self.modes[(proposal.repo, base_sha)] = modes
        return modes

    def _commit(self, reader, writer, proposal: Proposal, base_sha: str, base_tree: str) -> str:
        modes = self._modes(reader, proposal, base_sha)
        for change in proposal.changes:
            if modes.get(change.path) == SYMLINK_MODE:
                raise ValueError(
                    f"{proposal.repo}: {change.path} is a symbolic link at {base_sha[:12]}; "
                    "gaggle does not edit links (edit the file it points to)"
                )
        elements = [
            InputGitTreeElement(
                change.path, modes.get(change.path, "100644"), "blob", content=change.content
            )
            if change.content is not None
            else InputGitTreeElement(
                change.path, modes.get(change.path, "100644"), "blob", sha=None
            )
            for change in proposal.changes
        ]
        # References by sha, without a GET each: the API only needs the sha in the request.
        base = GitTree(writer.requester, {}, {"sha": base_tree}, completed=True)
        parent = GitCommit(writer.requester, {}, {"sha": base_sha}, completed=True)
        tree = self._write(lambda: writer.create_git_tree(elements, base_tree=base))
        commit = self._write(
            lambda: writer.create_git_commit(
                proposal.commit_message(), tree, [parent], author=IDENTITY, committer=IDENTITY
            )
        )
        return commit.sha

    def _create_ref(self, reader, writer, branch: str, sha: str) -> None:
        """Create the branch; after an unclear failure, or "Reference already exists" from
        a create that did land, the branch is looked at: pointing at our commit is done."""

        def landed():
            ref = self._branch_ref(reader, branch)
            return ref if ref is not None and ref.object.sha == sha else None

        try:
            self._write(lambda: writer.create_git_ref(f"refs/heads/{branch}", sha), look=landed)
        except GithubException as err:
            if err.status != 422 or "already exists" not in str(err.data) or landed() is None:
                raise

    def _move_ref(self, reader, ref, sha: str) -> None:
        def landed():
            now = self._branch_ref(reader, ref.ref.removeprefix("refs/heads/"))
            return now if now is not None and now.object.sha == sha else None

        self._write(lambda: ref.edit(sha, force=True), look=landed)

    def _ensure_pr(self, reader, writer, proposal: Proposal, existing):
        """(the PR, whether this call opened it); labels and reviewers on a new PR."""
        opened = existing is None
        if existing is None:
            existing = self._open_pr(reader, writer, proposal)
            if proposal.reviewers:
                self._request_reviewers(existing, proposal.reviewers)
        present = {label.name for label in existing.labels}
        missing = [label for label in proposal.labels if label not in present]
        if missing:  # a new PR, or a label call that failed on an earlier run
            self._add_labels(reader, existing, missing)
        if opened:
            return existing, True
        changes = {}
        if existing.title != proposal.title:
            changes["title"] = proposal.title
        if (existing.body or "") != proposal.body:
            changes["body"] = proposal.body
        if existing.state == "closed":
            changes["state"] = "open"  # only reached when the run asked to reopen
        if changes:
            self._write(lambda: existing.edit(**changes))
        return existing, False

    def _open_pr(self, reader, writer, proposal: Proposal):
        def landed():
            return self._find_pr(reader, proposal.repo, proposal.branch)

        try:
            return self._write(
                lambda: writer.create_pull(
                    base=proposal.base_branch or reader.default_branch,
                    head=proposal.branch,
                    title=proposal.title,
                    body=proposal.body,
                    draft=proposal.draft,
                ),
                look=landed,
            )
        except GithubException as err:
            if err.status != 422 or "already exists" not in str(err.data):
                raise
            found = landed()
            if found is None:
                raise
            return found

    def _add_labels(self, reader, pr, labels: list[str]) -> None:
        issue = reader.get_issue(pr.number)

        def landed():
            present = {label.name for label in self._read(lambda: list(issue.get_labels()))}
            return True if set(labels) <= present else None

        self._write(lambda: pr.add_to_labels(*labels), look=landed)

    def _request_reviewers(self, pr, owners: tuple[str, ...]) -> None:
        users = [o.lstrip("@") for o in owners if "/" not in o]
        teams = [o.split("/", 1)[1] for o in owners if "/" in o]
        # Requesting the same reviewers again changes nothing: no look needed.
        self._write(lambda: pr.create_review_request(reviewers=users, team_reviewers=teams))

    def _human_commit(self, writer, proposal: Proposal, existing, head_sha: str) -> ProposalOutcome:
        note = f"a human pushed {head_sha[:12]} to {proposal.branch}; gaggle will not overwrite it"
        if existing is not None:
            self.comment(
                proposal.repo,
                existing.number,
                f"gaggle did not update this branch: {note}. Merge or close this PR, or apply "
                "the migration's remaining changes by hand.",
                marker=f"human-commit:{head_sha}",
            )
        pr = self._describe(proposal.repo, existing) if existing is not None else None
        return ProposalOutcome("human-commit", pr, head_sha, notes=[note])

    # ------------------------------------------------------------ comments, closing

    def comment(self, repo: str, number: int, body: str, marker: str) -> bool:
        tag = f"<!-- gaggle:{marker} -->"
        issue = self.reads.get_repo(repo).get_issue(number)

        def posted():
            comments = self._read(lambda: list(issue.get_comments()))
            return True if any(tag in (c.body or "") for c in comments) else None

        if posted():
            return False
        writer = self.writes.get_repo(repo).get_issue(number)
        self._write(lambda: writer.create_comment(f"{body}\n\n{tag}"), look=posted)
        return True

    def commit_parent(self, repo: str, sha: str) -> str:
        """The first parent of a commit (where a branch gaggle wrote started)."""
        commit = self._get(f"/repos/{repo}/git/commits/{sha}")
        return commit["parents"][0]["sha"] if commit["parents"] else ""

    def set_commit_status(
        self, repo: str, sha: str, state: str, description: str, target_url: str, context: str
    ) -> bool:
        """Set a commit status once: nothing when the commit already shows exactly it."""
        wanted = {"state": state, "description": description[:140], "target_url": target_url}

        def shown():
            combined = self._get(f"/repos/{repo}/commits/{sha}/status")
            for status in combined.get("statuses", []):
                if status["context"] == context:
                    same = all(status.get(k) == v for k, v in wanted.items())
                    return True if same else None
            return None

        if shown():
            return False
        self._write(
            lambda: self.writes.requester.requestJsonAndCheck(
                "POST", f"/repos/{repo}/statuses/{sha}", input={**wanted, "context": context}
            ),
            look=shown,
        )
        return True

    def close(self, repo: str, number: int, comment: str) -> None:
        pr = self._read(lambda: self.writes.get_repo(repo).get_pull(number))
        if pr.state != "open":
            return
        self.comment(repo, number, comment, marker="closed")
        # Closing a closed PR changes nothing: sending it again is safe.
        self._write(lambda: pr.edit(state="closed"))

    # ------------------------------------------------------------ helpers

    def _find_pr(self, _reader, repo: str, branch: str):
        """The newest PR from the branch in any state (one conditional request), as a
        PyGithub object that needs no further read."""
        owner = repo.split("/", 1)[0]
        pulls = self._get(
            f"/repos/{repo}/pulls", {"state": "all", "head": f"{owner}:{branch}", "per_page": 100}
        )
        if not pulls:
            return None
        newest = max(pulls, key=lambda p: p["number"])
        return GithubPullRequest(self.writes.requester, {}, newest, completed=True)

    def _branch_ref(self, reader, branch: str):
        try:
            ref = self._read(lambda: reader.get_git_ref(f"heads/{branch}"))
            _ = ref.object.sha  # a lazy object: make the request happen here
            return ref
        except GithubException as err:
            if err.status == 404:
                return None
            raise

    def _same_content(self, reader, tree_sha: str, proposal: Proposal) -> bool:
        """Whether the branch's tree already holds exactly the proposed files."""
        tree = self._read(lambda: reader.get_git_tree(tree_sha, recursive=True))
        blobs = {e.path: e.sha for e in tree.tree if e.type == "blob"}
        for change in proposal.changes:
            if change.content is None:
                if change.path in blobs:
                    return False
            elif blobs.get(change.path) != _blob_sha(change.content):
                return False
        return True

    def _describe(self, repo: str, pr, detailed: bool = False) -> PullRequest:
        state = "merged" if pr.merged_at is not None else pr.state
        described = PullRequest(
            number=pr.number,
            url=pr.html_url,
            state=state,
            draft=bool(pr.draft),
            head_sha=pr.head.sha,
            mergeable=pr.mergeable,
            updated_at=pr.updated_at,
        )
        if detailed:
            described.ci = self._ci_state(repo, pr.head.sha)
            described.review = self._review_state(repo, pr)
        return described

    def _ci_state(self, repo: str, sha: str) -> str:
        """Check runs and commit statuses (up to 100 runs), both conditional requests."""
        runs = self._get(f"/repos/{repo}/commits/{sha}/check-runs", {"per_page": 100})
        status = self._get(f"/repos/{repo}/commits/{sha}/status")
        states = [_run_state(r["status"], r.get("conclusion")) for r in runs["check_runs"]]
        if status["total_count"]:
            states.append({"error": "failure"}.get(status["state"], status["state"]))
        if "failure" in states:
            return "failure"
        if "pending" in states:
            return "pending"
        return "success" if states else "none"

    def _review_state(self, repo: str, pr) -> str:
        """Each reviewer's latest decision (up to 100 reviews), one conditional request."""
        latest: dict[str, str] = {}
        reviews = self._get(f"/repos/{repo}/pulls/{pr.number}/reviews", {"per_page": 100})
        for review in reviews:
            if review["state"] in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[(review.get("user") or {}).get("login", "")] = review["state"]
        if "CHANGES_REQUESTED" in latest.values():
            return "changes_requested"
        if "APPROVED" in latest.values():
            return "approved"
        return "review_required" if pr.state == "open" else "none"

    def _read(self, call: Callable[[], Any]) -> Any:
        """One read; a rate-limit answer pauses every worker's budget, then it is sent again."""
        for _ in range(LIMIT_ATTEMPTS):
            self._wait_for_budget()
            self.calls += 1
            try:
                return call()
            except GithubException as err:
                wait = _rate_limit_wait(err)
                if wait is None:
                    raise
                self._limited(wait)
        raise GithubException(
            403, {"message": f"still rate limited after {LIMIT_ATTEMPTS} tries"}, None
        )

    def _get(self, path: str, parameters: dict | None = None) -> Any:
        """A GET's JSON, conditional when an earlier answer is kept: a 304 (no change) costs
        no rate limit and the kept answer is used."""
        url = path + "?" + urllib.parse.urlencode(sorted((parameters or {}).items()))
        kept = self.http_cache.get(url)
        headers = {"If-None-Match": kept[0]} if kept else {}

        def send() -> tuple[int, dict, Any]:
            status, answer_headers, output = self.reads.requester.requestJson(
                "GET", path, parameters=parameters, headers=headers
            )
            answer_headers = {k.lower(): v for k, v in answer_headers.items()}
            data = json.loads(output) if output else None
            if status >= 400:
                raise GithubException(status, data, answer_headers)
            return status, answer_headers, data

        status, answer_headers, data = self._read(send)
        if status == 304 and kept is not None:
            self.not_modified += 1
            return kept[1]
        if answer_headers.get("etag"):
            self.http_cache.put(url, answer_headers["etag"], data)
        return data

    def _write(self, send: Callable[[], Any], look: Callable[[], Any] | None = None) -> Any:
        """One write, sent only with a slot from the shared budget.

        A rate-limit answer (GitHub did nothing) pauses every worker, then the write is
        sent again. A 5xx, a timeout or a dropped connection is unclear: the write may
        have been done. Then `look` checks whether it was (its answer, when not None, is
        the result) and the write is sent again only when it was not."""
        unclear: Exception | None = None
        attempts = 0
        while attempts < WRITE_ATTEMPTS:
            if self.pacer is not None:
                self.pacer.acquire()
            self.calls += 1
            self.write_calls += 1
            try:
                return send()
            except GithubException as err:
                wait = _rate_limit_wait(err)
                if wait is not None:
                    self._limited(wait)
                    continue  # not acted on: not an attempt
                if err.status < 500:
                    raise
                unclear = err
            except (requests.exceptions.RequestException, OSError) as err:
                unclear = err
            attempts += 1
            if look is not None:
                found = look()
                if found is not None:
                    return found
        assert unclear is not None
        raise unclear

    def _wait_for_budget(self) -> None:
        if self.pacer is not None:
            self.pacer.wait_unpaused()

    def _limited(self, wait: float) -> None:
        """A rate-limit answer: the shared budget pauses every worker (or, alone, we wait)."""
        self.limit_answers += 1
        if self.pacer is not None:
            self.pacer.pause(wait)
        else:
            self.sleep(wait)


def _read_retry() -> Retry:
    """GETs only, on 5xx and broken connections; never a 403/429 (the budget's job)."""
    return Retry(
        total=3,
        status_forcelist=[500, 502, 503, 504],
        allowed_methods=frozenset({"GET", "HEAD"}),
        backoff_factor=0.5,
        respect_retry_after_header=False,
        raise_on_status=False,
    )


def _blob_sha(content: str) -> str:
    data = content.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _run_state(status: str, conclusion: str | None) -> str:
    if status != "completed":
        return "pending"
    if conclusion in ("success", "neutral", "skipped"):
        return "success"
    return "failure"


def _retry_after(err: GithubException) -> float:
    headers = {k.lower(): v for k, v in (err.headers or {}).items()}
    try:
        return float(headers.get("retry-after", 60))
    except ValueError:
        return 60.0


def _collect(data: dict, found: dict[str, set[str]]) -> None:
    for item in data.get("items", []):
        found.setdefault(item["repository"]["full_name"], set()).add(item["path"])


def _rate_limit_wait(err: GithubException) -> float | None:
    """Seconds a 403/429 asks us to wait, or None when it is not a rate limit."""
    if err.status not in (403, 429):
        return None
    headers = {k.lower(): v for k, v in (err.headers or {}).items()}
    if "retry-after" in headers:
        return _retry_after(err)
    if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
        return max(1.0, float(headers["x-ratelimit-reset"]) - time.time())
    message = str(getattr(err, "data", "") or "").lower()
    if err.status == 429 or "rate limit" in message:
        return 60.0  # GitHub: without a header, wait at least a minute
    return None


def token_auth(token: str) -> Auth.Auth:
    return Auth.Token(token)


def app_private_key(extra: Mapping[str, Any]) -> str | None:
    """A GitHub App's key from the github provider's connection extras: `private_key`
    inline, else the file at `key_path`."""
    key = extra.get("private_key")
    if not key and extra.get("key_path"):
        with open(extra["key_path"], encoding="utf-8") as handle:
            key = handle.read()
    return key


def app_auth(app_id: int | str, private_key: str, installation_id: int) -> Auth.Auth:
    """A GitHub App installation: PyGithub renews its one-hour token before it expires."""
    return Auth.AppAuth(app_id, private_key).get_installation_auth(installation_id)


def auth_from_settings(
    token: str | None = None,
    app_id: str | int | None = None,
    private_key: str | None = None,
    installation_id: str | int | None = None,
) -> Auth.Auth:
    """A token, or a GitHub App installation when app id, key and installation are given."""
    if app_id and private_key and installation_id:
        return app_auth(app_id, private_key, int(installation_id))
    if token:
        return token_auth(token)
    raise ValueError("no GitHub credentials: give a token, or an App id, key and installation")


CONNECTION_VARIABLE = "AIRFLOW_CONN_GITHUB_DEFAULT"  # the DAG's `github_default` connection


class GitHubSettingsError(GaggleError, ValueError):
    """The GitHub credentials or API URL given cannot be used."""


def settings_from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The same settings the DAG uses, without Airflow: the `github_default` connection as
    Airflow reads it from AIRFLOW_CONN_GITHUB_DEFAULT (JSON or URI; the token in
    `password`, the API base URL in `host`, a GitHub App by the extras `app_id`,
    `installation_id` and `private_key` or `key_path`); else GitHub's own variables
    GITHUB_TOKEN (or GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID)
    and GITHUB_API_URL. Returns {token, app_id, private_key, installation_id, base_url}."""
    raw = environ.get(CONNECTION_VARIABLE, "").strip()
    if raw:
        return _connection_settings(raw)
    return {
        "token": environ.get("GITHUB_TOKEN"),
        "app_id": environ.get("GITHUB_APP_ID"),
        "private_key": environ.get("GITHUB_APP_PRIVATE_KEY"),
        "installation_id": environ.get("GITHUB_APP_INSTALLATION_ID"),
        "base_url": environ.get("GITHUB_API_URL") or DEFAULT_BASE_URL,
    }


def _connection_settings(raw: str) -> dict[str, Any]:
    import json
    import urllib.parse

    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError as err:
            raise GitHubSettingsError(
                f"{CONNECTION_VARIABLE} is not valid JSON ({err}); give an Airflow connection "
                'as JSON, e.g. {"conn_type": "github", "password": "<token>"}'
            ) from None
        extra = data.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra or "{}")
        token, host = data.get("password"), data.get("host")
    else:
        parts = urllib.parse.urlsplit(raw)
        extra = dict(urllib.parse.parse_qsl(parts.query))
        token = urllib.parse.unquote(parts.password or "") or None
        host = urllib.parse.unquote(parts.hostname or "") or None
        if host and parts.port:
            host = f"{host}:{parts.port}"
        if host and parts.path not in ("", "/"):
            host += urllib.parse.unquote(parts.path)
    key = app_private_key(extra)
    base_url = host or DEFAULT_BASE_URL
    if "://" not in base_url:
        base_url = f"https://{base_url}"
    return {
        "token": token,
        "app_id": extra.get("app_id"),
        "private_key": key,
        "installation_id": extra.get("installation_id"),
        "base_url": base_url,
    }


def forge_from_environment(environ: Mapping[str, str], **kwargs) -> GitHubForge:
    """A forge from `settings_from_environment` (the DAG's connection, else GITHUB_TOKEN...)."""
    settings = settings_from_environment(environ)
    try:
        auth = auth_from_settings(
            settings["token"],
            settings["app_id"],
            settings["private_key"],
            settings["installation_id"],
        )
    except ValueError as err:
        raise GitHubSettingsError(
            f"{err}: set the `github_default` connection in {CONNECTION_VARIABLE} (as the DAG "
            "reads it), or GITHUB_TOKEN and, for Enterprise, GITHUB_API_URL"
        ) from None
    return GitHubForge(auth, settings["base_url"], **kwargs)
