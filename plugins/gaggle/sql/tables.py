"""Which table a reference names, and how to spell its replacement in the author's form."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp

from gaggle.names import TableName
from gaggle.spec import Migration


@dataclass(frozen=True)
class TableMatch:
    old: TableName | None  # None when the short name is ambiguous
    candidates: tuple[TableName, ...]


class TableMatcher:
    """Matches table references against the migration's old tables and the catalog."""

    def __init__(self, migration: Migration) -> None:
        self.migration = migration
        self.new_for = {pair.old: pair.new for pair in migration.tables}
        self._full = {_key(str(old)): old for old in self.new_for}
        self._short: dict[str, list[TableName]] = {}
        for old in self.new_for:
            self._short.setdefault(_key(old.short), []).append(old)
        self._catalog_full = {_key(str(name)): name for name in migration.catalog.tables}
        self._catalog_short: dict[str, list[TableName]] = {}
        for name in migration.catalog.tables:
            self._catalog_short.setdefault(_key(name.short), []).append(name)
        self.old_table_words = {old.table.lower() for old in self.new_for}
        # Any spelling at all, the bare table name included: a file without one cannot
        # reference an old table, so it is not parsed (a wildcard table matches by prefix).
        self._any_spelling = re.compile(
            "|".join(
                rf"(?<![\w-]){re.escape(old.table.rstrip('*'))}"
                + (r"" if old.is_wildcard else r"(?![\w-])")
                for old in self.new_for
            ),
            re.IGNORECASE,
        )
        # An old table's dataset followed by a table name a template builds
        # (`core.{{ var('t') }}`, `core.users_{{ suffix }}`): it may name the old table.
        self._templated_table = re.compile(
            "|".join(
                rf"(?<![\w-]){re.escape(old.dataset)}`?\s*\.\s*`?[\w-]*\{{\{{"
                for old in self.new_for
            ),
            re.IGNORECASE,
        )
        # A qualified spelling: dataset.table at least, each part optionally backticked, or
        # inside a backticked whole (`p.d.t`); a bare table name is a word, not a reference.
        self._qualified = re.compile(
            "|".join(
                rf"(?<![\w-])`?{re.escape(old.dataset)}`?\s*\.\s*`?"
                + re.escape(old.table.rstrip("*"))
                + (r"" if old.is_wildcard else r"(?![\w-])")
                for old in self.new_for
            ),
            re.IGNORECASE,
        )

    def may_mention(self, text: str) -> bool:
        """Whether text spells an old table's name in any form (cheap; before parsing)."""
        return bool(self._any_spelling.search(text) or self._templated_table.search(text))

    def templated_match(self, parts: list[str], placeholders: list[str]) -> TableName | None:
        """The old table a name partly built by templates may stand for: each placeholder
        may render to anything, the rest must spell the old table's parts (`p.core.{{ t }}`
        may be `p.core.users_v1`; `p.other.{{ t }}` is not). The dataset must be written:
        `{{ ds }}.{{ t }}` may be any table, so flagging it would flag every such file."""
        ordered = sorted(placeholders, key=len, reverse=True)
        patterns = []
        for part in parts:
            pieces = re.split("(" + "|".join(map(re.escape, ordered)) + ")", part.lower())
            patterns.append("".join(".*" if p in ordered else re.escape(p) for p in pieces))
        if len(parts) not in (2, 3) or not patterns[-2].replace(".*", ""):
            return None  # no dataset written: it may be any table at all
        for old in self.new_for:
            written = [old.project, old.dataset, old.table.rstrip("*")][-len(parts) :]
            if all(
                re.fullmatch(p, w.lower(), re.S) for p, w in zip(patterns, written, strict=True)
            ):
                return old
        return None

    def mentions_qualified(self, text: str) -> bool:
        """Whether text names an old table with its dataset (full, short, legacy `p:d.t`,
        backticked per part or whole, wildcard prefix). The same table name in another
        dataset, a bare name in prose, a path like `sql/p/d/users_v1/q.sql` do not."""
        return bool(self._qualified.search(text))

    def match_old(self, table: exp.Table) -> TableMatch | None:
        """The old table a reference names, or None when it names no old table."""
        parts = _parts(table)
        if len(parts) == 3:
            found = self._full.get(_key(".".join(parts)))
            return TableMatch(found, (found,)) if found else None
        if len(parts) == 2:
            found_short = self._short.get(_key(".".join(parts)), [])
            if len(found_short) == 1:
                return TableMatch(found_short[0], tuple(found_short))
            if found_short:
                return TableMatch(None, tuple(found_short))
        return None

    def match_old_ignoring_case(self, table: exp.Table) -> TableName | None:
        """The old table a reference would name if names were case-insensitive (as in a
        dataset created case-insensitive): a lookalike a human must confirm."""
        name = ".".join(_parts(table)).lower()
        found = [old for old in self.new_for if name in (str(old).lower(), old.short.lower())]
        return found[0] if len(found) == 1 else None

    def catalog_name(self, table: exp.Table) -> TableName | None:
        """The catalog table a reference names (old, new or any other with a schema)."""
        parts = _parts(table)
        if len(parts) == 3:
            return self._catalog_full.get(_key(".".join(parts)))
        if len(parts) == 2:
            found = self._catalog_short.get(_key(".".join(parts)), [])
            return found[0] if len(found) == 1 else None
        return None

    def rename_spec(self, spec: str) -> str | None:
        """A table named in a string (`p.d.t`, legacy `p:d.t`, or `d.t`) renamed in the same
        form, or None when it names no old table (or an ambiguous short one)."""
        if len(spec) > 2 and spec[0] == spec[-1] == "`" and "`" not in spec[1:-1]:
            inner = self.rename_spec(spec[1:-1])
            return f"`{inner}`" if inner is not None else None
        legacy = ":" in spec and spec.count(":") == 1 and "." in spec.split(":", 1)[1]
        dotted = spec.replace(":", ".", 1) if legacy else spec
        parts = dotted.split(".")
        if len(parts) == 3:
            old = self._full.get(_key(dotted))
        elif len(parts) == 2:
            found = self._short.get(_key(dotted), [])
            old = found[0] if len(found) == 1 else None
        else:
            old = None
        if old is None:
            return None
        new = self.new_for[old]
        if len(parts) == 2:
            return new.short if new.project == old.project else str(new)
        return f"{new.project}:{new.dataset}.{new.table}" if legacy else str(new)

    def replacement_text(self, original: str, table: exp.Table, old: TableName) -> str:
        """The new table's name written the way the author wrote the old one."""
        new = self.new_for[old]
        parts = _parts(table)
        whole_quoted = (
            original.startswith("`") and original.endswith("`") and original.count("`") == 2
        )
        if len(parts) == 2 and new.project != old.project:
            return new.quoted()  # the short form only works in the same project
        if new.project == old.project and new.dataset == old.dataset:
            return _replace_last_part(original, old.table, new.table)
        if whole_quoted:
            return f"`{new}`" if len(parts) == 3 else f"`{new.short}`"
        written = [new.project, new.dataset, new.table][-len(parts) :]
        quoted_parts = [p.startswith("`") for p in _split_written(original)]
        return ".".join(f"`{w}`" if q else w for w, q in zip(written, quoted_parts, strict=False))


def _parts(table: exp.Table) -> list[str]:
    return [p.name for p in table.parts]


def _key(name: str) -> str:
    """BigQuery dataset and table names are case-sensitive (USERS_V1 is another table);
    project ids are lower-case, so a project's spelling does not matter."""
    parts = name.rsplit(".", 2)
    if len(parts) == 3:
        parts[0] = parts[0].lower()
    return ".".join(parts)


def _replace_last_part(original: str, old_table: str, new_table: str) -> str:
    closing = "`" if original.endswith("`") else ""
    body = original[: len(original) - len(closing)]
    if body.lower().endswith(old_table.lower()):
        return body[: len(body) - len(old_table)] + new_table + closing
    raise ValueError(f"{original!r} does not end with {old_table!r}")


def _split_written(original: str) -> list[str]:
    """Split `a`.b.`c` into its written parts, keeping backticks."""
    parts, current, quoted = [], "", False
    for ch in original:
        if ch == "`":
            quoted = not quoted
        if ch == "." and not quoted:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    parts.append(current.strip())
    return parts
