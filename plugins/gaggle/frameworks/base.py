"""The protocol every consumer framework implements, and what they share.

A framework looks at a repo once (`open`), says which files it handles and as what
kind (`kind_of`), rewrites each of them (`rewrite`), and may then edit project-level
files whose new content depends on all the others (`finish`, e.g. dbt's sources YAML).
Adding a framework is one module plus one entry in `gaggle.frameworks.FRAMEWORKS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gaggle.sql import RewriteResult, SqlRewriter
from gaggle.sql.edits import Edit, LineIndex, normalize
from gaggle.sql.edits import apply as apply_edits
from gaggle.sql.report import Change, Flag, FlagReason


@dataclass
class RepoFile:
    """A text file of the repo, decoded, with what it takes to write it back the same way."""

    path: Path
    relative: str  # forward slashes, relative to the repo root
    text: str  # line endings normalized to \n
    newline: str = "\n"  # the file's own line ending, restored on write
    bom: bool = False

    def encoded(self, text: str) -> bytes:
        body = text.replace("\n", self.newline) if self.newline != "\n" else text
        return (b"\xef\xbb\xbf" if self.bom else b"") + body.encode("utf-8")


class FrameworkSession(Protocol):
    framework: str

    def kind_of(self, file: RepoFile) -> str | None:
        """The kind of file this framework handles it as (sql, dbt-model, ...), or None."""

    def rewrite(self, file: RepoFile) -> RewriteResult:
        """The file's new text with its changes and flags; never raises."""

    def finish(self) -> list[tuple[RepoFile, str, RewriteResult]]:
        """Project-level files to rewrite once every file has been seen: (file, kind, result)."""


class Framework(Protocol):
    name: str

    def open(
        self, repo: Path, engine: SqlRewriter, files: list[RepoFile]
    ) -> FrameworkSession | None:
        """A session over the repo, or None when the repo does not use this framework."""


def result_from_edits(original: str, edits: list[Edit], flags: list[Flag]) -> RewriteResult:
    """A RewriteResult for non-SQL text edited by (start, end, text) edits."""
    index = LineIndex(original)
    kept = normalize(edits)
    changes = []
    for edit in kept:
        line, column = index.position(edit.start)
        before = original[edit.start : edit.end]
        changes.append(Change(line, column, before, edit.text, edit.rule, edit.start, edit.end))
    return RewriteResult(original, apply_edits(original, kept), changes, flags)


def shift_result(result: RewriteResult, offset: int, whole: str) -> tuple[list[Edit], list[Flag]]:
    """Edits and flags of a rewrite of `whole[offset:...]`, placed back into `whole`.

    Used for SQL embedded in another file (a Scala string, a YAML value).
    """
    index = LineIndex(whole)
    edits = [Edit(c.start + offset, c.end + offset, c.after, c.rule) for c in result.changes]
    inner = LineIndex(result.original)
    flags = []
    for flag in result.flags:
        start = (
            inner.starts[flag.line - 1] + flag.column - 1 if flag.line <= len(inner.starts) else 0
        )
        line, column = index.position(offset + start)
        flags.append(Flag(line, column, flag.reason, flag.message))
    return edits, flags


def unhandled_flag(file: RepoFile, offset: int, message: str) -> Flag:
    line, column = LineIndex(file.text).position(offset)
    return Flag(line, column, FlagReason.UNRESOLVED_REFERENCE, message)
