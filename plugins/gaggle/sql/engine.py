"""The rewrite engine: resolve every reference to an old table by scope, edit only its characters.

A file goes through: template masking, scripting masking, parsing, then per statement
the table references, the scopes (sources and columns), stars and manual columns. Each
resolved reference becomes an Edit on the original text. Whatever cannot be resolved
with certainty becomes a Flag, and a last pass checks that no old table name is left
that the engine did not place. Rewriting never raises: a failure leaves the text as is.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.dialects.bigquery import BigQuery
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.tokens import Token, TokenType

from gaggle.mapping import ColumnRule, field_expression
from gaggle.names import TableName, quote_identifier
from gaggle.schema import TableSchema
from gaggle.spec import Migration
from gaggle.sql import edits as edit_ops
from gaggle.sql import expressions, script, templates
from gaggle.sql.edits import Edit, LineIndex
from gaggle.sql.report import Change, Flag, FlagReason, RewriteResult
from gaggle.sql.tables import TableMatcher


@dataclass(frozen=True)
class TemplateTable:
    """What an adapter says a template expression stands for."""

    table: TableName
    replacement: str | None  # the template naming the new table, or None if it cannot say


TemplateResolver = Callable[[str], TemplateTable | None]
_CLAUSES_SEEING_ALIASES = {"group", "order", "having", "qualify"}
_WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create)


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
class _ManualUse:
    offset: int
    column: str
    rule: ColumnRule


STRING_TOKENS = {TokenType.STRING, TokenType.RAW_STRING, TokenType.HEREDOC_STRING}


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
            return _FileRewrite(self, text, resolve_template).run()
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


class _StatementFailed(Exception):
    """Scope analysis failed for one statement: its references are flagged, not edited."""


class _FileRewrite:
    def __init__(
        self, engine: SqlRewriter, text: str, resolve_template: TemplateResolver | None
    ) -> None:
        self.engine = engine
        self.text = text
        self.resolve_template = resolve_template
        self.index = LineIndex(text)
        self.edits: list[Edit] = []
        self.flags: list[Flag] = []
        self.manual: list[_ManualUse] = []
        self.placed: list[tuple[int, int]] = []  # spans of old names edited or flagged
        self.old_tables: dict[int, Source] = {}
        self.placeholders: dict[str, templates.Placeholder] = {}
        self.tokens: list[Token] = []
        self.token_at: dict[int, int] = {}
        self.alias_words: set[str] = set()  # table aliases and CTE names: never a table
        self._frames_by_select: dict[int, Frame] = {}  # a query's frame, for its output names

    # ------------------------------------------------------------------ driver

    def run(self) -> RewriteResult:
        masked, placeholders = templates.mask(self.text)
        self.placeholders = {p.name.lower(): p for p in placeholders}
        masked, tokens = script.mask_control_flow(masked)
        try:
            self.tokens = tokens if tokens is not None else BigQuery().tokenize(masked)
            statements = self._parse(masked)
        except (ParseError, TokenError) as err:
            return self._unparseable(err)
        except (TypeError, ValueError, AttributeError) as err:  # sqlglot's own parser bugs
            flag = Flag(1, 1, FlagReason.UNPARSEABLE, f"sqlglot cannot parse this file: {err}")
            return RewriteResult(self.text, self.text, flags=[flag])
        self.token_at = {token.start: i for i, token in enumerate(self.tokens)}
        for statement in statements:
            if statement is not None:
                self.alias_words |= {a.name.lower() for a in statement.find_all(exp.TableAlias)}
                self._statement(statement)
        self._check_nothing_left()
        self._comment_manual_columns()
        if any(f.reason == FlagReason.INTERNAL_ERROR for f in self.flags):
            return RewriteResult(self.text, self.text, flags=self._sorted_flags())
        normalized = edit_ops.normalize(self.edits)
        new_text = edit_ops.apply(self.text, normalized)
        changes = [self._change(e) for e in normalized]
        return RewriteResult(self.text, new_text, changes, self._sorted_flags())

    def _parse(self, masked: str) -> list[exp.Expr | None]:
        """Parse the statements; one sqlglot cannot parse (RAISE, say) is set aside as long as
        it names no old table, since then it needs no edit. Otherwise the error stands."""
        for _ in range(len(self.tokens) + 1):
            try:
                return sqlglot.parse(masked, read="bigquery")
            except ParseError as err:
                chunk = self._failing_chunk(masked, err)
                if chunk is None or self._mentions_old_table(*chunk):
                    raise
                start, end = chunk
                blank = re.sub(r"[^\n]", " ", masked[start:end])
                masked = masked[:start] + blank + masked[end:]
        raise RuntimeError("statement isolation did not converge")

    def _failing_chunk(self, masked: str, err: ParseError) -> tuple[int, int] | None:
        """The statement (between semicolons) where the parser stopped."""
        detail = err.errors[0] if err.errors else {}
        if not detail.get("line"):
            return None
        index = LineIndex(masked)
        offset = index.line_start(detail["line"]) + max(detail.get("col", 1) - 1, 0)
        bounds = [t.start for t in self.tokens if t.token_type == TokenType.SEMICOLON]
        start = max((b + 1 for b in bounds if b < offset), default=0)
        end = min((b for b in bounds if b >= offset), default=len(masked))
        if start >= end or not masked[start:end].strip():
            return None
        return start, end

    def _mentions_old_table(self, start: int, end: int) -> bool:
        words = self.engine.tables.old_table_words
        return any(
            start <= t.start < end
            and t.token_type in (TokenType.VAR, TokenType.IDENTIFIER)
            and t.text.lower().rsplit(".", 1)[-1] in words
            for t in self.tokens
        )

    def _unparseable(self, err: SqlglotError) -> RewriteResult:
        detail = err.errors[0] if isinstance(err, ParseError) and err.errors else {}
        line, column = detail.get("line") or 1, detail.get("col") or 1
        message = detail.get("description") or str(err).splitlines()[0]
        flag = Flag(line, column, FlagReason.UNPARSEABLE, f"the SQL does not parse: {message}")
        return RewriteResult(self.text, self.text, flags=[flag])

    def _statement(self, statement: exp.Expr) -> None:
        saved = (len(self.edits), len(self.manual), len(self.flags), len(self.placed))
        try:
            self._register_tables(statement)
            frames = self._frames(statement)
            for frame in frames:
                self._columns(frame)
            for frame in frames:
                self._stars(frame)
        except (_StatementFailed, SqlglotError) as err:
            del self.edits[saved[0] :], self.manual[saved[1] :], self.flags[saved[2] :]
            del self.placed[saved[3] :]
            for table in statement.find_all(exp.Table):
                if id(table) in self.old_tables:
                    self._flag_at(
                        _span(table.parts),
                        FlagReason.UNRESOLVED_REFERENCE,
                        f"the engine cannot resolve this statement's columns ({err}); "
                        "migrate it by hand",
                    )

    # ------------------------------------------------------------------ tables

    def _register_tables(self, statement: exp.Expr) -> None:
        for table in statement.find_all(exp.Table):
            span = _span(table.parts)
            if span is None:
                continue
            placeholder = self.placeholders.get(table.name.lower()) if not table.db else None
            if placeholder is not None:
                self._register_template(table, placeholder)
                continue
            if self._templated_old_name(table, span):
                continue
            match = self.engine.tables.match_old(table)
            if match is None:
                self._flag_bare_old_name(statement, table, span)
                continue
            if match.old is None:
                names = ", ".join(str(c) for c in match.candidates)
                self._flag_at(span, FlagReason.AMBIGUOUS_TABLE, f"matches {names}; qualify it")
                continue
            if _is_write_target(table):
                self._flag_at(
                    span,
                    FlagReason.WRITES_OLD_TABLE,
                    f"writes to the deprecated {match.old}; producers are out of scope",
                )
                continue
            original = self.text[span[0] : span[1]]
            replacement = self.engine.tables.replacement_text(original, table, match.old)
            self._edit(span, replacement, "table")
            self.old_tables[id(table)] = Source(
                "old",
                table.alias_or_name,
                _names(self.engine.old_schema(match.old)),
                match.old,
                has_alias=bool(table.alias),
            )

    def _templated_old_name(self, table: exp.Table, span: tuple[int, int]) -> bool:
        """A table name partly built by a template (`p.{{ ds }}.users_v1`): cannot be placed."""
        names = [p.name.lower() for p in table.parts]
        templated = any(
            ph in name for name in names for ph in self.placeholders if ph.startswith("__gj")
        )
        if not templated or names[-1] not in self.engine.tables.old_table_words:
            return False
        self._flag_at(
            span,
            FlagReason.UNRESOLVED_TEMPLATE,
            "a template builds part of this old table's name; migrate it by hand",
        )
        return True

    def _flag_bare_old_name(
        self, statement: exp.Expr, table: exp.Table, span: tuple[int, int]
    ) -> None:
        """`FROM users_v1` (no dataset) reads the job's default dataset: it may be the old table."""
        name = table.name.lower()
        if table.db or name not in self.engine.tables.old_table_words:
            return
        if name in {cte.alias.lower() for cte in statement.find_all(exp.CTE)}:
            return
        self._flag_at(
            span,
            FlagReason.AMBIGUOUS_TABLE,
            f"{table.name} without a dataset depends on the job's default dataset; qualify it",
        )

    def _register_template(self, table: exp.Table, placeholder: templates.Placeholder) -> None:
        resolved = self.resolve_template(placeholder.source) if self.resolve_template else None
        if resolved is None or resolved.table not in self.engine.new_for:
            return
        span = (placeholder.start, placeholder.end)
        if resolved.replacement is None:
            self._flag_at(
                span,
                FlagReason.UNRESOLVED_TEMPLATE,
                f"{placeholder.source} reads {resolved.table}; point it at "
                f"{self.engine.new_for[resolved.table]} by hand",
            )
            return
        self._edit(span, resolved.replacement, "template")
        self.old_tables[id(table)] = Source(
            "old",
            table.alias_or_name if table.alias else resolved.table.table,
            _names(self.engine.old_schema(resolved.table)),
            resolved.table,
            has_alias=bool(table.alias),
        )

    # ------------------------------------------------------------------ scopes

    def _frames(self, statement: exp.Expr) -> list[Frame]:
        """A frame per query level; queries the scope walk misses (in SET, IF) get their own."""
        frames = self._scope_frames(statement)
        covered = {id(frame.select) for frame in frames}
        for select in statement.find_all(exp.Select):
            if id(select) in covered:
                continue
            top = select
            while isinstance(top.parent, (exp.Subquery, exp.SetOperation, exp.CTE, exp.With)):
                top = top.parent
            if isinstance(top, exp.Subquery):
                top = top.this
            extra = self._scope_frames(top)
            covered |= {id(frame.select) for frame in extra}
            frames += extra
        for merge in statement.find_all(exp.Merge):
            frames.append(self._merge_frame(merge))
        for update in statement.find_all(exp.Update):
            if update.find_ancestor(exp.Merge) is None:
                frames.append(self._update_frame(update))
        return frames

    def _scope_frames(self, root: exp.Expr) -> list[Frame]:
        try:
            scopes = traverse_scope(root)
        except SqlglotError as err:
            raise _StatementFailed(str(err)) from err
        by_scope: dict[int, Frame] = {}
        ordered: list[tuple[Scope, Frame]] = []
        for scope in scopes:
            if not isinstance(scope.expression, exp.Select):
                continue
            frame = self._frame(scope)
            by_scope[id(scope)] = frame
            self._frames_by_select[id(scope.expression)] = frame
            ordered.append((scope, frame))
        for scope, frame in ordered:
            if scope.is_subquery and scope.parent is not None:
                frame.parent = by_scope.get(id(scope.parent))
        return [frame for _, frame in ordered]

    def _update_frame(self, update: exp.Update) -> Frame:
        """UPDATE target ... FROM source: the SET right-hand sides and WHERE read the sources."""
        tables = [update.this]
        from_ = update.args.get("from_")
        if from_ is not None:
            tables.append(from_.this)
        tables += [join.this for join in update.args.get("joins") or []]
        sources = {}
        for table in tables:
            if isinstance(table, exp.Table):
                sources[table.alias_or_name.lower()] = self._source(table.alias_or_name, table)
        parts = [eq.expression for eq in update.expressions if isinstance(eq, exp.EQ)]
        parts.append(update.args.get("where"))
        columns = [
            c
            for part in parts
            if part is not None
            for c in part.find_all(exp.Column)
            if _scope_owner(c) is update
        ]
        return Frame(sources, columns, None, list(sources))

    def _frame(self, scope: Scope) -> Frame:
        select = scope.expression
        # Only what this SELECT reads (FROM, JOIN, UNNEST): a CTE defined in the WITH is in
        # scope.sources everywhere after it, but names resolve only against what is read.
        read = {name for name, _ in scope.references}
        sources = {
            alias.lower(): self._source(alias, src)
            for alias, src in scope.sources.items()
            if alias in read
        }
        order = []
        from_ = select.args.get("from_")
        for item in [
            from_.this if from_ else None,
            *[j.this for j in select.args.get("joins") or []],
        ]:
            name = _unnest_alias(item) if isinstance(item, exp.Unnest) else None
            name = name or (item.alias_or_name if item is not None else None)
            if name:
                order.append(name.lower())
            elif isinstance(item, exp.Unnest) and not _has_alias(item):
                # UNNEST of STRUCTs without alias exposes the fields as columns: names
                # gaggle cannot list, so unqualified names there are not resolved.
                sources[f"unnest#{id(item)}"] = Source("unknown", "UNNEST(...)", None, node=item)
        return Frame(sources, list(scope.columns), select, order)

    def _source(self, alias: str, src: exp.Expr | Scope) -> Source:
        if isinstance(src, exp.Table):
            old = self.old_tables.get(id(src))
            if old is not None:
                return old
            name = self.engine.tables.catalog_name(src)
            if name is not None:
                return Source("known", alias, _names(self.engine.migration.schema(name)))
            return Source("unknown", alias, None)
        if isinstance(src.expression, exp.Unnest):
            return Source("value", alias, frozenset({alias.lower()}))
        return Source("derived", alias, self._output_names(src.expression))

    def _output_names(self, query: exp.Expr) -> frozenset[str] | None:
        while isinstance(query, exp.SetOperation):
            query = query.this
        if not isinstance(query, exp.Select):
            return None
        frame = self._frames_by_select.get(id(query))
        names: set[str] = set()
        for projection in query.expressions:
            star = _star_of(projection)
            if star is None:
                names.add(projection.alias_or_name.lower())
                continue
            if frame is None:
                return None
            covered = (
                [frame.sources.get(projection.table.lower())]
                if isinstance(projection, exp.Column)
                else list(frame.sources.values())
            )
            for source in covered:
                if source is None or source.columns is None:
                    return None
                names |= source.columns
        return frozenset(names)

    def _merge_frame(self, merge: exp.Merge) -> Frame:
        sources: dict[str, Source] = {}
        for side in (merge.this, merge.args.get("using")):
            if isinstance(side, exp.Table):
                source = self._source(side.alias_or_name, side)
            elif isinstance(side, exp.Subquery):
                source = Source("derived", side.alias_or_name, self._output_names(side.this))
            else:
                continue
            sources[side.alias_or_name.lower()] = source
        columns: list[exp.Column] = []
        for part in (merge.args.get("on"), *self._merge_values(merge)):
            if part is not None:
                columns.extend(c for c in part.find_all(exp.Column) if _scope_owner(c) is merge)
        return Frame(sources, columns, None, list(sources))

    @staticmethod
    def _merge_values(merge: exp.Merge) -> list[exp.Expr]:
        """WHEN conditions, UPDATE right-hand sides and INSERT values: what reads the source."""
        parts: list[exp.Expr] = []
        whens = merge.args.get("whens")
        for when in whens.expressions if whens else []:
            parts.append(when.args.get("condition"))
            then = when.args.get("then")
            if isinstance(then, exp.Update):
                parts.extend(eq.expression for eq in then.expressions if isinstance(eq, exp.EQ))
            elif isinstance(then, exp.Insert):
                parts.append(then.expression)
        return [p for p in parts if p is not None]

    # ------------------------------------------------------------------ columns

    def _columns(self, frame: Frame) -> None:
        self._check_using(frame)
        seen: set[int] = set()
        for column in frame.columns:
            if id(column) in seen or isinstance(column.parent, exp.Star):
                continue
            seen.add(id(column))
            if isinstance(column.this, exp.Star):
                continue
            owner = frame.using_owner.get(column.name.lower()) if not column.table else None
            if owner and "start" in column.this.meta:
                # Qualified everywhere, GROUP/ORDER BY included: the joined sides hold equal values.
                start = column.this.meta["start"]
                self._edit((start, start), f"{owner}.", "using")
                continue
            resolved = self._resolve(frame, column)
            if resolved is not None:
                self._rewrite_reference(frame, resolved)

    def _resolve(self, frame: Frame, column: exp.Column) -> Resolved | None:
        node, idents = _reference(column)
        if any("start" not in ident.meta for ident in idents):
            return None  # built by the parser, not written (e.g. a quoted path): checked later
        names = [ident.name for ident in idents]
        if len(names) >= 2:
            source = frame.lookup_alias(names[0])
            if source is not None:
                if source.kind != "old":
                    return None
                return Resolved(source, tuple(names[1:]), idents, True, node)
        if self._refers_to_output_alias(frame, column, names[0]):
            return None
        return self._resolve_unqualified(frame, column, names, idents, node)

    def _resolve_unqualified(
        self,
        frame: Frame,
        column: exp.Column,
        names: list[str],
        idents: list[exp.Identifier],
        node: exp.Expr,
    ) -> Resolved | None:
        name = names[0].lower()
        current: Frame | None = frame
        while current is not None:
            owners = [s for s in current.sources.values() if s.columns and name in s.columns]
            unknown = [
                s
                for s in current.sources.values()
                if s.columns is None and not any(a is s.node for a in _ancestors(column))
            ]
            if owners or unknown:
                break
            current = current.parent
        else:
            return None
        old = [s for s in owners if s.kind == "old"]
        if not old or name in _using_names(frame):
            return None  # USING merges the column; a renamed one is flagged by _check_using
        position = _span(idents)
        if len(owners) > 1:
            others = ", ".join(s.alias for s in owners)
            self._flag_at(
                position, FlagReason.AMBIGUOUS_COLUMN, f"{names[0]} exists in {others}; qualify it"
            )
            return None
        if unknown:
            others = ", ".join(s.alias for s in unknown)
            self._flag_at(
                position,
                FlagReason.UNKNOWN_SOURCE_SCHEMA,
                f"{names[0]} may also come from {others}, whose schema gaggle lacks; qualify it",
            )
            return None
        return Resolved(old[0], tuple(names), idents, False, node)

    @staticmethod
    def _refers_to_output_alias(frame: Frame, column: exp.Column, name: str) -> bool:
        """ORDER BY country may name the SELECT's output column rather than a source column."""
        select = frame.select
        if select is None or column.table:
            return False
        node: exp.Expr = column
        while node.parent is not None and node.parent is not select:
            node = node.parent
        if node.parent is not select or node.arg_key not in _CLAUSES_SEEING_ALIASES:
            return False
        return name.lower() in {p.alias_or_name.lower() for p in select.expressions}

    def _rewrite_reference(self, frame: Frame, ref: Resolved) -> None:
        source = ref.source
        assert source.old is not None
        qualifier, renamed = self._qualifier(frame, ref)
        span = _span(ref.idents)
        assert span is not None
        rendered = self._render(source, ref.path, qualifier, renamed, ref.idents[0].meta["start"])
        if rendered is None:
            if renamed:  # the column stays; only the table-name qualifier changes
                self._edit(_span(ref.idents[:1]), qualifier, "qualifier")
            return
        expression, atomic = rendered
        parent = ref.node.parent
        bare = parent is frame.select and ref.node.arg_key == "expressions"
        aliased = isinstance(parent, exp.Alias) and parent.parent is frame.select
        if bare and frame.select is not None:
            expression = expressions.projection_text(expression, ref.path[-1])
        elif not atomic and not aliased and not _stands_alone(ref.node):
            expression = f"({expression})"
        self._edit(span, expression, "column")

    def _qualifier(self, frame: Frame, ref: Resolved) -> tuple[str | None, bool]:
        """The qualifier to write, and whether it renames the old table's own name."""
        source = ref.source
        assert source.old is not None
        new_name = self.engine.new_for[source.old].table
        if ref.qualified:
            qualifier_span = _span(ref.idents[:1])
            written = self.text[qualifier_span[0] : qualifier_span[1]]
            if not source.has_alias:
                return new_name, True
            return written, False
        if len(frame.sources) > 1:
            return (source.alias if source.has_alias else new_name), False
        return None, False

    def _render(
        self,
        source: Source,
        path: tuple[str, ...],
        qualifier: str | None,
        renamed: bool,
        offset: int,
    ) -> tuple[str, bool] | None:
        """The replacement text for a reference and whether it is atomic; None: no change."""
        assert source.old is not None
        rules = self.engine.rules[source.old]
        lowered = tuple(p.lower() for p in path)
        rule, depth = None, 0
        for depth in range(len(lowered), 0, -1):
            rule = rules.get(lowered[:depth])
            if rule is not None:
                break
        old_schema = self.engine.old_schema(source.old)
        top = old_schema.find(path[:1])
        if top is None:
            return None
        if rule is None:
            if not (top.is_struct and not top.is_repeated and len(path) == 1):
                return None
            expression, rest = field_expression(top, (top.name,), rules), ()
        elif rule.action == "manual":
            self.manual.append(_ManualUse(offset, rule.column, rule))
            return None
        else:
            expression, rest = rule.expression or "", path[depth:]
            if expression.lower() == ".".join(path[:depth]).lower() and not renamed:
                return None
        text = expressions.qualify(expression, qualifier, self.engine.new_schema(source.old))
        atomic = expressions.is_atomic(expression)
        if rest:
            text = (text if atomic else f"({text})") + "." + ".".join(rest)
            atomic = True
        return text, atomic

    def _check_using(self, frame: Frame) -> None:
        """USING (c) where an old table renames c: an INNER join becomes the same join with ON.

        Unqualified references to c then resolve to the other side, which holds the same
        value in an inner join. Outer joins (where the merged column is a COALESCE) and
        anything less certain are flagged.
        """
        select = frame.select
        if select is None:
            return
        for position, join in enumerate(select.args.get("joins") or []):
            items = list(join.args.get("using") or [])
            renamed = [item for item in items if self._renamed_by_old(frame, item.name)]
            if not renamed:
                continue
            on_clause = self._using_as_on(frame, join, position, [i.name for i in items])
            span = self._using_span(items)
            if on_clause is None or span is None:
                self._flag_at(
                    _span(
                        [renamed[0]] if isinstance(renamed[0], exp.Identifier) else renamed[0].parts
                    ),
                    FlagReason.AMBIGUOUS_COLUMN,
                    f"USING ({renamed[0].name}) joins a column an old table renames; "
                    "rewrite the join with ON by hand",
                )
                continue
            self._edit(span, on_clause, "using")
            other = self._non_old_side(frame, join, position)
            for item in items:
                frame.using_owner[item.name.lower()] = other

    @staticmethod
    def _non_old_side(frame: Frame, join: exp.Join, position: int) -> str:
        """The alias unqualified USING names now refer to: the side that is not an old table."""
        right = frame.sources[join.this.alias_or_name.lower()]
        if right.kind != "old":
            return right.alias
        return next(
            frame.sources[a].alias
            for a in frame.from_order[: position + 1]
            if a in frame.sources and frame.sources[a].kind != "old"
        )

    def _renamed_by_old(self, frame: Frame, name: str) -> bool:
        for source in frame.sources.values():
            if source.kind == "old" and source.columns and name.lower() in source.columns:
                rule = self.engine.rules[source.old].get((name.lower(),))
                if rule is None or (rule.expression or "").lower() != name.lower():
                    return True
        return False

    def _using_as_on(
        self, frame: Frame, join: exp.Join, position: int, names: list[str]
    ) -> str | None:
        if join.side or join.kind not in ("", "INNER"):
            return None
        right = frame.sources.get(join.this.alias_or_name.lower())
        if right is None:
            return None
        before = frame.from_order[: position + 1]
        sides = []
        for name in names:
            lefts = [
                frame.sources[alias]
                for alias in before
                if alias in frame.sources
                and frame.sources[alias] is not right
                and frame.sources[alias].columns
                and name.lower() in frame.sources[alias].columns
            ]
            if len(lefts) != 1:
                return None
            terms = [self._using_term(lefts[0], name), self._using_term(right, name)]
            if None in terms:
                return None
            sides.append(f"{terms[0]} = {terms[1]}")
        return "ON " + " AND ".join(sides)

    def _using_term(self, source: Source, name: str) -> str | None:
        """`alias.name`, or for an old table the mapped expression qualified by its alias."""
        qualifier = source.alias
        if source.kind != "old":
            return f"{qualifier}.{name}"
        new_schema = self.engine.new_schema(source.old)
        rule = self.engine.rules[source.old].get((name.lower(),))
        if not source.has_alias:
            qualifier = self.engine.new_for[source.old].table
        if rule is not None and (rule.expression or "").lower() == name.lower():
            return f"{qualifier}.{name}"
        if rule is None or rule.action != "map" or new_schema.find((name,)) is not None:
            return None  # manual, or the new table has its own `name`: unqualified uses would shift
        text = expressions.qualify(rule.expression or "", qualifier, new_schema)
        return text if expressions.is_atomic(rule.expression or "") else f"({text})"

    def _using_span(self, items: list) -> tuple[int, int] | None:
        """From the USING keyword to its closing parenthesis."""
        spans = [_span([i] if isinstance(i, exp.Identifier) else i.parts) for i in items]
        if None in spans:
            return None
        position = self.token_at.get(spans[0][0])
        if position is None:
            return None
        while position > 0 and self.tokens[position].text.upper() != "USING":
            position -= 1
        if self.tokens[position].text.upper() != "USING":
            return None
        close = self.token_at.get(spans[-1][0])
        while close < len(self.tokens) and self.tokens[close].token_type != TokenType.R_PAREN:
            close += 1
        return self.tokens[position].start, self.tokens[close].end + 1

    # ------------------------------------------------------------------ stars

    def _stars(self, frame: Frame) -> None:
        select = frame.select
        if select is None:
            return
        for projection in select.expressions:
            star = _star_of(projection)
            if star is None or "start" not in star.meta:
                continue
            if isinstance(projection, exp.Column) and self._struct_star(frame, projection, star):
                continue
            if isinstance(projection, exp.Column):
                source = frame.sources.get(projection.table.lower())
                if source is None or source.kind != "old":
                    continue
                start = projection.args["table"].meta.get("start")
                qualifier = projection.table if source.has_alias else None
                if not source.has_alias:
                    qualifier = self.engine.new_for[source.old].table
                pieces = [self._expand(source, star, qualifier)]
            else:
                if not any(s.kind == "old" for s in frame.sources.values()):
                    continue
                start = star.meta["start"]
                using = len(frame.sources) > 1 and any(
                    j.args.get("using") for j in select.args.get("joins") or []
                )
                pieces = self._expand_over_using(frame, star) if using else None
                if using and pieces is None:
                    self._flag_at(
                        (start, star.meta["end"] + 1),
                        FlagReason.STAR_OVER_USING_JOIN,
                        "SELECT * over a USING join with an old table: list the columns by hand",
                    )
                    continue
                pieces = pieces or self._expand_all(frame, star)
            if start is None:
                continue
            end = self._star_end(star)
            self._edit((start, end), ", ".join(pieces), "star")

    def _struct_star(self, frame: Frame, projection: exp.Column, star: exp.Star) -> bool:
        """`s.device.*` or `device.*` over an old table: each old field, by name and in order,
        rebuilt from the mapping (the STRUCT may be renamed, its fields too). True when the
        projection is a STRUCT star (edited or left as is), False for a table star."""
        idents = [projection.args[k] for k in ("catalog", "db", "table") if projection.args.get(k)]
        if not idents or any("start" not in i.meta for i in idents):
            return False
        names = [i.name for i in idents]
        source = frame.lookup_alias(names[0]) if len(names) > 1 else None
        qualifier: str | None = None
        if source is not None:
            path = tuple(names[1:])
            if source.kind == "old":
                qualifier = names[0] if source.has_alias else self.engine.new_for[source.old].table
        elif frame.lookup_alias(names[0]) is None:
            owners = [
                s for s in frame.sources.values() if s.columns and names[0].lower() in s.columns
            ]
            if len(owners) != 1:
                return False
            source, path = owners[0], tuple(names)
            if len(frame.sources) > 1 and source.kind == "old":
                qualifier = (
                    source.alias if source.has_alias else self.engine.new_for[source.old].table
                )
        else:
            return False
        if source.kind != "old":
            return True
        field = self.engine.old_schema(source.old).find(path)
        if field is None or not field.is_struct or field.is_repeated:
            return True
        excluded = {c.name.lower() for c in star.args.get("except_") or []}
        replaced = self._replace_items(star)
        items, changed = [], False
        for child in field.fields:
            name = child.name.lower()
            if name in excluded:
                continue
            if name in replaced:
                items.append(replaced[name])
                continue
            full = (*path, child.name)
            rendered = self._render(
                source, full, qualifier, qualifier is not None, idents[0].meta["start"]
            )
            if rendered is None:
                written = ".".join(n for n in (qualifier, *full) if n)
                items.append(expressions.projection_text(written, child.name))
            else:
                changed = True
                items.append(expressions.projection_text(rendered[0], child.name))
        if changed:
            self._edit((idents[0].meta["start"], self._star_end(star)), ", ".join(items), "star")
        return True

    def _expand_all(self, frame: Frame, star: exp.Star) -> list[str]:
        if len(frame.sources) == 1:
            return [self._expand(next(iter(frame.sources.values())), star, None)]
        pieces = []
        for alias in frame.from_order:
            source = frame.sources.get(alias)
            if source is None:
                continue
            if source.kind == "old":
                qualifier = (
                    source.alias if source.has_alias else self.engine.new_for[source.old].table
                )
                pieces.append(self._expand(source, star, qualifier))
            elif source.kind == "value":
                pieces.append(source.alias)
            else:
                pieces.append(f"{source.alias}.*")
        return pieces

    def _expand_over_using(self, frame: Frame, star: exp.Star) -> list[str] | None:
        """`*` over one USING join, as BigQuery orders it: the USING columns first (merged,
        unqualified), then each source's other columns in FROM order. None when gaggle
        cannot list it exactly (several USING joins, a renamed USING column, an EXCEPT or
        REPLACE name of a source without schema): the caller flags it."""
        select = frame.select
        assert select is not None
        joins = select.args.get("joins") or []
        using_joins = [j for j in joins if j.args.get("using")]
        if len(using_joins) != 1 or len(frame.from_order) != len(joins) + 1:
            return None
        keys = [item.name for item in using_joins[0].args["using"]]
        if any(self._renamed_by_old(frame, key) for key in keys):
            return None
        merged_until = joins.index(using_joins[0]) + 1  # sources before it lose the keys
        lowered = {key.lower() for key in keys}
        excluded = {c.name.lower() for c in star.args.get("except_") or []}
        replaced = self._replace_items(star)
        left_excluded, left_replaced = excluded - lowered, dict(replaced)
        pieces = [replaced.get(k.lower(), k) for k in keys if k.lower() not in excluded]
        for k in lowered:
            left_replaced.pop(k, None)
        blocks: list[tuple[int, Source, set[str]]] = []
        for index, alias in enumerate(frame.from_order):
            source = frame.sources.get(alias)
            if source is None or source.kind == "value":
                return None
            drop = lowered if index <= merged_until else set()
            if source.kind == "old":
                names = {f.name.lower() for f in self.engine.old_schema(source.old).fields}
                qualifier = (
                    source.alias if source.has_alias else self.engine.new_for[source.old].table
                )
                text = self._expand(source, star, qualifier, frozenset(drop))
                left_excluded -= names
                for name in names:
                    left_replaced.pop(name, None)
                pieces.append(text)
            else:
                blocks.append((len(pieces), source, set(drop)))
                pieces.append("")
        for slot, source, drop in blocks:
            mine = set(drop)
            if source.columns is not None:
                mine |= left_excluded & source.columns
                left_excluded -= source.columns
                if any(name in source.columns for name in left_replaced):
                    return None
            pieces[slot] = f"{source.alias}.*" + (
                f" EXCEPT ({', '.join(sorted(mine))})" if mine else ""
            )
        if left_excluded or left_replaced:
            return None
        return [p for p in pieces if p]

    def _expand(
        self,
        source: Source,
        star: exp.Star,
        qualifier: str | None,
        drop: frozenset[str] = frozenset(),
    ) -> str:
        """The old table's columns, each rewritten and named as before, minus EXCEPT (and
        `drop`), with REPLACE."""
        assert source.old is not None
        excluded = {c.name.lower() for c in star.args.get("except_") or []} | drop
        replaced = self._replace_items(star)
        rules = self.engine.rules[source.old]
        entries: list[tuple[str, str, str | None]] = []  # name, explicit item, REPLACE item
        offset = star.meta["start"]
        for fld in self.engine.old_schema(source.old).fields:
            name = fld.name.lower()
            if name in excluded:
                continue
            if name in replaced:
                entries.append((fld.name, replaced[name], replaced[name]))
                continue
            rendered = self._render(source, (fld.name,), qualifier, qualifier is not None, offset)
            rule = rules.get((name,))
            same = rule is not None and (rule.expression or "").strip().lower() == name
            if rendered is None or same:
                text = f"{qualifier}.{fld.name}" if qualifier else fld.name
                entries.append((fld.name, text, None))
            else:
                item = expressions.projection_text(rendered[0], fld.name)
                entries.append((fld.name, item, f"{rendered[0]} AS {quote_identifier(fld.name)}"))
        readable = self._except_replace_form(source, entries, qualifier)
        return readable if readable is not None else ", ".join(e[1] for e in entries)

    def _except_replace_form(
        self, source: Source, entries: list[tuple[str, str, str | None]], qualifier: str | None
    ) -> str | None:
        """`* EXCEPT (...) REPLACE (...)` over the new table when it yields exactly the old
        names in the old order (every old name is a new column, in the same relative
        order); None when only an explicit list is exact."""
        assert source.old is not None
        new_names = [f.name for f in self.engine.new_schema(source.old).fields]
        wanted = [name.lower() for name, _, _ in entries]
        kept = [n for n in new_names if n.lower() in set(wanted)]
        if [n.lower() for n in kept] != wanted:
            return None
        dropped = [n for n in new_names if n.lower() not in set(wanted)]
        replaces = [item for _, _, item in entries if item is not None]
        text = f"{qualifier}.*" if qualifier else "*"
        if dropped:
            text += f" EXCEPT ({', '.join(quote_identifier(n) for n in dropped)})"
        if replaces:
            text += f" REPLACE ({', '.join(replaces)})"
        return text

    def _replace_items(self, star: exp.Star) -> dict[str, str]:
        """REPLACE (expr AS name) items as written, with the edits inside them applied."""
        aliases = list(star.args.get("replace") or [])
        spans = self._star_lists(star).get("REPLACE", [])
        if len(spans) != len(aliases):
            raise _StatementFailed("cannot place the REPLACE list of a star")
        items: dict[str, str] = {}
        for alias, (start, end) in zip(aliases, spans, strict=True):
            inner = [e for e in self.edits if start <= e.start and e.end <= end]
            shifted = [Edit(e.start - start, e.end - start, e.text, e.rule) for e in inner]
            items[alias.alias.lower()] = edit_ops.apply(self.text[start:end], shifted)
        return items

    def _star_end(self, star: exp.Star) -> int:
        """The offset after `*` and any EXCEPT (...) / REPLACE (...) lists that follow it."""
        lists = self._star_lists(star)
        return lists["end"][0][1]

    def _star_lists(self, star: exp.Star) -> dict[str, list[tuple[int, int]]]:
        """Spans of the items of the EXCEPT/REPLACE lists after a star, and the star's end."""
        position = self.token_at[star.meta["start"]]
        found: dict[str, list[tuple[int, int]]] = {"end": [(0, self.tokens[position].end + 1)]}
        position += 1
        while position + 1 < len(self.tokens):
            keyword = self.tokens[position].text.upper()
            if keyword not in ("EXCEPT", "REPLACE", "EXCLUDE"):
                break
            if self.tokens[position + 1].token_type != TokenType.L_PAREN:
                break
            items, position = self._paren_items(position + 1)
            found[keyword] = items
            found["end"] = [(0, self.tokens[position].end + 1)]
            position += 1
        return found

    def _paren_items(self, open_index: int) -> tuple[list[tuple[int, int]], int]:
        """The spans of the comma-separated items inside the parentheses opening at open_index."""
        items: list[tuple[int, int]] = []
        depth = 0
        item_start: int | None = None
        item_end = 0
        position = open_index
        while position < len(self.tokens):
            token = self.tokens[position]
            if token.token_type == TokenType.L_PAREN:
                depth += 1
                if depth == 1:
                    position += 1
                    continue
            elif token.token_type == TokenType.R_PAREN:
                depth -= 1
                if depth == 0:
                    break
            if depth == 1 and token.token_type == TokenType.COMMA:
                if item_start is not None:
                    items.append((item_start, item_end))
                item_start = None
            else:
                item_start = token.start if item_start is None else item_start
                item_end = token.end + 1
            position += 1
        if item_start is not None:
            items.append((item_start, item_end))
        return items, position

    # ------------------------------------------------------------------ manual columns

    def _comment_manual_columns(self) -> None:
        by_line: dict[int, list[_ManualUse]] = {}
        for use in sorted(self.manual, key=lambda u: u.offset):
            line, column = self.index.position(use.offset)
            by_line.setdefault(line, [])
            if use.column in [u.column for u in by_line[line]]:
                continue  # one comment and one flag per manual column and line
            by_line[line].append(use)
            self.flags.append(
                Flag(
                    line,
                    column,
                    FlagReason.MANUAL_COLUMN,
                    f"{use.column} has no automatic mapping: {use.rule.note or 'see the guide'}",
                )
            )
        migration = self.engine.migration
        for line, uses in by_line.items():
            text = self.index.line_text(line)
            indent = text[: len(text) - len(text.lstrip())]
            above = self.index.comment_block_above(line, "--")
            new_lines = []
            for use in uses:
                note = f": {use.rule.note}" if use.rule.note else ""
                comment = (
                    f"-- TODO(data-migration {migration.id}): {use.column} has no automatic "
                    f"mapping{note}. See {migration.guide_url}"
                )
                if comment not in above:
                    new_lines.append(indent + comment + "\n")
            if new_lines:
                start = self.index.line_start(line)
                self.edits.append(Edit(start, start, "".join(new_lines), "manual-comment"))

    # ------------------------------------------------------------------ safety net

    def _check_nothing_left(self) -> None:
        """Every token naming an old table must be one the engine edited or flagged."""
        words = self.engine.tables.old_table_words
        aliases = self.alias_words
        covered = [(e.start, e.end) for e in self.edits] + self.placed
        for position, token in enumerate(self.tokens):
            if token.token_type in STRING_TOKENS:
                self._check_string(token)
                continue
            if token.token_type not in (TokenType.VAR, TokenType.IDENTIFIER):
                continue
            last = token.text.lower().rsplit(".", 1)[-1]
            if last not in words or token.text.lower() in aliases:
                continue  # an alias or CTE spelled like the old table is not the old table
            if self._names_another_table(position):
                continue
            start = token.start - (1 if token.token_type == TokenType.IDENTIFIER else 0)
            if any(a <= start < b or a <= token.start < b for a, b in covered):
                continue
            self._flag_at(
                (start, token.end + 1),
                FlagReason.UNRESOLVED_REFERENCE,
                f"{token.text} names an old table in a place the engine cannot rewrite; "
                "migrate it by hand",
            )

    def _check_string(self, token) -> None:
        """A string literal naming an old table is dynamic SQL (EXECUTE IMMEDIATE, FORMAT):
        the engine does not edit inside strings, so a human (or the LLM) must."""
        match = self.engine.old_table_in_string.search(token.text)
        if match:
            self._flag_at(
                (token.start, token.end + 1),
                FlagReason.UNRESOLVED_REFERENCE,
                f"a string literal reads the old table {match.group('name')} (dynamic SQL?); "
                "the engine does not edit inside strings: migrate it by hand",
            )

    def _names_another_table(self, position: int) -> bool:
        """Whether the dotted name around a token is a table of another project or dataset."""
        start = position
        while start >= 2 and self.tokens[start - 1].token_type == TokenType.DOT:
            start -= 2
        parts = []
        for token in self.tokens[start : position + 1]:
            if token.token_type != TokenType.DOT:
                parts.extend(token.text.split("."))
        if len(parts) < 2 or len(parts) > 3:
            return False
        name = ".".join(parts).lower()
        olds = self.engine.new_for
        return all(name not in (str(old).lower(), old.short.lower()) for old in olds)

    # ------------------------------------------------------------------ helpers

    def _edit(self, span: tuple[int, int] | None, text: str, rule: str) -> None:
        if span is None:
            return
        if self.text[span[0] : span[1]] != text:
            self.edits.append(Edit(span[0], span[1], text, rule))
        self.placed.append(span)

    def _flag_at(self, span: tuple[int, int] | None, reason: FlagReason, message: str) -> None:
        start = span[0] if span else 0
        line, column = self.index.position(start)
        self.flags.append(Flag(line, column, reason, message))
        if span:
            self.placed.append(span)

    def _change(self, edit: Edit) -> Change:
        line, column = self.index.position(edit.start)
        before = self.text[edit.start : edit.end]
        return Change(line, column, before, edit.text, edit.rule, edit.start, edit.end)

    def _sorted_flags(self) -> list[Flag]:
        unique = {(f.line, f.column, f.reason, f.message): f for f in self.flags}
        return sorted(unique.values(), key=lambda f: (f.line, f.column, f.reason))


def _names(schema: TableSchema) -> frozenset[str]:
    return frozenset(f.name.lower() for f in schema.fields)


def _span(idents: list[exp.Identifier] | tuple) -> tuple[int, int] | None:
    starts = [i.meta.get("start") for i in idents]
    ends = [i.meta.get("end") for i in idents]
    if not idents or None in starts or None in ends:
        return None
    return min(starts), max(ends) + 1


def _reference(column: exp.Column) -> tuple[exp.Expr, list[exp.Identifier]]:
    """The outermost node of a column reference and its identifiers (qualifier, path)."""
    idents = list(column.parts)
    node: exp.Expr = column
    while isinstance(node.parent, exp.Dot) and node.parent.this is node:
        node = node.parent
        idents.append(node.expression)
    return node, idents


def _unnest_alias(node: exp.Unnest) -> str | None:
    """BigQuery's `UNNEST(x) AS v` names the value v (sqlglot keeps it as a column alias)."""
    alias = node.args.get("alias")
    if alias is None:
        return None
    if alias.columns:
        return alias.columns[0].name
    return alias.name or None


def _stands_alone(node: exp.Expr) -> bool:
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


def _has_alias(node: exp.Expr) -> bool:
    alias = node.args.get("alias")
    return alias is not None and bool(alias.name or alias.columns)


def _ancestors(node: exp.Expr) -> list[exp.Expr]:
    found = []
    while node.parent is not None:
        node = node.parent
        found.append(node)
    return found


def _using_names(frame: Frame) -> set[str]:
    select = frame.select
    if select is None:
        return set()
    return {
        item.name.lower()
        for join in select.args.get("joins") or []
        for item in join.args.get("using") or []
    }


def _star_of(projection: exp.Expr) -> exp.Star | None:
    if isinstance(projection, exp.Star):
        return projection
    if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
        return projection.this
    return None


def _is_write_target(table: exp.Table) -> bool:
    parent = table.parent
    holder: exp.Expr = table
    if isinstance(parent, exp.Schema):
        holder, parent = parent, parent.parent
    return isinstance(parent, _WRITES) and parent.this is holder


def _scope_owner(column: exp.Column) -> exp.Expr | None:
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


__all__ = ["SqlRewriter", "TemplateResolver", "TemplateTable", "rewrite_sql"]
