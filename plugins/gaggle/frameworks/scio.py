"""Scio (Scala) pipelines: table names and BigQuery SQL inside Scala string literals.

A small Scala-aware scanner finds every string literal (plain `"..."` and triple-quoted
`\"\"\"...\"\"\"`, with or without an interpolator such as `s` or `f`), skipping `//` and
`/* */` comments, char literals and backquoted identifiers. Then, as character edits on
the original text (the file is never regenerated):

1. A literal whose whole content names an old table (`acme-prod:core.users_v1`,
   `acme-prod.core.users_v1`, `core.users_v1`) is renamed in the same form:
   `Table.Spec("...")`, `@BigQueryType.fromTable("...")`, plain vals.
2. A literal holding SQL (it matches `SELECT`) goes through the engine. The content is
   masked first so offsets stay identical: stripMargin margins become spaces and `$x` /
   `${expr}` interpolations become identifiers of the same length. The engine's
   manual-column comments carry the `|` margin of the line below them, and `$` / `%` in
   new text are escaped for interpolators. If the new SQL cannot be written back into the
   literal (a single-line string with escapes, an edit touching an interpolation), the
   literal is left as is and flagged. Legacy-SQL `[project:dataset.table]` references to an
   old table are flagged, not rewritten.
3. A class annotated `@BigQueryType.fromTable(<old table>)` gets its fields from the new
   table after the rewrite, so `<ident>.<column>` accesses of renamed or manual columns
   get a TODO comment above their line and a flag. A class annotated `fromQuery(...)`
   keeps its field names, because the engine keeps every output name (`email_address AS
   email`), so only its manual columns are commented and flagged. `row.get("<column>")`
   on untyped TableRows gets the same treatment when the file reads an old table by name.
4. Whatever else mentions an old table outside comments is flagged: nothing is left
   silently.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlglot.dialects.bigquery import BigQuery
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from gaggle.frameworks.base import RepoFile, result_from_edits, shift_result
from gaggle.names import TableName
from gaggle.sql import RewriteResult, SqlRewriter
from gaggle.sql.edits import Edit, LineIndex
from gaggle.sql.report import Flag, FlagReason

SCALA_SUFFIXES = (".scala", ".sc")
_IDENT_START = re.compile(r"[A-Za-z_]")
_IDENT_CHARS = re.compile(r"[A-Za-z0-9_]*")
_SQL = re.compile(r"\bSELECT\b", re.I)
_SCIO_IMPORT = re.compile(r"^\s*import\s+com\.spotify\.scio\b", re.M)
_SCIO_WORD = re.compile(r"\bscio\b", re.I)
_STRIP_MARGIN = re.compile(r"\s*\.\s*stripMargin\b(?:\s*\(\s*'(.)'\s*\))?")
_LEGACY_TABLE = re.compile(
    r"\[([A-Za-z0-9_\-]+:[A-Za-z0-9_]+\.[A-Za-z0-9_$*]+|[A-Za-z0-9_]+\.[A-Za-z0-9_$*]+)\]"
)
_ANNOTATION = re.compile(r"@BigQueryType\s*\.\s*(fromTable|fromStorage|fromQuery)\s*\(")
_CLASS_AFTER = re.compile(
    r"(?:\s|@[\w.]+(?:\([^()]*\))?|\b(?:case|final|private|protected|sealed|abstract)\b)*"
    r"class\s+([A-Za-z_]\w*)"
)
_ACCESS = re.compile(r"(?<![\w.$])([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b")
_ROW_GET = re.compile(r"\.\s*(?:get|getOrDefault|containsKey)\s*\(\s*$")
_VAL_OF_SPEC = re.compile(
    r"\b(?:val|var|def)\s+([A-Za-z_]\w*)\s*(?::[^=\n]+)?=\s*(?:Table\s*\.\s*Spec\s*\(\s*)?$"
)
_DIRECTIVE_LINE = re.compile(r"^\s*(?:import|package)\b")


# ------------------------------------------------------------------ scanner


@dataclass(frozen=True)
class ScalaLiteral:
    """One string literal: offsets into the file, its interpolator and its splices."""

    start: int  # the interpolator's first character, or the opening quote
    end: int  # after the closing quote
    content_start: int
    content_end: int
    triple: bool
    interpolator: str = ""  # "s", "f", "raw", ... or "" for a plain literal
    splices: tuple[tuple[int, int], ...] = ()  # `$name` / `${expr}` spans, absolute

    def content(self, text: str) -> str:
        return text[self.content_start : self.content_end]

    def margin_char(self, text: str) -> str | None:
        """The stripMargin character when the literal is followed by `.stripMargin`."""
        found = _STRIP_MARGIN.match(text, self.end)
        if found is None:
            return None
        return found.group(1) or "|"


@dataclass
class ScalaScan:
    literals: list[ScalaLiteral] = field(default_factory=list)
    comments: list[tuple[int, int]] = field(default_factory=list)

    def non_code(self) -> list[tuple[int, int]]:
        spans = [(lit.start, lit.end) for lit in self.literals] + self.comments
        return sorted(spans)

    def code_spans(self, length: int) -> list[tuple[int, int]]:
        """The parts of the file that are neither literal nor comment."""
        spans, cursor = [], 0
        for start, end in self.non_code():
            if start > cursor:
                spans.append((cursor, start))
            cursor = max(cursor, end)
        if cursor < length:
            spans.append((cursor, length))
        return spans


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0  # > 0 inside an interpolated `${...}`: nothing is recorded there
        self.scan = ScalaScan()

    def run(self) -> ScalaScan:
        self._code(nested=False)
        return self.scan

    def _code(self, nested: bool) -> None:
        text, braces = self.text, 0
        while self.pos < len(text):
            ch = text[self.pos]
            two = text[self.pos : self.pos + 2]
            if two == "//":
                self._line_comment()
            elif two == "/*":
                self._block_comment()
            elif ch == '"':
                self._string()
            elif ch == "'":
                self._char()
            elif ch == "`":
                end = text.find("`", self.pos + 1)
                newline = text.find("\n", self.pos + 1)
                self.pos = (
                    end + 1 if end != -1 and (newline == -1 or end < newline) else self.pos + 1
                )
            elif nested and ch == "}" and braces == 0:
                return
            else:
                braces += (ch == "{") - (ch == "}") if nested else 0
                self.pos += 1

    def _line_comment(self) -> None:
        end = self.text.find("\n", self.pos)
        end = len(self.text) if end == -1 else end
        self._record_comment(self.pos, end)
        self.pos = end

    def _block_comment(self) -> None:
        """Scala block comments nest."""
        start, level, i = self.pos, 0, self.pos
        while i < len(self.text):
            two = self.text[i : i + 2]
            if two == "/*":
                level, i = level + 1, i + 2
            elif two == "*/":
                level, i = level - 1, i + 2
                if level == 0:
                    break
            else:
                i += 1
        self._record_comment(start, i)
        self.pos = i

    def _record_comment(self, start: int, end: int) -> None:
        if self.depth == 0:
            self.scan.comments.append((start, end))

    def _char(self) -> None:
        """A char literal ('a', '\\n', '\\u0041', '"'), or a lone quote (a Scala 2 symbol)."""
        text, i = self.text, self.pos
        if text[i + 1 : i + 2] == "\\":
            close = text.find("'", i + 3)
            self.pos = close + 1 if close != -1 and close - i <= 8 else i + 1
        elif text[i + 2 : i + 3] == "'" and text[i + 1 : i + 2] not in ("", "\n"):
            self.pos = i + 3
        else:
            self.pos = i + 1

    def _interpolator_before(self, quote: int) -> str:
        i = quote
        while i > 0 and (self.text[i - 1].isalnum() or self.text[i - 1] == "_"):
            i -= 1
        word = self.text[i:quote]
        return word if word and _IDENT_START.match(word) else ""

    def _string(self) -> None:
        text, quote = self.text, self.pos
        interpolator = self._interpolator_before(quote)
        triple = text.startswith('"""', quote)
        content_start = quote + (3 if triple else 1)
        splices: list[tuple[int, int]] = []
        i = content_start
        content_end = end = len(text)
        while i < len(text):
            if triple and text.startswith('"""', i):
                j = i + 3
                while j < len(text) and text[j] == '"':
                    j += 1  # extra quotes before the closing three belong to the content
                content_end, end = j - 3, j
                break
            ch = text[i]
            if not triple and ch in ('"', "\n"):
                content_end, end = i, i + (ch == '"')
                break
            if not triple and ch == "\\":
                i += 2
            elif interpolator and ch == "$":
                i = self._splice(i, splices)
            else:
                i += 1
        if self.depth == 0:
            self.scan.literals.append(
                ScalaLiteral(
                    quote - len(interpolator),
                    end,
                    content_start,
                    content_end,
                    triple,
                    interpolator,
                    tuple(splices),
                )
            )
        self.pos = end

    def _splice(self, dollar: int, splices: list[tuple[int, int]]) -> int:
        """Skips `$$`, `$"`, `$name` or `${expr}`; returns the offset after it."""
        text = self.text
        following = text[dollar + 1 : dollar + 2]
        if following in ("$", '"'):
            return dollar + 2
        if following == "{":
            self.pos = dollar + 2
            self.depth += 1
            self._code(nested=True)
            self.depth -= 1
            end = min(self.pos + 1, len(text))
            splices.append((dollar, end))
            return end
        if following and _IDENT_START.match(following):
            end = _IDENT_CHARS.match(text, dollar + 2).end()
            splices.append((dollar, end))
            return end
        return dollar + 1


def scan_scala(text: str) -> ScalaScan:
    """Every top-level string literal and comment of a Scala source, in text order."""
    return _Scanner(text).run()


def mask_literal(text: str, literal: ScalaLiteral) -> str:
    """The literal's content with the same length and offsets, fit for the SQL engine:
    stripMargin margins become spaces, interpolations become identifiers (`$name` ->
    `_name`, `${expr}` -> `__expr_` with every non-word character an underscore)."""
    start = literal.content_start
    chars = list(literal.content(text))
    for splice_start, splice_end in literal.splices:
        for i in range(splice_start - start, min(splice_end - start, len(chars))):
            if not (chars[i].isalnum() or chars[i] == "_"):
                chars[i] = "_"
    margin = literal.margin_char(text)
    if margin is not None:
        content = literal.content(text)
        line_starts = [0] + [i + 1 for i, ch in enumerate(content) if ch == "\n"]
        for line_start in line_starts:
            i = line_start
            while i < len(chars) and chars[i] in " \t":
                i += 1
            if i < len(chars) and chars[i] == margin:
                chars[line_start : i + 1] = " " * (i + 1 - line_start)
    return "".join(chars)


def _touches(edit: Edit, start: int, end: int) -> bool:
    """Whether an edit changes characters of [start, end) (inserting before it does not)."""
    if edit.start == edit.end:
        return start < edit.start < end
    return edit.start < end and start < edit.end


# ------------------------------------------------------------------ columns


@dataclass(frozen=True)
class _FieldChange:
    """What became of one top-level column of an old table, as (path, phrase) parts."""

    column: str
    manual: bool
    parts: tuple[tuple[str, str], ...]  # ("email", "is now email_address")


def _field_changes(engine: SqlRewriter, old: TableName) -> dict[str, _FieldChange]:
    """The top-level columns whose field no longer exists under the same name."""
    rules = engine.rules[old]
    changes: dict[str, _FieldChange] = {}
    for fld in engine.old_schema(old).fields:
        name = fld.name
        own = rules.get((name.lower(),))
        paths = (
            [own]
            if own is not None
            else [r for path, r in rules.items() if len(path) > 1 and path[0] == name.lower()]
        )
        parts = []
        manual = False
        for rule in paths:
            if rule.action == "manual":
                manual = True
                parts.append(
                    (rule.column, f"has no automatic mapping: {rule.note or 'see the guide'}")
                )
            elif (rule.expression or "").strip().lower() != rule.column.lower():
                parts.append((rule.column, f"is now {rule.expression}"))
        if parts:
            changes[name] = _FieldChange(name, manual, tuple(parts))
    return changes


@dataclass(frozen=True)
class _TypedClass:
    name: str
    kind: str  # "table" (fromTable / fromStorage) or "query" (fromQuery)
    old: TableName
    offset: int


# ------------------------------------------------------------------ session


class ScioSession:
    framework = "scio"

    def __init__(self, engine: SqlRewriter, files: list[RepoFile]) -> None:
        self.engine = engine
        words = sorted(engine.tables.old_table_words)
        self.mentions = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b", re.I)
        self.spec_tables: dict[str, TableName] = {}  # old or new table spec -> old table
        for pair in engine.migration.tables:
            for name in (pair.old, pair.new):
                for form in (str(name), f"{name.project}:{name.dataset}.{name.table}", name.short):
                    self.spec_tables.setdefault(form.lower(), pair.old)
        self.new_words = {pair.new.table.lower() for pair in engine.migration.tables}
        self.changes = {old: _field_changes(engine, old) for old in engine.new_for}
        self.repo_classes: dict[str, _TypedClass] = {}
        for file in files:
            if self.kind_of(file):
                try:
                    found = _ScalaFile(self, file.text).typed_classes()
                except Exception:  # a bug here must not stop the repo: the file flags it later
                    continue
                for typed in found:
                    self.repo_classes.setdefault(typed.name, typed)

    def kind_of(self, file: RepoFile) -> str | None:
        return "scala" if Path(file.relative).suffix.lower() in SCALA_SUFFIXES else None

    def rewrite(self, file: RepoFile) -> RewriteResult:
        try:
            return _ScalaFile(self, file.text).rewrite()
        except Exception as err:  # a bug must never corrupt a file or stop a fleet run
            flag = Flag(1, 1, FlagReason.INTERNAL_ERROR, f"{type(err).__name__}: {err}")
            return RewriteResult(file.text, file.text, flags=[flag])

    def finish(self) -> list:
        return []

    def spec_table(self, value: str) -> TableName | None:
        """The old table a spec string names, spelled with the old or the new table."""
        return self.spec_tables.get(value.strip("`").lower())


class ScioFramework:
    """Claims the .scala and .sc files of a repo that builds with Scio."""

    name = "scio"

    def open(self, repo: Path, engine: SqlRewriter, files: list[RepoFile]) -> ScioSession | None:
        if any(_is_scio(file) for file in files):
            return ScioSession(engine, files)
        return None


def _is_scio(file: RepoFile) -> bool:
    name = Path(file.relative).name.lower()
    if name.endswith(".sbt"):
        return bool(_SCIO_WORD.search(file.text))
    if name.endswith(SCALA_SUFFIXES):
        return bool(_SCIO_IMPORT.search(file.text))
    return False


# ------------------------------------------------------------------ one file


class _ScalaFile:
    def __init__(self, session: ScioSession, text: str) -> None:
        self.session = session
        self.engine = session.engine
        self.text = text
        self.index = LineIndex(text)
        self.scan = scan_scala(text)
        self.non_code = self.scan.non_code()
        self.edits: list[Edit] = []
        self.flags: list[Flag] = []
        self.table_vals: set[str] = set()  # vals holding an old (or new) table's name
        self.reads_by_name = False  # a literal outside annotations names an old or new table
        self.annotation_args = {lit for lit, _, _ in self._annotations()}

    def rewrite(self) -> RewriteResult:
        rest = []
        for literal in self.scan.literals:
            if not self._table_spec(literal):
                rest.append(literal)
        for literal in rest:
            self._literal(literal)
        self._code_mentions()
        self._field_accesses()
        flags = sorted(
            {(f.line, f.column, f.reason, f.message): f for f in self.flags}.values(),
            key=lambda f: (f.line, f.column, f.reason),
        )
        return result_from_edits(self.text, self.edits, flags)

    # -------------------------------------------------------------- literals

    def _table_spec(self, literal: ScalaLiteral) -> bool:
        """Rule 1: a literal naming a table, renamed in the same form; True when it names one."""
        content = literal.content(self.text)
        quoted = len(content) > 2 and content[0] == content[-1] == "`" and content.count("`") == 2
        inner = content[1:-1] if quoted else content
        if self.session.spec_table(inner) is None:
            return False
        if literal not in self.annotation_args:
            self.reads_by_name = True
        before = self.text[max(0, literal.start - 200) : literal.start]
        holder = _VAL_OF_SPEC.search(before)
        if holder:
            self.table_vals.add(holder.group(1))
        renamed = self.engine.tables.rename_spec(inner)
        if renamed is not None:
            start = literal.content_start + (1 if quoted else 0)
            self.edits.append(Edit(start, start + len(inner), renamed, "table"))
        return True

    def _literal(self, literal: ScalaLiteral) -> None:
        content = literal.content(self.text)
        if _SQL.search(content):
            self._interpolated_tables(literal)
            if self.session.mentions.search(content):
                self._sql(literal, content)
        elif self.session.mentions.search(content):
            preview = content if len(content) < 60 else content[:57] + "..."
            self._flag(
                literal.start,
                FlagReason.UNRESOLVED_REFERENCE,
                f"{preview!r} mentions an old table but is neither a table name nor a query; "
                "migrate it by hand",
            )

    def _interpolated_tables(self, literal: ScalaLiteral) -> None:
        for start, end in literal.splices:
            name = re.match(r"[${\s]*([A-Za-z_]\w*)", self.text[start:end])
            if name and name.group(1) in self.table_vals:
                self._flag(
                    start,
                    FlagReason.UNRESOLVED_TEMPLATE,
                    f"the query reads {name.group(1)}, which names an old table, through an "
                    "interpolation: gaggle cannot rewrite its columns; check them by hand",
                )

    def _sql(self, literal: ScalaLiteral, content: str) -> None:
        """Rule 2: SQL in a literal through the engine, its edits fitted back into the literal."""
        start = literal.content_start
        if not literal.triple and "\\" in content:
            self._flag(
                literal.start,
                FlagReason.UNRESOLVED_REFERENCE,
                "this single-line SQL string holds backslash escapes gaggle does not decode; "
                "migrate it by hand",
            )
            return
        masked = mask_literal(self.text, literal)
        legacy = [m for m in _LEGACY_TABLE.finditer(masked) if self.session.spec_table(m.group(1))]
        for found in legacy:
            self._flag(
                start + found.start(),
                FlagReason.UNRESOLVED_REFERENCE,
                f"legacy SQL reads [{found.group(1)}]; gaggle rewrites standard SQL only: "
                "migrate this query by hand",
            )
        if legacy:
            return
        result = self.engine.rewrite(masked)
        edits, flags = shift_result(result, start, self.text)
        self.flags.extend(flags)
        if any(f.reason in (FlagReason.UNPARSEABLE, FlagReason.INTERNAL_ERROR) for f in flags):
            return
        fitted = self._fit(literal, edits)
        if fitted is not None:
            self.edits.extend(fitted)
        self._sql_leftovers(literal, masked)

    def _fit(self, literal: ScalaLiteral, edits: list[Edit]) -> list[Edit] | None:
        """The engine's edits written the way this literal needs them, or None (and a flag)
        when one cannot be: then none is applied, so the query is never half migrated."""
        margin = literal.margin_char(self.text)
        fitted = []
        for edit in edits:
            if any(_touches(edit, a, b) for a, b in literal.splices):
                return self._unfit(literal, "an edit would touch an interpolated expression")
            text = edit.text
            if edit.rule == "manual-comment":
                if not literal.triple:
                    continue  # no line to put it on: the manual-column flag stays
                if margin is not None:
                    text = self._remargin(edit.start, text)
            if literal.interpolator:
                text = text.replace("$", "$$")
            if literal.interpolator == "f":
                text = text.replace("%", "%%")
            if (not literal.triple and any(c in text for c in '"\\\n')) or '"""' in text:
                return self._unfit(literal, "the new SQL holds quotes or line breaks")
            fitted.append(Edit(edit.start, edit.end, text, edit.rule))
        return fitted

    def _unfit(self, literal: ScalaLiteral, why: str) -> None:
        self._flag(
            literal.start,
            FlagReason.UNRESOLVED_REFERENCE,
            f"the rewritten SQL cannot be written back into this Scala string ({why}); "
            "migrate it by hand",
        )
        return None

    def _remargin(self, offset: int, inserted: str) -> str:
        """Inserted comment lines get the margin (`  |`) of the line they are put above."""
        lines = inserted.split("\n")
        out = []
        for line in lines:
            if not line:
                out.append(line)
                continue
            indent = len(line) - len(line.lstrip(" \t"))
            prefix = self.text[offset : offset + indent]
            out.append(prefix + line[indent:] if prefix.strip(" \t") else line)
        return "\n".join(out)

    def _sql_leftovers(self, literal: ScalaLiteral, masked: str) -> None:
        """Old table names the engine leaves by design: in SQL strings, in interpolations."""
        start = literal.content_start
        try:
            tokens = BigQuery().tokenize(masked)
        except SqlglotError:
            return
        spans = [(t.start, t.end + 1, t.token_type) for t in tokens]
        for found in self.session.mentions.finditer(self.text, start, literal.content_end):
            where = found.start()
            if any(a <= where < b for a, b in literal.splices):
                self._flag(
                    where,
                    FlagReason.UNRESOLVED_REFERENCE,
                    "an interpolated expression in this query mentions an old table; "
                    "migrate it by hand",
                )
                continue
            local = where - start
            kind = next((k for a, b, k in spans if a <= local < b), None)
            if kind is None or kind in (TokenType.VAR, TokenType.IDENTIFIER):
                continue  # a SQL comment, or a name the engine edited or flagged
            self._flag(
                where,
                FlagReason.UNRESOLVED_REFERENCE,
                f"{found.group(0)} in a SQL string literal: the engine does not rewrite "
                "strings; check it by hand",
            )

    # -------------------------------------------------------------- code

    def _code_mentions(self) -> None:
        """Rule 4: an old table word in Scala code (an identifier) is flagged."""
        for start, end in self.scan.code_spans(len(self.text)):
            for found in self.session.mentions.finditer(self.text, start, end):
                self._flag(
                    found.start(),
                    FlagReason.UNRESOLVED_REFERENCE,
                    f"{found.group(0)} in Scala code names an old table; migrate it by hand",
                )

    # -------------------------------------------------------------- typed classes

    def _annotations(self) -> list[tuple[ScalaLiteral, str, int]]:
        """(first literal argument, annotation kind, offset) of each BigQueryType annotation."""
        found = []
        starts = [lit.start for lit in self.scan.literals]
        for start, end in self.scan.code_spans(len(self.text)):
            for match in _ANNOTATION.finditer(self.text, start, end):
                position = bisect.bisect_left(starts, match.end())
                if position < len(starts):
                    literal = self.scan.literals[position]
                    if not self.text[match.end() : literal.start].strip():
                        found.append((literal, match.group(1), match.start()))
        return found

    def typed_classes(self) -> list[_TypedClass]:
        """The classes whose fields come from an old table, or from a query reading one."""
        classes = []
        for literal, kind, offset in self._annotations():
            content = literal.content(self.text)
            if kind == "fromQuery":
                old = self._query_table(content)
            else:
                old = self.session.spec_table(content)
            close = self._closing_paren(literal.end)
            named = _CLASS_AFTER.match(self.text, close + 1) if close is not None else None
            if old is not None and named is not None:
                typed_kind = "query" if kind == "fromQuery" else "table"
                classes.append(_TypedClass(named.group(1), typed_kind, old, offset))
        return classes

    def _query_table(self, sql: str) -> TableName | None:
        for pair in self.engine.migration.tables:
            words = (pair.old.table.lower(), pair.new.table.lower())
            if any(re.search(rf"\b{re.escape(w)}\b", sql, re.I) for w in words):
                return pair.old
        return None

    def _closing_paren(self, offset: int) -> int | None:
        """The offset of the `)` closing the call whose arguments continue at offset."""
        depth, i = 0, offset
        skip = dict(self.non_code)
        while i < len(self.text):
            if i in skip:
                i = max(skip[i], i + 1)
                continue
            ch = self.text[i]
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    return i
                depth -= 1
            i += 1
        return None

    def _relevant_classes(self) -> list[_TypedClass]:
        """This file's typed classes, then those of other files this file names."""
        own = self.typed_classes()
        names = {c.name for c in own}
        code = "".join(self.text[a:b] + " " for a, b in self.scan.code_spans(len(self.text)))
        others = [
            c
            for name, c in self.session.repo_classes.items()
            if name not in names and re.search(rf"\b{re.escape(name)}\b", code)
        ]
        return own + others

    def _field_accesses(self) -> None:
        """Rule 3: field accesses that break once a typed class reads the new table.

        gaggle does not track which value belongs to which class: an access
        `<ident>.<column>` is attributed to the first class (own classes in file order,
        then other files' classes) for which that column changes. The same goes for
        `row.get("<column>")`, attributed to the first old table the file reads by name.
        """
        by_line: dict[int, list[str]] = {}
        classes = self._relevant_classes()
        if classes:
            for start, end in self.scan.code_spans(len(self.text)):
                for match in _ACCESS.finditer(self.text, start, end):
                    self._typed_access(match, classes, by_line)
        if self.reads_by_name:
            self._row_accesses(by_line)
        self._comment_lines(by_line)

    def _typed_access(
        self, match: re.Match, classes: list[_TypedClass], by_line: dict[int, list[str]]
    ) -> None:
        column = match.group(2)
        line, _ = self.index.position(match.start())
        if _DIRECTIVE_LINE.match(self.index.line_text(line)):
            return
        for typed in classes:
            change = self.session.changes[typed.old].get(column)
            if change is None or (typed.kind == "query" and not change.manual):
                continue
            new = self.engine.new_for[typed.old]
            if typed.kind == "query":
                why = f"the query behind {typed.name} needs a decision about this column"
            else:
                why = f"{typed.name} gets its fields from {new} after the migration"
            self._access(match.start(2), typed.name + ".", change, why, by_line)
            return

    def _row_accesses(self, by_line: dict[int, list[str]]) -> None:
        for literal in self.scan.literals:
            column = literal.content(self.text)
            before = self.text[max(0, literal.start - 60) : literal.start]
            if literal.interpolator or not _ROW_GET.search(before):
                continue
            for old, changes in self.session.changes.items():
                change = changes.get(column)
                if change is not None:
                    why = (
                        f"the TableRow is read from {self.engine.new_for[old]} after the migration"
                    )
                    self._access(literal.start, "TableRow field ", change, why, by_line)
                    break

    def _access(
        self,
        offset: int,
        label: str,
        change: _FieldChange,
        why: str,
        by_line: dict[int, list[str]],
    ) -> None:
        quote = '"' if label.startswith("TableRow") else ""
        parts = [f"{label}{quote}{path}{quote} {phrase}" for path, phrase in change.parts]
        reason = FlagReason.MANUAL_COLUMN if change.manual else FlagReason.UNRESOLVED_REFERENCE
        self._flag(offset, reason, f"{'; '.join(parts)}: {why}; fix this access by hand")
        line, _ = self.index.position(offset)
        entries = by_line.setdefault(line, [])
        entries.extend(p for p in parts if p not in entries)

    def _comment_lines(self, by_line: dict[int, list[str]]) -> None:
        migration = self.engine.migration
        for line, entries in sorted(by_line.items()):
            start = self.index.line_start(line)
            if any(a < start < b for a, b in self.non_code):
                continue  # the line starts inside a string or comment: the flags say it
            text = self.index.line_text(line)
            indent = text[: len(text) - len(text.lstrip(" \t"))]
            comment = (
                f"// TODO(data-migration {migration.id}): {'; '.join(entries)}. "
                f"See {migration.guide_url}"
            )
            if comment not in self.index.comment_block_above(line, "//"):
                self.edits.append(Edit(start, start, indent + comment + "\n", "manual-comment"))

    # -------------------------------------------------------------- helpers

    def _flag(self, offset: int, reason: FlagReason, message: str) -> None:
        line, column = self.index.position(offset)
        self.flags.append(Flag(line, column, reason, message))
