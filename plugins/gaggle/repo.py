"""One consumer repo through the engine: find its files, rewrite them, report per file."""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gaggle.spec import Migration
from gaggle.sql import RewriteResult, SqlRewriter

SKIPPED_DIRS = {".git", "target", "dbt_packages", "node_modules", ".venv", "logs", "__pycache__"}


@dataclass
class FileOutcome:
    path: str  # relative to the repo, with forward slashes
    framework: str
    result: RewriteResult

    @property
    def status(self) -> str:
        if any(f.reason in ("unparseable", "internal-error") for f in self.result.flags):
            return "failed"
        if self.result.flags:
            return "flagged"
        return "changed" if self.result.changed else "unchanged"

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.result.original.splitlines(keepends=True),
                self.result.text.splitlines(keepends=True),
                fromfile=f"a/{self.path}",
                tofile=f"b/{self.path}",
            )
        )


@dataclass
class RepoOutcome:
    repo: Path
    files: list[FileOutcome] = field(default_factory=list)

    @property
    def touched(self) -> list[FileOutcome]:
        return [f for f in self.files if f.result.references_found]

    def to_dict(self) -> dict:
        return {
            "repo": str(self.repo),
            "files": [
                {"path": f.path, "framework": f.framework, "status": f.status, **f.result.to_dict()}
                for f in self.touched
            ],
            "summary": self.summary_counts(),
        }

    def summary_counts(self) -> dict[str, int]:
        counts = {"files_scanned": len(self.files), "changes": 0, "flags": 0}
        for outcome in self.files:
            counts["changes"] += len(outcome.result.changes)
            counts["flags"] += len(outcome.result.flags)
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return counts


def sql_files(repo: Path) -> Iterator[Path]:
    """Every .sql file of the repo, in a stable order, outside build and vendor folders."""
    for root, dirs, files in os.walk(repo):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            if name.endswith(".sql"):
                yield Path(root) / name


def rewrite_repo(repo: Path, migration: Migration, write: bool) -> RepoOutcome:
    """Rewrite every SQL file of a repo; with write, changed files are replaced atomically."""
    engine = SqlRewriter(migration)
    outcome = RepoOutcome(repo)
    for path in sql_files(repo):
        text = path.read_text(encoding="utf-8")
        result = engine.rewrite(text)
        relative = path.relative_to(repo).as_posix()
        outcome.files.append(FileOutcome(relative, "sql", result))
        if write and result.changed:
            write_atomically(path, result.text)
    return outcome


def write_atomically(path: Path, text: str) -> None:
    """Replace a file's content so a crash leaves either the old or the new file, never half."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
