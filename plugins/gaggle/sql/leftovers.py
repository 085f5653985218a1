"""Pass 5, leftovers: every token naming an old table must be one an earlier pass edited or
flagged; string literals reading an old table (dynamic SQL) are flagged."""

from __future__ import annotations

from sqlglot.tokens import TokenType

from gaggle.sql.context import (
    STRING_TOKENS,
    RewriteContext,
)
from gaggle.sql.report import FlagReason


def check_nothing_left(ctx: RewriteContext) -> None:
    """Every token naming an old table must be one the engine edited or flagged."""
    _check_control_flow(ctx)
    words = ctx.engine.tables.old_table_words
    aliases = ctx.alias_words
    covered = [(e.start, e.end) for e in ctx.edits] + ctx.placed
    for position, token in enumerate(ctx.tokens):
        if token.token_type in STRING_TOKENS:
            _check_string(ctx, token)
            continue
        if token.token_type not in (TokenType.VAR, TokenType.IDENTIFIER):
            continue
        last = token.text.lower().rsplit(".", 1)[-1]
        if last not in words or token.text.lower() in aliases:
            continue  # an alias or CTE spelled like the old table is not the old table
        if _names_another_table(ctx, position) or token.start in ctx.column_name_starts:
            continue  # a column named like the old table (an old table's row is flagged)
        start = token.start - (1 if token.token_type == TokenType.IDENTIFIER else 0)
        if any(a <= start < b or a <= token.start < b for a, b in covered):
            continue
        ctx.flag_at(
            (start, token.end + 1),
            FlagReason.UNRESOLVED_REFERENCE,
            f"{token.text} names an old table in a place the engine cannot rewrite; "
            "migrate it by hand",
        )


def _check_control_flow(ctx: RewriteContext) -> None:
    """`IF (SELECT COUNT(*) FROM old ...) > 0 THEN`: a scripting condition is masked before
    parsing, so a query in it is not rewritten; it is flagged instead of left silently."""
    for start, end in ctx.control_flow:
        for match in ctx.engine.old_table_in_string.finditer(ctx.text[start:end]):
            at = start + match.start("name")
            ctx.flag_at(
                (at, start + match.end("name")),
                FlagReason.UNRESOLVED_REFERENCE,
                f"a scripting condition reads the old table {match.group('name')}; gaggle "
                "does not rewrite IF/WHILE conditions: migrate it by hand",
            )


def _check_string(ctx: RewriteContext, token) -> None:
    """A string literal naming an old table is dynamic SQL (EXECUTE IMMEDIATE, FORMAT):
    the engine does not edit inside strings, so a human (or the LLM) must."""
    match = ctx.engine.old_table_in_string.search(token.text)
    if match:
        ctx.flag_at(
            (token.start, token.end + 1),
            FlagReason.UNRESOLVED_REFERENCE,
            f"a string literal reads the old table {match.group('name')} (dynamic SQL?); "
            "the engine does not edit inside strings: migrate it by hand",
        )


def _names_another_table(ctx: RewriteContext, position: int) -> bool:
    """Whether the dotted name around a token is a table of another project or dataset."""
    start = position
    while start >= 2 and ctx.tokens[start - 1].token_type == TokenType.DOT:
        start -= 2
    parts = []
    for token in ctx.tokens[start : position + 1]:
        if token.token_type != TokenType.DOT:
            parts.extend(token.text.split("."))
    if len(parts) < 2 or len(parts) > 3:
        return False
    name = ".".join(parts).lower()
    olds = ctx.engine.new_for
    return all(name not in (str(old).lower(), old.short.lower()) for old in olds)
