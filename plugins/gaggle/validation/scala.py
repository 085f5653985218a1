"""The SQL inside Scala (Scio) sources, paired between two versions of a file, so that the
query strings an edit changed are validated statement by statement like a .sql file's.

Query strings (`fromQuery("...")`, `Query(\"\"\"...\"\"\")`, any literal holding SELECT) are
found with the Scio adapter's own scanner and masked the same way it masks them for the
engine (stripMargin margins become spaces, `$x` interpolations identifiers), so offsets
and lines stay those of the file. A Storage API `rowRestriction` predicate is validated
as `SELECT (<predicate>) FROM <table>` over the table its read names (the old table
before, the new one after), so a wrong column or a changed truth value shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from gaggle.frameworks.dbt_compile import CompiledModel
from gaggle.frameworks.scio import SCALA_SUFFIXES, ScalaLiteral, mask_literal, scan_scala
from gaggle.names import TableName
from gaggle.spec import Migration

_SQL = re.compile(r"\bSELECT\b", re.I)
_ROW_RESTRICTION = re.compile(r"\browRestriction\s*=\s*(?:Some\s*\(\s*)?$")


def is_scala(path: str) -> bool:
    return path.lower().endswith(SCALA_SUFFIXES)


@dataclass(frozen=True)
class _Found:
    literal: ScalaLiteral
    kind: str  # "query" or "rowRestriction"


def scala_query_pairs(
    before: str, after: str, migration: Migration, problems: list[str]
) -> Iterator[tuple[str, CompiledModel, CompiledModel]]:
    """(label, before, after) for each query string or rowRestriction the edit changed,
    lines mapped to the edited file. What cannot be paired is appended to `problems`."""
    old_found, new_found = _queries(before), _queries(after)
    if [f.kind for f in old_found] != [f.kind for f in new_found]:
        problems.append(
            f"the edit changes which strings hold SQL ({len(old_found)} before, "
            f"{len(new_found)} after): the queries cannot be paired; check them by hand"
        )
        return
    forms = _table_forms(migration)
    for old, new in zip(old_found, new_found, strict=True):
        if old.literal.content(before) == new.literal.content(after):
            continue
        first_line = after.count("\n", 0, new.literal.content_start) + 1
        old_sql, new_sql = mask_literal(before, old.literal), mask_literal(after, new.literal)
        if old.kind == "rowRestriction":
            pair = _filtered_pair(before, old.literal, forms, migration)
            if pair is None:
                problems.append(
                    "a changed rowRestriction reads a table gaggle cannot tell from the file "
                    "(not named in a string before it): check it by hand"
                )
                continue
            old_sql = f"SELECT ({old_sql}) AS row_restriction FROM `{pair[0]}`"
            new_sql = f"SELECT ({new_sql}) AS row_restriction FROM `{pair[1]}`"
        yield (
            f"Scala {old.kind} string",
            CompiledModel(old_sql, ()),
            CompiledModel(new_sql, _lines(first_line, new_sql)),
        )


def _queries(text: str) -> list[_Found]:
    found = []
    for literal in scan_scala(text).literals:
        if _ROW_RESTRICTION.search(text[max(0, literal.start - 80) : literal.start]):
            found.append(_Found(literal, "rowRestriction"))
        elif _SQL.search(literal.content(text)):
            found.append(_Found(literal, "query"))
    return found


def _table_forms(migration: Migration) -> dict[str, tuple[TableName, TableName]]:
    """Every spelling a Scala string gives a table (`p:d.t`, `p.d.t`, `d.t`), old or new,
    to its (old, new) pair."""
    forms = {}
    for pair in migration.tables:
        for name in (pair.old, pair.new):
            for form in (str(name), f"{name.project}:{name.dataset}.{name.table}", name.short):
                forms.setdefault(form.lower(), (pair.old, pair.new))
    return forms


def _filtered_pair(
    text: str,
    restriction: ScalaLiteral,
    forms: dict[str, tuple[TableName, TableName]],
    migration: Migration,
) -> tuple[TableName, TableName] | None:
    """The (old, new) table a rowRestriction filters: the nearest string before it naming
    one (the read's table spec), else the migration's only table."""
    earlier = [lit for lit in scan_scala(text).literals if lit.end <= restriction.start]
    for literal in reversed(earlier):
        pair = forms.get(literal.content(text).strip("`").lower())
        if pair is not None:
            return pair
    if len(migration.tables) == 1:
        return migration.tables[0].old, migration.tables[0].new
    return None


def _lines(first: int, sql: str) -> tuple[int, ...]:
    return tuple(range(first, first + sql.count("\n") + 1))
