"""The nightly status of a migration, as people read it: Markdown, HTML and a terminal table.

All three take the same facts (the ledger's states and daily snapshots) and the
buckets of `gaggle.progress`, so they never disagree with each other or the dashboard.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from gaggle.ledger import Ledger, RepoState
from gaggle.progress import BUCKETS, LABELS, bucket_of, counts_of
from gaggle.repo import write_atomically
from gaggle.reports import md_text, safe_url
from gaggle.spec import Migration

NEEDS_A_HUMAN = ("failed", "attention", "decision")


@dataclass
class Status:
    migration: Migration
    states: list[RepoState]
    snapshots: dict[date, dict[str, int]]
    at: datetime

    @classmethod
    def read(cls, migration: Migration, ledger: Ledger, at: datetime) -> Status:
        return cls(migration, ledger.states(migration.id), ledger.snapshots(migration.id), at)

    @property
    def counts(self) -> dict[str, int]:
        return counts_of(self.states)

    def rows(self, bucket: str) -> list[RepoState]:
        return [s for s in self.states if bucket_of(s) == bucket]


def status_markdown(status: Status) -> str:
    migration, counts, total = status.migration, status.counts, len(status.states)
    lines = [
        f"# {migration.title}",
        "",
        f"Migration `{migration.id}`, status at {status.at:%Y-%m-%d %H:%M} UTC. "
        f"Guide: {migration.guide_url}",
        "",
        f"**{counts['done']} of {total - counts['no-change-needed']} consumers done** "
        f"({_percent(counts['done'], total - counts['no-change-needed'])}); "
        f"{counts['no-change-needed']} needed no change.",
        "",
        "| progress | repos |",
        "|---|---:|",
        *(f"| {LABELS[b]} | {counts[b]} |" for b in BUCKETS),
        "",
    ]
    for bucket in NEEDS_A_HUMAN:
        rows = status.rows(bucket)
        if rows:
            lines += [
                f"## {LABELS[bucket]} ({len(rows)})",
                "",
                "| repo | PR | why |",
                "|---|---|---|",
            ]
            lines += [f"| {md_text(s.repo)} | {_pr_md(s)} | {md_text(_why(s))} |" for s in rows]
            lines.append("")
    if status.snapshots:
        lines += ["## Burndown", "", "| day | " + " | ".join(LABELS[b] for b in BUCKETS) + " |"]
        lines.append("|---|" + "---:|" * len(BUCKETS))
        for day, day_counts in sorted(status.snapshots.items()):
            cells = " | ".join(str(day_counts.get(b, 0)) for b in BUCKETS)
            lines.append(f"| {day} | {cells} |")
        lines.append("")
    return "\n".join(lines)


def status_html(status: Status) -> str:
    """A self-contained page (no script, no external asset) to mail or publish."""
    migration, counts = status.migration, status.counts
    esc = html.escape
    summary = "".join(
        f"<tr><td>{esc(LABELS[b])}</td><td class=n>{counts[b]}</td></tr>" for b in BUCKETS
    )
    sections = []
    for bucket in NEEDS_A_HUMAN:
        rows = status.rows(bucket)
        if rows:
            body = "".join(
                f"<tr><td>{esc(s.repo)}</td><td>{_pr_html(s)}</td><td>{esc(_why(s))}</td></tr>"
                for s in rows
            )
            sections.append(
                f"<h2>{esc(LABELS[bucket])} ({len(rows)})</h2><table><tr><th>repo</th>"
                f"<th>PR</th><th>why</th></tr>{body}</table>"
            )
    every = "".join(
        f"<tr><td>{esc(s.repo)}</td><td>{esc(LABELS[bucket_of(s)])}</td><td>{_pr_html(s)}</td>"
        f"<td>{esc(s.ci_state)}</td><td>{esc(s.review_state)}</td>"
        f"<td class=n>{s.manual_decisions}</td><td>{s.updated_at:%Y-%m-%d}</td></tr>"
        for s in status.states
    )
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><title>{esc(migration.title)}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse;
margin-bottom:1.5em}}td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:left}}
td.n{{text-align:right}}</style></head><body>
<h1>{esc(migration.title)}</h1>
<p>Migration <code>{esc(migration.id)}</code>, status at {status.at:%Y-%m-%d %H:%M} UTC.
Guide: <a href="{esc(migration.guide_url)}">{esc(migration.guide_url)}</a></p>
<table><tr><th>progress</th><th>repos</th></tr>{summary}</table>
{"".join(sections)}
<h2>Every consumer</h2>
<table><tr><th>repo</th><th>progress</th><th>PR</th><th>CI</th><th>review</th>
<th>decisions</th><th>updated</th></tr>{every}</table>
</body></html>
"""


def status_table(status: Status) -> str:
    """For a terminal: one line per repo, then the counts."""
    lines = [f"{'repo':<34}{'progress':<18}{'PR':<8}{'CI':<10}why"]
    for s in status.states:
        pr = f"#{s.pr_number}" if s.pr_number else ""
        why = _printable(_why(s))[:60]
        lines.append(f"{_printable(s.repo):<34}{bucket_of(s):<18}{pr:<8}{s.ci_state:<10}{why}")
    lines.append("")
    lines.append("  ".join(f"{b}: {n}" for b, n in status.counts.items()))
    return "\n".join(lines)


def write_reports(status: Status, folder: Path) -> list[Path]:
    """status.md and status.html (the latest), plus a dated Markdown copy per day."""
    folder.mkdir(parents=True, exist_ok=True)
    markdown = status_markdown(status)
    written = {
        folder / "status.md": markdown,
        folder / "status.html": status_html(status),
        folder / f"status-{status.at:%Y-%m-%d}.md": markdown,
    }
    for path, text in written.items():
        if not path.exists():
            path.touch()
        write_atomically(path, text.encode("utf-8"))
    return list(written)


def _why(state: RepoState) -> str:
    bucket = bucket_of(state)
    if bucket == "failed":
        return state.last_error or state.status
    if bucket == "attention":
        return state.attention
    if bucket == "decision":
        return f"{state.manual_decisions} manual decision(s) in the PR"
    return ""


def _pr_md(state: RepoState) -> str:
    if not state.pr_number:
        return ""
    url = safe_url(state.pr_url or "")
    if not url or re.search(r"[\s()<>\[\]]", url):
        return f"#{state.pr_number}"
    return f"[#{state.pr_number}]({url})"


def _pr_html(state: RepoState) -> str:
    if not state.pr_number:
        return ""
    url = safe_url(state.pr_url or "")
    if not url:
        return f"#{state.pr_number}"
    return f'<a href="{html.escape(url)}">#{state.pr_number}</a>'


def _printable(text: str) -> str:
    """For a terminal: no control character (an escape sequence) from repo text."""
    return "".join(c if c.isprintable() else " " for c in text)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"
