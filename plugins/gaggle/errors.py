"""The error tree: every error says where it happened and how to fix it."""

from __future__ import annotations

from pathlib import Path


class GaggleError(Exception):
    """Root of every error gaggle raises on purpose."""


class SpecError(GaggleError):
    """A migration folder is malformed; raised at load time, before any work starts."""

    def __init__(
        self,
        file: Path | str,
        line: int | None,
        field: str,
        problem: str,
        fix: str,
    ) -> None:
        self.file = Path(file)
        self.line = line
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(str(self))

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else str(self.file)

    def __str__(self) -> str:
        return f"{self.location}: {self.field}: {self.problem}. Fix: {self.fix}"
