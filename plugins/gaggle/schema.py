"""BigQuery table schemas, read from `bq show --schema --format=prettyjson` files.

Every field remembers the line it was declared on, so a mapping error can point
at the schema file as precisely as at the mapping table.
"""

from __future__ import annotations

import bisect
import difflib
import json
import json.decoder
import json.scanner
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gaggle.errors import SpecError
from gaggle.names import TableName
from gaggle.nesting import MAX_DEPTH, too_deep_at

# Legacy and standard SQL spellings, mapped to the standard SQL name.
STANDARD_TYPES = {
    "STRING": "STRING",
    "BYTES": "BYTES",
    "INTEGER": "INT64",
    "INT64": "INT64",
    "FLOAT": "FLOAT64",
    "FLOAT64": "FLOAT64",
    "NUMERIC": "NUMERIC",
    "BIGNUMERIC": "BIGNUMERIC",
    "BOOLEAN": "BOOL",
    "BOOL": "BOOL",
    "TIMESTAMP": "TIMESTAMP",
    "DATE": "DATE",
    "TIME": "TIME",
    "DATETIME": "DATETIME",
    "GEOGRAPHY": "GEOGRAPHY",
    "JSON": "JSON",
    "INTERVAL": "INTERVAL",
    "RECORD": "STRUCT",
    "STRUCT": "STRUCT",
}
MODES = ("NULLABLE", "REQUIRED", "REPEATED")
# Keys of BigQuery's TableFieldSchema that `bq show --schema` may print.
KNOWN_FIELD_KEYS = {
    "name",
    "type",
    "mode",
    "fields",
    "description",
    "policyTags",
    "dataPolicies",
    "maxLength",
    "precision",
    "scale",
    "roundingMode",
    "collation",
    "defaultValueExpression",
    "foreignTypeDefinition",
}
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,299}$")


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # standard SQL name: INT64, STRUCT, ...
    mode: str = "NULLABLE"
    fields: tuple[Field, ...] = ()
    description: str = ""
    line: int | None = None

    @property
    def is_struct(self) -> bool:
        return self.type == "STRUCT"

    @property
    def is_repeated(self) -> bool:
        return self.mode == "REPEATED"

    def child(self, name: str) -> Field | None:
        return _find(self.fields, name)

    def element_type(self) -> str:
        """The BigQuery type of one value, ignoring REPEATED."""
        if self.is_struct:
            inner = ", ".join(f"{f.name} {f.sql_type()}" for f in self.fields)
            return f"STRUCT<{inner}>"
        return self.type

    def sql_type(self) -> str:
        """The BigQuery standard SQL type of the column, e.g. ARRAY<STRUCT<a INT64>>."""
        element = self.element_type()
        return f"ARRAY<{element}>" if self.is_repeated else element


@dataclass(frozen=True)
class TableSchema:
    table: TableName
    fields: tuple[Field, ...]
    file: Path | None = None

    def find(self, path: tuple[str, ...]) -> Field | None:
        """The field at a dotted path (case-insensitive, as BigQuery resolves names)."""
        candidates = self.fields
        found: Field | None = None
        for part in path:
            found = _find(candidates, part)
            if found is None:
                return None
            candidates = found.fields
        return found

    def ancestors(self, path: tuple[str, ...]) -> Iterator[Field]:
        """The fields enclosing a path, outermost first, excluding the path itself."""
        for depth in range(1, len(path)):
            found = self.find(path[:depth])
            if found is not None:
                yield found

    def column_types(self) -> dict[str, str]:
        return {f.name: f.sql_type() for f in self.fields}

    def suggest(self, path: tuple[str, ...]) -> str:
        """A 'did you mean' hint for a path that does not exist."""
        names = [".".join(p) for p in _all_paths(self.fields, ())]
        close = difflib.get_close_matches(".".join(path), names, n=3)
        return f"did you mean {', '.join(close)}?" if close else f"columns are: {', '.join(names)}"


@dataclass
class Catalog:
    """Every schema a migration knows: its old and new tables plus any table consumers join."""

    tables: dict[TableName, TableSchema] = field(default_factory=dict)

    def add(self, schema: TableSchema) -> None:
        self.tables[schema.table] = schema

    def get(self, table: TableName) -> TableSchema | None:
        return self.tables.get(table)

    def nested_mapping(self) -> dict[str, dict[str, dict[str, dict[str, str]]]]:
        """The {project: {dataset: {table: {column: type}}}} shape sqlglot's MappingSchema takes."""
        nested: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
        for name, schema in sorted(self.tables.items()):
            nested.setdefault(name.project, {}).setdefault(name.dataset, {})[name.table] = (
                schema.column_types()
            )
        return nested


def _find(fields: tuple[Field, ...], name: str) -> Field | None:
    lowered = name.lower()
    return next((f for f in fields if f.name.lower() == lowered), None)


def _all_paths(fields: tuple[Field, ...], prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    for f in fields:
        yield (*prefix, f.name)
        yield from _all_paths(f.fields, (*prefix, f.name))


class _LinedDict(dict):
    """A JSON object that knows the line its opening brace is on."""

    line: int | None = None


class _LineTrackingDecoder(json.JSONDecoder):
    """json's pure-Python scanner, with the line of every object recorded."""

    def __init__(self, text: str) -> None:
        super().__init__()
        line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

        def parse_object(s_and_end, strict, scan_once, object_hook, object_pairs_hook, memo=None):
            _, end = s_and_end
            value, new_end = json.decoder.JSONObject(
                s_and_end, strict, scan_once, object_hook, object_pairs_hook, memo
            )
            lined = _LinedDict(value)
            lined.line = bisect.bisect_right(line_starts, end - 1)
            return lined, new_end

        self.parse_object = parse_object
        self.scan_once = json.scanner.py_make_scanner(self)


def load_schema_file(path: Path, table: TableName) -> TableSchema:
    """Load and validate one schema file; any defect raises SpecError with file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise SpecError(
            path, None, "schema", f"is not UTF-8 text ({err.reason})", "save it as UTF-8"
        ) from err
    _check_json_depth(path, text)
    try:
        data = _LineTrackingDecoder(text).decode(text)
    except json.JSONDecodeError as err:
        raise SpecError(
            path,
            err.lineno,
            "schema",
            f"is not valid JSON: {err.msg} at column {err.colno}",
            "regenerate it with `bq show --schema --format=prettyjson "
            f"{table.project}:{table.dataset}.{table.table}`",
        ) from err
    if not isinstance(data, list) or not data:
        raise SpecError(
            path,
            1,
            "schema",
            "must be a non-empty JSON array of field objects",
            "use the output of `bq show --schema --format=prettyjson`",
        )
    return TableSchema(table, _parse_fields(path, data, ""), path)


def _check_json_depth(path: Path, text: str) -> None:
    """Refuse nesting no schema has, before the recursive decoder meets it."""
    line = too_deep_at(text)
    if line is not None:
        raise SpecError(
            path,
            line,
            "schema",
            f"is nested deeper than {MAX_DEPTH} levels",
            "use the output of `bq show --schema --format=prettyjson`",
        )


def _parse_fields(path: Path, items: list, prefix: str) -> tuple[Field, ...]:
    seen: dict[str, int | None] = {}
    parsed = []
    for index, item in enumerate(items):
        where = f"{prefix}[{index}]"
        if not isinstance(item, dict):
            raise SpecError(
                path, None, where, "must be a JSON object with name and type", "see bq's schema"
            )
        one = _parse_field(path, item, where, prefix)
        key = one.name.lower()
        if key in seen:
            raise SpecError(
                path,
                one.line,
                f"{where}.name",
                f"column {one.name!r} is declared twice (first on line {seen[key]}); "
                "BigQuery names are case-insensitive",
                "remove or rename one of them",
            )
        seen[key] = one.line
        parsed.append(one)
    return tuple(parsed)


def _parse_field(path: Path, item: dict, where: str, prefix: str) -> Field:
    line = getattr(item, "line", None)
    unknown = sorted(set(item) - KNOWN_FIELD_KEYS)
    if unknown:
        hint = difflib.get_close_matches(unknown[0], sorted(KNOWN_FIELD_KEYS), n=1)
        raise SpecError(
            path,
            line,
            f"{where}.{unknown[0]}",
            "is not a BigQuery schema field key",
            f"use {hint[0]!r}" if hint else f"keys are {', '.join(sorted(KNOWN_FIELD_KEYS))}",
        )
    name = item.get("name")
    if not isinstance(name, str) or not _FIELD_NAME.match(name):
        raise SpecError(
            path,
            line,
            f"{where}.name",
            f"{name!r} is not a valid column name",
            "use letters, digits and underscores, starting with a letter or underscore",
        )
    dotted = f"{prefix}.{name}" if prefix else name
    raw_type = item.get("type")
    std_type = STANDARD_TYPES.get(raw_type.upper()) if isinstance(raw_type, str) else None
    if std_type is None:
        raise SpecError(
            path,
            line,
            f"{dotted}.type",
            f"{raw_type!r} is not a supported BigQuery type",
            f"use one of {', '.join(sorted(set(STANDARD_TYPES)))}",
        )
    mode = item.get("mode", "NULLABLE")
    if not isinstance(mode, str) or mode.upper() not in MODES:
        raise SpecError(
            path,
            line,
            f"{dotted}.mode",
            f"{mode!r} is not a mode",
            f"use one of {', '.join(MODES)}",
        )
    children = item.get("fields")
    if std_type == "STRUCT":
        if not isinstance(children, list) or not children:
            raise SpecError(
                path,
                line,
                f"{dotted}.fields",
                "a RECORD needs a non-empty list of fields",
                "list the STRUCT's fields, or change the type",
            )
        nested = _parse_fields(path, children, dotted)
    elif children is not None:
        raise SpecError(
            path,
            line,
            f"{dotted}.fields",
            f"only a RECORD has fields, this column is {raw_type}",
            "remove `fields` or set the type to RECORD",
        )
    else:
        nested = ()
    description = item.get("description", "")
    return Field(
        name=name,
        type=std_type,
        mode=mode.upper(),
        fields=nested,
        description=description if isinstance(description, str) else "",
        line=line,
    )
