"""Fully-qualified BigQuery table names, as the spec writes them."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A project id, optionally domain-scoped ("example.com:my-project").
_PROJECT = r"(?:[a-z][a-z0-9.\-]*:)?[a-z][a-z0-9\-]{4,28}[a-z0-9]"
_DATASET = r"[A-Za-z0-9_]{1,1024}"
# Table names allow letters, digits, underscores and dashes; a date-sharded
# table keeps its trailing wildcard.
_TABLE = r"[A-Za-z0-9_\-]{1,1024}\*?|\*"
_QUALIFIED = re.compile(rf"^(?P<project>{_PROJECT})\.(?P<dataset>{_DATASET})\.(?P<table>{_TABLE})$")


@dataclass(frozen=True, order=True)
class TableName:
    project: str
    dataset: str
    table: str

    @classmethod
    def parse(cls, text: str) -> TableName:
        """Parse `project.dataset.table`; raises ValueError naming the expected form."""
        match = _QUALIFIED.match(text.strip())
        if not match:
            raise ValueError(
                f"{text!r} is not a fully-qualified table name of the form project.dataset.table"
            )
        return cls(match["project"], match["dataset"], match["table"])

    @property
    def is_wildcard(self) -> bool:
        return self.table.endswith("*")

    @property
    def short(self) -> str:
        """The `dataset.table` form a consumer uses when the project is its default."""
        return f"{self.dataset}.{self.table}"

    def __str__(self) -> str:
        return f"{self.project}.{self.dataset}.{self.table}"

    def quoted(self) -> str:
        return f"`{self}`"


# GoogleSQL reserved keywords: an alias spelled like one must be backticked.
RESERVED_KEYWORDS = frozenset(
    [
        "ALL",
        "AND",
        "ANY",
        "ARRAY",
        "AS",
        "ASC",
        "ASSERT_ROWS_MODIFIED",
        "AT",
        "BETWEEN",
        "BY",
        "CASE",
        "CAST",
        "COLLATE",
        "CONTAINS",
        "CREATE",
        "CROSS",
        "CUBE",
        "CURRENT",
        "DEFAULT",
        "DEFINE",
        "DESC",
        "DISTINCT",
        "ELSE",
        "END",
        "ENUM",
        "ESCAPE",
        "EXCEPT",
        "EXCLUDE",
        "EXISTS",
        "EXTRACT",
        "FALSE",
        "FETCH",
        "FOLLOWING",
        "FOR",
        "FROM",
        "FULL",
        "GROUP",
        "GROUPING",
        "GROUPS",
        "HASH",
        "HAVING",
        "IF",
        "IGNORE",
        "IN",
        "INNER",
        "INTERSECT",
        "INTERVAL",
        "INTO",
        "IS",
        "JOIN",
        "LATERAL",
        "LEFT",
        "LIKE",
        "LIMIT",
        "LOOKUP",
        "MERGE",
        "NATURAL",
        "NEW",
        "NO",
        "NOT",
        "NULL",
        "NULLS",
        "OF",
        "ON",
        "OR",
        "ORDER",
        "OUTER",
        "OVER",
        "PARTITION",
        "PRECEDING",
        "PROTO",
        "QUALIFY",
        "RANGE",
        "RECURSIVE",
        "RESPECT",
        "RIGHT",
        "ROLLUP",
        "ROWS",
        "SELECT",
        "SET",
        "SOME",
        "STRUCT",
        "TABLESAMPLE",
        "THEN",
        "TO",
        "TREAT",
        "TRUE",
        "UNBOUNDED",
        "UNION",
        "UNNEST",
        "USING",
        "WHEN",
        "WHERE",
        "WINDOW",
        "WITH",
        "WITHIN",
    ]
)


def quote_identifier(name: str) -> str:
    """The name as BigQuery needs it written: backticked only when it must be."""
    if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name) and name.upper() not in RESERVED_KEYWORDS:
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"
