"""Edits on the original text: (start, end, replacement), never a regenerated file."""

from __future__ import annotations

import bisect
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Edit:
    start: int  # offset of the first replaced character
    end: int  # offset after the last replaced character (start == end inserts)
    text: str
    rule: str = "column"


class OverlappingEdits(ValueError):
    """Two edits touch the same characters in different ways: a bug, never applied."""


def normalize(edits: list[Edit]) -> list[Edit]:
    """Sorted, duplicate-free edits; an edit inside a larger one is dropped (the outer wins)."""
    unique = sorted(set(edits), key=lambda e: (e.start, -(e.end - e.start), e.text))
    kept: list[Edit] = []
    for edit in unique:
        if kept and edit.start < kept[-1].end:
            outer = kept[-1]
            if edit.end <= outer.end and outer.end > outer.start:
                continue  # contained in a replacement that already covers it
            raise OverlappingEdits(f"edits {outer} and {edit} overlap")
        if kept and edit.start == edit.end == kept[-1].start == kept[-1].end:
            kept[-1] = Edit(edit.start, edit.end, kept[-1].text + edit.text, kept[-1].rule)
            continue
        kept.append(edit)
    return kept


def apply(text: str, edits: list[Edit]) -> str:
    """Apply normalized edits; every byte outside them is kept as is."""
    pieces = []
    cursor = 0
    for edit in normalize(edits):
        pieces.append(text[cursor : edit.start])
        pieces.append(edit.text)
        cursor = edit.end
    pieces.append(text[cursor:])
    return "".join(pieces)


class LineIndex:
    """Offsets to 1-based (line, column) and back."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def line_start(self, line: int) -> int:
        return self.starts[line - 1]

    def line_text(self, line: int) -> str:
        end = self.starts[line] - 1 if line < len(self.starts) else len(self.text)
        return self.text[self.starts[line - 1] : end]

    def comment_block_above(self, line: int, prefix: str) -> set[str]:
        """The comment lines (starting with prefix) directly above a line, stripped: where
        an earlier run's TODO comment would be, so a re-run adds none twice."""
        found = set()
        current = line - 1
        while current >= 1:
            text = self.line_text(current).strip()
            if not text.startswith(prefix):
                break
            found.add(text)
            current -= 1
        return found
