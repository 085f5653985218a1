"""Dataform SQLX: the SQL of a `.sqlx` file goes through the engine like any SQL job.

A SQLX file is SQL plus JavaScript: a `config { ... }` or `js { ... }` block, and `${...}`
expressions (`${ref("users")}`, `${when(incremental(), ...)}`) inside the SQL. Before the
engine sees the file, each block becomes blanks, each expression an identifier of the
same length, or a comment when it renders a SQL fragment (newlines kept), so every offset, line and column is the original's and the
engine's edits apply to the original text. `pre_operations { ... }` and
`post_operations { ... }` become statements of their own: their SQL is rewritten too. Whatever
gaggle hides this way and that names an old table (or, in a file reading one, a column the
migration changes) is flagged in place: gaggle does not evaluate Dataform's JavaScript.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gaggle.sql.edits import Edit, LineIndex
from gaggle.sql.edits import apply as apply_edits
from gaggle.sql.report import Flag, FlagReason, RewriteResult

_BLOCK = re.compile(r"\b(config|js|pre_operations|post_operations)\s*\{")
_SQL_BLOCKS = ("pre_operations", "post_operations")
# Where SQL expects a table or value, an expression stands for one (`FROM ${ref("t")}`,
# `ts > ${when(...)}`); anywhere else it renders a clause (`WHERE x ${when(incremental(),
# `AND ...`)}`), masked as a comment.
_VALUE_BEFORE = re.compile(
    r"(?:[=<>(,+\-*/|.`]|\b(?:FROM|JOIN|SELECT|WHERE|AND|OR|ON|BY|IN|THEN|ELSE|WHEN|NOT|IS|"
    r"BETWEEN|LIKE|TABLE|INTO|UPDATE|USING|DISTINCT|RETURN|CASE|FUNCTION|PROCEDURE|VIEW|"
    r"EXISTS|CALL|MERGE))\s*\Z",
    re.I,
)


@dataclass(frozen=True)
class Hidden:
    start: int
    end: int
    kind: str  # "config", "js" or "expression"


def mask(text: str) -> tuple[str, list[Hidden]]:
    """The SQL with the JavaScript hidden (same length, same lines), and what was hidden."""
    chars = list(text)
    hidden: list[Hidden] = []
    cursor = 0
    while cursor < len(text):
        block = _BLOCK.match(text, cursor) if _starts_word(text, cursor) else None
        if block is not None:
            close = _closing_brace(text, block.end() - 1)
            if block.group(1) in _SQL_BLOCKS:
                _blank(chars, block.start(), block.end())
                chars[block.start()] = chars[close] = ";"  # its own statements
                cursor = block.end()
                continue
            _blank(chars, block.start(), close + 1)
            hidden.append(Hidden(block.start(), close + 1, block.group(1)))
            cursor = close + 1
        elif text.startswith("${", cursor):
            close = _closing_brace(text, cursor + 1)
            _blank(chars, cursor, close + 1)
            if not _VALUE_BEFORE.search(text, 0, cursor):  # a clause: a comment where it stood
                chars[cursor : cursor + 2] = "/*"
                chars[close - 1 : close + 1] = "*/"
            else:  # a table or value: an identifier
                name = f"_df{len(hidden)}_"[: close + 1 - cursor]
                chars[cursor : cursor + len(name)] = name
            hidden.append(Hidden(cursor, close + 1, "expression"))
            cursor = close + 1
        else:
            cursor += 1
    return "".join(chars), hidden


def rewrite_sqlx(engine, text: str) -> RewriteResult:
    """The file rewritten by a TemplatedRewriter through its mask, flags commented in place."""
    masked, hidden = mask(text)
    result = engine.rewrite_branches(masked)
    edits = [Edit(c.start, c.end, c.after, c.rule) for c in result.changes]
    rewritten = RewriteResult(text, apply_edits(text, edits), result.changes, result.flags)
    return engine.finish(rewritten, _hidden_flags(engine, text, hidden, result))


def _hidden_flags(engine, text: str, hidden: list[Hidden], result: RewriteResult) -> list[Flag]:
    index = LineIndex(text)
    reads_old = any(c.rule == "table" for c in result.changes) or engine.tables.mentions_qualified(
        text
    )
    column_word = engine.commenter.column_word
    flags = []
    for part in hidden:
        source = text[part.start : part.end]
        words = {w.lower() for w in re.findall(r"[\w-]+", source)}
        line, col = index.position(part.start)
        old = words & engine.tables.old_table_words
        columns_may_render = part.kind == "expression" and reads_old and column_word is not None
        found = column_word.search(source) if columns_may_render else None  # config keys: no
        if old:
            message = (
                f"this Dataform {part.kind} names {', '.join(sorted(old))}, the name of an old "
                "table; gaggle does not evaluate Dataform's JavaScript (ref(), declarations, "
                "constants): if it reads the old table, point it at the new one by hand"
            )
        elif found is not None:
            message = (
                f"this Dataform {part.kind} names the column {found.group(1).lower()}, which "
                "the migration changes; gaggle does not edit inside Dataform's JavaScript: "
                "update it by hand"
            )
        else:
            continue
        flags.append(Flag(line, col, FlagReason.UNRESOLVED_TEMPLATE, message))
    return flags


def _starts_word(text: str, at: int) -> bool:
    return at == 0 or not (text[at - 1].isalnum() or text[at - 1] in "_.`")


def _closing_brace(text: str, opening: int) -> int:
    """The brace closing text[opening]; the end of the text when it is never closed."""
    depth = 0
    for at in range(opening, len(text)):
        if text[at] == "{":
            depth += 1
        elif text[at] == "}":
            depth -= 1
            if depth == 0:
                return at
    return len(text) - 1


def _blank(chars: list[str], start: int, end: int) -> None:
    for at in range(start, min(end, len(chars))):
        if chars[at] != "\n":
            chars[at] = " "
