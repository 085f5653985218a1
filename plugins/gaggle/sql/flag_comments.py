"""No report-only failures: every flag of a SQL file becomes a comment in the file itself.

A flag the engine raises (an unparseable statement, an unresolved template, an
ambiguous name, a branch-dependent reference) is written as a `-- TODO(data-migration
<id>)` line right above the flagged line, naming the old table (and column), why, and
the migration guide. So the PR shows it where the reviewer reads the code, and the
sweep's re-scan finds the same flag again until a human resolves it. Manual columns
already get their comment from the engine. A re-run adds no comment twice. The comment
edits carry the engine's `manual-comment` rule, so adapters that embed SQL in another
language (a Scala string) place or drop them as they do the engine's own comments.

Also here: a macro call whose string arguments name a column the migration renames
(`{{ dbt_utils.generate_surrogate_key(['u.plan']) }}`). gaggle does not edit inside
a macro's arguments, so such a call is flagged rather than left silently stale.
"""

from __future__ import annotations

import re

from gaggle.spec import Migration
from gaggle.sql.edits import Edit, LineIndex
from gaggle.sql.edits import apply as apply_edits
from gaggle.sql.report import Change, Flag, FlagReason, RewriteResult, todo_marker
from gaggle.sql.template_literals import LiteralTables, literals, not_sql
from gaggle.sql.templates import EXPRESSION

_ALREADY_COMMENTED = {FlagReason.MANUAL_COLUMN, FlagReason.COLUMN_DOCS}
_EXPRESSION = re.compile(EXPRESSION, re.S)
_CONFIG = re.compile(r"\{\{-?\s*config\s*\(")
_STRING = re.compile(r"'([^'\n]*)'|\"([^\"\n]*)\"")
# Tags whose literals can end up in the rendered SQL (not `if` conditions: those only test).
_SET_BLOCK = re.compile(
    r"\{%-?\s*set\s+(?P<name>\w+)\s*-?%\}(?P<body>.*?)\{%-?\s*endset\s*-?%\}", re.S
)
_RENDERING_TAG = re.compile(r"\{%-?\s*(?:for|set|macro|call|with)\b")
SQL_KINDS = ("sql", "dbt-model", "dbt-macro")


class FlagCommenter:
    """Built once per migration: which column names count, what the comment says."""

    def __init__(self, migration: Migration) -> None:
        self.migration = migration
        self.old_tables = [pair.old for pair in migration.tables]
        changed: dict[str, str] = {}
        for rule in migration.rules:
            name = ".".join(rule.path).lower()
            if rule.action != "map" or (rule.expression or "").lower() != name:
                changed.setdefault(rule.path[0].lower(), str(rule.old_table))
        self.changed_columns = changed
        self.column_word = (
            re.compile(
                r"(?<![\w.])(?:\w+\.)?(" + "|".join(map(re.escape, changed)) + r")(?!\w)", re.I
            )
            if changed
            else None
        )
        self.literal_tables = LiteralTables(migration)

    def macro_argument_flags(self, result: RewriteResult, reads_old: bool = False) -> list[Flag]:
        """A `{{ macro('...u.plan...') }}` in a file reading an old table names a renamed column.
        `reads_old`: the caller knows the file reads a migrated table with no edit (a dbt
        source that moved as a whole)."""
        text = result.original
        reads_old = reads_old or any(c.rule in ("table", "template") for c in result.changes)
        if "{{" not in text or not reads_old or self.column_word is None:
            return self.literal_flags(result, reads_old)  # columns: a file reading old only
        index = LineIndex(text)
        flags = []
        for expression in _EXPRESSION.finditer(text):
            for string in _STRING.finditer(expression.group(0)):
                value = string.group(1) if string.group(1) is not None else string.group(2)
                found = self.column_word.search(value)
                if found is None or "source(" in expression.group(0):
                    continue
                if (
                    _CONFIG.match(expression.group(0))
                    and value.strip().lower() == found.group(1).lower()
                ):
                    continue  # cluster_by/unique_key: the model's output column, kept by an alias
                column = found.group(1).lower()
                line, col = index.position(expression.start())
                flags.append(
                    Flag(
                        line,
                        col,
                        FlagReason.UNRESOLVED_TEMPLATE,
                        f"a macro argument names the column {column} of "
                        f"{self.changed_columns[column]}, which the migration changes; "
                        "gaggle does not edit macro arguments: update it by hand",
                    )
                )
                break
        return flags + self.literal_flags(result, reads_old)

    def literal_flags(self, result: RewriteResult, reads_old: bool) -> list[Flag]:
        """Jinja literals the rewrite left: one naming an old table (always), one in a tag
        naming a changed column (a `for` loop's list, a `set` list) in a file reading an
        old table. Expressions' column literals are macro_argument_flags' above."""
        text = result.original
        if "{" not in text:
            return []
        edited = [(c.start, c.end) for c in result.changes if c.end > c.start]
        index = LineIndex(text)
        flags = []
        flagged: set[int] = set()
        for literal in literals(text):
            if literal.template_start in flagged or not_sql(literal):
                continue
            if any(a <= literal.start and literal.end <= b for a, b in edited):
                continue  # rewritten (a table variable): nothing left to say
            line, col = index.position(literal.start)
            table = self.literal_tables.mentions(literal.value)
            if table is not None:
                message = (
                    f"the Jinja literal {literal.value!r} names the old table {table}; gaggle "
                    "cannot tell how the template uses it (only a variable set once and used "
                    "only as a table name is rewritten): point it at the new table by hand"
                )
            elif _RENDERING_TAG.match(literal.template) and reads_old and self.column_word:
                found = self.column_word.search(literal.value)
                if found is None:
                    continue
                column = found.group(1).lower()
                message = (
                    f"the Jinja literal {literal.value!r} names the column {column} of "
                    f"{self.changed_columns[column]}, which the migration changes; the "
                    "template renders it into the SQL, where gaggle does not edit it: "
                    "update it by hand"
                )
            else:
                continue
            flagged.add(literal.template_start)
            flags.append(Flag(line, col, FlagReason.UNRESOLVED_TEMPLATE, message))
        return flags + self._set_block_flags(text, index, reads_old)

    def _set_block_flags(self, text: str, index: LineIndex, reads_old: bool) -> list[Flag]:
        """`{% set q %}...{% endset %}` bodies are rendered where `{{ q }}` stands, never in
        place, so no rendering shows them to the engine: an old table named in one is
        flagged, and so is a changed column when the file reads an old table and uses q."""
        flags = []
        for block in _SET_BLOCK.finditer(text):
            body = _EXPRESSION.sub(" ", block.group("body"))
            table = self.literal_tables.mentions(body)
            used = re.search(r"\{\{-?\s*" + block.group("name") + r"\b", text)
            found = self.column_word.search(body) if self.column_word else None
            if table is not None:
                message = (
                    f"the set block {block.group('name')} names the old table {table}; "
                    "gaggle does not rewrite SQL inside a set block: migrate it by hand"
                )
            elif found is not None and reads_old and used:
                column = found.group(1).lower()
                message = (
                    f"the set block {block.group('name')} names the column {column} of "
                    f"{self.changed_columns[column]}, which the migration changes, and is "
                    "rendered into the SQL, where gaggle does not edit it: update it by hand"
                )
            else:
                continue
            line, col = index.position(block.start())
            flags.append(Flag(line, col, FlagReason.UNRESOLVED_TEMPLATE, message))
        return flags

    def annotate(self, result: RewriteResult, extra: list[Flag] | None = None) -> RewriteResult:
        """The result with a TODO comment line above every flagged line not commented yet."""
        flags = list(result.flags) + list(extra or [])
        wanted = [f for f in flags if f.reason not in _ALREADY_COMMENTED]
        if not wanted:
            return result if not extra else _with_flags(result, flags)
        original = result.original
        index = LineIndex(original)
        by_line: dict[int, list[str]] = {}
        tables = self._tables_in(original)
        for flag in sorted(wanted, key=lambda f: (f.line, f.column)):
            line = min(max(flag.line, 1), len(index.starts))
            comment = self.comment(flag, tables)
            above = index.comment_block_above(line, "--")
            if comment not in above and comment not in by_line.get(line, []):
                by_line.setdefault(line, []).append(comment)
        edits = [Edit(c.start, c.end, c.after, c.rule) for c in result.changes]
        if apply_edits(original, edits) != result.text:  # changes without offsets (the LLM's)
            return _insert_by_line(result, by_line, _sorted(flags))
        changes = list(result.changes)
        for line, comments in by_line.items():
            text = index.line_text(line)
            indent = text[: len(text) - len(text.lstrip())]
            start = index.line_start(line)
            block = "".join(f"{indent}{comment}\n" for comment in comments)
            edits.append(Edit(start, start, block, "manual-comment"))
            changes.append(Change(line, 1, "", block, "manual-comment", start, start))
        changes.sort(key=lambda c: (c.start, c.end))
        return RewriteResult(original, apply_edits(original, edits), changes, _sorted(flags))

    def comment(self, flag: Flag, tables: str) -> str:
        message = " ".join(flag.message.split()).rstrip(".")
        return (
            f"-- {todo_marker(self.migration.id)}: {tables}: {flag.reason}: {message}. "
            f"See {self.migration.guide_url}"
        )

    def _tables_in(self, text: str) -> str:
        lowered = text.lower()
        named = [str(old) for old in self.old_tables if old.table.lower().rstrip("*") in lowered]
        return ", ".join(named or [str(old) for old in self.old_tables])


def comment_outcome(files, migration: Migration) -> None:
    """Comments for the flags still standing on every SQL file of a repo outcome, in place:
    the last step when something (the LLM fallback) worked on the flags first."""
    commenter = FlagCommenter(migration)
    for file in files:
        if file.kind in SQL_KINDS and file.result.flags:
            file.result = commenter.annotate(file.result)


def _insert_by_line(result: RewriteResult, by_line: dict[int, list[str]], flags) -> RewriteResult:
    """Comment lines placed above where each flagged original line ended up."""
    import difflib

    old_lines = result.original.split("\n")
    new_lines = result.text.split("\n")
    where: dict[int, int] = {}
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for _tag, a1, a2, b1, b2 in matcher.get_opcodes():
        for offset in range(a2 - a1):
            where[a1 + offset + 1] = b1 + min(offset, max(b2 - b1 - 1, 0)) + 1
    inserts: dict[int, list[str]] = {}
    for line, comments in by_line.items():
        target = where.get(line, min(line, len(new_lines)))
        above = new_lines[max(target - 1 - len(comments), 0) : target - 1]
        text = new_lines[target - 1] if target - 1 < len(new_lines) else ""
        indent = text[: len(text) - len(text.lstrip())]
        fresh = [indent + c for c in comments if c not in [a.strip() for a in above]]
        if fresh:
            inserts.setdefault(target, []).extend(fresh)
    out = []
    for number, text in enumerate(new_lines, 1):
        out.extend(inserts.get(number, []))
        out.append(text)
    return RewriteResult(result.original, "\n".join(out), list(result.changes), flags)


def _with_flags(result: RewriteResult, flags: list[Flag]) -> RewriteResult:
    return RewriteResult(result.original, result.text, result.changes, _sorted(flags))


def _sorted(flags: list[Flag]) -> list[Flag]:
    unique = {(f.line, f.column, f.reason, f.message): f for f in flags}
    return sorted(unique.values(), key=lambda f: (f.line, f.column, f.reason))
