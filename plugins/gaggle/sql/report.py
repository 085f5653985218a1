"""What a rewrite did: every change and every flag, located in the original text."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum


class FlagReason(StrEnum):
    """The closed list of reasons a reference is left for a human."""

    MANUAL_COLUMN = "manual-column"  # the mapping table says: a judgment call
    AMBIGUOUS_COLUMN = "ambiguous-column"  # an unqualified name several sources have
    UNKNOWN_SOURCE_SCHEMA = "unknown-source-schema"  # a source without schema may own the name
    AMBIGUOUS_TABLE = "ambiguous-table"  # a short table name two old tables match
    UNPARSEABLE = "unparseable"  # the SQL does not parse: the file is left unchanged
    UNRESOLVED_TEMPLATE = "unresolved-template"  # a template names an old table we cannot edit
    STAR_OVER_USING_JOIN = "star-over-using-join"  # * over a USING join: expand by hand
    UNRESOLVED_REFERENCE = "unresolved-reference"  # an old table name the engine could not place
    WRITES_OLD_TABLE = "writes-old-table"  # DML into the deprecated table itself
    COLUMN_DOCS = "column-docs"  # source column docs/tests of a column with no plain new name
    INTERNAL_ERROR = "internal-error"  # a bug in gaggle: the file is left unchanged


def todo_marker(migration_id: str) -> str:
    """What every comment gaggle writes into a file starts with: the reviewer finds the
    decisions by it, and the sweep's re-scan keeps a repo out of done while one is left."""
    return f"TODO(data-migration {migration_id})"


# Flags that ask a human to decide (the PR says where, the guide says how); the others
# are the engine's own limits. One list for the PR body, the ledger and the dashboard.
DECISIONS = frozenset(
    {
        FlagReason.MANUAL_COLUMN,
        FlagReason.COLUMN_DOCS,
        FlagReason.AMBIGUOUS_COLUMN,
        FlagReason.UNKNOWN_SOURCE_SCHEMA,
    }
)


@dataclass(frozen=True)
class Change:
    line: int
    column: int
    before: str
    after: str
    rule: str  # table, column, qualifier, star, manual-comment, template
    start: int = 0  # offset of `before` in the original text
    end: int = 0


@dataclass(frozen=True)
class Flag:
    line: int
    column: int
    reason: FlagReason
    message: str
    traceback: str = ""  # an internal error's, for the bug report; empty otherwise


@dataclass
class RewriteResult:
    original: str
    text: str
    changes: list[Change] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.text != self.original

    @property
    def references_found(self) -> bool:
        return bool(self.changes or self.flags)

    def to_dict(self) -> dict:
        return {
            "changed": self.changed,
            "changes": [asdict(c) for c in self.changes],
            "flags": [{**asdict(f), "reason": str(f.reason)} for f in self.flags],
        }
