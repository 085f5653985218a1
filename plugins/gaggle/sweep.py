"""The nightly sweep of one migration: PR states refreshed, merged repos verified, idle
PRs nudged, the day's progress snapshot written.

PR state is not progress. A merged PR counts as `done` only once the sweep has re-read
the repo's default branch and found no reference to an old table left, and (with
lineage on) no job attributed to the repo read the old tables lately. The check runs
every night, so a revert or a new reference takes a `done` repo back out.

When a person pushed to an open PR's branch (its head is no longer the commit gaggle
wrote), the sweep validates the branch against where it started, as `gaggle validate
--base` does, and shows the verdict on the PR as the commit status `gaggle/validation`:
success, failure (a statement's output changed), or pending (a decision gaggle left as
a TODO still fails), each with a one-line reason and a link to the dashboard's repo page.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from gaggle.forges.base import Forge
from gaggle.ledger import Ledger, RepoState
from gaggle.pipeline import Steps, checked_out, mentioning_files, unreadable_candidates
from gaggle.progress import counts_of
from gaggle.repo import rewrite_repo
from gaggle.spec import Migration
from gaggle.sql.report import todo_marker
from gaggle.validation.repo import validate_edits

NUDGE = (
    "Hello! This PR moves this repo off {tables}, which is being retired. It has had no "
    "activity for {days} days. Could someone take a look? If something in it is wrong "
    "or needs a decision, the migration guide explains each case: {guide}. If this repo "
    "should not be migrated this way, close the PR with a comment; gaggle will not reopen "
    "it, and the data-platform team will follow up with you."
)
# Recent readers of the old tables attributed to a repo: "principal (last read ...)".
LineageCheck = Callable[[str, int], list[str]]


def default_dashboard_url(environ) -> str:
    """GAGGLE_DASHBOARD_URL, else the Airflow API server's base URL with the dashboard's
    /gaggle mount, else a local Airflow's."""
    if environ.get("GAGGLE_DASHBOARD_URL"):
        return environ["GAGGLE_DASHBOARD_URL"]
    base = environ.get("AIRFLOW__API__BASE_URL") or "http://localhost:8080"
    return base.rstrip("/") + "/gaggle"


@dataclass(frozen=True)
class SweepSettings:
    nudge_after_days: int = 7  # a PR idle this long gets a polite nudge
    nudge_every_days: int = 7  # and at most one nudge per this many days
    lineage_days: int = 14  # a lineage reader this recent keeps a merged repo from done
    # The dashboard's root, for the commit status's link to a repo's page.
    dashboard_url: str = field(default_factory=lambda: default_dashboard_url(os.environ))


@dataclass
class SweepResult:
    migration_id: str
    refreshed: int = 0
    nudged: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    attention: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # the sweep could not look: see last_error
    revalidated: dict[str, str] = field(default_factory=dict)  # repo -> status state set
    counts: dict[str, int] = field(default_factory=dict)


def sweep_migration(
    forge: Forge,
    migration: Migration,
    ledger: Ledger,
    settings: SweepSettings = SweepSettings(),
    lineage: LineageCheck | None = None,
    now: datetime | None = None,
    validator=None,
) -> SweepResult:
    """Refresh, verify and nudge every repo with a PR; then snapshot the day's counts.
    A repo whose step raises is recorded (last_error, attention) and the sweep goes on."""
    now = now or datetime.now(UTC)
    if validator is None:
        from gaggle.validation.offline import OfflineValidator

        validator = OfflineValidator(migration.catalog)
    steps = Steps(forge, migration, ledger, validator, log=lambda _: None)
    result = SweepResult(migration.id)
    for state in ledger.states(migration.id):
        if state.pr_number is None:
            continue
        try:
            _sweep_repo(forge, migration, ledger, steps, state, settings, lineage, now, result)
        except Exception as err:  # one repo's failure never stops the sweep for the others
            problem = f"sweep: {type(err).__name__}: {err}"[:2000]
            result.failed.append(state.repo)
            ledger.record(
                migration.id,
                state.repo,
                state.status,  # what the repo is has not changed; the sweep could not look
                {"step": "sweep", "error": repr(err)[:2000]},
                last_error=problem,
                attention=problem[:200],
            )
    states = ledger.states(migration.id)
    result.counts = counts_of(states)
    ledger.write_snapshot(migration.id, now.date(), result.counts)
    return result


def _sweep_repo(forge, migration, ledger, steps, state, settings, lineage, now, result) -> None:
    """Refresh one repo's PR; nudge it when idle, verify it when merged."""
    pull = forge.pull_request(state.repo, state.branch or migration.pull_request.branch)
    if pull is None:
        return
    result.refreshed += 1
    if (pull.state, pull.ci, pull.review) != (state.pr_state, state.ci_state, state.review_state):
        steps.record_pull(state.repo, pull, f"pr-{pull.state}", branch=state.branch or None)
    if pull.state == "open":
        _revalidate(forge, migration, ledger, steps.validator, state, pull, settings, result)
    if pull.state == "open" and _nudge(forge, migration, ledger, state, pull, settings, now):
        result.nudged.append(state.repo)
    elif pull.state == "merged":
        _verify(forge, migration, ledger, state, settings, lineage, now, result)
    elif pull.state == "closed":
        result.attention.append(state.repo)


STATUS_CONTEXT = "gaggle/validation"


def _revalidate(forge, migration, ledger, validator, state, pull, settings, result) -> None:
    """A person pushed to the PR's branch: validate it against where it started, once per
    head, and show the verdict as a commit status."""
    if not state.branch_sha or not pull.head_sha or pull.head_sha == state.branch_sha:
        return  # gaggle's own head: the pipeline validated it before proposing
    if ledger.get_work(migration.id, state.repo, "revalidated", pull.head_sha) is not None:
        return  # this head was judged already
    start = forge.commit_parent(state.repo, state.branch_sha)
    base_files = forge.read_files(state.repo, start)
    edited = forge.read_files(state.repo, pull.head_sha)
    verdict, reason = judge_edits(migration, base_files, edited, validator)
    link = f"{settings.dashboard_url.rstrip('/')}/migrations/{quote(migration.id, safe='')}"
    link += f"/repos/{quote(state.repo)}"
    forge.set_commit_status(state.repo, pull.head_sha, verdict, reason, link, STATUS_CONTEXT)
    ledger.put_work(
        migration.id,
        state.repo,
        "revalidated",
        pull.head_sha,
        json.dumps({"state": verdict, "reason": reason}).encode(),
    )
    ledger.record(
        migration.id,
        state.repo,
        state.status,
        {"revalidated": pull.head_sha, "state": verdict, "reason": reason},
        attention=reason[:200] if verdict == "failure" else "",
    )
    result.revalidated[state.repo] = verdict


def judge_edits(migration, base_files, edited_files, validator) -> tuple[str, str]:
    """(commit status state, one-line reason) for a branch's files against its start."""
    results = validate_edits(migration, base_files, edited_files, validator)
    marker = todo_marker(migration.id)
    waiting = {path for path, text in edited_files.items() if marker in text}
    failed = [r for r in results if not r.verdict.ok]
    blocking = [r for r in failed if r.path not in waiting]
    if blocking:
        first = blocking[0]
        problem = first.verdict.problems[0] if first.verdict.problems else "failed"
        return "failure", _one_line(
            f"{len(blocking)} statement(s) fail validation; {first.path}:{first.line}: {problem}"
        )
    if failed:
        first = failed[0]
        return "pending", _one_line(
            f"decision left (TODO) in {len(waiting)} file(s); {first.path}:{first.line} "
            "fails until it is resolved"
        )
    return "success", _one_line(f"{len(results)} changed statement(s) validated against the base")


def _one_line(text: str, limit: int = 140) -> str:
    """GitHub takes at most 140 characters of a status description, on one line."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _nudge(forge, migration, ledger, state: RepoState, pull, settings, now) -> bool:
    last_activity = pull.updated_at or state.pr_updated_at or state.updated_at
    idle = now - last_activity
    if idle < timedelta(days=settings.nudge_after_days):
        return False
    if state.last_nudged_at and now - state.last_nudged_at < timedelta(
        days=settings.nudge_every_days
    ):
        return False
    # The marker names the interval, so a lost ledger write still means one nudge per interval.
    period = now.toordinal() // max(settings.nudge_every_days, 1)
    body = NUDGE.format(
        tables=", ".join(f"`{p.old}`" for p in migration.tables),
        days=idle.days,
        guide=migration.guide_url,
    )
    posted = forge.comment(state.repo, pull.number, body, marker=f"nudge-{migration.id}-{period}")
    ledger.record(
        migration.id,
        state.repo,
        "nudged" if posted else state.status,
        {"idle_days": idle.days, "posted": posted},
        last_nudged_at=now,
    )
    return posted


def _verify(forge, migration, ledger, state, settings, lineage, now, result) -> None:
    """Merged: done only if no reference is left and no recent reader remains."""
    _, head = forge.default_branch(state.repo)
    files = forge.read_files(state.repo, head)
    left = references_left(files, migration)
    readers = lineage(state.repo, settings.lineage_days) if lineage else []
    fields = {"references_left": len(left), "rescanned_at": now}
    if not left and not readers:
        if state.verified_at is None:
            result.verified.append(state.repo)
        ledger.record(
            migration.id,
            state.repo,
            "done" if state.verified_at is None else state.status,
            {"head": head},
            verified_at=state.verified_at or now,
            attention="",
            **fields,
        )
        return
    problem = (
        f"{len(left)} file(s) on the default branch still read an old table: " + ", ".join(left[:5])
        if left
        else "jobs of this repo still read the old tables: " + "; ".join(readers[:3])
    )
    if state.verified_at is not None or state.status == "done":
        result.reopened.append(state.repo)
    result.attention.append(state.repo)
    ledger.record(
        migration.id,
        state.repo,
        "reopened" if state.verified_at is not None else "merged-with-references",
        {"head": head, "problem": problem},
        verified_at=None,
        attention=problem,
        **fields,
    )


def references_left(files: dict[str, str], migration: Migration) -> list[str]:
    """Files whose old-table references the engine finds, by scope, as a rewrite would;
    and candidate files gaggle could not read (they may hold one: never done)."""
    unreadable = [
        f"{p} (could not be read: {why})" for p, why in unreadable_candidates(files).items()
    ]
    mentioned = set(mentioning_files(files, migration))
    if not mentioned:
        return unreadable
    with checked_out(files) as root:
        outcome = rewrite_repo(root, migration, write=False)
    unreadable += [f"{s.path} (could not be read: {s.reason})" for s in outcome.unreadable]
    return [f.path for f in outcome.files if f.result.references_found] + unreadable


def lineage_check(lineage, days: int) -> LineageCheck:
    """One JOBS query for the whole sweep (`gaggle.discovery.Lineage`), grouped by repo."""
    from gaggle.discovery import repo_key

    by_repo: dict[str, list[str]] = {}
    for reader in lineage.readers(days):
        if reader.repo is not None:
            by_repo.setdefault(repo_key(reader.repo), []).append(
                f"{reader.principal} ({reader.jobs} jobs, last {reader.last_read:%Y-%m-%d})"
            )
    return lambda repo, _days: by_repo.get(repo_key(repo), [])
