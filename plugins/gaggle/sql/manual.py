"""Pass 4, manual flags: a TODO comment above each line that reads a manual column."""

from __future__ import annotations

from gaggle.sql.context import (
    ManualUse,
    RewriteContext,
)
from gaggle.sql.edits import Edit
from gaggle.sql.report import Flag, FlagReason, todo_marker


def comment_manual_columns(ctx: RewriteContext) -> None:
    by_line: dict[int, list[ManualUse]] = {}
    for use in sorted(ctx.manual, key=lambda u: u.offset):
        line, column = ctx.index.position(use.offset)
        by_line.setdefault(line, [])
        if use.column in [u.column for u in by_line[line]]:
            continue  # one comment and one flag per manual column and line
        by_line[line].append(use)
        ctx.flags.append(
            Flag(
                line,
                column,
                FlagReason.MANUAL_COLUMN,
                f"{use.column} has no automatic mapping: {use.rule.note or 'see the guide'}",
            )
        )
    by_target: dict[int, list[ManualUse]] = {}
    for line, uses in by_line.items():
        target = by_target.setdefault(_line_outside_tokens(ctx, line), [])
        target += [u for u in uses if u.column not in [t.column for t in target]]
    migration = ctx.engine.migration
    for line, uses in by_target.items():
        text = ctx.index.line_text(line)
        indent = text[: len(text) - len(text.lstrip())]
        above = ctx.index.comment_block_above(line, "--")
        new_lines = []
        for use in uses:
            note = f": {use.rule.note}" if use.rule.note else ""
            comment = (
                f"-- {todo_marker(migration.id)}: {use.column} has no automatic "
                f"mapping{note}. See {migration.guide_url}"
            )
            if comment not in above:
                new_lines.append(indent + comment + "\n")
        if new_lines:
            start = ctx.index.line_start(line)
            ctx.edits.append(Edit(start, start, "".join(new_lines), "manual-comment"))


def _line_outside_tokens(ctx: RewriteContext, line: int) -> int:
    """The line to put the comment above: where a token (a multi-line string literal)
    spanning the start of `line` begins, since a comment inserted inside it would change
    the string's value."""
    start = ctx.index.line_start(line)
    for token in ctx.tokens:
        if token.start < start <= token.end:
            return _line_outside_tokens(ctx, ctx.index.position(token.start)[0])
    return line
