"""What a validator learns about one query, and how a rewrite is judged from two of them.

Every backend answers the same question for a query: does it compile, what is its
output schema, which tables does it read, how many bytes would it process. The
verdict on a rewrite compares the original's answer with the rewrite's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from gaggle.names import TableName

# A rewrite that reads this much more than the original is worth a reviewer's look.
BYTES_WARNING_RATIO = 1.5


@dataclass(frozen=True)
class Column:
    """One output column as BigQuery describes it: name, type, mode, nested fields."""

    name: str
    type: str  # standard SQL name: STRING, INT64, STRUCT, ...; UNKNOWN when not inferred
    mode: str = "NULLABLE"
    fields: tuple[Column, ...] = ()

    def describe(self) -> str:
        inner = f"<{', '.join(f.describe() for f in self.fields)}>" if self.fields else ""
        prefix = "ARRAY " if self.mode == "REPEATED" else ""
        return f"{self.name} {prefix}{self.type}{inner}"


@dataclass(frozen=True)
class QueryError:
    message: str
    line: int | None = None  # in the text given to the validator
    column: int | None = None


@dataclass
class Analysis:
    """One query, as a validator sees it."""

    columns: tuple[Column, ...] | None = None  # None for statements without output
    tables: tuple[str, ...] = ()  # fully-qualified names read
    unknown_tables: tuple[str, ...] = ()  # read, but outside the schema catalog
    bytes_processed: int | None = None
    error: QueryError | None = None
    # Why the output schema cannot be derived (a qualify limit, a star over a table
    # without schema): the statement is reported as not checkable, never passed as ok.
    not_checkable: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Validator(Protocol):
    name: str

    def analyze(self, sql: str) -> Analysis:
        """Compile one statement or script and describe it; never raises for bad SQL."""


@dataclass
class Verdict:
    """The evidence for one rewritten query."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    before: Analysis | None = None
    after: Analysis | None = None
    evidence: list[str] = field(default_factory=list)  # what was shown to hold

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "problems": self.problems,
            "warnings": self.warnings,
            "evidence": self.evidence,
            "bytes_before": self.before.bytes_processed if self.before else None,
            "bytes_after": self.after.bytes_processed if self.after else None,
            "unknown_tables": sorted(set(self.after.unknown_tables)) if self.after else [],
        }


def judge(before: Analysis, after: Analysis, old_tables: list[TableName]) -> Verdict:
    """Both compile, same output schema, no old table read, bytes compared."""
    problems: list[str] = []
    warnings: list[str] = []
    if not before.ok and not after.ok:
        warnings.append(f"neither compiles, nothing to compare: {after.error.message}")
    elif not before.ok:
        warnings.append(f"the original does not compile: {before.error.message}")
    elif not after.ok:
        problems.append(f"the rewrite does not compile: {after.error.message}")
    unsure = [a.not_checkable for a in (before, after) if a.ok and a.not_checkable]
    if unsure:
        warnings.append(f"output schema not checkable: {unsure[0]}")
    elif before.ok and after.ok and before.columns is not None and after.columns is not None:
        problems += _schema_differences(before.columns, after.columns, warnings)
    elif before.ok and after.ok and (before.columns is None) != (after.columns is None):
        problems.append("the rewrite changes whether the statement returns rows")
    old_names = {str(t).lower() for t in old_tables}
    still_old = [t for t in after.tables if t.lower() in old_names]
    if still_old:
        problems.append(f"the rewrite still reads {', '.join(sorted(set(still_old)))}")
    evidence = []
    if before.bytes_processed is not None and after.bytes_processed is not None:
        evidence.append(
            f"bytes processed {before.bytes_processed:,} before, {after.bytes_processed:,} after"
        )
    if before.bytes_processed and after.bytes_processed is not None:
        ratio = after.bytes_processed / before.bytes_processed
        if ratio > BYTES_WARNING_RATIO:
            warnings.append(
                f"bytes processed grow {ratio:.1f}x ({before.bytes_processed:,} to "
                f"{after.bytes_processed:,})"
            )
    return Verdict(not problems, problems, warnings, before, after, evidence)


def _schema_differences(
    before: tuple[Column, ...], after: tuple[Column, ...], warnings: list[str]
) -> list[str]:
    """Every difference in the output schema, each naming its column: names and order
    first (positional consumers such as INSERT ... SELECT * and UNION ALL depend on it),
    then type, mode and nested STRUCT fields of each column in place."""
    old_names = [c.name.lower() for c in before]
    new_names = [c.name.lower() for c in after]
    if old_names != new_names:
        return [_name_differences(before, after)]
    problems = []
    for old, new in zip(before, after, strict=True):
        if _unknown(old) or _unknown(new):
            warnings.append(f"the type of {old.name} cannot be inferred offline")
        elif old != new:
            problems.append(f"{old.name} changes from {old.describe()} to {new.describe()}")
            if old.fields or new.fields:
                problems += [f"  {d}" for d in _field_differences(old, new, old.name)]
    return problems


def _name_differences(before: tuple[Column, ...], after: tuple[Column, ...]) -> str:
    old = [c.name for c in before]
    new = [c.name for c in after]
    old_set, new_set = {n.lower() for n in old}, {n.lower() for n in new}
    parts = []
    dropped = [n for n in old if n.lower() not in new_set]
    added = [n for n in new if n.lower() not in old_set]
    if dropped:
        parts.append(f"the rewrite drops {', '.join(dropped)}")
    if added:
        parts.append(f"adds {', '.join(added)}")
    if not dropped and not added:
        moved = next(
            i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a.lower() != b.lower()
        )
        parts.append(f"reorders them: column {moved + 1} was {old[moved]}, is now {new[moved]}")
    elif len(old) == len(new) and len(dropped) == len(added):
        renamed = [
            f"{a} became {b}" for a, b in zip(old, new, strict=True) if a.lower() != b.lower()
        ]
        parts = [f"renamed: {', '.join(renamed)}"]
    return f"output columns differ ({'; '.join(parts)}): {', '.join(old)} became {', '.join(new)}"


def _field_differences(old: Column, new: Column, path: str) -> list[str]:
    """Where inside a STRUCT two columns differ, by dotted path."""
    found = []
    if old.mode != new.mode:
        found.append(f"{path}: mode {old.mode} became {new.mode}")
    if old.type != new.type:
        found.append(f"{path}: type {old.type} became {new.type}")
    new_fields = {f.name.lower(): f for f in new.fields}
    old_fields = {f.name.lower() for f in old.fields}
    for nested in old.fields:
        match = new_fields.get(nested.name.lower())
        if match is None:
            found.append(f"{path}.{nested.name} is missing in the rewrite")
        elif match != nested:
            found += _field_differences(nested, match, f"{path}.{nested.name}")
    found += [
        f"{path}.{f.name} is new in the rewrite"
        for f in new.fields
        if f.name.lower() not in old_fields
    ]
    if not found and [f.name.lower() for f in old.fields] != [f.name.lower() for f in new.fields]:
        found.append(f"{path}: the STRUCT fields are reordered")
    return found


def _unknown(column: Column) -> bool:
    return column.type == "UNKNOWN" or any(_unknown(f) for f in column.fields)
