"""One repo's journey as plain steps: fetch its files, rewrite, validate, propose the PR.

The CLI runs the steps in a row; the Airflow task group runs one step per task. The
repo is read from the forge at its default branch into a scratch directory, so the
same steps serve GitHub and the local forge alike.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gaggle.forges.base import (
    CODEOWNERS_PATHS,
    FileChange,
    Forge,
    Proposal,
    ProposalOutcome,
    codeowners_for,
)
from gaggle.ledger import Ledger
from gaggle.repo import RepoOutcome, rewrite_repo
from gaggle.reports import pr_body
from gaggle.spec import Migration
from gaggle.validation.analysis import Validator
from gaggle.validation.repo import EquivalenceValidator, StatementResult, validate_repo

DECISIONS = ("manual-column", "column-docs")  # flags that a human must decide on
ORPHAN_COMMENT = (
    "gaggle closes this PR: the repo no longer reads {tables} (it was migrated by hand, "
    "or the queries were removed), so there is nothing left to change."
)


@dataclass
class RepoRun:
    repo: str
    status: str  # no-change-needed, proposed, dry-run, closed-orphan, human-commit, ...
    outcome: RepoOutcome | None = None
    validations: list[StatementResult] = field(default_factory=list)
    proposal: ProposalOutcome | None = None
    diff: str = ""


def run_repo(
    forge: Forge,
    repo: str,
    migration: Migration,
    validator: Validator | EquivalenceValidator,
    dry_run: bool = False,
    close_orphans: bool = True,
    ledger: Ledger | None = None,
) -> RepoRun:
    """Run one repo; with a ledger, its outcome (or its error) is recorded there."""
    try:
        run = _run_repo(forge, repo, migration, validator, dry_run, close_orphans)
    except Exception as err:  # one repo's failure must not stop the fleet: record it, re-raise
        if ledger is not None:
            ledger.record(
                migration.id,
                repo,
                "failed",
                {"error": repr(err)},
                last_error=f"{type(err).__name__}: {err}",
            )
        raise
    if ledger is not None:
        record_run(ledger, migration, run)
    return run


def record_run(ledger: Ledger, migration: Migration, run: RepoRun) -> None:
    files = run.outcome.files if run.outcome else []
    fields = {
        "frameworks": ",".join(run.outcome.frameworks) if run.outcome else "",
        "files_changed": sum(1 for f in files if f.result.changed),
        "manual_decisions": sum(
            1 for f in files for flag in f.result.flags if str(flag.reason) in DECISIONS
        ),
        "last_error": "",
    }
    pull = run.proposal.pull_request if run.proposal else None
    if pull is not None:
        fields.update(
            branch=migration.pull_request.branch,
            pr_number=pull.number,
            pr_url=pull.url,
            pr_state=pull.state,
            ci_state=pull.ci,
            review_state=pull.review,
        )
    ledger.record(migration.id, run.repo, run.status, {"status": run.status}, **fields)


def _run_repo(
    forge: Forge,
    repo: str,
    migration: Migration,
    validator: Validator | EquivalenceValidator,
    dry_run: bool,
    close_orphans: bool,
) -> RepoRun:
    base_branch, base_sha = forge.default_branch(repo)
    files = forge.read_files(repo, base_sha)
    with tempfile.TemporaryDirectory(prefix="gaggle-repo-") as scratch:
        root = Path(scratch)
        for path, content in files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8", newline="")
        outcome = rewrite_repo(root, migration, write=False)
        validations = (
            validate_repo(root, migration, validator, outcome=outcome) if _changed(outcome) else []
        )
    changes = tuple(FileChange(f.path, f.new_content()) for f in outcome.files if f.result.changed)
    run = RepoRun(repo, "no-change-needed", outcome, validations)
    run.diff = "".join(f.diff() for f in outcome.files if f.result.changed)
    settings = migration.pull_request
    if not changes:
        existing = forge.pull_request(repo, settings.branch)
        if close_orphans and existing is not None and existing.state == "open" and not dry_run:
            tables = ", ".join(str(p.old) for p in migration.tables)
            forge.close(repo, existing.number, ORPHAN_COMMENT.format(tables=tables))
            run.status = "closed-orphan"
        return run
    if dry_run:
        run.status = "dry-run"
        return run
    decisions = any(str(flag.reason) in DECISIONS for f in outcome.files for flag in f.result.flags)
    body = pr_body(
        migration,
        outcome,
        validations,
        lambda path, line: f"../blob/{settings.branch}/{path}#L{line}",
        getattr(validator, "name", "offline"),
    )
    proposal = Proposal(
        repo=repo,
        migration_id=migration.id,
        branch=settings.branch,
        title=settings.title,
        body=body,
        changes=changes,
        labels=settings.labels,
        draft=settings.draft or (decisions and settings.draft_while_decisions),
        reviewers=tuple(_reviewers(files, [c.path for c in changes]))
        if settings.request_reviewers
        else (),
        base_branch=base_branch,
        base_sha=base_sha,
    )
    run.proposal = forge.propose(proposal)
    run.status = run.proposal.action
    return run


def _changed(outcome: RepoOutcome) -> bool:
    return any(f.result.changed for f in outcome.files)


def _reviewers(files: dict[str, str], paths: list[str]) -> list[str]:
    text = next((files[p] for p in CODEOWNERS_PATHS if p in files), "")
    return codeowners_for(text, paths) if text else []
