"""The model's answer: a list of line replacements in one fenced JSON block, read strictly.

Why line replacements and not the whole new file: the model pays output tokens only for
the lines it changes (a 400-line file with one reference costs a few lines, not 400);
it cannot silently reformat, re-indent or drop a line it was not asked about, since a
line it does not name is copied from the file byte for byte by gaggle; each edit names
the line and repeats its current text, so a miscounted line number is caught instead
of applied to the wrong line; and the answer names no file and no path, so there is
nothing in it that could be written anywhere but the one file it was asked about.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

_BLOCK = re.compile(r"^```[ \t]*(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
_TOP_KEYS = {"edits", "undecided"}
_EDIT_KEYS = {"line", "before", "after"}
_UNDECIDED_KEYS = {"line", "reason"}


@dataclass(frozen=True)
class LineEdit:
    line: int  # 1-based, in the text the model was given
    before: str
    after: str  # may hold several lines (a TODO comment above the line)


@dataclass
class Proposal:
    edits: list[LineEdit] = field(default_factory=list)
    undecided: dict[int, str] = field(default_factory=dict)  # line -> why the model could not


def parse_answer(text: str, lines: list[str]) -> tuple[Proposal | None, list[str]]:
    """The proposal in an answer, or the reasons it cannot be read (sent back to the model)."""
    blocks = [body for tag, body in _BLOCK.findall(text) if tag.lower() in ("json", "")]
    if len(blocks) != 1:
        found = "none" if not blocks else str(len(blocks))
        return None, [
            f"the answer must hold exactly one fenced ```json block; it holds {found}. "
            'Answer with one block: {"edits": [...], "undecided": [...]}'
        ]
    try:
        data = json.loads(blocks[0])
    except json.JSONDecodeError as err:
        return None, [f"the ```json block is not valid JSON: {err}"]
    if not isinstance(data, dict):
        return None, [
            'the ```json block must hold one object: {"edits": [...], "undecided": [...]}'
        ]
    errors = _unknown_keys(data, _TOP_KEYS, "the answer")
    proposal = Proposal()
    edits = data.get("edits", [])
    if not isinstance(edits, list):
        return None, ["edits must be a list"]
    for position, item in enumerate(edits, 1):
        edit, problems = _edit(item, position, lines)
        errors += problems
        if edit is not None:
            if any(e.line == edit.line for e in proposal.edits):
                errors.append(f"line {edit.line} is edited twice; give one edit per line")
            elif edit.after != edit.before:
                proposal.edits.append(edit)
    undecided = data.get("undecided", [])
    if not isinstance(undecided, list):
        return None, ["undecided must be a list"]
    for item in undecided:
        if not isinstance(item, dict) or not _is_line(item.get("line"), lines):
            errors.append(f"undecided item {item!r} needs a valid line and a reason")
            continue
        errors += _unknown_keys(item, _UNDECIDED_KEYS, f"undecided line {item['line']}")
        proposal.undecided[item["line"]] = str(item.get("reason", "")).strip() or "no reason given"
    return (None, errors) if errors else (proposal, [])


def _edit(item: object, position: int, lines: list[str]) -> tuple[LineEdit | None, list[str]]:
    if not isinstance(item, dict):
        return None, [f"edit {position} is not an object with line, before and after"]
    errors = _unknown_keys(item, _EDIT_KEYS, f"edit {position}")
    line, before, after = item.get("line"), item.get("before"), item.get("after")
    if not _is_line(line, lines):
        return None, [*errors, f"edit {position}: line {line!r} is not a line of the file"]
    if not isinstance(before, str) or not isinstance(after, str):
        return None, [*errors, f"edit {position} (line {line}): before and after must be strings"]
    current = lines[line - 1]
    if before.rstrip() != current.rstrip():
        errors.append(
            f"edit {position}: line {line} is {current!r}, not {before!r}; "
            "give the line number and its exact current text"
        )
    return LineEdit(line, current, after.rstrip("\n")), errors


def _is_line(value: object, lines: list[str]) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= len(lines)


def _unknown_keys(item: dict, allowed: set[str], where: str) -> list[str]:
    unknown = sorted(set(item) - allowed)
    if not unknown:
        return []
    return [
        f"{where} has unexpected keys {', '.join(map(repr, unknown))}; only "
        f"{', '.join(sorted(allowed))} are read (gaggle edits only the one file it sent)"
    ]


def apply(lines: list[str], edits: list[LineEdit]) -> tuple[list[str], dict[int, tuple[int, int]]]:
    """The new lines, and for each edited line the (first, last) lines of its replacement."""
    by_line = {e.line: e for e in edits}
    new: list[str] = []
    spans: dict[int, tuple[int, int]] = {}
    for number, text in enumerate(lines, 1):
        edit = by_line.get(number)
        if edit is None:
            new.append(text)
            continue
        replacement = edit.after.split("\n")
        spans[number] = (len(new) + 1, len(new) + len(replacement))
        new.extend(replacement)
    return new, spans
