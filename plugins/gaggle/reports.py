"""Texts people read: the pull request body.

A reviewer should learn from the PR alone what changed and why, what they must
decide (with a link to each line), what evidence says the change is right, and how
to undo it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from gaggle.repo import RepoOutcome
from gaggle.spec import Migration
from gaggle.sql.report import DECISIONS, todo_marker
from gaggle.validation.repo import StatementResult

if TYPE_CHECKING:
    from gaggle.llm import LlmReport

MARKER = "<!-- gaggle:pull-request -->"


def pr_body(
    migration: Migration,
    outcome: RepoOutcome,
    validations: list[StatementResult],
    line_url: Callable[[str, int], str],
    backend: str = "offline",
    *,
    llm: LlmReport | None = None,
) -> str:
    """The PR body in GitHub-flavoured Markdown; with `llm`, what the LLM fallback changed
    (file and lines, so reviewers look twice there), what it left, and what it cost."""
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
        *_unreadable(outcome),
        *_llm_changes(llm, line_url, backend),
        *_decisions(outcome, line_url),
        *_done_when(migration, outcome),
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
        decisions = sum(1 for f in file.result.flags if f.reason in DECISIONS)
        lines.append(
            f"| {_code(file.path, table=True)} | {file.framework} {file.kind} | "
            f"{len(file.result.changes)} | "
            f"{decisions or ''} |"
        )
    return [*lines, ""]


def _unreadable(outcome: RepoOutcome) -> list[str]:
    if not outcome.unreadable:
        return []
    return [
        "### Files gaggle could not read",
        "",
        "These files may reference an old table, but gaggle could not read them; check them "
        "by hand.",
        "",
        *[f"- {_code(s.path)}: {_prose(s.reason)}" for s in outcome.unreadable],
        "",
    ]


def _decisions(outcome: RepoOutcome, line_url: Callable[[str, int], str]) -> list[str]:
    items = []
    for file in outcome.touched:
        for flag in file.result.flags:
            if flag.reason in DECISIONS:
                link = line_url(file.path, flag.line)
                where = _code(f"{file.path}:{flag.line}")
                items.append(f"- [ ] [{where}]({link}): {md_text(flag.message)}")
    others = [
        f"- {_code(f'{file.path}:{flag.line}')} ({flag.reason}): {md_text(flag.message)}"
        for file in outcome.touched
        for flag in file.result.flags
        if flag.reason not in DECISIONS
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


def _done_when(migration: Migration, outcome: RepoOutcome) -> list[str]:
    """What the owning team must do after merging for the repo to count as done."""
    flagged = [f for f in outcome.touched if f.result.flags]
    if not flagged:
        return []
    marker = f"`{todo_marker(migration.id)}`"
    lines = [
        "### When this repo counts as done",
        "",
        "After the merge, gaggle re-reads the default branch: the repo counts as done when "
        "nothing there reads an old table or column. Fix each line listed above the way its "
        f"{marker} comment says (the guide explains each mapping).",
    ]
    if any(f.framework == "scio" for f in flagged):
        lines.append(
            f"In Scala files, delete each {marker} comment once its line is fixed: a comment "
            "left there keeps the repo open, and gaggle flags again any access of an old "
            "column on rows of the new table."
        )
    return [*lines, ""]


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
        lines.append(
            f"| {_code(result.path, table=True)} | {result.line} | {status} | {md_text(detail)} |"
        )
    return [*lines, ""]


def _llm_changes(
    llm: LlmReport | None, line_url: Callable[[str, int], str], backend: str
) -> list[str]:
    if llm is None or not llm.files:
        return []
    lines = []
    accepted = llm.accepted()
    checks = "`offline`" if backend == "offline" else f"`offline` and `{backend}`"
    if accepted:
        lines += [
            "### Lines written by an LLM: review these twice",
            "",
            f"The rules could not decide these lines, so `{llm.model}` proposed them. gaggle "
            "accepted each proposal only after checking that it changes only lines holding "
            "old references, still parses, keeps manual columns for you, and passes the "
            f"{checks} validation. A reviewer's judgment still matters most here.",
            "",
        ]
        for file in accepted:
            for edit in file.edits:
                span = (
                    f"{edit.line}"
                    if edit.last_line == edit.line
                    else f"{edit.line}-{edit.last_line}"
                )
                link = line_url(file.path, edit.line)
                after = " / ".join(part.strip() for part in edit.after.split("\n"))
                lines.append(f"- [{_code(f'{file.path}:{span}')}]({link}): {_inline_code(after)}")
        lines.append("")
    others = [f for f in llm.files if f.status != "accepted"]
    if others:
        lines += ["The LLM fallback left these files for a human:", ""]
        for file in others:
            why = "; ".join(file.errors[:2]) or file.note or ", ".join(file.undecided.values())
            lines.append(f"- {_code(file.path)} ({file.status}): {_prose(why)}")
        lines.append("")
    cached = f", {llm.cache_hits} answers reused from the cache" if llm.cache_hits else ""
    lines += [
        f"LLM usage for this repo: {llm.calls} requests to `{llm.model}`{cached}; "
        f"{llm.input_tokens:,} input and {llm.output_tokens:,} output tokens, "
        f"${llm.cost_usd:.4f} (${llm.paid_usd:.4f} paid in this run).",
        "",
    ]
    return lines


def _inline_code(text: str) -> str:
    """A Markdown code span that shows `text` exactly, backticks included."""
    text = text[:300]
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence, pad = "`" * (longest + 1), " " if longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _prose(text: str) -> str:
    """Text for a list item: one line, no backtick runs that would open a code span."""
    return md_text(re.sub(r"`+", "'", text))[:300]


def md_text(text: str) -> str:
    """Repo-controlled text (a flag message, a reason) as Markdown on one line: no line
    break to start a heading or a row, and the characters that open a link, an image, raw
    HTML, a code span or a table cell escaped, so it renders as the text it is."""
    return re.sub(r"([\\`\[\]<>|])", r"\\\1", re.sub(r"\s*[\r\n]+\s*", " ", text))


def _code(text: str, table: bool = False) -> str:
    """Repo-controlled text (a path) as a one-line code span; in a table, pipes escaped
    (GitHub's tables split cells on a pipe even inside a code span)."""
    span = _inline_code(re.sub(r"\s*[\r\n]+\s*", " ", text))
    return span.replace("|", "\\|") if table else span


def safe_url(url: str) -> str:
    """The URL if it is a web (or local forge) address, else "": a `javascript:` or
    `data:` URL from a forge or a ledger row must never become a link."""
    return url if urlsplit(url).scheme in ("http", "https", "file") else ""
