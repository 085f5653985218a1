"""The offline validator: sqlglot parses and qualifies the query against the schema catalog.

No network and no credentials: the embedded default. Tables outside the catalog are
allowed (their columns cannot be checked) and listed, so a reviewer knows what the
check did not cover.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.dialects.bigquery import BigQuery
from sqlglot.errors import OptimizeError, ParseError, SqlglotError, TokenError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from gaggle.schema import STANDARD_TYPES, Catalog
from gaggle.validation.analysis import Analysis, Column, QueryError

_POSITION = re.compile(r"Line: (\d+), Col: (\d+)")
_NAMED = re.compile(r"(?:Unknown column: |Column ')([A-Za-z_]\w*)")


class OfflineValidator:
    name = "offline"

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.schema = MappingSchema(catalog.nested_mapping(), dialect="bigquery")
        self.known = {str(name).lower() for name in catalog.tables}
        self.short = {name.short.lower(): str(name) for name in catalog.tables}

    def analyze(self, sql: str) -> Analysis:
        try:
            return self._analyze(sql)
        except Exception as err:  # one statement never stops the whole check
            why = f"sqlglot cannot analyze it ({type(err).__name__}: {err})"
            return Analysis(not_checkable=why)

    def _analyze(self, sql: str) -> Analysis:
        try:
            statements = [s for s in sqlglot.parse(sql, read="bigquery") if s is not None]
        except ParseError as err:
            detail = err.errors[0] if err.errors else {}
            message = detail.get("description") or str(err)
            return Analysis(error=QueryError(message, detail.get("line"), detail.get("col")))
        except SqlglotError as err:
            return Analysis(error=QueryError(str(err)))
        tables, unknown = self._tables(statements)
        columns = None
        for statement in statements:
            query = _query_of(statement)
            if query is None:
                continue
            try:
                columns = self._columns(query, strict=not unknown)
            except (OptimizeError, SqlglotError) as err:
                if not unknown:
                    return Analysis(None, tables, unknown, None, _error(err, sql))
                # A table without schema somewhere in the statement: the output is still
                # known from an explicit select list (names, order, types of what reads
                # only catalog tables); only a star over what cannot be expanded is not.
                columns = self._declared_columns(query)
                if columns is None:
                    why = f"it reads {', '.join(unknown)}, whose schema gaggle lacks ({err})"
                    return Analysis(None, tables, unknown, not_checkable=why)
            except Exception as err:  # sqlglot's own limits (AssertionError, ...)
                why = f"sqlglot cannot qualify it ({type(err).__name__}: {err})"
                return Analysis(None, tables, unknown, not_checkable=why)
            stars = [c.name for c in columns if c.name == "*" or c.name.endswith(".*")]
            if stars:
                over = f" over {', '.join(unknown)}, whose schema gaggle lacks," if unknown else ""
                why = f"{stars[0]}{over} cannot be expanded into its columns"
                return Analysis(None, tables, unknown, not_checkable=why)
        return Analysis(columns, tables, unknown)

    def _tables(self, statements: list[exp.Expr]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        read, unknown = set(), set()
        for statement in statements:
            ctes = {c.alias.lower() for c in statement.find_all(exp.CTE)}
            for table in statement.find_all(exp.Table):
                parts = [p.name for p in table.parts]
                if not parts or (len(parts) == 1 and parts[0].lower() in ctes):
                    continue
                name = ".".join(parts)
                full = self.short.get(name.lower(), name) if len(parts) == 2 else name
                (read if full.lower() in self.known else unknown).add(full)
        return tuple(sorted(read)), tuple(sorted(unknown))

    def _columns(self, query: exp.Query, strict: bool) -> tuple[Column, ...]:
        qualified = qualify(
            spell_implicit_aliases(query.copy()),
            schema=self.schema,
            dialect="bigquery",
            validate_qualify_columns=strict,
            quote_identifiers=False,
        )
        if strict and _may_reference_aliases(query):
            self._check_alias_visibility(query)
        annotated = annotate_types(qualified, schema=self.schema, dialect="bigquery")
        return tuple(_column(s.alias_or_name, s.type) for s in annotated.selects)

    def _check_alias_visibility(self, query: exp.Query) -> None:
        """BigQuery sees SELECT-list aliases only in GROUP BY (as a whole grouping item),
        HAVING, QUALIFY and ORDER BY; sqlglot also expands them in WHERE, in the SELECT
        list and inside GROUP BY expressions. Without those clauses and without alias
        expansion, every other name must resolve to a column of the FROM clause."""
        try:
            qualify(
                _without_alias_clauses(query.copy()),
                schema=self.schema,
                dialect="bigquery",
                expand_alias_refs=False,
                validate_qualify_columns=True,
                quote_identifiers=False,
            )
        except OptimizeError as err:
            where = _POSITION.search(str(err))
            raise OptimizeError(
                f"{_POSITION.sub('', str(err)).strip(' .')} (BigQuery sees a SELECT-list alias "
                f"only in GROUP BY, HAVING, QUALIFY and ORDER BY){'. ' + where.group(0) if where else ''}"
            ) from err

    def _declared_columns(self, query: exp.Query) -> tuple[Column, ...] | None:
        """The output columns an explicit select list declares, when the statement as a
        whole cannot be qualified: each item's name (its alias, else BigQuery's implicit
        alias: the last identifier of a path), in order, and its type when it reads only
        catalog tables of its own FROM. When its FROM reads only catalog tables (the table
        without schema is in WHERE, say), all of it is exact, stars expanded. None when
        the list holds a star that cannot be expanded."""
        select = query
        while isinstance(select, exp.SetOperation | exp.Subquery):
            select = select.this  # a set operation's names are its first SELECT's
        if not isinstance(select, exp.Select):
            return None
        typed = select is query
        outer = self._outer_columns(select) if typed else None
        if outer is not None:
            return outer
        columns = []
        for position, item in enumerate(select.expressions):
            if item.is_star:
                return None
            name = item.output_name or f"_col_{position}"
            kind = self._item_type(select, item, name) if typed else None
            columns.append(kind if kind is not None else Column(name, "UNKNOWN"))
        return tuple(columns)

    def _outer_columns(self, select: exp.Select) -> tuple[Column, ...] | None:
        """The output of the SELECT list over its FROM alone: the clauses that only filter,
        group or order rows (where a table without schema often hides, in a subquery)
        are dropped, join conditions too; None when that still cannot be qualified."""
        reduced = select.copy()
        for clause in ("where", "group", "having", "qualify", "order", "limit", "offset"):
            reduced.set(clause, None)
        for join in reduced.args.get("joins") or []:
            if join.args.get("on") is not None:
                join.set("on", exp.true())
        try:
            return self._columns(reduced, strict=True)
        except Exception:  # a table without schema in FROM, or a subquery in the list
            return None

    def _item_type(self, select: exp.Select, item: exp.Expr, name: str) -> Column | None:
        """One select item typed on its own, over only the sources of its FROM that it
        reads: a column qualified by a source's alias reads that source; any other name
        could come from every source, so all of them must be catalog tables."""
        if item.find(exp.Query, exp.Subquery):
            return None
        sources: dict[str, exp.Table | None] = {}  # alias -> catalog table, None if not one
        for source in filter(None, [select.args.get("from_"), *(select.args.get("joins") or [])]):
            table = source.this
            alias = table.alias_or_name.lower()
            sources[alias] = table if self._in_catalog(table) else None
        needed: dict[str, exp.Table | None] = {}
        for column in item.find_all(exp.Column):
            first = column.parts[0].name.lower() if len(column.parts) > 1 else None
            if first in sources:
                needed[first] = sources[first]
            else:
                needed.update(sources)
        if any(table is None for table in needed.values()):
            return None
        single = exp.select(exp.alias_(item.unalias().copy(), name, quoted=True))
        for position, table in enumerate(needed.values()):
            single = (
                single.from_(table.copy())
                if position == 0
                else single.join(table.copy(), join_type="CROSS")
            )
        try:
            return self._columns(single, strict=True)[0]
        except Exception:  # ambiguous or unknown: the type stays unknown, the name is kept
            return None

    def _in_catalog(self, table: exp.Expr) -> bool:
        if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
            return False  # a subquery, UNNEST or table function
        parts = [p.name for p in table.parts]
        full = ".".join(parts)
        full = self.short.get(full.lower(), full) if len(parts) == 2 else full
        return len(parts) > 1 and full.lower() in self.known


def _is_path(item: exp.Expr) -> bool:
    return (isinstance(item, exp.Column) and len(item.parts) > 1) or isinstance(item, exp.Dot)


def spell_implicit_aliases(query: exp.Query) -> exp.Query:
    """Each unaliased path in a SELECT list gets BigQuery's implicit alias spelled out
    (`geo.country` is `geo.country AS country`), so that GROUP BY, HAVING, QUALIFY and
    ORDER BY resolve it as BigQuery does."""
    for select in list(query.find_all(exp.Select)):
        for item in list(select.expressions):
            if _is_path(item) and not item.is_star and item.output_name:
                item.replace(exp.alias_(item.copy(), item.output_name, quoted=True))
    return query


def _may_reference_aliases(query: exp.Query) -> bool:
    """Whether a bare name of the query is also a SELECT-list alias that is not simply
    the column itself: only then can an alias be referenced where BigQuery hides it."""
    aliases = set()
    for select in query.find_all(exp.Select):
        for item in select.expressions:
            if isinstance(item, exp.Alias) or _is_path(item):
                aliases.add(item.output_name.lower())
    bare = {c.name.lower() for c in query.find_all(exp.Column) if not c.table}
    return bool(aliases & bare)


_GROUPING = (exp.Group, exp.Rollup, exp.Cube, exp.GroupingSets, exp.Tuple)


def _without_alias_clauses(query: exp.Query) -> exp.Query:
    """The query without the clauses that see SELECT-list aliases (HAVING, QUALIFY,
    ORDER BY) and without the grouping items that are a bare name (an alias or a column,
    both fine): what is left must resolve against the FROM clause alone."""
    for node in list(query.find_all(exp.Query)):
        for clause in ("having", "qualify", "order"):
            node.set(clause, None)
        group = node.args.get("group")
        if group is None:
            continue
        for column in list(group.find_all(exp.Column)):
            if not column.table and isinstance(column.parent, _GROUPING):
                column.pop()
        if group.find(exp.Column) is None:  # only ordinals and bare names: nothing to check
            node.set("group", None)
    return query


def _query_of(statement: exp.Expr) -> exp.Query | None:
    """The query whose output a statement produces (CTAS and INSERT included)."""
    if isinstance(statement, exp.Query):
        return statement
    if isinstance(statement, exp.Create | exp.Insert) and isinstance(
        statement.expression, exp.Query
    ):
        return statement.expression
    return None


def _column(name: str, data_type: exp.DataType | None) -> Column:
    if data_type is None:
        return Column(name, "UNKNOWN")
    if data_type.this == exp.DataType.Type.ARRAY and data_type.expressions:
        inner = _column(name, data_type.expressions[0])
        return Column(name, inner.type, "REPEATED", inner.fields)
    if data_type.this == exp.DataType.Type.STRUCT:
        fields = tuple(_column(d.name, d.args.get("kind")) for d in data_type.expressions)
        return Column(name, "STRUCT", "NULLABLE", fields)
    text = data_type.sql("bigquery").upper()
    base = re.sub(r"\(.*\)$", "", text)
    if data_type.this in (exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL):
        return Column(name, "UNKNOWN")
    return Column(name, STANDARD_TYPES.get(base, base))


def _error(err: Exception, sql: str) -> QueryError:
    """The error with its line and column: sqlglot's own, else where the named column is."""
    text = str(err)
    match = _POSITION.search(text)
    message = _POSITION.sub("", text).strip(" .")
    if match:
        return QueryError(message, int(match.group(1)), int(match.group(2)))
    named = _NAMED.search(message)
    token = _first_token(sql, named.group(1)) if named else None
    if token is not None:
        return QueryError(message, token.line, token.col - len(token.text) + 1)
    return QueryError(message)


def _first_token(sql: str, name: str):
    """The first identifier token spelled `name`: comments and strings are not tokens."""
    try:
        tokens = BigQuery().tokenize(sql)
    except TokenError:
        return None
    return next((t for t in tokens if t.text.lower() == name.lower()), None)
