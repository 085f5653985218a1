"""Jinja string literals that name an old table or an old column.

The engine masks every template, so a table or column spelled inside a Jinja literal
(`{% set src = 'acme-prod.core.users_v1' %} ... FROM `{{ src }}``, a `for` loop over
`['country', 'city']`, `{{ var('src', 'core.users_v1') }}`) is invisible to it: the file
would come back unchanged (or switched to the new table while the loop still emits old
column names), with no flag. Here:

- A variable set once to a string literal naming an old table (`{% set src = '...' %}`)
  whose every use `{{ src }}` is a whole table name in the SQL is *rewritten*: the engine
  is told that `{{ src }}` reads the old table (so the statements reading it get their
  column rewrites), and the literal becomes the new table's name, written the same way.
  Whether every use is a table is checked per rendering: the engine asks the resolver once
  per table it reads through a template, and the asks must match the rendered uses.
- Any other literal naming an old table is flagged where it stands.
- In a file that reads an old table, a literal in a tag (`{% for c in ['country'] %}`,
  `{% set cols = [...] %}`) naming a column the migration changes is flagged: the
  template renders it into the SQL, where gaggle does not edit it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from gaggle.names import TableName
from gaggle.spec import Migration
from gaggle.sql.engine import TemplateResolver, TemplateTable
from gaggle.sql.templates import EXPRESSION, TAG

# Templates the SQL sees: raw blocks and comments are skipped (their text is not Jinja code).
_TEMPLATE = re.compile(
    r"\{#.*?#\}|\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\}|" + EXPRESSION + "|" + TAG, re.S
)
_STRING = re.compile(r"'(?P<single>[^'\\\n]*)'|\"(?P<double>[^\"\\\n]*)\"")
_SET_LITERAL = re.compile(
    r"^\{%-?\s*set\s+(?P<name>\w+)\s*=\s*(?P<q>['\"])[^'\"\n]*(?P=q)\s*-?%\}$"
)
_USE = re.compile(r"^\{\{-?\s*(?P<name>\w+)\s*-?\}\}$")
_DBT_LOCATION = re.compile(r"\b(?:source|ref)\s*\(")
_VAR_NAME = re.compile(r"\bvar\s*\(\s*$")


@dataclass(frozen=True)
class Literal:
    """A string literal inside a Jinja tag or expression."""

    start: int  # the value's span, quotes excluded
    end: int
    value: str
    template: str  # the whole tag or expression holding it
    template_start: int


@dataclass
class TableVariable:
    """`{% set name = 'old table' %}`: a candidate for rewriting the literal."""

    name: str
    literal: Literal
    old: TableName
    replacement: str
    uses: list[tuple[int, int]] = field(default_factory=list)  # `{{ name }}` spans


def literals(text: str) -> list[Literal]:
    found = []
    for template in _TEMPLATE.finditer(text):
        source = template.group(0)
        if source.startswith("{#") or re.match(r"\{%-?\s*raw\b", source):
            continue
        for string in _STRING.finditer(source):
            group = "single" if string.group("single") is not None else "double"
            start = template.start() + string.start(group)
            found.append(
                Literal(
                    start,
                    start + len(string.group(group)),
                    string.group(group),
                    source,
                    template.start(),
                )
            )
    return found


class LiteralTables:
    """Built once per migration: which literal spellings name which old table."""

    def __init__(self, migration: Migration) -> None:
        self.new_for = {pair.old: pair.new for pair in migration.tables}
        self.full = {str(old).lower(): old for old in self.new_for}
        self.short: dict[str, list[TableName]] = {}
        for old in self.new_for:
            self.short.setdefault(old.short.lower(), []).append(old)
        words = sorted(
            {
                re.escape(old.table.lower().rstrip("*")) + (r"\w*" if old.is_wildcard else "")
                for old in self.new_for
            },
            key=len,
        )
        self.word = re.compile(r"(?<![\w-])(?:[\w-]+[.:])*(" + "|".join(words) + r")(?!\w)", re.I)
        self.datasets = {old.dataset.lower() for old in self.new_for}

    def exact(self, value: str) -> tuple[TableName, str] | None:
        """(old table, the new table's name in the same form) for a literal that is exactly
        a qualified old table (`project.dataset.table` or `dataset.table`)."""
        name = value.strip("`").lower().replace(":", ".", 1)
        if name in self.full:
            old = self.full[name]
            new = str(self.new_for[old])
            written = new.replace(".", ":", 1) if ":" in value else new  # legacy `p:d.t`
            return old, f"`{written}`" if value.startswith("`") else written
        candidates = self.short.get(name, [])
        if len(candidates) == 1 and "." in name:
            old = candidates[0]
            new = self.new_for[old]
            written = new.short if new.project == old.project else str(new)
            return old, f"`{written}`" if value.startswith("`") else written
        return None

    def mentions(self, value: str) -> str | None:
        """The old table name a literal mentions (any form, inside any text), if any."""
        for match in self.word.finditer(value):
            parts = re.split(r"[.:]", match.group(0).lower())
            if len(parts) == 1 or parts[-2] in self.datasets:  # not another dataset's table
                return match.group(0)
        return None

    def variables(self, text: str, found: list[Literal]) -> dict[str, TableVariable]:
        """Variables set once, to a literal naming exactly one old table."""
        result: dict[str, TableVariable] = {}
        for literal in found:
            match = _SET_LITERAL.match(literal.template)
            if match is None:
                continue
            exact = self.exact(literal.value)
            name = match.group("name")
            assigned = re.findall(r"\{%-?\s*(?:set|for)\b[^%]*?\b" + name + r"\b", text)
            if exact is None or len(assigned) != 1:
                continue
            result[name] = TableVariable(name, literal, exact[0], exact[1])
        used_otherwise: set[str] = set()
        for template in _TEMPLATE.finditer(text):
            source = template.group(0)
            if source.startswith("{#") or re.match(r"\{%-?\s*raw\b", source):
                continue
            use = _USE.match(source)
            if use and use.group("name") in result:
                result[use.group("name")].uses.append(template.span())
                continue
            code = _STRING.sub("''", source)
            for name, variable in result.items():
                if template.start() != variable.literal.template_start and re.search(
                    r"(?<![\w.])" + name + r"\b", code
                ):
                    used_otherwise.add(name)  # a filter, a condition, a macro argument...
        return {name: v for name, v in result.items() if name not in used_otherwise}


class CountingResolver:
    """The resolver the engine gets: `{{ var }}` of a table variable reads its old table;
    anything else goes to the adapter's resolver. Counts the asks per variable."""

    def __init__(self, tables: dict[str, TableVariable], fallback: TemplateResolver | None):
        self.tables = tables
        self.fallback = fallback
        self.calls: Counter[str] = Counter()

    def __call__(self, source: str) -> TemplateTable | None:
        use = _USE.match(source)
        if use and use.group("name") in self.tables:
            self.calls[use.group("name")] += 1
            return TemplateTable(self.tables[use.group("name")].old, source)
        return self.fallback(source) if self.fallback else None


def not_sql(literal: Literal) -> bool:
    """A literal that is no SQL text: the arguments of `source()`/`ref()` (the dbt adapter
    resolves those) and a variable's name (`var('orders')`: the value is what is read)."""
    before = literal.template[: literal.start - literal.template_start - 1]
    return bool(_DBT_LOCATION.search(literal.template) or _VAR_NAME.search(before))
