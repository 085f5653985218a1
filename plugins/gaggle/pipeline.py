"""One repo's journey as plain steps: find references, rewrite, validate, open the PR.

The Airflow task group runs one step per task and the CLI runs them in a row. The
repo is read from the forge once, at its default branch head; every later step
works on that snapshot. Each step keeps its result in the ledger's work store,
keyed by the commit (and the spec) it was made for, so XCom carries only a small
dict, any task can be retried or cleared alone, and a step whose input is gone or
stale simply redoes the step before it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from gaggle.forges.base import (
    CODEOWNERS_PATHS,
    FileChange,
    Forge,
    Proposal,
    ProposalOutcome,
    PullRequest,
    codeowners_for,
)
from gaggle.ledger import Ledger, RepoState
from gaggle.llm import LlmReport, LlmSettings, resolve_with_llm
from gaggle.repo import (
    RepoOutcome,
    Skipped,
    check_repo_path,
    is_candidate,
    rewrite_repo,
    safe_path,
)
from gaggle.reports import pr_body
from gaggle.spec import Migration
from gaggle.sql.flag_comments import comment_outcome
from gaggle.sql.report import DECISIONS
from gaggle.validation.analysis import Validator, Verdict
from gaggle.validation.repo import EquivalenceValidator, StatementResult, validate_repo

ORPHAN_COMMENT = (
    "gaggle closes this PR: the repo no longer reads {tables} (it was migrated by hand, "
    "or the queries were removed), so there is nothing left to change."
)
# Nothing for the later steps to do ("unreadable": no reference gaggle could read, but
# candidate files it could not read, so a human must look).
SETTLED = ("no-change-needed", "closed-orphan", "unreadable")
UNREADABLE_ATTENTION = "gaggle could not read"
MAX_DIFF_CHARS = 200_000  # the diff kept for the dashboard; the PR holds the full change


@dataclass
class RepoRun:
    repo: str
    status: str  # no-change-needed, created, updated, unchanged, dry-run, capped, ...
    outcome: RepoOutcome | None = None
    validations: list[StatementResult] = field(default_factory=list)
    proposal: ProposalOutcome | None = None
    diff: str = ""


@dataclass
class _Work:
    """A repo's snapshot, its rewrite and (once validated) its validation."""

    base_branch: str
    base_sha: str
    files: dict[str, str]
    outcome: RepoOutcome
    validations: list[StatementResult] | None = None
    llm: LlmReport | None = None  # what the LLM fallback did, when it was on
    tree_info: dict = field(default_factory=dict)  # the forge's tree SHA and file modes

    @property
    def changes(self) -> tuple[FileChange, ...]:
        return tuple(
            FileChange(f.path, f.new_content()) for f in self.outcome.files if f.result.changed
        )

    @property
    def blocking_failures(self) -> list[StatementResult]:
        """Failed statements that block the PR. A file waiting on a manual decision is
        expected to fail (its TODO column does not exist yet): the draft PR says so."""
        waiting = {
            f.path
            for f in self.outcome.files
            if any(flag.reason in DECISIONS for flag in f.result.flags)
        }
        return [v for v in self.validations or [] if not v.verdict.ok and v.path not in waiting]

    @property
    def diff(self) -> str:
        return "".join(f.diff() for f in self.outcome.files if f.result.changed)


@dataclass
class Steps:
    """The steps of one migration, bound to its forge, ledger and validator."""

    forge: Forge
    migration: Migration
    ledger: Ledger
    validator: Validator | EquivalenceValidator | None = None
    trace: dict = field(default_factory=dict)  # e.g. dag_run_id, map_index: kept with the state
    log: Callable[[str], None] = print
    close_orphans: bool = True  # close gaggle's open PR in a repo that no longer needs it
    llm: LlmSettings | None = None  # the LLM fallback for what rules cannot do; None: off
    run_id: str = "cli"  # the LLM budget is per (migration, run)
    retrying: bool = False  # the caller runs a failed step again: record it as `retrying`

    # ------------------------------------------------------------ the steps

    def find_references(self, repo: str, discovered_by: str = "") -> dict:
        """Read the repo at its default branch head; does it mention an old table at all?"""
        with self._recorded(repo, "find_references"):
            snapshot, base_sha = self._kept_snapshot(repo)
            if snapshot is None:
                base_branch, base_sha = self.forge.default_branch(repo)
                snapshot = self._read_snapshot(repo, base_branch, base_sha)
            files = snapshot["files"]
            unreadable = snapshot.get("unreadable", {})
            mentions = mentioning_files(files, self.migration)
            fields = {"base_sha": base_sha}
            if discovered_by:
                fields["discovered_by"] = discovered_by
            if not mentions:
                return self._settle(repo, base_sha, fields, unreadable)
            self._record(repo, "references-found", {"files": len(mentions)}, **fields)
            return {"repo": repo, "status": "references-found", "base_sha": base_sha}

    def _kept_snapshot(self, repo: str) -> tuple[dict | None, str]:
        """A re-run: one cheap request for the default branch's head; when it is the
        commit read last time, its snapshot is reused (no tree, no blobs read again)."""
        state = self.ledger.get(self.migration.id, repo)
        if state is None or not state.base_sha:
            return None, ""  # never read: the full read says which branch is the default
        head = self.forge.default_head(repo)
        kept = self.ledger.get_work(self.migration.id, repo, "snapshot", head)
        return (json.loads(kept), head) if kept is not None else (None, "")

    def rewrite(self, repo: str, base_sha: str) -> dict:
        """Resolve every reference by scope and edit only those characters."""
        with self._recorded(repo, "rewrite"):
            work = self._rewritten(repo, base_sha)
            if not work.changes and not work.outcome.touched:
                unreadable = {s.path: s.reason for s in work.outcome.unreadable}
                return self._settle(repo, base_sha, {}, unreadable)
            fields = self._rewrite_fields(work)
            self._record(repo, "rewritten", {"files": fields["files_changed"]}, **fields)
            return {
                "repo": repo,
                "status": "rewritten",
                "base_sha": base_sha,
                **fields_small(fields),
            }

    def validate(self, repo: str, base_sha: str) -> dict:
        """Compare every rewritten statement with its original: schema, tables, results."""
        with self._recorded(repo, "validate"):
            work = self._validated(repo, base_sha)
            failed = work.blocking_failures
            status = "validation-failed" if failed else "validated"
            last_error = "; ".join(
                f"{v.path}:{v.line}: {v.verdict.problems[0] if v.verdict.problems else 'failed'}"
                for v in failed
            )
            self._record(
                repo,
                status,
                {"statements": len(work.validations), "failed": len(failed)},
                details=json.dumps(self._details(work), default=str),
                last_error=last_error,
            )
            return {"repo": repo, "status": status, "base_sha": base_sha, "failed": len(failed)}

    def open_pr(
        self, repo: str, base_sha: str, dry_run: bool = False, run_id: str = "", max_prs: int = 0
    ) -> dict:
        """Make the branch and the PR what the rewrite says; never a second PR."""
        with self._recorded(repo, "open_pr"):
            work = self._validated(repo, base_sha)
            result = {"repo": repo, "base_sha": base_sha, "pr": None}
            if work.blocking_failures:
                return {**result, "status": "validation-failed"}  # validate said why
            if not work.changes:
                self._record(
                    repo,
                    "needs-human",
                    {"flags": sum(len(f.result.flags) for f in work.outcome.touched)},
                    attention="references gaggle could not rewrite: see the flags",
                )
                return {**result, "status": "needs-human"}
            if dry_run:
                self.log(f"dry run: {repo} would get this change\n{work.diff}")
                self._record(repo, "dry-run", {"files": len(work.changes)})
                return {**result, "status": "dry-run"}
            branch = self.branch_of(repo)
            before = self.ledger.get(self.migration.id, repo)
            digest = changes_digest(work.changes)
            current = (
                bool(before and before.branch_sha)
                and self.ledger.get_work(self.migration.id, repo, "proposed", before.branch_sha)
                == digest.encode()
            )
            admit = (
                (lambda: self.ledger.grant_new_pr(self.migration.id, run_id, repo, max_prs))
                if max_prs
                else None
            )
            outcome = self.forge.propose(self._proposal(repo, work, branch, before, admit, current))
            if outcome.action == "merged":
                # Merged, yet the default branch reads an old table again (a revert, a new
                # query): the change goes to a follow-up PR on a branch of its own.
                branch = follow_up_branch(self.migration.pull_request.branch, branch)
                outcome = self.forge.propose(self._proposal(repo, work, branch, before, admit))
            if outcome.action == "capped":
                self._record(repo, "capped", {"max_prs": max_prs})
                return {**result, "status": "capped"}
            action = settled_action(outcome, before, branch)
            if action in GAGGLE_HEADS:  # what the head holds: the next run need not look
                self.ledger.put_work(
                    self.migration.id, repo, "proposed", outcome.branch_sha, digest.encode()
                )
            self.record_pull(
                repo, outcome.pull_request, action, {"notes": outcome.notes}, branch,
                branch_sha=outcome.branch_sha if action in GAGGLE_HEADS else "",
            )  # fmt: skip
            number = outcome.pull_request.number if outcome.pull_request else None
            return {**result, "status": action, "pr": number}

    def await_merge(self, repo: str, fresh_seconds: float = 120.0) -> str | None:
        """The PR's state now (merged, closed, open), recorded when it changed; None: no PR.
        One request (the state only); CI and reviews are read when the state changed. The
        first check right after open_pr uses the state open_pr has just read."""
        state = self.ledger.get(self.migration.id, repo)
        if (
            state is not None
            and state.status in (*GAGGLE_HEADS, "human-commit")
            and state.pr_state
            and (self.ledger.clock() - state.updated_at).total_seconds() < fresh_seconds
        ):
            return state.pr_state
        branch = self.branch_of(repo)
        pull = self.forge.pull_request(repo, branch, detailed=False)
        if pull is None:
            return None
        if state is None or state.pr_state != pull.state:
            pull = self.forge.pull_request(repo, branch) or pull
            self.record_pull(repo, pull, f"pr-{pull.state}")
        return pull.state

    def run(self, repo: str, dry_run: bool = False, close_orphans: bool = True) -> RepoRun:
        """Every step in a row (the CLI, the tests): what the task group does."""
        self.close_orphans = close_orphans
        found = self.find_references(repo)
        if found["status"] in SETTLED:
            return RepoRun(repo, found["status"])
        sha = found["base_sha"]
        rewritten = self.rewrite(repo, sha)
        if rewritten["status"] in SETTLED:
            return RepoRun(repo, rewritten["status"], self._rewritten(repo, sha).outcome)
        self.validate(repo, sha)
        opened = self.open_pr(repo, sha, dry_run=dry_run)
        work = self._validated(repo, sha)
        pull = self.forge.pull_request(repo, self.branch_of(repo))
        proposal = ProposalOutcome(opened["status"], pull) if opened["pr"] else None
        return RepoRun(repo, opened["status"], work.outcome, work.validations, proposal, work.diff)

    # ------------------------------------------------------------ the ledger

    def branch_of(self, repo: str) -> str:
        """gaggle's branch in the repo: the spec's, or the follow-up branch a later run
        opened after the first PR had merged."""
        state = self.ledger.get(self.migration.id, repo)
        return state.branch if state and state.branch else self.migration.pull_request.branch

    def record_pull(
        self,
        repo: str,
        pull: PullRequest | None,
        status: str,
        detail: dict | None = None,
        branch: str | None = None,
        branch_sha: str = "",
    ) -> None:
        """A PR's state as the forge reports it; closed unmerged asks a human to look.
        `branch_sha`: the head gaggle itself wrote (or found its own), recorded so that a
        later run never mistakes a person's commit for gaggle's."""
        fields: dict = {"branch_sha": branch_sha} if branch_sha else {}
        if pull is not None:
            fields = {
                **fields,
                "branch": branch or self.branch_of(repo),
                "pr_number": pull.number,
                "pr_url": pull.url,
                "pr_state": pull.state,
                "ci_state": pull.ci,
                "review_state": pull.review,
                "attention": "closed without merging" if pull.state == "closed" else "",
            }
            if pull.updated_at is not None:
                fields["pr_updated_at"] = pull.updated_at
        self._record(
            repo, status, {"pr": pull.number if pull else None, **(detail or {})}, **fields
        )

    def _record(self, repo: str, status: str, detail: dict | None = None, **fields) -> None:
        self.ledger.record(self.migration.id, repo, status, detail, **self.trace, **fields)

    @contextlib.contextmanager
    def _recorded(self, repo: str, step: str) -> Iterator[None]:
        """One repo's failure must not stop the fleet: record it where people look, re-raise.
        While the caller will retry, the repo is `retrying` (with the error), not failed."""
        try:
            yield
        except Exception as err:
            self._record(
                repo,
                "retrying" if self.retrying else "failed",
                {"step": step, "error": repr(err)},
                last_error=f"{step}: {type(err).__name__}: {err}",
            )
            raise

    # ------------------------------------------------------------ work between steps

    def _snapshot(self, repo: str, base_sha: str) -> dict:
        kept = self.ledger.get_work(self.migration.id, repo, "snapshot", base_sha)
        if kept is not None:
            return json.loads(kept)
        # Gone (the default branch moved and a re-run replaced it): read that commit again.
        branch, _ = self.forge.default_branch(repo)
        return self._read_snapshot(repo, branch, base_sha)

    def _read_snapshot(self, repo: str, base_branch: str, base_sha: str) -> dict:
        """The repo's files at base_sha read from the forge (paths checked, unreadable
        candidates listed), kept in the work store for the later steps."""
        files = read_repo_files(self.forge, repo, base_sha)
        snapshot = {
            "base_branch": base_branch,
            "files": files,
            "unreadable": unreadable_candidates(files),
            **self.forge.tree_info(repo, base_sha),
        }
        self.ledger.put_work(
            self.migration.id, repo, "snapshot", base_sha, json.dumps(snapshot).encode()
        )
        return snapshot

    def _rewrite_key(self, base_sha: str) -> str:
        """The commit, the spec, and whether the LLM may help: what a rewrite depends on."""
        helper = f"llm={self.llm.model}" if self.llm and self.llm.enabled else "rules"
        return f"{base_sha}:{spec_digest(self.migration)}:{helper}"

    def _rewritten(self, repo: str, base_sha: str) -> _Work:
        snapshot = self._snapshot(repo, base_sha)
        key = self._rewrite_key(base_sha)
        kept = self.ledger.get_work(self.migration.id, repo, "rewrite", key)
        llm = None
        with checked_out(snapshot["files"]) as root:
            if kept is not None:
                data = json.loads(kept)
                outcome = RepoOutcome.from_json(data["outcome"], root)
                llm = LlmReport.from_dict(data["llm"]) if data["llm"] else None
            else:
                with_llm = self.llm is not None and self.llm.enabled
                outcome = rewrite_repo(
                    root, self.migration, write=False, comment_flags=not with_llm
                )
                outcome.skipped += [
                    Skipped(path, reason, unreadable=True)
                    for path, reason in snapshot.get("unreadable", {}).items()
                ]
                if with_llm:
                    llm = resolve_with_llm(
                        outcome, self.migration, self.validator, self.llm, self.ledger,
                        self.run_id, repo,
                    )  # fmt: skip
                    comment_outcome(outcome.files, self.migration)  # what the LLM left
                data = {"outcome": outcome.to_json(), "llm": llm.to_dict() if llm else None}
                self.ledger.put_work(
                    self.migration.id, repo, "rewrite", key, json.dumps(data).encode()
                )
            outcome.repo = Path(repo)
        work = _Work(snapshot["base_branch"], base_sha, snapshot["files"], outcome, llm=llm)
        work.tree_info = {k: snapshot[k] for k in ("tree", "modes") if k in snapshot}
        return work

    def _validated(self, repo: str, base_sha: str) -> _Work:
        work = self._rewritten(repo, base_sha)
        key = f"{self._rewrite_key(base_sha)}:{self._backend}"
        kept = self.ledger.get_work(self.migration.id, repo, "validation", key)
        if kept is not None:
            work.validations = [_statement(item) for item in json.loads(kept)]
            return work
        if self.validator is None:
            raise ValueError("validation needs a validator")
        with checked_out(work.files) as root:
            outcome = RepoOutcome.from_json(work.outcome.to_json(), root)
            work.validations = (
                validate_repo(root, self.migration, self.validator, outcome=outcome)
                if work.changes
                else []
            )
        data = json.dumps([v.to_dict() for v in work.validations], default=str).encode()
        self.ledger.put_work(self.migration.id, repo, "validation", key, data)
        return work

    @property
    def _backend(self) -> str:
        return getattr(self.validator, "name", "offline")

    def _settle(
        self, repo: str, base_sha: str, fields: dict, unreadable: dict[str, str] | None = None
    ) -> dict:
        """No reference to change: close gaggle's own PR if it is still open (an orphan).
        With candidate files gaggle could not read, no conclusion: a human must look."""
        if unreadable:
            attention = unreadable_attention(unreadable)
            self._record(repo, "unreadable", {"unreadable": unreadable}, attention=attention,
                         files_changed=0, manual_decisions=0, last_error="", **fields)  # fmt: skip
            return {"repo": repo, "status": "unreadable", "base_sha": base_sha}
        status = "no-change-needed"
        fields = {**self._cleared_unreadable(repo), **fields}
        existing = self.forge.pull_request(repo, self.branch_of(repo), detailed=False)
        if self.close_orphans and existing is not None and existing.state == "open":
            tables = ", ".join(str(p.old) for p in self.migration.tables)
            self.forge.close(repo, existing.number, ORPHAN_COMMENT.format(tables=tables))
            status = "closed-orphan"
            fields = {**fields, "pr_state": "closed"}
        self._record(repo, status, {}, files_changed=0, manual_decisions=0, last_error="", **fields)
        return {"repo": repo, "status": status, "base_sha": base_sha}

    def _cleared_unreadable(self, repo: str) -> dict:
        """Clear an earlier run's unreadable-files attention once the files are readable."""
        state = self.ledger.get(self.migration.id, repo)
        stale = state is not None and state.attention.startswith(UNREADABLE_ATTENTION)
        return {"attention": ""} if stale else {}

    def _rewrite_fields(self, work: _Work) -> dict:
        files = work.outcome.files
        unreadable = {s.path: s.reason for s in work.outcome.unreadable}
        repo = str(work.outcome.repo)
        return {
            **(
                {"attention": unreadable_attention(unreadable)}
                if unreadable
                else self._cleared_unreadable(repo)
            ),
            **(work.llm.ledger_fields() if work.llm else {}),
            "frameworks": ",".join(work.outcome.frameworks),
            "files_changed": sum(1 for f in files if f.result.changed),
            "manual_decisions": sum(
                1 for f in files for flag in f.result.flags if flag.reason in DECISIONS
            ),
            "last_error": "",
            "details": json.dumps(self._details(work), default=str),
        }

    def _details(self, work: _Work) -> dict:
        """What the dashboard shows for a repo: changes, flags, validation evidence, diff."""
        details = {
            "rewrite": work.outcome.to_dict(),
            "diff": work.diff[:MAX_DIFF_CHARS],
            "guide_url": self.migration.guide_url,
        }
        if work.llm is not None:
            details["llm"] = work.llm.to_dict()
        if work.validations is not None:
            details["validation"] = {
                "backend": self._backend,
                "statements": [v.to_dict() for v in work.validations],
            }
        return details

    def _proposal(
        self,
        repo: str,
        work: _Work,
        branch: str,
        before: RepoState | None = None,
        admit_new: Callable[[], bool] | None = None,
        recorded_head_current: bool = False,
    ) -> Proposal:
        settings = self.migration.pull_request
        follow_up = branch != settings.branch
        decisions = any(
            flag.reason in DECISIONS for f in work.outcome.files for flag in f.result.flags
        )
        changes = work.changes
        body = pr_body(
            self.migration,
            work.outcome,
            work.validations or [],
            lambda path, line: f"../blob/{quote(branch)}/{quote(path)}#L{line}",
            self._backend,
            llm=work.llm,
        )
        return Proposal(
            repo=repo,
            migration_id=self.migration.id,
            branch=branch,
            title=f"{settings.title} (follow-up)" if follow_up else settings.title,
            body=body,
            changes=changes,
            labels=settings.labels,
            draft=settings.draft or (decisions and settings.draft_while_decisions),
            reviewers=tuple(_reviewers(work.files, [c.path for c in changes]))
            if settings.request_reviewers
            else (),
            base_branch=work.base_branch,
            base_sha=work.base_sha,
            base_tree=work.tree_info.get("tree", ""),
            modes=tuple(sorted(work.tree_info.get("modes", {}).items())),
            recorded_head=recorded_head(before, branch, settings.branch),
            recorded_head_current=recorded_head_current,
            admit_new=admit_new,
        )


GAGGLE_HEADS = ("created", "updated", "unchanged")  # outcomes whose branch head is gaggle's


def recorded_head(before: RepoState | None, branch: str, spec_branch: str) -> str:
    """The head gaggle recorded for this branch (not for an earlier, merged one)."""
    if before is None or (before.branch or spec_branch) != branch:
        return ""
    return before.branch_sha


def changes_digest(changes: tuple[FileChange, ...]) -> str:
    """Names exactly the files a branch head must hold (paths, contents, deletions)."""
    digest = hashlib.sha256()
    for change in sorted(changes, key=lambda c: c.path):
        content = b"\0deleted" if change.content is None else change.content.encode()
        digest.update(change.path.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


def settled_action(outcome: ProposalOutcome, before: RepoState | None, branch: str) -> str:
    """What finally happened, across a task's retries: the attempt that opened the PR (or
    moved the branch) may have failed after it (the ledger says `failed`), and its retry
    then finds nothing left to do. The ledger still holds what was before that attempt."""
    pull = outcome.pull_request
    if outcome.action != "unchanged" or pull is None or before is None:
        return outcome.action
    if before.status != "failed":
        return outcome.action
    if before.pr_number != pull.number or (before.branch or branch) != branch:
        return "created"
    if before.branch_sha and before.branch_sha != outcome.branch_sha:
        return "updated"
    return outcome.action


def run_repo(
    forge: Forge,
    repo: str,
    migration: Migration,
    validator: Validator | EquivalenceValidator,
    dry_run: bool = False,
    close_orphans: bool = True,
    ledger: Ledger | None = None,
) -> RepoRun:
    """Every step for one repo; without a ledger, an in-memory one carries the work."""
    ledger = ledger or scratch_ledger()
    steps = Steps(forge, migration, ledger, validator, log=lambda _: None)
    return steps.run(repo, dry_run=dry_run, close_orphans=close_orphans)


def read_repo_files(forge: Forge, repo: str, ref: str) -> dict[str, str]:
    """The forge's listing of the repo at ref, every path checked (`check_repo_path`): a
    repo naming a file outside itself fails here, whatever the forge."""
    files = forge.read_files(repo, ref)
    for path in files:
        check_repo_path(path)
    return files


def unreadable_candidates(files: dict[str, str]) -> dict[str, str]:
    """The candidate files a forge listed but could not read (path -> why)."""
    found = getattr(files, "unreadable", {})
    return {path: why for path, why in found.items() if path == "*" or is_candidate(path)}


def unreadable_attention(unreadable: dict[str, str]) -> str:
    """What a human reads on the dashboard: which files gaggle could not read, and why."""
    listed = ", ".join(f"{path} ({why})" for path, why in sorted(unreadable.items())[:5])
    more = f" and {len(unreadable) - 5} more" if len(unreadable) > 5 else ""
    return (
        f"{UNREADABLE_ATTENTION} {len(unreadable)} candidate file(s), which may reference an "
        f"old table: {listed}{more}; check them by hand"
    )


def follow_up_branch(base: str, current: str) -> str:
    """The next branch after `current` merged: base-2, base-3, ..."""
    match = re.fullmatch(re.escape(base) + r"-(\d+)", current)
    return f"{base}-{int(match.group(1)) + 1 if match else 2}"


def scratch_ledger() -> Ledger:
    """An in-memory ledger for one process (one shared connection keeps it alive)."""
    ledger = Ledger(sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool))
    ledger.migrate()
    return ledger


def mentioning_files(files: dict[str, str], migration: Migration) -> list[str]:
    """Files that name an old table at all: a cheap, generous first pass (case-insensitive)."""
    needles = {pair.old.table.rstrip("*").lower() for pair in migration.tables}
    return [path for path, text in files.items() if any(n in text.lower() for n in needles)]


def spec_digest(migration: Migration) -> str:
    """Changes whenever the spec would rewrite differently: kept work is then redone."""
    spec = repr((migration.tables, migration.rules, migration.catalog, migration.guide_url))
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def fields_small(fields: dict) -> dict:
    """The counts worth carrying in XCom (never the details)."""
    return {k: fields[k] for k in ("files_changed", "manual_decisions")}


@contextlib.contextmanager
def checked_out(files: dict[str, str]) -> Iterator[Path]:
    """The files as a directory tree, for the engine's file-based walk; removed after.
    Every path is checked before anything is written: a repo naming a file outside
    itself raises `UnsafePathError` and leaves nothing behind."""
    for path in files:
        check_repo_path(path)
    with tempfile.TemporaryDirectory(prefix="gaggle-repo-") as scratch:
        root = Path(scratch)
        for path, content in files.items():
            target = safe_path(root, path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8", newline="")
        yield root


def _statement(item: dict) -> StatementResult:
    verdict = Verdict(item["ok"], item["problems"], item["warnings"], evidence=item["evidence"])
    return StatementResult(item["path"], item["line"], verdict, item.get("note", ""))


def _reviewers(files: dict[str, str], paths: list[str]) -> list[str]:
    text = next((files[p] for p in CODEOWNERS_PATHS if p in files), "")
    return codeowners_for(text, paths) if text else []
