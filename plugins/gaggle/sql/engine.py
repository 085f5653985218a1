"""The rewrite engine: resolve every reference to an old table by scope, edit only its characters.

A thin driver over one RewriteContext and a module per pass. A file goes through
template masking, scripting masking and parsing; then per statement, buffered, the
passes `frames` (table references renamed, a frame per query level), `columns` (column
references incl. USING) and `stars`; then for the file `leftovers` (no old table name
left that no pass placed) and `manual` (a TODO comment above each line reading a manual
column). Each resolved reference is an Edit on the original text; whatever cannot be
resolved with certainty is a Flag. Rewriting never raises: a failure leaves the text
as is, with the traceback in the report.
"""

from __future__ import annotations

import re
import traceback

import sqlglot
from sqlglot import exp
from sqlglot.dialects.bigquery import BigQuery
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.tokens import TokenType

from gaggle.names import TableName
from gaggle.schema import TableSchema
from gaggle.spec import Migration
from gaggle.sql import columns, frames, leftovers, manual, script, stars, templates
from gaggle.sql import edits as edit_ops
from gaggle.sql.context import (
    RewriteContext,
    StatementFailed,
    TemplateResolver,
    TemplateTable,
    ident_span,
)
from gaggle.sql.edits import LineIndex
from gaggle.sql.report import Flag, FlagReason, RewriteResult
from gaggle.sql.tables import TableMatcher


class SqlRewriter:
    """Rewrites BigQuery SQL for one migration; build once, use for many files."""

    def __init__(self, migration: Migration) -> None:
        self.migration = migration
        # A string holding a statement (SELECT, INSERT, ... then FROM/JOIN/... and the name)
        # reads an old table: dynamic SQL, see _check_string. A string that merely names
        # the table (a label, a description) is data, not a read.
        names = "|".join(
            rf"(?:[\w-]+[.:])?{re.escape(p.old.dataset)}\.{re.escape(p.old.table.rstrip('*'))}"
            + (r"\w*" if p.old.is_wildcard else r"(?!\w)")
            for p in migration.tables
        )
        self.old_table_in_string = re.compile(
            r"\b(?:select|insert|update|delete|merge)\b.*?"
            rf"\b(?:from|join|into|update|table|using)\s+`?(?P<name>{names})",
            re.IGNORECASE | re.DOTALL,
        )
        self.tables = TableMatcher(migration)
        self.rules = {pair.old: migration.rules_for(pair.old) for pair in migration.tables}
        self.new_for = {pair.old: pair.new for pair in migration.tables}

    def rewrite(self, text: str, resolve_template: TemplateResolver | None = None) -> RewriteResult:
        if resolve_template is None and not self.tables.may_mention(text):
            return RewriteResult(text, text)  # no spelling of an old table: nothing to parse
        try:
            return _run(RewriteContext(self, text, resolve_template))
        except Exception as err:  # a bug must never corrupt a file or stop a fleet run
            flag = Flag(
                1,
                1,
                FlagReason.INTERNAL_ERROR,
                f"{type(err).__name__}: {err}",
                traceback.format_exc(),
            )
            return RewriteResult(text, text, flags=[flag])

    def old_schema(self, old: TableName) -> TableSchema:
        return self.migration.schema(old)

    def new_schema(self, old: TableName) -> TableSchema:
        return self.migration.schema(self.new_for[old])


def rewrite_sql(
    text: str, migration: Migration, resolve_template: TemplateResolver | None = None
) -> RewriteResult:
    """One-off convenience; reuse a SqlRewriter for many files."""
    return SqlRewriter(migration).rewrite(text, resolve_template)


def _run(ctx: RewriteContext) -> RewriteResult:
    masked, placeholders = templates.mask(ctx.text)
    ctx.placeholders = {p.name.lower(): p for p in placeholders}
    unmasked = masked
    masked, tokens = script.mask_control_flow(masked)
    ctx.control_flow = _changed_spans(unmasked, masked)
    try:
        ctx.tokens = tokens if tokens is not None else BigQuery().tokenize(masked)
        statements = _parse(ctx, masked)
    except (ParseError, TokenError) as err:
        return _unparseable(ctx, err)
    except (TypeError, ValueError, AttributeError) as err:  # sqlglot's own parser bugs
        flag = Flag(1, 1, FlagReason.UNPARSEABLE, f"sqlglot cannot parse this file: {err}")
        return RewriteResult(ctx.text, ctx.text, flags=[flag])
    ctx.token_at = {token.start: i for i, token in enumerate(ctx.tokens)}
    for statement in statements:
        if statement is not None:
            ctx.alias_words |= {a.name.lower() for a in statement.find_all(exp.TableAlias)}
            _statement(ctx, statement)
    leftovers.check_nothing_left(ctx)
    manual.comment_manual_columns(ctx)
    if any(f.reason == FlagReason.INTERNAL_ERROR for f in ctx.flags):
        return RewriteResult(ctx.text, ctx.text, flags=ctx.sorted_flags())
    normalized = edit_ops.normalize(ctx.edits)
    new_text = edit_ops.apply(ctx.text, normalized)
    changes = [ctx.change(e) for e in normalized]
    return RewriteResult(ctx.text, new_text, changes, ctx.sorted_flags())


def _parse(ctx: RewriteContext, masked: str) -> list[exp.Expr | None]:
    """Parse the statements; one sqlglot cannot parse (RAISE, say) is set aside as long as
    it names no old table, since then it needs no edit. Otherwise the error stands."""
    for _ in range(len(ctx.tokens) + 1):
        try:
            return sqlglot.parse(masked, read="bigquery")
        except ParseError as err:
            chunk = _failing_chunk(ctx, masked, err)
            if chunk is None or _mentions_old_table(ctx, *chunk):
                raise
            start, end = chunk
            blank = re.sub(r"[^\n]", " ", masked[start:end])
            masked = masked[:start] + blank + masked[end:]
    raise RuntimeError("statement isolation did not converge")


def _failing_chunk(ctx: RewriteContext, masked: str, err: ParseError) -> tuple[int, int] | None:
    """The statement (between semicolons) where the parser stopped."""
    detail = err.errors[0] if err.errors else {}
    if not detail.get("line"):
        return None
    index = LineIndex(masked)
    offset = index.line_start(detail["line"]) + max(detail.get("col", 1) - 1, 0)
    bounds = [t.start for t in ctx.tokens if t.token_type == TokenType.SEMICOLON]
    start = max((b + 1 for b in bounds if b < offset), default=0)
    end = min((b for b in bounds if b >= offset), default=len(masked))
    if start >= end or not masked[start:end].strip():
        return None
    return start, end


def _mentions_old_table(ctx: RewriteContext, start: int, end: int) -> bool:
    words = ctx.engine.tables.old_table_words
    return any(
        start <= t.start < end
        and t.token_type in (TokenType.VAR, TokenType.IDENTIFIER)
        and t.text.lower().rsplit(".", 1)[-1] in words
        for t in ctx.tokens
    )


def _unparseable(ctx: RewriteContext, err: SqlglotError) -> RewriteResult:
    detail = err.errors[0] if isinstance(err, ParseError) and err.errors else {}
    line, column = detail.get("line") or 1, detail.get("col") or 1
    message = detail.get("description") or str(err).splitlines()[0]
    flag = Flag(line, column, FlagReason.UNPARSEABLE, f"the SQL does not parse: {message}")
    return RewriteResult(ctx.text, ctx.text, flags=[flag])


def _statement(ctx: RewriteContext, statement: exp.Expr) -> None:
    """The per-statement passes, buffered: a statement that fails is dropped whole."""
    ctx.begin_statement()
    try:
        found = frames.table_frames(ctx, statement)
        columns.column_references(ctx, found)
        stars.expand_stars(ctx, found)
    except (StatementFailed, SqlglotError) as err:
        ctx.discard_statement()
        for table in statement.find_all(exp.Table):
            if id(table) in ctx.old_tables:
                ctx.flag_at(
                    ident_span(table.parts),
                    FlagReason.UNRESOLVED_REFERENCE,
                    f"the engine cannot resolve this statement's columns ({err}); "
                    "migrate it by hand",
                )
        return
    ctx.commit_statement()


__all__ = ["SqlRewriter", "TemplateResolver", "TemplateTable", "rewrite_sql"]


def _changed_spans(before: str, after: str) -> list[tuple[int, int]]:
    """The spans where scripting masking blanked the text (IF/WHILE conditions too)."""
    spans: list[tuple[int, int]] = []
    start = None
    for index, (old, new) in enumerate(zip(before, after, strict=True)):
        if old != new and start is None:
            start = index
        elif old == new and start is not None and not old.isspace():
            spans.append((start, index))
            start = None
    if start is not None:
        spans.append((start, len(before)))
    return spans
