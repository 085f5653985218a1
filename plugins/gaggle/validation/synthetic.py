"""Synthetic rows for a BigQuery schema: NULLs, edge values and nested values, deterministically.

Join keys (`*_id` columns) draw from a small shared pool so that joins across
tables find matches, and enum-like strings include the values mapping
expressions test for, so both branches of a CASE or comparison are exercised.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from gaggle.schema import Field, TableSchema

_STRINGS = ["", "a", "DE", "US", "en-GB", "fr", "ACTIVE", "DORMANT", "pro", "free", "x y", "Zürich"]
_KEYS = ["u1", "u2", "u3", "u4", "u5"]
_INTS = [0, 1, -1, 7, 42, 1_700_000_000_000, 2**40]
_FLOATS = [0.0, 1.5, -2.25, 1e6]
_NUMERICS = [Decimal("0"), Decimal("12.5"), Decimal("-3.125"), Decimal("99999.999999999")]
_EPOCH = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def generate_rows(
    schema: TableSchema,
    count: int = 48,
    seed: int = 0,
    literals: tuple[str, ...] = (),
    values: Mapping[str, tuple] | None = None,
) -> list[dict]:
    """`count` rows as Python values; every nullable column is NULL in at least one row.

    String literals of the queries under test are drawn often, so that their filters
    (`status = 'ACTIVE'`) select rows instead of none; so are `values` by BigQuery type
    (the values bound to query parameters: `submission_date = @submission_date`).
    """
    rng = random.Random(f"{schema.table}:{seed}")
    rows = []
    for index in range(count):
        rows.append(
            {f.name: _value(f, rng, index, literals, values, top=True) for f in schema.fields}
        )
    return rows


def _value(
    field: Field, rng: random.Random, index: int, literals=(), values=None, top: bool = False
):
    if field.is_repeated:
        length = rng.choice([0, 1, 2, 3])
        return [_scalar(field, rng, index * 7 + n + 1, literals, values) for n in range(length)]
    if field.mode != "REQUIRED" and ((top and index == 1) or rng.random() < 0.12):
        return None
    return _scalar(field, rng, index, literals, values)


def _scalar(field: Field, rng: random.Random, index: int, literals=(), values=None):
    if field.is_struct:
        return {child.name: _value(child, rng, index, literals, values) for child in field.fields}
    kind = field.type
    pool = (values or {}).get(kind)
    if pool and rng.random() < 0.4:  # no draw at all without a pool: other rows stay the same
        return rng.choice(pool)
    if field.name == "_TABLE_SUFFIX":
        return (date(2024, 1, 1) + timedelta(days=rng.randint(-20, 60))).strftime("%Y%m%d")
    if kind == "STRING":
        return _string(field, rng, index, literals)
    if kind == "INT64":
        return rng.choice(_INTS)
    if kind == "FLOAT64":
        return rng.choice(_FLOATS)
    if kind in ("NUMERIC", "BIGNUMERIC"):
        return rng.choice(_NUMERICS)
    if kind == "BOOL":
        return rng.random() < 0.5
    if kind == "TIMESTAMP":
        return _EPOCH + timedelta(hours=rng.randint(-5000, 5000), milliseconds=rng.randint(0, 999))
    if kind == "DATETIME":
        return (_EPOCH + timedelta(hours=rng.randint(-5000, 5000))).replace(tzinfo=None)
    if kind == "DATE":
        return date(2024, 1, 1) + timedelta(days=rng.randint(-400, 400))
    if kind == "BYTES":
        return rng.choice([b"", b"\x00", b"ab"])
    return None  # types DuckDB cannot hold faithfully (GEOGRAPHY, JSON, ...) stay NULL


def _string(field: Field, rng: random.Random, index: int, literals: tuple[str, ...]) -> str:
    """Keys from a small shared pool (joins match); otherwise the queries' literals (filters
    match), a shared pool, or column-specific values (reading the wrong column shows)."""
    if field.name.lower().endswith("id"):
        return _KEYS[index % len(_KEYS)]
    draw = rng.random()
    if literals and draw < 0.4:
        return rng.choice(literals)
    if draw < 0.7:
        return rng.choice(_STRINGS)
    return f"{field.name}-{rng.randint(1, 4)}"


def duckdb_literal(value) -> str:
    """A DuckDB SQL literal for a generated value (the caller casts it to the column type)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, datetime):
        kind = "TIMESTAMPTZ" if value.tzinfo else "TIMESTAMP"
        return f"{kind} '{value.isoformat()}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, bytes):
        return "'" + "".join(f"\\x{b:02x}" for b in value) + "'::BLOB"
    if isinstance(value, dict):
        inner = ", ".join(f"'{k}': {duckdb_literal(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(duckdb_literal(v) for v in value) + "]"
    raise TypeError(f"no DuckDB literal for {type(value).__name__}")
