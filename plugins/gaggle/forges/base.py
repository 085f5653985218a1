"""The protocol every code host implements, and the rules they all follow.

Every side effect is an `ensure`: find first, create only if absent, never overwrite
a human's work. gaggle owns exactly one branch per (migration, repo). A branch head is
gaggle's only when gaggle wrote it: its SHA is the one the ledger recorded, or (a write
the ledger missed, e.g. a crash just after it) gaggle is both its author and its
committer and it carries the `Gaggle-Migration:` trailer. A message alone proves
nothing: `git commit --amend` keeps the trailer and the author, but makes the person
the committer. A forge never pushes to the default branch and never merges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

TRAILER = "Gaggle-Migration"
GAGGLE_NAME = "gaggle"  # the author and committer of every commit gaggle writes
GAGGLE_EMAIL = "gaggle@users.noreply.github.com"
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


class RepoFiles(dict[str, str]):
    """What `Forge.read_files` returns: every text file (path -> content), and in
    `unreadable` the files the forge saw but could not read (path -> why: not UTF-8,
    too large; `*` when the host truncated the listing). Nothing is skipped silently."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.unreadable: dict[str, str] = {}


@dataclass(frozen=True)
class FileChange:
    path: str
    content: str | None  # None deletes the file


@dataclass(frozen=True)
class Proposal:
    """What gaggle wants a repo's migration branch and PR to be."""

    repo: str  # owner/name
    migration_id: str
    branch: str
    title: str
    body: str
    changes: tuple[FileChange, ...]
    labels: tuple[str, ...] = ()
    draft: bool = False
    reopen_closed: bool = False  # only when the run asks to revisit PRs humans closed
    reviewers: tuple[str, ...] = ()  # @user or @org/team, e.g. from CODEOWNERS
    base_branch: str = ""  # known from reading the repo: saves a call when set
    base_sha: str = ""
    base_tree: str = ""
    recorded_head: str = ""  # the branch head gaggle last wrote, as the ledger recorded it
    recorded_head_current: bool = False  # the ledger says that head holds exactly `changes`
    modes: tuple[tuple[str, str], ...] = ()  # (path, git file mode) at the base, when known
    # Asked only when this call would open a new PR (e.g. the run's max_prs); False: capped.
    admit_new: Callable[[], bool] | None = field(default=None, compare=False)

    def commit_message(self) -> str:
        return f"{self.title}\n\n{TRAILER}: {self.migration_id}\n"


@dataclass
class PullRequest:
    number: int
    url: str
    state: str  # open, closed, merged
    draft: bool = False
    head_sha: str = ""
    mergeable: bool | None = None
    ci: str = "none"  # success, failure, pending, none
    review: str = "none"  # approved, changes_requested, review_required, none
    updated_at: datetime | None = None  # last activity: pushes, comments, reviews


@dataclass
class ProposalOutcome:
    """What a propose() call did, and what it cost."""

    action: str  # created, updated, unchanged, human-commit, closed-by-human, merged, capped
    pull_request: PullRequest | None = None
    branch_sha: str = ""
    calls: int = 0
    writes: int = 0
    notes: list[str] = field(default_factory=list)


class Forge(Protocol):
    name: str

    def default_branch(self, repo: str) -> tuple[str, str]:
        """(branch name, head sha) of the repo's default branch."""

    def read_files(self, repo: str, ref: str) -> RepoFiles:
        """Every text file of the repo at a ref (path -> content), and what it could not read."""

    def tree_info(self, repo: str, ref: str) -> dict:
        """What the last `read_files` at the ref learned that a later commit needs (e.g.
        the tree SHA and each file's mode), kept with the snapshot; {} when nothing."""

    def propose(self, proposal: Proposal) -> ProposalOutcome:
        """Make the branch and the PR what the proposal says, safely and idempotently."""

    def default_head(self, repo: str) -> str:
        """The head SHA of the repo's default branch (as cheaply as the host allows)."""

    def pull_request(self, repo: str, branch: str, detailed: bool = True) -> PullRequest | None:
        """The PR whose head is the branch, in any state; with CI and review state when
        `detailed` (a merge check needs only the state)."""

    def comment(self, repo: str, number: int, body: str, marker: str) -> bool:
        """Comment once: nothing when a comment carrying the marker exists. True if posted."""

    def close(self, repo: str, number: int, comment: str) -> None:
        """Close an open PR with a comment (a cancelled campaign, a repo migrated by hand)."""

    def commit_parent(self, repo: str, sha: str) -> str:
        """The first parent of a commit ("" for a root commit)."""

    def set_commit_status(
        self, repo: str, sha: str, state: str, description: str, target_url: str, context: str
    ) -> bool:
        """Show a verdict on a commit (success, failure, pending) once. True if set now."""


def is_gaggle_commit(message: str, migration_id: str) -> bool:
    """The trailer: necessary for gaggle's commit, never sufficient (see `is_gaggle_head`)."""
    return f"{TRAILER}: {migration_id}" in message


def is_gaggle_head(sha: str, message: str, author: str, committer: str, proposal: Proposal) -> bool:
    """Whether gaggle wrote the branch head: the SHA it recorded, or its own identity as
    author and committer (emails) plus the trailer. An amended or rebased commit has a
    new SHA and the person as committer: it is a human's."""
    if proposal.recorded_head and sha == proposal.recorded_head:
        return True
    return author.lower() == committer.lower() == GAGGLE_EMAIL and is_gaggle_commit(
        message, proposal.migration_id
    )


def codeowners_for(codeowners: str, paths: list[str]) -> list[str]:
    """The owners CODEOWNERS assigns to the changed paths (the last matching rule wins)."""
    rules = []
    for line in codeowners.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            pattern, *owners = line.split()
            rules.append((pattern, owners))
    found: list[str] = []
    for path in paths:
        owners: list[str] = []
        for pattern, rule_owners in rules:
            if _codeowners_match(pattern, path):
                owners = rule_owners
        found += [o for o in owners if o not in found]
    return found


def _codeowners_match(pattern: str, path: str) -> bool:
    import fnmatch

    anchored = pattern.startswith("/")
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        pattern += "**"
    candidates = (
        [path]
        if anchored
        else [path] + [path.split("/", i)[-1] for i in range(1, path.count("/") + 1)]
    )
    return any(
        fnmatch.fnmatch(candidate, pattern) or fnmatch.fnmatch(candidate, pattern.rstrip("*") + "*")
        if pattern.endswith("**")
        else fnmatch.fnmatch(candidate, pattern) or candidate.startswith(pattern + "/")
        for candidate in candidates
    )
