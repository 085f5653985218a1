"""Columns that live outside the model: macro bodies and vars, rewritten where they are written.

A model selecting `{{ base_select_orders() }}` reads the old table's columns through a
macro (following `adapter.dispatch` to `bigquery__`/`default__`, as dbt does on
BigQuery); `{{ var('orders_filter') }}` may hold SQL. To rewrite them with the model's
scopes, the call is *inlined*: the model is rewritten with the fragment's text in place
of the call, and each edit is mapped back, either into the model or into the fragment
(the macro file, or the var's value in dbt_project.yml).

A fragment is edited only when every model that inlines it asks for the same edits
(every caller reads a migrated table the same way); otherwise it is flagged, at the
fragment and at each call site. Package macros (dbt_packages/) are never edited: they
are someone else's code, so a package macro that needs a change is flagged at the
call sites. Calls with arguments are not inlined (their arguments are checked by
gaggle.sql.flag_comments).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gaggle.sql.edits import LineIndex
from gaggle.sql.report import Change, Flag, RewriteResult

_MACRO = re.compile(
    r"\{%-?\s*macro\s+(?P<name>\w+)\s*\((?P<args>[^)]*)\)\s*-?%\}(?P<body>.*?)\{%-?\s*endmacro\s*-?%\}",
    re.S,
)
_DISPATCH = re.compile(r"adapter\.dispatch\(\s*['\"](?P<name>\w+)['\"]")
_CALL = re.compile(r"\{\{-?\s*(?:(?P<package>\w+)\.)?(?P<name>\w+)\(\s*\)\s*-?\}\}")
_VAR_CALL = re.compile(r"""\{\{-?\s*var\(\s*(['"])(?P<name>[^'"]+)\1\s*\)\s*-?\}\}""")


@dataclass(frozen=True)
class Fragment:
    """Text a model's `{{ ... }}` expands to, and where it is written."""

    key: str  # macro:<package or "">:<name> or var:<name>
    file: str  # repo-relative path (macro file or dbt_project.yml)
    start: int  # offset of the text in that file
    text: str
    editable: bool  # False for package macros


@dataclass(frozen=True)
class Call:
    start: int  # the `{{ ... }}` in the model
    end: int
    fragment: Fragment


class FragmentIndex:
    """The project's (and its packages') macros and SQL-valued vars, by how a model names them."""

    def __init__(self) -> None:
        self.macros: dict[tuple[str, str], tuple[str, str, int, bool]] = {}  # (pkg, name) ->
        self.vars: dict[str, Fragment] = {}

    def add_macros(self, relative: str, text: str, package: str = "", editable: bool = True):
        for match in _MACRO.finditer(text):
            if match["args"].strip():
                continue  # macros with parameters are not inlined
            self.macros[(package, match["name"])] = (
                relative,
                match["body"],
                match.start("body"),
                editable,
            )

    def add_package_dir(self, root: Path, package: str) -> None:
        for path in sorted((root / "macros").rglob("*.sql")) if (root / "macros").is_dir() else []:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            self.add_macros(path.relative_to(root.parent.parent).as_posix(), text, package, False)

    def add_var(self, name: str, relative: str, start: int, value: str) -> None:
        self.vars[name] = Fragment(f"var:{name}", relative, start, value, True)

    def macro(self, package: str, name: str, depth: int = 0) -> Fragment | None:
        found = self.macros.get((package, name)) or (
            self.macros.get(("", name)) if package else None
        )
        if found is None or depth > 3:
            return None
        relative, body, start, editable = found
        dispatched = _DISPATCH.search(body)
        if dispatched:
            target = dispatched["name"]
            for prefix in ("bigquery__", "default__"):
                for scope in ("", package):
                    if (scope, prefix + target) in self.macros:
                        return self.macro(scope, prefix + target, depth + 1)
            return None
        return Fragment(f"macro:{package}:{name}", relative, start, body, editable)

    def calls(self, text: str) -> list[Call]:
        found = []
        for match in _CALL.finditer(text):
            fragment = self.macro(match["package"] or "", match["name"])
            if fragment is not None:
                found.append(Call(match.start(), match.end(), fragment))
        for match in _VAR_CALL.finditer(text):
            fragment = self.vars.get(match["name"])
            if fragment is not None:
                found.append(Call(match.start(), match.end(), fragment))
        return sorted(found, key=lambda c: c.start)


@dataclass
class Expansion:
    """A model with its calls inlined, and the way back."""

    original: str
    text: str
    segments: list[tuple[Call, int, int]]  # call, start and end of its text in `text`

    def to_original(self, offset: int) -> int:
        """An offset of the expanded text outside every segment, in the model."""
        shift = 0
        for call, start, end in self.segments:
            if offset < start:
                break
            shift += (end - start) - (call.end - call.start)
        return offset - shift

    def segment_of(self, start: int, end: int) -> tuple[Call, int] | None:
        for call, seg_start, seg_end in self.segments:
            if seg_start <= start and end <= seg_end and (start < seg_end or start == end):
                return call, seg_start
        return None

    def crosses(self, start: int, end: int) -> bool:
        return any((start < s < end) or (start < e < end) for _, s, e in self.segments)


def expand(text: str, calls: list[Call]) -> Expansion:
    pieces, segments, cursor, length = [], [], 0, 0
    for call in calls:
        before = text[cursor : call.start]
        pieces.append(before)
        length += len(before)
        pieces.append(call.fragment.text)
        segments.append((call, length, length + len(call.fragment.text)))
        length += len(call.fragment.text)
        cursor = call.end
    pieces.append(text[cursor:])
    return Expansion(text, "".join(pieces), segments)


@dataclass
class SplitResult:
    model: RewriteResult  # the model's own edits and flags, on the model's text
    fragments: dict[str, frozenset[tuple[int, int, str]]]  # key -> edits relative to fragment
    calls: list[Call]
    crossing: bool  # an edit spans a call and its surroundings: cannot be placed


def split(expansion: Expansion, result: RewriteResult) -> SplitResult:
    """The expanded rewrite's changes put back: into the model, or into each fragment."""
    from gaggle.sql.edits import Edit
    from gaggle.sql.edits import apply as apply_edits

    original = expansion.original
    index = LineIndex(original)
    expanded_index = LineIndex(expansion.text)
    model_edits: list[Edit] = []
    fragment_edits: dict[str, set[tuple[int, int, str]]] = {
        call.fragment.key: set() for call, _, _ in expansion.segments
    }
    crossing = False
    for change in result.changes:
        if expansion.crosses(change.start, change.end):
            crossing = True
            continue
        inside = expansion.segment_of(change.start, change.end)
        if inside is not None and change.start != change.end:
            call, seg_start = inside
            fragment_edits[call.fragment.key].add(
                (change.start - seg_start, change.end - seg_start, change.after)
            )
            continue
        if inside is not None:  # an insertion (a comment) inside the fragment: at the call
            position = inside[0].start
            start = index.line_start(index.position(position)[0])
            model_edits.append(Edit(start, start, change.after, change.rule))
            continue
        start, end = expansion.to_original(change.start), expansion.to_original(change.end)
        model_edits.append(Edit(start, end, change.after, change.rule))
    flags = []
    for flag in result.flags:
        offset = expanded_index.line_start(min(flag.line, len(expanded_index.starts)))
        offset += max(flag.column - 1, 0)
        inside = expansion.segment_of(offset, offset)
        position = inside[0].start if inside else expansion.to_original(offset)
        line, column = index.position(min(position, len(original)))
        flags.append(Flag(line, column, flag.reason, flag.message))
    changes = []
    for edit in sorted(model_edits):
        line, column = index.position(edit.start)
        changes.append(
            Change(
                line,
                column,
                original[edit.start : edit.end],
                edit.text,
                edit.rule,
                edit.start,
                edit.end,
            )
        )
    model = RewriteResult(original, apply_edits(original, model_edits), changes, flags)
    return SplitResult(
        model,
        {key: frozenset(edits) for key, edits in fragment_edits.items()},
        [call for call, _, _ in expansion.segments],
        crossing,
    )
