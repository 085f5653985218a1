"""The mapping table: every old column defined as an expression over its new table.

That one idea drives the project: the rules give the rewrite (substitute the
expression), the compatibility view (select every expression under its old name),
and the proof (old query over the view equals new query over the new table).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, TokenError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from gaggle.errors import SpecError
from gaggle.names import TableName
from gaggle.schema import Catalog, Field, TableSchema

MAPPING_HEADER = ("old_table", "old_column", "new_expression", "action", "note")
ACTIONS = ("map", "manual")
_PATH_PART = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PROBE_ALIAS = "__gaggle_value"


@dataclass(frozen=True)
class TablePair:
    old: TableName
    new: TableName
    line: int


@dataclass(frozen=True)
class ColumnRule:
    """One row of the mapping table."""

    old_table: TableName
    path: tuple[str, ...]  # ("device", "os") for device.os
    action: str  # map | manual
    expression: str | None
    note: str
    line: int

    @property
    def column(self) -> str:
        return ".".join(self.path)


def csv_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the (first line, cells) of each row; blank lines are skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise SpecError(path, None, "mapping", "is not UTF-8 text", "save it as UTF-8") from err
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    try:
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = cells
            else:
                rows.append((start, cells))
    except csv.Error as err:
        raise SpecError(
            path, reader.line_num, "csv", f"is malformed: {err}", "quote cells containing commas"
        ) from err
    if header is None:
        raise SpecError(
            path, 1, "header", "the file is empty", f"start with `{','.join(MAPPING_HEADER)}`"
        )
    return header, rows


def read_mapping(
    path: Path, tables: tuple[TablePair, ...], catalog: Catalog
) -> tuple[ColumnRule, ...]:
    """Parse and check every row, then check that every old column is covered once."""
    header, rows = csv_rows(path)
    if tuple(cell.strip() for cell in header) != MAPPING_HEADER:
        raise SpecError(
            path,
            1,
            "header",
            f"is {','.join(header)!r}",
            f"make the first line exactly `{','.join(MAPPING_HEADER)}`",
        )
    pairs = {pair.old: pair for pair in tables}
    seen: dict[tuple[TableName, tuple[str, ...]], ColumnRule] = {}
    for line, cells in rows:
        rule = _parse_row(path, line, cells, pairs, catalog)
        key = (rule.old_table, tuple(p.lower() for p in rule.path))
        if key in seen:
            raise SpecError(
                path,
                line,
                "old_column",
                f"{rule.column} of {rule.old_table} is listed twice (first on line "
                f"{seen[key].line})",
                "keep one row per column",
            )
        seen[key] = rule
    rules = tuple(seen.values())
    last_line = rows[-1][0] + 1 if rows else 2
    for pair in tables:
        _check_coverage(path, last_line, pair.old, catalog.tables[pair.old], rules)
    return rules


def _parse_row(
    path: Path,
    line: int,
    cells: list[str],
    pairs: dict[TableName, TablePair],
    catalog: Catalog,
) -> ColumnRule:
    if len(cells) != len(MAPPING_HEADER):
        raise SpecError(
            path,
            line,
            "row",
            f"has {len(cells)} cells, the header has {len(MAPPING_HEADER)}",
            "quote cells that contain commas, e.g. \"SPLIT(locale, '-')[OFFSET(0)]\"",
        )
    table_text, column, expression, action, note = (c.strip() for c in cells)
    old_table = _parse_old_table(path, line, table_text, pairs)
    rule_path = _parse_path(path, line, column)
    old_schema = catalog.tables[old_table]
    old_field = old_schema.find(rule_path)
    if old_field is None:
        raise SpecError(
            path,
            line,
            "old_column",
            f"{column} is not a column of {old_table}",
            old_schema.suggest(rule_path),
        )
    for ancestor in old_schema.ancestors(rule_path):
        if ancestor.is_repeated:
            raise SpecError(
                path,
                line,
                "old_column",
                f"{column} is a field of the REPEATED RECORD {ancestor.name}",
                f"map {ancestor.name} as a whole, e.g. with ARRAY(SELECT AS STRUCT ... "
                f"FROM UNNEST(...))",
            )
    if action not in ACTIONS:
        raise SpecError(path, line, "action", f"{action!r} is not an action", "write map or manual")
    if action == "map" and not expression:
        raise SpecError(
            path,
            line,
            "new_expression",
            f"{column} is `map` but has no expression",
            "give the expression over the new table, or make the row `manual`",
        )
    if action == "manual" and expression:
        raise SpecError(
            path,
            line,
            "new_expression",
            f"{column} is `manual` but has an expression",
            "clear the expression, or make the row `map`",
        )
    new_table = pairs[old_table].new
    if expression:
        check_expression(path, line, expression, old_field, catalog.tables[new_table])
    return ColumnRule(old_table, rule_path, action, expression or None, note, line)


def _parse_old_table(
    path: Path, line: int, text: str, pairs: dict[TableName, TablePair]
) -> TableName:
    named = ", ".join(str(p) for p in pairs)
    try:
        table = TableName.parse(text)
    except ValueError as err:
        raise SpecError(path, line, "old_table", str(err), f"use one of {named}") from err
    if table not in pairs:
        raise SpecError(
            path,
            line,
            "old_table",
            f"{table} is not an old table named in migration.yaml (tables[].old)",
            f"use one of {named}, or add it to tables",
        )
    return table


def _parse_path(path: Path, line: int, column: str) -> tuple[str, ...]:
    parts = tuple(column.split("."))
    if not column or not all(_PATH_PART.match(p) for p in parts):
        raise SpecError(
            path,
            line,
            "old_column",
            f"{column!r} is not a column name or dotted STRUCT path",
            "write the column as in the schema, e.g. country or device.os",
        )
    return parts


def check_expression(
    path: Path, line: int, expression: str, old_field: Field, new_schema: TableSchema
) -> None:
    """An expression must parse, be one row-wise value, use only new columns, keep the type."""
    select = _parse_probe(path, line, expression, new_schema.table)
    schema = _probe_schema(new_schema)
    try:
        qualified = qualify(
            select, schema=schema, dialect="bigquery", validate_qualify_columns=True
        )
    except OptimizeError as err:
        raise SpecError(
            path,
            line,
            "new_expression",
            f"{expression!r} uses a column {new_schema.table} lacks: {_strip_position(err)}",
            f"use columns of {new_schema.table}: {', '.join(new_schema.column_types())}",
        ) from err
    _check_struct_paths(path, line, qualified, new_schema)
    annotated = annotate_types(qualified, schema=schema, dialect="bigquery")
    inferred = annotated.selects[0].type
    if inferred is None or _has_unknown(inferred):
        return
    expected = exp.DataType.build(old_field.sql_type(), dialect="bigquery")
    if _type_text(inferred).upper() != _type_text(expected).upper():
        raise SpecError(
            path,
            line,
            "new_expression",
            f"{expression!r} yields {_type_text(inferred)} but {old_field.name} is "
            f"{_type_text(expected)}",
            f"wrap it in CAST(... AS {old_field.sql_type()}) or correct the expression",
        )


@functools.lru_cache(maxsize=32)
def _probe_schema(new_schema: TableSchema) -> MappingSchema:
    """One per new table: a mapping checks many expressions against the same table, and
    building the schema is a good part of checking one (spec parsing is on the DAG
    processor's path)."""
    table = new_schema.table
    return MappingSchema(
        {table.project: {table.dataset: {table.table: new_schema.column_types()}}},
        dialect="bigquery",
    )


def _parse_probe(path: Path, line: int, expression: str, new_table: TableName) -> exp.Select:
    probe = f"SELECT {expression} AS {_PROBE_ALIAS} FROM {new_table.quoted()}"
    try:
        statements = sqlglot.parse(probe, read="bigquery")
    except ParseError as err:
        detail = err.errors[0] if err.errors else {}
        raise SpecError(
            path,
            line,
            "new_expression",
            f"{expression!r} does not parse as BigQuery SQL: {detail.get('description', err)}",
            "fix the expression's syntax",
        ) from err
    except TokenError as err:
        raise SpecError(
            path,
            line,
            "new_expression",
            f"{expression!r} does not parse as BigQuery SQL: it cannot be split into tokens",
            "close every comment, string and quoted name it opens",
        ) from err
    select = statements[0] if len(statements) == 1 else None
    only_projection = (
        isinstance(select, exp.Select)
        and len(select.expressions) == 1
        and select.selects[0].alias == _PROBE_ALIAS
        and set(k for k, v in select.args.items() if v) == {"expressions", "from_"}
    )
    if not only_projection:
        raise SpecError(
            path,
            line,
            "new_expression",
            f"{expression!r} is not a single expression",
            "give one value expression over the new table's columns, without comments",
        )
    read = next(select.selects[0].find_all(exp.Table), None)
    if read is not None:
        raise SpecError(
            path,
            line,
            "new_expression",
            f"{expression!r} reads a table ({read.sql('bigquery')}) in a subquery",
            "define the column from one row of the new table; a subquery may only UNNEST "
            "that row's own arrays",
        )
    for node in select.selects[0].find_all(exp.AggFunc, exp.Window):
        if node.find_ancestor(exp.Select) is select:
            raise SpecError(
                path,
                line,
                "new_expression",
                f"{expression!r} aggregates or windows over rows",
                "define the column from one row of the new table",
            )
    return select


def _check_struct_paths(path: Path, line: int, select: exp.Select, new_schema: TableSchema) -> None:
    """qualify() accepts any field after a STRUCT column; check each path against the schema."""
    alias = new_schema.table.table
    for column in select.find_all(exp.Column):
        if column.table != alias:
            continue
        parts = [column.name]
        node: exp.Expression = column
        while isinstance(node.parent, exp.Dot) and node.parent.this is node:
            node = node.parent
            parts.append(node.expression.name)
        fields = new_schema.fields
        for depth, part in enumerate(parts):
            found = next((f for f in fields if f.name.lower() == part.lower()), None)
            if found is None or (
                depth < len(parts) - 1 and (found.is_repeated or not found.fields)
            ):
                dotted = ".".join(parts)
                raise SpecError(
                    path,
                    line,
                    "new_expression",
                    f"{dotted} is not a column or STRUCT field of {new_schema.table}",
                    new_schema.suggest(tuple(parts)),
                )
            fields = found.fields


def _check_coverage(
    path: Path, line: int, table: TableName, schema: TableSchema, rules: tuple[ColumnRule, ...]
) -> None:
    ruled = {tuple(p.lower() for p in r.path) for r in rules if r.old_table == table}

    def uncovered(field: Field, prefix: tuple[str, ...]) -> str | None:
        """The first path under field that no row covers, or None."""
        here = (*prefix, field.name)
        if tuple(p.lower() for p in here) in ruled:
            return None
        if not field.is_struct or field.is_repeated:
            return ".".join(here)
        return next(filter(None, (uncovered(child, here) for child in field.fields)), None)

    for field in schema.fields:
        missing = uncovered(field, ())
        if missing:
            raise SpecError(
                path,
                line,
                "old_column",
                f"{missing} of {table} has no row in the mapping table",
                f"add `{table},{missing},<expression>,map,` or a `manual` row",
            )


def view_columns(
    schema: TableSchema, rules: dict[tuple[str, ...], ColumnRule]
) -> list[tuple[Field, str, ColumnRule | None]]:
    """Each old top-level column with the expression over the new table that rebuilds it."""
    return [
        (f, field_expression(f, (f.name,), rules), rules.get((f.name.lower(),)))
        for f in schema.fields
    ]


def field_expression(
    field: Field, path: tuple[str, ...], rules: dict[tuple[str, ...], ColumnRule]
) -> str:
    """The expression for one old column or STRUCT field; a STRUCT without a row is built from its fields."""
    rule = rules.get(tuple(p.lower() for p in path))
    if rule is not None and rule.action == "map":
        return rule.expression or ""
    if rule is not None or not field.is_struct:
        return f"CAST(NULL AS {field.sql_type()})"
    parts = [
        f"{field_expression(child, (*path, child.name), rules)} AS {child.name}"
        for child in field.fields
    ]
    return f"STRUCT({', '.join(parts)})"


def _type_text(data_type: exp.DataType) -> str:
    return data_type.sql("bigquery").replace("`", "")


def _has_unknown(data_type: exp.DataType) -> bool:
    return any(
        isinstance(node, exp.DataType)
        and node.this in (exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL)
        for node in data_type.walk()
    )


def _strip_position(err: Exception) -> str:
    return re.sub(r"\.?\s*Line: \d+, Col: \d+\.?", "", str(err)).strip()
