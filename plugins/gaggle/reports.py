"""Texts people read: the pull request body.

A reviewer should learn from the PR alone what changed and why, what they must
decide (with a link to each line), what evidence says the change is right, and how
to undo it.
"""

from __future__ import annotations

from collections.abc import Callable

from gaggle.repo import RepoOutcome
from gaggle.spec import Migration
from gaggle.validation.repo import StatementResult

MARKER = "<!-- gaggle:pull-request -->"
DECISION_REASONS = {"manual-column", "column-docs", "ambiguous-column", "unknown-source-schema"}


def pr_body(
    migration: Migration,
    outcome: RepoOutcome,
    validations: list[StatementResult],
    line_url: Callable[[str, int], str],
    backend: str = "offline",
) -> str:
    """The PR body in GitHub-flavoured Markdown."""
    parts = [
        MARKER,
        f"## {migration.title}",
        "",
        f"This PR was opened by gaggle for the migration **{migration.id}**. "
        f"The migration guide is at {migration.guide_url}.",
        "",
        "Each reference to "
        + ", ".join(f"`{pair.old}`" for pair in migration.tables)
        + " was resolved by scope and rewritten to "
        + ", ".join(f"`{pair.new}`" for pair in migration.tables)
        + " using the migration's mapping table. Output column names are unchanged, so "
        "nothing downstream of these queries needs to change.",
        "",
        *_files_table(outcome),
        *_decisions(outcome, line_url),
        *_evidence(validations, backend),
        "### How to revert",
        "",
        "Revert this PR's single commit (`git revert <sha>`), or close the PR: gaggle never "
        "reopens a PR a human closed.",
    ]
    return "\n".join(parts) + "\n"


def _files_table(outcome: RepoOutcome) -> list[str]:
    touched = [f for f in outcome.touched if f.result.changed or f.result.flags]
    if not touched:
        return []
    lines = ["### Files", "", "| file | kind | changes | needs a decision |", "|---|---|---|---|"]
    for file in touched:
        decisions = sum(1 for f in file.result.flags if str(f.reason) in DECISION_REASONS)
        lines.append(
            f"| `{file.path}` | {file.framework} {file.kind} | {len(file.result.changes)} | "
            f"{decisions or ''} |"
        )
    return [*lines, ""]


def _decisions(outcome: RepoOutcome, line_url: Callable[[str, int], str]) -> list[str]:
    items = []
    for file in outcome.touched:
        for flag in file.result.flags:
            if str(flag.reason) in DECISION_REASONS:
                link = line_url(file.path, flag.line)
                items.append(f"- [ ] [`{file.path}:{flag.line}`]({link}): {flag.message}")
    others = [
        f"- `{file.path}:{flag.line}` ({flag.reason}): {flag.message}"
        for file in outcome.touched
        for flag in file.result.flags
        if str(flag.reason) not in DECISION_REASONS
    ]
    lines = []
    if items:
        lines += [
            "### Decisions for the owning team",
            "",
            "gaggle left these for you; each line carries a `TODO(data-migration ...)` comment.",
            "",
            *items,
            "",
        ]
    if others:
        lines += ["### Left unchanged", "", *others, ""]
    return lines


def _evidence(validations: list[StatementResult], backend: str) -> list[str]:
    if not validations:
        return ["### Validation", "", "No statement needed validation.", ""]
    ok = sum(r.verdict.ok for r in validations)
    lines = [
        "### Validation",
        "",
        f"{ok} of {len(validations)} rewritten statements pass the `{backend}` checks "
        "(both compile, same output schema, no old table read).",
        "",
        "| file | line | result | detail |",
        "|---|---|---|---|",
    ]
    for result in validations:
        verdict = result.verdict
        detail = "; ".join(
            d.splitlines()[0] for d in verdict.problems + verdict.warnings + verdict.evidence
        )
        status = "pass" if verdict.ok else "**problem**"
        lines.append(f"| `{result.path}` | {result.line} | {status} | {detail.replace('|', '/')} |")
    return [*lines, ""]
