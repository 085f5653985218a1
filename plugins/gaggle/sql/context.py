"""The one rewrite context every pass shares: the file, its tokens, what the passes found.

A pass (frames, columns, stars, manual, leftovers) is a module with one entry function
taking the context. Edits, flags and manual uses are buffered per statement: a
statement whose scopes cannot be resolved is dropped whole (its references flagged),
never half-applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from gaggle.mapping import ColumnRule
from gaggle.names import TableName
from gaggle.schema import TableSchema
from gaggle.sql import templates
from gaggle.sql.edits import Edit, LineIndex
from gaggle.sql.report import Change, Flag, FlagReason

if TYPE_CHECKING:
    from gaggle.sql.engine import SqlRewriter


@dataclass(frozen=True)
class TemplateTable:
    """What an adapter says a template expression stands for."""

    table: TableName
    replacement: str | None  # the template naming the new table, or None if it cannot say


TemplateResolver = Callable[[str], TemplateTable | None]
CLAUSES_SEEING_ALIASES = {"group", "order", "having", "qualify"}
WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create)
STRING_TOKENS = {TokenType.STRING, TokenType.RAW_STRING, TokenType.HEREDOC_STRING}


@dataclass
class Source:
    """One name a query can read columns from."""

    kind: str  # old, known, unknown, derived, value
    alias: str
    columns: frozenset[str] | None  # lower-cased top-level names; None when unknown
    old: TableName | None = None
    has_alias: bool = True
    node: exp.Expr | None = None  # an UNNEST whose own argument cannot read from it


@dataclass
class Frame:
    """A query level: its sources and the columns written directly in it."""

    sources: dict[str, Source]
    columns: list[exp.Column]
    select: exp.Select | None
    from_order: list[str]
    parent: Frame | None = None
    using_owner: dict[str, str] = field(default_factory=dict)  # USING name -> side after ON

    def lookup_alias(self, name: str) -> Source | None:
        frame: Frame | None = self
        while frame is not None:
            found = frame.sources.get(name.lower())
            if found is not None:
                return found
            frame = frame.parent
        return None


@dataclass
class Resolved:
    source: Source
    path: tuple[str, ...]
    idents: list[exp.Identifier]  # qualifier (if written) then path parts, in text order
    qualified: bool
    node: exp.Expr  # the outermost expression of the reference


@dataclass
class ManualUse:
    offset: int
    column: str
    rule: ColumnRule


class StatementFailed(Exception):
    """Scope analysis failed for one statement: its references are flagged, not edited."""


@dataclass
class _Found:
    """What the passes found: for the whole file, or buffered for one statement."""

    edits: list[Edit] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    manual: list[ManualUse] = field(default_factory=list)
    placed: list[tuple[int, int]] = field(default_factory=list)  # old names edited or flagged


class RewriteContext:
    """One file's rewrite: the text and its tokens, and what the passes found so far."""

    def __init__(
        self, engine: SqlRewriter, text: str, resolve_template: TemplateResolver | None
    ) -> None:
        self.engine = engine
        self.text = text
        self.resolve_template = resolve_template
        self.index = LineIndex(text)
        self._file = _Found()
        self._found = self._file  # where edits and flags go now: the file or a statement
        self.old_tables: dict[int, Source] = {}
        self.placeholders: dict[str, templates.Placeholder] = {}
        self.tokens: list[Token] = []
        self.token_at: dict[int, int] = {}
        self.alias_words: set[str] = set()  # table aliases and CTE names: never a table
        self.column_name_starts: set[int] = set()  # where a column's own name is written
        self.control_flow: list[tuple[int, int]] = []  # scripting heads masked before parsing
        self.frames_by_select: dict[int, Frame] = {}  # a query's frame, for its output names

    @property
    def edits(self) -> list[Edit]:
        return self._found.edits

    @property
    def flags(self) -> list[Flag]:
        return self._found.flags

    @property
    def manual(self) -> list[ManualUse]:
        return self._found.manual

    @property
    def placed(self) -> list[tuple[int, int]]:
        return self._found.placed

    def begin_statement(self) -> None:
        self._found = _Found()

    def commit_statement(self) -> None:
        found, self._found = self._found, self._file
        self.edits.extend(found.edits)
        self.flags.extend(found.flags)
        self.manual.extend(found.manual)
        self.placed.extend(found.placed)

    def discard_statement(self) -> None:
        self._found = self._file

    def edit(self, span: tuple[int, int] | None, text: str, rule: str) -> None:
        if span is None:
            return
        if self.text[span[0] : span[1]] != text:
            self.edits.append(Edit(span[0], span[1], text, rule))
        self.placed.append(span)

    def flag_at(self, span: tuple[int, int] | None, reason: FlagReason, message: str) -> None:
        start = span[0] if span else 0
        line, column = self.index.position(start)
        self.flags.append(Flag(line, column, reason, message))
        if span:
            self.placed.append(span)

    def change(self, edit: Edit) -> Change:
        line, column = self.index.position(edit.start)
        before = self.text[edit.start : edit.end]
        return Change(line, column, before, edit.text, edit.rule, edit.start, edit.end)

    def sorted_flags(self) -> list[Flag]:
        unique = {(f.line, f.column, f.reason, f.message): f for f in self.flags}
        return sorted(unique.values(), key=lambda f: (f.line, f.column, f.reason))


def schema_names(schema: TableSchema) -> frozenset[str]:
    return frozenset(f.name.lower() for f in schema.fields)


def ident_span(idents: list[exp.Identifier] | tuple) -> tuple[int, int] | None:
    starts = [i.meta.get("start") for i in idents]
    ends = [i.meta.get("end") for i in idents]
    if not idents or None in starts or None in ends:
        return None
    return min(starts), max(ends) + 1


def column_reference(column: exp.Column) -> tuple[exp.Expr, list[exp.Identifier]]:
    """The outermost node of a column reference and its identifiers (qualifier, path)."""
    idents = list(column.parts)
    node: exp.Expr = column
    while isinstance(node.parent, exp.Dot) and node.parent.this is node:
        node = node.parent
        idents.append(node.expression)
    return node, idents


def unnest_alias(node: exp.Unnest) -> str | None:
    """BigQuery's `UNNEST(x) AS v` names the value v (sqlglot keeps it as a column alias)."""
    alias = node.args.get("alias")
    if alias is None:
        return None
    if alias.columns:
        return alias.columns[0].name
    return alias.name or None


def stands_alone(node: exp.Expr) -> bool:
    """Whether a reference is a whole function argument or already parenthesized, so that an
    expression put in its place needs no parentheses of its own."""
    parent = node.parent
    if isinstance(parent, exp.Paren):
        return True
    return (
        isinstance(parent, exp.Func)
        and not isinstance(parent, (exp.Binary, exp.Unary))
        and node.arg_key in ("this", "expressions", "expression")
        and not isinstance(parent, exp.Cast)
    )


def has_alias(node: exp.Expr) -> bool:
    alias = node.args.get("alias")
    return alias is not None and bool(alias.name or alias.columns)


def ancestors(node: exp.Expr) -> list[exp.Expr]:
    found = []
    while node.parent is not None:
        node = node.parent
        found.append(node)
    return found


def using_names(frame: Frame) -> set[str]:
    select = frame.select
    if select is None:
        return set()
    return {
        item.name.lower()
        for join in select.args.get("joins") or []
        for item in join.args.get("using") or []
    }


def star_of(projection: exp.Expr) -> exp.Star | None:
    if isinstance(projection, exp.Star):
        return projection
    if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
        return projection.this
    return None


def is_write_target(table: exp.Table) -> bool:
    parent = table.parent
    holder: exp.Expr = table
    if isinstance(parent, exp.Schema):
        holder, parent = parent, parent.parent
    return isinstance(parent, WRITES) and parent.this is holder


def scope_owner(column: exp.Column) -> exp.Expr | None:
    """The nearest enclosing query, MERGE or UPDATE of a column (a MERGE's own UPDATE is
    part of the MERGE)."""
    node = column.parent
    while node is not None:
        if isinstance(node, (exp.Select, exp.Merge)):
            return node
        if isinstance(node, exp.Update) and node.find_ancestor(exp.Merge) is None:
            return node
        node = node.parent
    return None
