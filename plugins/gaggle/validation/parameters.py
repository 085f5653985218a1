"""BigQuery query parameters (`@name`): a type for each, inferred from the query, and one
placeholder value of that type.

A dry run must declare every parameter with a type; the DuckDB equivalence run binds a
value to each, the same on both sides. Both take them from here, so a parameter means
the same thing to every backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import Schema

from gaggle.schema import STANDARD_TYPES

PLACEHOLDER_VALUES = {
    "DATE": date(2024, 1, 1),
    "TIMESTAMP": datetime(2024, 1, 1, tzinfo=UTC),
    "DATETIME": datetime(2024, 1, 1),
    "INT64": 0,
    "FLOAT64": 0.0,
    "NUMERIC": Decimal(0),
    "BOOL": False,
    "STRING": "",
}


@dataclass(frozen=True)
class ParameterType:
    kind: str  # a key of PLACEHOLDER_VALUES
    from_context: bool  # what it is compared with told; False when guessed from its name


def parameter_types(sql: str, schema: Schema | None = None) -> dict[str, ParameterType]:
    """Each `@name` parameter's type: from what it is compared with where sqlglot can tell
    (`DATE(x) = @run_date` makes it a DATE; with `schema`, `t.ltv_usd >= @floor` makes it
    the column's type), else from its name (`*_date`, `*_at`/`*_ts`, `min_*`/`max_*`/`n_*`),
    else STRING. Empty when the SQL does not parse."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="bigquery") if s is not None]
    except SqlglotError:
        return {}
    found: dict[str, ParameterType] = {}
    for statement in statements:
        annotated = _annotated(statement, schema)
        for parameter in annotated.find_all(exp.Parameter):
            name = parameter.name
            if name and (name not in found or not found[name].from_context):
                guess = _parameter_type(parameter)
                if name not in found or guess.from_context:
                    found[name] = guess
    return dict(sorted(found.items()))


def _annotated(statement: exp.Expr, schema: Schema | None) -> exp.Expr:
    """The statement with types, its columns resolved against `schema` where it can be."""
    if schema is not None:
        try:
            qualified = qualify(
                statement.copy(),
                schema=schema,
                dialect="bigquery",
                validate_qualify_columns=False,
                quote_identifiers=False,
            )
            return annotate_types(qualified, schema=schema, dialect="bigquery")
        except Exception:  # sqlglot cannot qualify it: types from the expressions alone
            pass
    return annotate_types(statement, dialect="bigquery")


def _parameter_type(parameter: exp.Parameter) -> ParameterType:
    parent = parameter.parent
    if isinstance(parent, exp.Binary):
        other = parent.expression if parent.this is parameter else parent.this
        kind = _standard(other.type)
        if kind:
            return ParameterType(kind, True)
    name = parameter.name.lower()
    if name.endswith("date") or name.endswith("_day"):
        return ParameterType("DATE", False)
    if name.endswith(("_at", "_ts", "timestamp")):
        return ParameterType("TIMESTAMP", False)
    if name.startswith(("min_", "max_", "n_", "num_", "limit")) or name.endswith("_count"):
        return ParameterType("INT64", False)
    return ParameterType("STRING", False)


def _standard(data_type: exp.DataType | None) -> str | None:
    if data_type is None:
        return None
    text = data_type.sql("bigquery").upper()
    kind = STANDARD_TYPES.get(text)
    return kind if kind in PLACEHOLDER_VALUES else None
