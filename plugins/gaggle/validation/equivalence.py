"""Semantic equivalence: the original query over the compatibility view and the rewritten
query over the new table return the same rows, in DuckDB, on synthetic data.

The verdict is equal, different (with a smallest differing row) or not checkable
(with the reason), never a guess.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, time
from enum import StrEnum

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.schema import MappingSchema

from gaggle import duck
from gaggle.compat import compat_view_sql
from gaggle.schema import Field, TableSchema
from gaggle.spec import Migration
from gaggle.validation.offline import spell_implicit_aliases
from gaggle.validation.parameters import PLACEHOLDER_VALUES, ParameterType, parameter_types
from gaggle.validation.synthetic import duckdb_literal, generate_rows


class Outcome(StrEnum):
    EQUAL = "equal"
    DIFFERENT = "different"
    NOT_CHECKABLE = "not-checkable"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    detail: str = ""
    rows_compared: int = 0
    # DuckDB's output column names of each side, in order (empty when nothing ran)
    names_before: tuple[str, ...] = ()
    names_after: tuple[str, ...] = ()


def check_equivalence(
    before_sql: str, after_sql: str, migration: Migration, rows: int = 48, seed: int = 0
) -> Verdict:
    """Run both queries on the same synthetic data and compare the results as multisets."""
    schema = MappingSchema(migration.catalog.nested_mapping(), dialect="bigquery")
    bindings = _parameter_bindings(schema, before_sql, after_sql)
    try:
        before = _single_query(before_sql, bindings)
        after = _single_query(after_sql, bindings)
    except _NotCheckable as err:
        return Verdict(Outcome.NOT_CHECKABLE, str(err))
    literals = _string_literals(before_sql, after_sql)
    literals += tuple(
        b.this for b in bindings.values() if isinstance(b, exp.Literal) and b.is_string
    )
    pools = _value_pools(bindings)
    conn = _database(migration, rows, seed, literals=literals, pools=pools)
    try:
        cursor = conn.execute(before)
        names_before = tuple(d[0] for d in cursor.description or ())
        expected = cursor.fetchall()
    except duckdb.Error as err:
        return Verdict(Outcome.NOT_CHECKABLE, f"the original does not run in DuckDB: {err}")
    try:
        cursor = conn.execute(after)
        names_after = tuple(d[0] for d in cursor.description or ())
        got = cursor.fetchall()
    except duckdb.Error as err:
        return Verdict(
            Outcome.DIFFERENT, f"the rewritten query fails where the original runs: {err}"
        )
    missing = Counter(map(_normal, expected)) - Counter(map(_normal, got))
    extra = Counter(map(_normal, got)) - Counter(map(_normal, expected))
    if not missing and not extra:
        if not expected:
            return Verdict(Outcome.NOT_CHECKABLE, "no rows on the synthetic data: proves nothing")
        return Verdict(Outcome.EQUAL, "", len(expected), names_before, names_after)
    reordered = _database(migration, rows, seed, literals=literals, reverse=True, pools=pools)
    if Counter(map(_normal, reordered.execute(before).fetchall())) != Counter(
        map(_normal, expected)
    ):
        return Verdict(
            Outcome.NOT_CHECKABLE,
            "the original's results depend on row order (ties in an ORDER BY or window)",
        )
    side, row = (
        ("only in the original", min(missing)) if missing else ("only in the rewrite", min(extra))
    )
    return Verdict(Outcome.DIFFERENT, f"smallest differing row, {side}: {row}", len(expected))


def _run(conn: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[tuple[str, str]], list]:
    """Output (name, type) pairs and the rows of a query."""
    relation = conn.sql(sql)
    columns = [
        (name, str(kind)) for name, kind in zip(relation.columns, relation.types, strict=True)
    ]
    return columns, relation.fetchall()


class _NotCheckable(Exception):
    pass


def _parameter_bindings(schema: MappingSchema, *queries: str) -> dict[str, exp.Expr]:
    """One typed literal for each `@name` parameter, the same on both sides. A type told
    by what the parameter is compared with beats one guessed from its name; between two
    told types, the original's wins."""
    types: dict[str, ParameterType] = {}
    for query in queries:
        for name, found in parameter_types(query, schema).items():
            if name not in types or (found.from_context and not types[name].from_context):
                types[name] = found
    return {name: _typed_literal(found.kind) for name, found in types.items()}


def _typed_literal(kind: str) -> exp.Expr:
    value = PLACEHOLDER_VALUES[kind]
    if kind == "BOOL":
        return exp.Boolean(this=value)
    if kind in ("INT64", "FLOAT64"):
        return exp.Literal.number(value)
    if kind == "STRING":
        return exp.Literal.string(value)
    if kind == "TIMESTAMP":
        text = value.strftime("%Y-%m-%d %H:%M:%S+00")
    elif kind in ("DATE", "DATETIME"):
        text = value.isoformat(sep=" ") if kind == "DATETIME" else value.isoformat()
    else:  # NUMERIC
        text = str(value)
    return exp.cast(exp.Literal.string(text), exp.DataType.build(kind, dialect="bigquery"))


def _value_pools(bindings: dict[str, exp.Expr]) -> dict[str, tuple]:
    """Values the synthetic rows draw often, so that `col = @param` filters select rows:
    each DATE parameter's day (also as a TIMESTAMP and DATETIME at noon of that day)."""
    days = (
        {PLACEHOLDER_VALUES["DATE"]}
        if any(
            isinstance(b, exp.Cast) and b.to.is_type(exp.DataType.Type.DATE)
            for b in bindings.values()
        )
        else set()
    )
    noon = [datetime.combine(day, time(12), tzinfo=UTC) for day in sorted(days)]
    return {
        "DATE": tuple(sorted(days)),
        "TIMESTAMP": tuple(noon),
        "DATETIME": tuple(n.replace(tzinfo=None) for n in noon),
    }


def _single_query(sql: str, bindings: dict[str, exp.Expr] | None = None) -> str:
    if "{{" in sql or "{%" in sql:
        raise _NotCheckable("templated SQL: compile it first")
    try:
        statements = [s for s in sqlglot.parse(sql, read="bigquery") if s is not None]
    except SqlglotError as err:
        raise _NotCheckable(f"does not parse: {err}") from err
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise _NotCheckable("only a single query can be compared (not scripts or DML)")
    # BigQuery's implicit alias of a path (`geo.city` is `city` in GROUP BY, QUALIFY, ...)
    # spelled out: DuckDB names such a column but does not resolve it as an alias.
    query = spell_implicit_aliases(statements[0])
    if query.find(exp.Placeholder):
        raise _NotCheckable("uses positional query parameters (?)")
    for parameter in list(query.find_all(exp.Parameter)):
        bound = (bindings or {}).get(parameter.name)
        if bound is None:
            raise _NotCheckable(f"query parameter @{parameter.name} has no type")
        parameter.replace(bound.copy())
    # A top-level LIMIT picks arbitrary rows among ties: compare the full results instead.
    query.set("limit", None)
    query.set("offset", None)
    try:
        return query.sql("duckdb")
    except SqlglotError as err:
        raise _NotCheckable(f"cannot be transpiled to DuckDB: {err}") from err


def _string_literals(*queries: str) -> tuple[str, ...]:
    found = set()
    for query in queries:
        try:
            for statement in sqlglot.parse(query, read="bigquery"):
                if statement is not None:
                    found |= {lit.this for lit in statement.find_all(exp.Literal) if lit.is_string}
        except SqlglotError:
            continue
    return tuple(sorted(found))


def _database(
    migration: Migration,
    rows: int,
    seed: int,
    reverse: bool = False,
    literals: tuple[str, ...] = (),
    pools: dict[str, tuple] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Every catalog table except the old ones filled; the old ones as compatibility views."""
    conn = duckdb.connect()
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute("SET threads = 1")  # one thread: the same plan gives the same rows, every run
    olds = {pair.old for pair in migration.tables}
    for name, schema in sorted(migration.catalog.tables.items()):
        if name in olds:
            continue
        if name.is_wildcard:  # a wildcard table's rows carry the shard they came from
            suffix = Field("_TABLE_SUFFIX", "STRING", "REQUIRED")
            schema = TableSchema(schema.table, (*schema.fields, suffix), schema.file)
        duck.create_table(conn, schema)
        data = generate_rows(schema, rows, seed, literals, pools)
        if reverse:  # same rows, other physical order: exposes order-dependent queries
            data.reverse()
        if data:
            values = ",\n".join(
                "("
                + ", ".join(
                    f"CAST({duckdb_literal(row[f.name])} AS {duck.duckdb_type(f)})"
                    for f in schema.fields
                )
                + ")"
                for row in data
            )
            conn.execute(f"INSERT INTO {duck.duckdb_table(name)} VALUES {values}")
    for pair in migration.tables:
        if not pair.old.is_wildcard:
            # the old dataset may hold nothing but views (a table moved to another dataset)
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{pair.old.project}"."{pair.old.dataset}"')
            for statement in duck.transpile(compat_view_sql(migration, pair)):
                conn.execute(statement)
    projects = sorted({name.project for name in migration.catalog.tables})
    if projects:
        conn.execute(f'USE "{projects[0]}"')
    return conn


def _normal(row: tuple) -> str:
    """A comparable, sortable form of a row: floats rounded, nested values recursed."""
    return repr(tuple(_normal_value(v) for v in row))


def _normal_value(value):
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    if isinstance(value, dict):
        return tuple((k, _normal_value(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return tuple(_normal_value(v) for v in value)
    return value
