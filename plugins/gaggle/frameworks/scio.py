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
from gaggle.frameworks.scio_flow import (
    KEEPS_ROWS,
    CodeText,
    lambda_param,
    method_reference,
    placeholder_accesses,
)
from gaggle.names import TableName
from gaggle.sql import RewriteResult, SqlRewriter
from gaggle.sql.edits import Edit, LineIndex
from gaggle.sql.report import Flag, FlagReason, todo_marker

SCALA_SUFFIXES = (".scala", ".sc")
_IDENT_START = re.compile(r"[A-Za-z_]")
_IDENT_CHARS = re.compile(r"[A-Za-z0-9_]*")
_SQL = re.compile(r"(?:\b|(?<=\\[nt]))SELECT\b", re.I)
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
    if not literal.triple:  # `\n` and `\t` escapes: the same two characters, decoded
        content = literal.content(text)
        for found in re.finditer(r"\\[nt]", content):
            if found.start() == 0 or content[found.start() - 1] != "\\":
                chars[found.start()] = " "
                chars[found.start() + 1] = "\n" if found.group(0) == "\\n" else " "
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

_PLAIN_NAME = re.compile(r"[A-Za-z_]\w*")
_PLAIN_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


@dataclass(frozen=True)
class _FieldChange:
    """What became of one top-level column of an old table, as (path, phrase) parts."""

    column: str
    manual: bool
    parts: tuple[tuple[str, str], ...]  # ("email", "is now email_address")
    rename: str | None = None  # the new top-level name, when a plain rename of the same type

    def phrase(self) -> str:
        return "; ".join(f"{path} {phrase}" for path, phrase in self.parts)


def _field_changes(engine: SqlRewriter, old: TableName) -> dict[str, _FieldChange]:
    """The top-level columns whose field no longer exists under the same name."""
    rules = engine.rules[old]
    new_schema = engine.new_schema(old)
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
            changes[name.lower()] = _FieldChange(
                name, manual, tuple(parts), _plain_rename(own, fld, new_schema)
            )
    return changes


def _plain_rename(rule, old_field, new_schema) -> str | None:
    """The new column's name when the rule renames a top-level column, same type and mode."""
    if rule is None or rule.action == "manual":
        return None
    expression = (rule.expression or "").strip()
    if not _PLAIN_NAME.fullmatch(expression):
        return None
    new_field = new_schema.find((expression,))
    if new_field is None or new_field.mode != old_field.mode:
        return None
    return new_field.name if new_field.sql_type() == old_field.sql_type() else None


@dataclass(frozen=True)
class _TypedClass:
    name: str
    # "table" (fromTable / fromStorage), "query" (fromQuery, migrated keeping its output
    # names) or "query-open" (fromQuery whose query gaggle leaves to a human)
    kind: str
    old: TableName
    offset: int


@dataclass(frozen=True)
class _Rows:
    """The element of an SCollection read from an old (or already its new) table."""

    label: str  # the class name, or "TableRow"
    old: TableName
    kind: str  # "row" (TableRow), "bound" (a plain case class) or a _TypedClass kind


@dataclass
class _LegacyPlan:
    """A legacy-SQL query reading an old table: the table retargeted in its own form,
    columns renamed only when the query is simple enough for that to be exact."""

    old: TableName
    table_edits: list[Edit]
    column_edits: list[Edit]
    columns: dict[str, _FieldChange]  # changed columns the query still reads
    exact: bool

    def problem(self) -> str | None:
        if self.exact:
            return None
        if self.columns:
            listed = "; ".join(c.phrase() for c in self.columns.values())
            return (
                f"legacy SQL: {listed}; rewrite these columns by hand and keep each output "
                "name with AS"
            )
        return None


_LEGACY_WORDS = {"flatten", "within", "table_date_range", "table_query", "omit"}
_CLAUSES = {
    TokenType.SELECT,
    TokenType.FROM,
    TokenType.WHERE,
    TokenType.GROUP_BY,
    TokenType.ORDER_BY,
    TokenType.HAVING,
    TokenType.LIMIT,
}
_READ_CALL = re.compile(
    r"\.\s*(bigQueryTable|readTable|bigQueryStorage|typedBigQuery|typedBigQueryTable"
    r"|typedBigQueryStorage|typedBigQueryStorageMagnolify|typedBigQueryTableMagnolify)"
    r"\s*(?:\[\s*([A-Za-z_][\w.]*)\s*\])?\s*\("
)
_UNTYPED_READS = {"bigQueryTable", "readTable", "bigQueryStorage"}
_STORAGE_CALL = re.compile(
    r"(?:@BigQueryType\s*\.\s*fromStorage|\.\s*(?:bigQueryStorage|typedBigQueryStorage\w*)"
    r"|(?<![\w.])BigQueryIO)"
    r"\s*(?:\[\s*[\w.]+\s*\])?\s*\("
)
_FIELD_LIST = re.compile(r"(?:selectedFields\s*=\s*)?\b(?:List|Seq)\s*\(")
_ROW_RESTRICTION = re.compile(r"\b(?:rowRestriction\s*=\s*(?:Some\s*\(\s*)?|Some\s*\(\s*)")
# magnolify's TableRowType[T] / AvroType[T] and Scio's AvroType[T]: rows converted to T
_ROW_TYPE_VAL = re.compile(
    r"\b(?:val|lazy\s+val)\s+([A-Za-z_]\w*)\s*(?::[^=\n]+)?=\s*(?:TableRowType|AvroType)"
    r"\s*\[\s*(\w+)\s*\]"
)
_ROW_TYPE_FROM = re.compile(
    r"\s*(?:TableRowType|AvroType)\s*\[\s*(\w+)\s*\]\s*\.\s*(?:from|fromGenericRecord)\s*"
)
_CONVERTERS = (".from", ".fromGenericRecord")
# TableRow getters and setters; GenericRecord's get / put / hasField
_GETTER = re.compile(r"(get\w*|containsKey|set|put|hasField)\s*\(\s*")
_WRITERS = ("set", "put")
_GENERIC_FORMAT = re.compile(r"\bFormat\s*\.\s*GenericRecord")
# Beam's BigQueryIO reads: read(SchemaAndRecord => T) gives Avro GenericRecords to its
# function, readTableRows gives TableRows to the pipeline
_BEAM_READ = re.compile(
    r"(?<![\w.])BigQueryIO\s*\.\s*(read|readWithSchema|readTableRows|readTableRowsWithSchema)"
    r"\b\s*(?:\[[^\]\n]*\]\s*)?"
)
_BEAM_INPUT = re.compile(r"\.\s*(?:customInput|apply|applyTransform|read)\s*\(")
_AVRO_CLASS = re.compile(r"@AvroType\s*\.\s*(fromSchema|fromPath|fromSchemaFile)\s*\(")
_AVRO_FIELD = re.compile(r'\\?"name\\?"\s*:\s*\\?"([A-Za-z_]\w*)\\?"')
_BOUND_VAL = re.compile(r"\b(?:val|var)\s+([A-Za-z_]\w*)\s*(?::[^=\n]+)?=\s*$")
_OBJECT = re.compile(r"\bobject\s+([A-Za-z_]\w*)[^{;\n]*\{")
_OPTION = re.compile(r"(--[\w.-]+=)([\w`:.\-]+)")
# a pipeline argument read by name: args("input"), args.getOrElse("input", ...), ...
_ARGS_BEFORE = re.compile(
    r"(?<![\w.])args\s*(?:\.\s*(?:getOrElse|required|optional|apply|get|int|long)\s*)?\(\s*$"
)
_JOB_TEST = re.compile(r"\bJobTest\s*\[\s*([\w.]+?)(?:\s*\.\s*type)?\s*\]")
_TEST_INPUT = re.compile(r"\.\s*input\s*\(")
_TEST_SOURCE = re.compile(
    r"(?<![\w.])(?:BigQueryIO|BigQueryTyped\s*\.\s*\w+)\s*(?:\[[^\]\n]*\]\s*)?\("
)
_NO_ROWS = re.compile(
    r"\s*(?:(?:Seq|List|Vector|Iterable)\s*(?:\.\s*empty\b(?:\s*\[[^\]]*\])?|\(\s*\))|Nil)\s*"
)
_FIXTURE_KEY_AFTER = re.compile(r"\s*->")
_FIXTURE_SETTER = re.compile(r"\.\s*(?:set|put)\s*\(\s*$")
_VAL_DECL = re.compile(r"\b(?:val|var)\s+([A-Za-z_]\w*)\s*(?::[^=\n]+)?=(?!=)")
_IMPORT_OBJECT = re.compile(r"\bimport\s+(?:[\w.]*\.)?(\w+)\s*\.\s*(?:_|\{|\w+)")
_SPEC_ARG = re.compile(r"\s*(?:Table\s*\.\s*Spec\s*\(\s*)?([A-Za-z_][\w.]*)\s*\)?\s*")
# writes: Scio's saveAs... (and a `.toTable(...)` helper), Beam's BigQueryIO.write...to(...),
# a JobTest's expected output: the old table there is a producer's, never retargeted
_WRITE_CALL = re.compile(
    r"\.\s*(saveAsBigQueryTable|saveAsTypedBigQueryTable|saveAsBigQuery|saveAsTypedBigQuery"
    r"|saveAsBigQueryStorage|saveAsTypedBigQueryStorage|toTable)\s*(?:\[[^\]\n]*\]\s*)?\("
)
_BEAM_WRITE = re.compile(
    r"(?<![\w.])BigQueryIO\s*\.\s*(write\w*)\b\s*(?:\[[^\]\n]*\]\s*)?(?:\(\s*\))?"
)
_TEST_OUTPUT = re.compile(
    r"\.\s*output\s*\(\s*(?:BigQueryIO|BigQueryTyped\s*\.\s*\w+)\s*(?:\[[^\]\n]*\]\s*)?\("
)
# a line ending so goes on in the next one (Scala infers no semicolon there)
_CONTINUES = ("(", "[", ",", "=", ".", "+", "&&", "||")
_FORMAT_CALL = re.compile(r"\.\s*format\s*\(")
# the first argument of `String.format(` or `fromQuery(`, followed by the format arguments
_FORMAT_HOLDER = re.compile(r"\b(?:String\s*\.\s*format|fromQuery)\s*\(\s*$")
STRING_TOKENS = {TokenType.STRING, TokenType.RAW_STRING, TokenType.HEREDOC_STRING}


# ------------------------------------------------------------------ session


class ScioSession:
    framework = "scio"

    def __init__(self, engine: SqlRewriter, files: list[RepoFile]) -> None:
        self.engine = engine
        words = sorted(engine.tables.old_table_words)
        # a date-sharded table (`events_*`) is mentioned by any of its shards' names
        alternatives = [
            re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w) for w in words
        ]
        self.mentions = re.compile(r"\b(" + "|".join(alternatives) + r")(?!\w)", re.I)
        # in a string that is neither a table name nor SQL, a mention counts only with its
        # dataset (`core.users_v1`): a bare word such as `shakespeare` in a path is no read
        qualified = [
            rf"\b{re.escape(p.old.dataset)}\s*[.:]\s*{re.escape(p.old.table.rstrip('*'))}"
            for p in engine.migration.tables
        ]
        self.qualified_mentions = re.compile("|".join(qualified), re.I)
        self.spec_tables: dict[str, TableName] = {}  # old or new table spec -> old table
        for pair in engine.migration.tables:
            for name in (pair.old, pair.new):
                for form in (str(name), f"{name.project}:{name.dataset}.{name.table}", name.short):
                    self.spec_tables.setdefault(form.lower(), pair.old)
        self.changes = {old: _field_changes(engine, old) for old in engine.new_for}
        self.new_columns = {
            old: {f.name.lower() for f in engine.new_schema(old).fields} for old in engine.new_for
        }
        self.repo_classes: dict[str, _TypedClass] = {}
        # constants holding a table spec, by `Name` and `Object.Name`, from every file
        self.constants: dict[str, tuple[TableName, bool]] = {}
        # `--option=<table>` arguments JobTests (or scripts) give a job, by (job, option);
        # the job is "" when no JobTest[Job.type] names it
        self.option_tables: dict[tuple[str, str], tuple[TableName, bool]] = {}
        self.read_options: set[str] = set()  # options some file reads with args(...)
        self.write_options: set[str] = set()  # options whose table some file writes
        for file in files:
            if self.kind_of(file):
                try:
                    scala = _ScalaFile(self, file.text)
                    found, constants = scala.typed_classes(), scala.spec_constants()
                except Exception:  # a bug here must not stop the repo: the file flags it later
                    continue
                for typed in found:
                    self.repo_classes.setdefault(typed.name, typed)
                for name, value in constants.items():
                    if "." in name:  # `Object.NAME`; a bare name is only seen in its file
                        self.constants.setdefault(name, value)
                for job, option, value in scala.option_specs():
                    self.option_tables.setdefault((job, option), value)
                self.read_options |= scala.args_options()
                self.write_options |= scala.write_options()

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

    def names_old(self, value: str) -> bool:
        """Whether a spec string names the old table (not yet its replacement)."""
        return self.engine.tables.rename_spec(value.strip("`")) is not None


class ScioFramework:
    """Claims the .scala and .sc files of a repo that builds with Scio, or of any repo
    where a Scala file names an old table (a query object without Scio imports, a Spark
    job): table specs and SQL strings there are migrated the same way, the rest flagged,
    never skipped unseen."""

    name = "scio"

    def open(self, repo: Path, engine: SqlRewriter, files: list[RepoFile]) -> ScioSession | None:
        if any(_is_scio(file) for file in files):
            return ScioSession(engine, files)
        scala = [f for f in files if Path(f.relative).suffix.lower() in SCALA_SUFFIXES]
        if not scala:
            return None
        session = ScioSession(engine, scala)
        if any(session.mentions.search(file.text) for file in scala):
            return session
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
        self.code = CodeText(text, self.non_code, self.scan.comments)
        self.starts = [a for a, _ in self.non_code]
        self.literal_starts = [lit.start for lit in self.scan.literals]
        self.comment_starts = [a for a, _ in self.scan.comments]
        self.by_quote = {
            lit.content_start - (3 if lit.triple else 1): lit for lit in self.scan.literals
        }
        self.edits: list[Edit] = []
        self.flags: list[Flag] = []
        self.notes: dict[int, list[str]] = {}  # line -> TODO comments to put above it
        self.accesses: dict[int, list[str]] = {}  # line -> field accesses to comment on
        self.seen_accesses: set[int] = set()
        self.table_vals: set[str] = set()  # vals of this file holding an old (or new) table
        self.annotation_at = {lit: offset for lit, _, offset in self._annotations()}
        self.row_types: dict[str, str] = {}  # vals holding a magnolify TableRowType[T]
        self.handled: set[ScalaLiteral] = set()  # literals a storage read already took care of
        self.option_notes: set[str] = set()  # options whose args("x") read is noted

    def rewrite(self) -> RewriteResult:
        self._todo_markers()
        self._writes()
        self._test_inputs()
        self._storage_reads()
        rest = []
        for literal in self.scan.literals:
            if literal not in self.handled and not self._table_spec(literal):
                rest.append(literal)
        for literal in rest:
            if literal not in self.handled:
                self._literal(literal)
        self._code_mentions()
        self._row_flow()
        self._comment_lines()
        flags = sorted(
            {(f.line, f.column, f.reason, f.message): f for f in self.flags}.values(),
            key=lambda f: (f.line, f.column, f.reason),
        )
        return result_from_edits(self.text, self.edits, flags)

    def _todo_markers(self) -> None:
        """A TODO comment of this migration left on a branch means a flag is unresolved."""
        marker = todo_marker(self.engine.migration.id)
        for found in re.finditer(re.escape(marker), self.text):
            self._flag(
                found.start(),
                FlagReason.UNRESOLVED_REFERENCE,
                f"a {marker} comment is still here: resolve it, then delete the comment",
                note=False,
            )

    # -------------------------------------------------------------- constants

    def spec_constants(self) -> dict[str, tuple[TableName, bool]]:
        """`Name` and `Object.Name` of each val of this file holding an old or new table spec."""
        found: dict[str, tuple[TableName, bool]] = {}
        objects = []
        for start, end in self.scan.code_spans(len(self.text)):
            for match in _OBJECT.finditer(self.text, start, end):
                objects.append((match.end(), self.code.block_end(match.end()), match.group(1)))
        for literal in self.scan.literals:
            inner = literal.content(self.text).strip("`")
            old = self.session.spec_table(inner)
            if old is None or literal.splices:
                continue
            holder = _VAL_OF_SPEC.search(self.text[max(0, literal.start - 200) : literal.start])
            if holder is None:
                continue
            value = (old, self.session.names_old(inner))
            found.setdefault(holder.group(1), value)
            owners = [name for a, b, name in objects if a <= literal.start < b]
            if owners:
                found.setdefault(f"{owners[-1]}.{holder.group(1)}", value)
        return found

    def _constant(self, name: str) -> tuple[TableName, bool] | None:
        """The table a name holds: a val of this file (a spec, or an expression using
        one such as `args.getOrElse("input", Tables.Users)`), or `Object.NAME` of another
        file, written in full or imported (`import ...Tables._`)."""
        own = self._own_constants()
        if name in own:
            return own[name]
        return self._repo_constant(name)

    def _repo_constant(self, name: str) -> tuple[TableName, bool] | None:
        parts = name.split(".")
        if len(parts) >= 2:
            return self.session.constants.get(".".join(parts[-2:]))
        if name in self._local_vals():
            return None  # a val of this file that holds no table we know
        for obj in self._imported_objects():
            found = self.session.constants.get(f"{obj}.{name}")
            if found is not None:
                return found
        return None

    def _own_constants(self) -> dict[str, tuple[TableName, bool]]:
        if hasattr(self, "_constants"):
            return self._constants
        self._constants = found = self._base_constants = self.spec_constants()
        for start, end in self.scan.code_spans(len(self.text)):
            for match in _VAL_DECL.finditer(self.text, start, end):
                if match.group(1) in found:
                    continue
                stop = self.text.find("\n", match.end())
                stop = len(self.text) if stop == -1 else stop
                value = self._expression_table(match.end(), stop)
                if value is not None:
                    found[match.group(1)] = value
        return found

    def _expression_table(self, start: int, end: int) -> tuple[TableName, bool] | None:
        """The table named in an expression: by a spec literal or a constant of the repo."""
        args_key = None
        for literal in self._literals_in(start, end):
            inner = literal.content(self.text).strip("`")
            if self.session.spec_table(inner) is not None and not literal.splices:
                found = self.session.spec_table(inner), self.session.names_old(inner)
                return self._option_default(args_key, found)
            if self._is_args_key(literal):
                if self._option_table(literal) is not None:
                    return self._option_table(literal)
                args_key = args_key or literal
        for word in re.finditer(r"(?<![\w.$])[A-Za-z_][\w.]*", self.text[start:end]):
            if self._in_code(start + word.start()):
                found = self._base_constants.get(word.group(0)) or self._repo_constant(
                    word.group(0)
                )
                if found is not None:
                    return self._option_default(args_key, found)
        return None

    def _option_default(self, args_key: ScalaLiteral | None, found):
        """A table that is the default of an option (`args.getOrElse("input", <table>)`):
        the reads are migrated, so a deployment passing the option must pass the new table."""
        option = args_key.content(self.text) if args_key is not None else None
        if option is None or not found[1] or option in self.option_notes:
            return found
        if option in self.session.write_options:
            return found
        self.option_notes.add(option)
        old, new = found[0], self.engine.new_for[found[0]]
        self._flag(
            args_key.start,
            FlagReason.UNRESOLVED_REFERENCE,
            f"this job reads its table from --{option}, by default {old}, moved to {new} by "
            f"gaggle: the reads below now follow {new}'s columns, so every deployment "
            f"passing --{option} must pass {new}",
        )
        return found

    def _local_vals(self) -> set[str]:
        if not hasattr(self, "_vals"):
            self._vals = {
                m.group(1)
                for a, b in self.scan.code_spans(len(self.text))
                for m in _VAL_DECL.finditer(self.text, a, b)
            }
        return self._vals

    def _imported_objects(self) -> set[str]:
        if not hasattr(self, "_imports"):
            self._imports = {
                m.group(1)
                for a, b in self.scan.code_spans(len(self.text))
                for m in _IMPORT_OBJECT.finditer(self.text, a, b)
            }
        return self._imports

    def _first_arg_table(self, open_index: int, close: int) -> tuple[TableName, bool] | None:
        """The table the first argument of a call names: a spec literal, `Table.Spec(...)`
        of one, or a constant holding one (in this file or another of the repo)."""
        end = self._first_arg_end(open_index, close)
        args_key = None
        for literal in self.scan.literals:
            if open_index < literal.start < end:
                inner = literal.content(self.text).strip("`")
                old = self.session.spec_table(inner)
                if old is not None and not literal.splices:
                    return self._option_default(args_key, (old, self.session.names_old(inner)))
                if self._is_args_key(literal):  # args("input"), args.getOrElse("input", ...)
                    found = self._option_table(literal)
                    if found is not None:
                        return found
                    args_key = literal
                    continue
                return None
        found = _SPEC_ARG.fullmatch(self.text, open_index + 1, end)
        return self._constant(found.group(1)) if found else None

    def _first_arg_end(self, open_index: int, close: int) -> int:
        depth, i = 0, open_index + 1
        skip = self.code.skip
        while i < close:
            if i in skip:
                i = max(skip[i], i + 1)
                continue
            ch = self.text[i]
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            elif ch == "," and depth == 0:
                return i
            i += 1
        return close

    # -------------------------------------------------------------- literals

    def _table_spec(self, literal: ScalaLiteral) -> bool:
        """Rule 1: a literal naming a table, renamed in the same form; True when it names one.
        A pipeline argument `--input=<table>` (JobTest args, run scripts) counts too."""
        content = literal.content(self.text)
        option = _OPTION.fullmatch(content)
        if option is not None and self.session.spec_table(option.group(2)) is not None:
            renamed = self.engine.tables.rename_spec(option.group(2))
            if renamed is not None and option.group(1)[2:-1] in self.session.write_options:
                self._flag(
                    literal.start,
                    FlagReason.WRITES_OLD_TABLE,
                    f"{option.group(1)[:-1]} names the table the job writes, the deprecated "
                    f"{option.group(2)}; producers are out of scope, so it is left as is",
                )
            elif renamed is not None:
                start = literal.content_start + option.start(2)
                self.edits.append(Edit(start, start + len(option.group(2)), renamed, "table"))
                name = option.group(1)[2:-1]
                if name not in self.session.read_options:
                    self._flag(
                        literal.start,
                        FlagReason.UNRESOLVED_REFERENCE,
                        f'--{name} now names {renamed}, but no args("{name}") read in this '
                        "repo shows gaggle where the job reads its rows: check by hand that "
                        f"the job reads the new columns of {renamed} (getters, typed fields, "
                        "selectedFields, rowRestriction) and that every deployment passes it",
                    )
            return True
        quoted = len(content) > 2 and content[0] == content[-1] == "`" and content.count("`") == 2
        inner = content[1:-1] if quoted else content
        if self.session.spec_table(inner) is None:
            return False
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
            masked = mask_literal(self.text, literal)
            if _LEGACY_TABLE.search(masked) and self._legacy(literal, masked):
                return
            if self.session.mentions.search(content):
                self._sql(literal, content)
        elif self.session.qualified_mentions.search(content):
            preview = content if len(content) < 60 else content[:57] + "..."
            self._flag(
                literal.start,
                FlagReason.UNRESOLVED_REFERENCE,
                f"{preview!r} mentions an old table but is neither a table name nor a query; "
                "migrate it by hand",
            )

    def _interpolated_tables(self, literal: ScalaLiteral) -> None:
        for start, end in literal.splices:
            name = re.match(r"[${\s]*([A-Za-z_][\w.]*)", self.text[start:end])
            if name and (name.group(1) in self.table_vals or self._constant(name.group(1))):
                self._flag(
                    start,
                    FlagReason.UNRESOLVED_TEMPLATE,
                    f"the query reads {name.group(1)}, which names an old table, through an "
                    "interpolation: gaggle cannot rewrite its columns; check them by hand",
                )

    def _sql(self, literal: ScalaLiteral, content: str) -> None:
        """Rule 2: SQL in a literal through the engine, its edits fitted back into the literal."""
        start = literal.content_start
        if not literal.triple and re.search(r"\\[^nt]", content):
            self._flag(
                literal.start,
                FlagReason.UNRESOLVED_REFERENCE,
                "this single-line SQL string holds backslash escapes gaggle does not decode; "
                "migrate it by hand",
            )
            return
        masked = mask_literal(self.text, literal)
        result = self.engine.rewrite(masked)
        edits, flags = shift_result(result, start, self.text)
        broken = any(f.reason in (FlagReason.UNPARSEABLE, FlagReason.INTERNAL_ERROR) for f in flags)
        fitted = None if broken else self._fit(literal, edits)
        if fitted is not None:
            self.edits.extend(fitted)
        for flag in flags:
            self.flags.append(flag)
            commented = flag.reason == FlagReason.MANUAL_COLUMN and literal.triple and fitted
            if not commented:
                self._add_note(literal.start, flag.message)
        if not broken:
            self._sql_leftovers(literal, masked)

    # -------------------------------------------------------------- legacy SQL

    def _legacy(self, literal: ScalaLiteral, masked: str) -> bool:
        """Legacy SQL reading an old (or its new) table; True when it was one."""
        plan = self._legacy_plan(literal, masked)
        if plan is None:
            return False
        edits = plan.table_edits + (plan.column_edits if plan.exact else [])
        fitted = self._fit(literal, edits) if edits else []
        if fitted:
            self.edits.extend(fitted)
        problem = plan.problem()
        if problem is not None:
            self._flag(literal.start, FlagReason.UNRESOLVED_REFERENCE, problem)
        return True

    def _legacy_plan(self, literal: ScalaLiteral, masked: str) -> _LegacyPlan | None:
        start = literal.content_start
        refs = [m for m in _LEGACY_TABLE.finditer(masked) if self.session.spec_table(m.group(1))]
        if not refs:
            return None
        old = self.session.spec_table(refs[0].group(1))
        table_edits = []
        blanked = masked
        for ref in refs:
            renamed = self.engine.tables.rename_spec(ref.group(1))
            if renamed is not None:
                table_edits.append(Edit(start + ref.start(1), start + ref.end(1), renamed, "table"))
            blanked = blanked[: ref.start()] + "_" * len(ref.group(0)) + blanked[ref.end() :]
        try:
            tokens = BigQuery().tokenize(blanked)
        except SqlglotError:
            return _LegacyPlan(old, table_edits, [], {}, False)
        changes = self.session.changes[old]
        new_columns = self.session.new_columns[old]
        simple = len(refs) == 1 and self._legacy_simple(tokens)
        aliases = self._legacy_aliases(tokens)
        columns: dict[str, _FieldChange] = {}
        column_edits: list[Edit] = []
        clause = None
        for i, token in enumerate(tokens):
            if token.token_type in _CLAUSES:
                clause = token.token_type
                continue
            change = changes.get(token.text.lower())
            if change is None or token.token_type in STRING_TOKENS | {TokenType.NUMBER}:
                continue
            before = tokens[i - 1].token_type if i else None
            after = tokens[i + 1].token_type if i + 1 < len(tokens) else None
            if before == TokenType.ALIAS or after == TokenType.L_PAREN:
                continue  # an output name, or a function
            if before == TokenType.DOT and tokens[i - 2].text.lower() not in aliases:
                continue  # a field of a record
            if token.text.lower() in new_columns:
                continue
            columns.setdefault(change.column.lower(), change)
            qualified = before == TokenType.DOT
            if qualified or after == TokenType.DOT or change.rename is None:
                simple = False
            elif clause not in (TokenType.SELECT, TokenType.WHERE):
                simple = False  # ORDER BY / GROUP BY may name output columns in legacy SQL
            else:
                bare = (
                    clause == TokenType.SELECT
                    and before in (TokenType.SELECT, TokenType.COMMA)
                    and after in (TokenType.COMMA, TokenType.FROM)
                )
                text = f"{change.rename} AS {token.text}" if bare else change.rename
                column_edits.append(
                    Edit(start + token.start, start + token.end + 1, text, "column")
                )
        return _LegacyPlan(old, table_edits, column_edits, columns, simple)

    @staticmethod
    def _legacy_simple(tokens: list) -> bool:
        """One SELECT over one table, no join, no star, no legacy-only construct."""
        kinds = [t.token_type for t in tokens]
        if kinds.count(TokenType.SELECT) != 1 or kinds.count(TokenType.FROM) != 1:
            return False
        if any("JOIN" in k.name or "UNION" in k.name for k in kinds):
            return False
        if any(t.text.lower() in _LEGACY_WORDS for t in tokens):
            return False
        for i, kind in enumerate(kinds):
            if kind == TokenType.STAR and (i == 0 or kinds[i - 1] != TokenType.L_PAREN):
                return False
        at = kinds.index(TokenType.FROM) + 1
        following = kinds[at + 1 : at + 2]
        return not following or following[0] in _CLAUSES or following[0] == TokenType.SEMICOLON

    @staticmethod
    def _legacy_aliases(tokens: list) -> set[str]:
        kinds = [t.token_type for t in tokens]
        if TokenType.FROM not in kinds:
            return set()
        at = kinds.index(TokenType.FROM) + 1
        names = {tokens[at].text.lower()} if at < len(tokens) else set()
        for token in tokens[at + 1 : at + 3]:
            if token.token_type in (TokenType.VAR, TokenType.IDENTIFIER):
                names.add(token.text.lower())
        return names

    # -------------------------------------------------------------- fitting edits

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
            if literal.interpolator == "f" or self._format_string(literal):
                text = text.replace("%", "%%")
            if (not literal.triple and any(c in text for c in '"\\\n')) or '"""' in text:
                return self._unfit(literal, "the new SQL holds quotes or line breaks")
            fitted.append(Edit(edit.start, edit.end, text, edit.rule))
        return fitted

    def _format_string(self, literal: ScalaLiteral) -> bool:
        """Whether the literal is a java format string: `fromQuery("... %s ...", arg)` (the
        annotation formats its query with the arguments after it), `"...".format(arg)` or
        `String.format("...", arg)`. A `%` in new text must then be written `%%`."""
        after = literal.end
        margin = _STRIP_MARGIN.match(self.text, after)
        if margin is not None:
            after = margin.end()
        after = self.code.blank_end(after)
        if _FORMAT_CALL.match(self.text, after):
            return True
        before = self.text[max(0, literal.start - 80) : literal.start]
        return bool(_FORMAT_HOLDER.search(before)) and self.text[after : after + 1] == ","

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

    # -------------------------------------------------------------- pipeline arguments

    def option_specs(self) -> list[tuple[str, str, tuple[TableName, bool]]]:
        """(job, option, (table, names old)) of each `--option=<table>` literal; the job is
        the one the closest `JobTest[Job.type]` above it tests, else the object the literal
        is in (a main's own default arguments), "" when there is none."""
        jobs = sorted(
            [
                (m.start(), m.group(1).rsplit(".", 1)[-1])
                for a, b in self.scan.code_spans(len(self.text))
                for m in _JOB_TEST.finditer(self.text, a, b)
            ]
            + [
                (m.start(), m.group(1))
                for a, b in self.scan.code_spans(len(self.text))
                for m in _OBJECT.finditer(self.text, a, b)
            ]
        )
        found = []
        for literal in self.scan.literals:
            option = _OPTION.fullmatch(literal.content(self.text))
            old = self.session.spec_table(option.group(2)) if option else None
            if old is None:
                continue
            job = next((name for at, name in reversed(jobs) if at < literal.start), "")
            value = (old, self.session.names_old(option.group(2)))
            found.append((job, option.group(1)[2:-1], value))
        return found

    def args_options(self) -> set[str]:
        """The options this file reads by name (`args("input")`)."""
        return {
            literal.content(self.text)
            for literal in self.scan.literals
            if self._is_args_key(literal)
        }

    def _is_args_key(self, literal: ScalaLiteral) -> bool:
        if literal.splices or literal.triple:
            return False
        return bool(_ARGS_BEFORE.search(self.text, max(0, literal.start - 80), literal.start))

    def _declared_objects(self) -> list[str]:
        return [
            m.group(1)
            for a, b in self.scan.code_spans(len(self.text))
            for m in _OBJECT.finditer(self.text, a, b)
        ]

    def _option_table(self, literal: ScalaLiteral) -> tuple[TableName, bool] | None:
        """The table a JobTest gives the job of this file through the option this literal
        reads (`args("input")` with `.args("--input=<table>")`). The rows read from it are
        then followed like any other, with a note that deployments must pass the table."""
        option = literal.content(self.text)
        if option in self.session.write_options:
            return None  # the job writes that table too: a producer, left with its flag
        options = self.session.option_tables
        found = next(
            (
                options[(job, option)]
                for job in self._declared_objects()
                if (job, option) in options
            ),
            options.get(("", option)),
        )
        if found is None or not found[1]:
            return found
        if option not in self.option_notes:  # one note per option and file
            self.option_notes.add(option)
            old, new = found[0], self.engine.new_for[found[0]]
            self._flag(
                literal.start,
                FlagReason.UNRESOLVED_REFERENCE,
                f"this job reads its table from --{option}, which its JobTest (or its own "
                f"default arguments) sets to {old}, moved to {new} by gaggle: the reads "
                f"below now follow {new}'s "
                f"columns, so every deployment of this job must pass --{option}={new}",
            )
        return found

    def _val_expression(self, name: str) -> tuple[int, int] | None:
        """Where the value of this file's `val <name> = Call(...)` is written."""
        if not _PLAIN_NAME.fullmatch(name):
            return None
        for a, b in self.scan.code_spans(len(self.text)):
            declared = re.compile(rf"\b(?:val|lazy\s+val)\s+{name}\b[^=\n]*=\s*").search(
                self.text, a, b
            )
            if declared is None:
                continue
            call = re.compile(r"[\w.]+\s*(?:\[[^\]\n]*\]\s*)?\(").match(self.text, declared.end())
            close = self.code.matching(call.end() - 1) if call else None
            if close is None:
                return None
            for step in self.code.steps(close + 1):  # `Seq(...).map(t => TableRow(...))`
                if step.close is None:
                    break
                close = step.close
            return declared.end(), close + 1
        return None

    def _unfollowed_option(self, old: TableName) -> str | None:
        """The option this file gives the old table through when no file reads that option
        by name: gaggle then cannot see the job's reads of its rows."""
        for literal in self.scan.literals:
            option = _OPTION.fullmatch(literal.content(self.text))
            if option is None or self.session.spec_table(option.group(2)) != old:
                continue
            name = option.group(1)[2:-1]
            if name not in self.session.read_options:
                return name
        return None

    def _test_inputs(self) -> None:
        """A JobTest's `.input(BigQueryIO(<old table>), rows)`: the fixture rows stand for
        the table the job reads. Their field names follow the job's reads: renamed with
        them when gaggle follows the job, flagged when it cannot."""
        for start, end in self.scan.code_spans(len(self.text)):
            for match in _TEST_INPUT.finditer(self.text, start, end):
                open_index = match.end() - 1
                close = self.code.matching(open_index)
                if close is None:
                    continue
                split = self._first_arg_end(open_index, close)
                source = _TEST_SOURCE.search(self.text, open_index + 1, split)
                if source is None or split >= close:
                    continue
                source_close = self.code.matching(source.end() - 1)
                table = self._first_arg_table(source.end() - 1, source_close or split)
                if table is not None and table[1]:
                    self._fixture_rows(table[0], split + 1, close)

    def _fixture_rows(self, old: TableName, start: int, end: int) -> None:
        held = self._val_expression(self.text[start:end].strip())
        if held is not None:  # `.input(..., fixture)` with `val fixture = Seq(...)` here
            start, end = held
        new = self.engine.new_for[old]
        unfollowed = self._unfollowed_option(old)
        changes = self.session.changes[old]
        keys = [
            literal
            for literal in self._literals_in(start, end)
            if not literal.splices
            and (
                _FIXTURE_KEY_AFTER.match(self.text, literal.end)
                or _FIXTURE_SETTER.search(self.text, max(0, literal.start - 40), literal.start)
            )
        ]
        why = (
            f"the job reads its table from --{unfollowed}, which gaggle does not follow: fix "
            "the job's reads of these fields too"
            if unfollowed
            else f"the job reads {new} after the migration"
        )
        for literal in keys:
            change = changes.get(literal.content(self.text).lower())
            if change is None:
                continue
            if change.rename is not None and unfollowed is None:
                self.edits.append(
                    Edit(literal.content_start, literal.content_end, change.rename, "column")
                )
                continue
            self._flag(
                literal.start,
                FlagReason.UNRESOLVED_REFERENCE,
                f"the test row's {change.phrase()}: these fixture rows "
                f"stand for {new}, give them its shape ({why})",
            )
        if not keys and not _NO_ROWS.fullmatch(self.text, start, end):
            self._flag(
                start,
                FlagReason.UNRESOLVED_REFERENCE,
                f"these fixture rows stand for {new}: check that their fields are its columns "
                f"({why})",
            )

    # -------------------------------------------------------------- writes

    def _writes(self) -> None:
        """A write to the old table (`saveAsBigQueryTable(Table.Spec(<old>))`, Beam's
        `BigQueryIO.write...to(<old>)`, a JobTest's `output(BigQueryIO(<old>))`) belongs to
        the producer: it keeps its table and is flagged, as SQL writes are."""
        for method, open_index, close in self._write_calls():
            self._write(method, open_index, close)

    def write_options(self) -> set[str]:
        """The options whose table this file writes (`saveAsBigQueryTable(args("output"))`)."""
        found = set()
        for _, open_index, close in self._write_calls():
            end = self._first_arg_end(open_index, close)
            found |= {
                lit.content(self.text)
                for lit in self._literals_in(open_index + 1, end)
                if self._is_args_key(lit)
            }
        return found

    def _write_calls(self) -> list[tuple[str, int, int]]:
        found = []
        for start, end in self.scan.code_spans(len(self.text)):
            calls = []
            for match in _WRITE_CALL.finditer(self.text, start, end):
                calls.append((match.group(1), match.end() - 1))
            for match in _TEST_OUTPUT.finditer(self.text, start, end):
                calls.append(("the JobTest's output", match.end() - 1))
            for match in _BEAM_WRITE.finditer(self.text, start, end):
                for step in self.code.steps(match.end()):
                    if step.method == "to" and step.open is not None:
                        calls.append((f"BigQueryIO.{match.group(1)}...to", step.open))
                        break
            for method, open_index in calls:
                close = self.code.matching(open_index)
                if close is not None:
                    found.append((method, open_index, close))
        return found

    def _write(self, method: str, open_index: int, close: int) -> None:
        end = self._first_arg_end(open_index, close)
        for literal in self._literals_in(open_index + 1, end):
            if not self._is_args_key(literal):
                continue
            option = literal.content(self.text)
            self.handled.add(literal)
            for job in [*self._declared_objects(), ""]:
                table = self.session.option_tables.get((job, option))
                if table is not None and table[1]:
                    self._flag(
                        literal.start,
                        FlagReason.WRITES_OLD_TABLE,
                        f"{method} writes the table --{option} names, which its JobTest sets "
                        f"to the deprecated {table[0]}; producers are out of scope, so the "
                        "JobTest keeps it too",
                    )
                    break
            return
        table = self._first_arg_table(open_index, close)
        if table is None or not table[1]:
            return  # another table, or already the new one
        old, new = table[0], self.engine.new_for[table[0]]
        end = self._first_arg_end(open_index, close)
        literal = next(iter(self._literals_in(open_index + 1, end)), None)
        if literal is not None:
            self.handled.add(literal)  # never retargeted by the rules for reads
            self._flag(
                literal.start,
                FlagReason.WRITES_OLD_TABLE,
                f"{method} writes the deprecated {old}; producers are out of scope, so it "
                f"is left as is: retargeting it to {new} would write rows of the old shape "
                "into the replacement",
            )
            return
        name = self.text[open_index + 1 : end].strip()
        held = self._write_only_val(_SPEC_ARG.fullmatch(self.text, open_index + 1, end))
        if held is not None:  # `val out = "<old>"` used by this write alone: kept
            self.handled.add(held)
            self._flag(
                held.start,
                FlagReason.WRITES_OLD_TABLE,
                f"{method} writes the deprecated {old} named here; producers are out of "
                f"scope, so it is left as is: retargeting it to {new} would write rows of the "
                "old shape into the replacement",
            )
            return
        self._flag(
            open_index + 1,
            FlagReason.WRITES_OLD_TABLE,
            f"{method} writes the table {name} names, {old}, which gaggle retargets to {new} "
            "for the reads using it: this write would then go to the replacement. Give the "
            f"write its own value naming {old}, or move the producer by hand",
        )

    def _write_only_val(self, argument) -> ScalaLiteral | None:
        """The spec literal of this file's `val <name> = "<table>"` when the write is the
        only code using <name>."""
        if argument is None or "." in argument.group(1):
            return None
        name = argument.group(1)
        uses = [
            m
            for a, b in self.scan.code_spans(len(self.text))
            for m in re.finditer(rf"(?<![\w.$]){re.escape(name)}\b", self.text[:b])
            if m.start() >= a
        ]
        declared = [
            m
            for m in uses
            if re.search(
                r"\b(?:val|var|lazy\s+val)\s+$", self.text[max(0, m.start() - 12) : m.start()]
            )
        ]
        if len(declared) != 1 or len(uses) != 2:
            return None
        line_end = self.text.find("\n", declared[0].end())
        line_end = len(self.text) if line_end == -1 else line_end
        for literal in self._literals_in(declared[0].end(), line_end):
            if self.session.spec_table(literal.content(self.text).strip("`")) is not None:
                return literal
        return None

    # -------------------------------------------------------------- storage reads

    def _storage_reads(self) -> None:
        """Storage API reads: selectedFields and rowRestriction follow the mapping."""
        for start, end in self.scan.code_spans(len(self.text)):
            for match in _STORAGE_CALL.finditer(self.text, start, end):
                open_index = match.end() - 1
                close = self.code.matching(open_index)
                table = self._first_arg_table(open_index, close) if close else None
                if table is None:
                    continue
                old, names_old = table
                if self._unfollowed_option(old) is not None:
                    self._unfollowed_storage(old, open_index, close, names_old)
                    continue
                for fields in _FIELD_LIST.finditer(self.text, open_index, close):
                    list_close = self.code.matching(fields.end() - 1)
                    for literal in self._literals_in(fields.end(), list_close or close):
                        self._selected_field(literal, old, names_old)
                for restriction in _ROW_RESTRICTION.finditer(self.text, open_index, close or 0):
                    literal = self.by_quote.get(restriction.end()) or self._literal_at(
                        restriction.end()
                    )
                    if literal is not None:
                        self._row_restriction(literal, old, names_old)

    def _unfollowed_storage(
        self, old: TableName, open_index: int, close: int, names_old: bool
    ) -> None:
        """A test's mocked Storage read of a table the job reads through an option gaggle
        does not follow: its selectedFields / rowRestriction must match the job's own, which
        gaggle cannot see, so both are left and this one is flagged."""
        option = self._unfollowed_option(old)
        literals = [
            lit
            for lit in self._literals_in(open_index + 1, close)
            if self.session.spec_table(lit.content(self.text).strip("`")) is None
        ]
        self.handled.update(literals)
        if not literals or not names_old:
            return  # after the migration, the comment left here keeps the repo flagged
        self._flag(
            literals[0].start,
            FlagReason.UNRESOLVED_REFERENCE,
            f"this mocked Storage read's selectedFields / rowRestriction must equal the job's "
            f"own, which gaggle cannot see (the job reads its table from --{option}): both "
            f"are left as they are; rewrite them together for {self.engine.new_for[old]}",
        )

    def _literals_in(self, start: int, end: int) -> list[ScalaLiteral]:
        return [lit for lit in self.scan.literals if start <= lit.start < end]

    def _literal_at(self, offset: int) -> ScalaLiteral | None:
        position = bisect.bisect_left(self.literal_starts, offset)
        if position < len(self.scan.literals):
            literal = self.scan.literals[position]
            if literal.start == offset:
                return literal
        return None

    def _selected_field(self, literal: ScalaLiteral, old: TableName, names_old: bool) -> None:
        self.handled.add(literal)
        name = literal.content(self.text)
        path = tuple(name.lower().split("."))
        rules = self.engine.rules[old]
        if not names_old and self.engine.new_schema(old).find(path) is not None:
            return  # a column of the new table
        rule = rules.get(path)
        change = self.session.changes[old].get(path[0]) if len(path) == 1 else None
        if rule is None and change is not None:
            self._flag(
                literal.start,
                FlagReason.UNRESOLVED_REFERENCE,
                f'selectedFields "{name}": {change.phrase()}; list the new fields it needs',
            )
            return
        if rule is None:
            return
        expression = (rule.expression or "").strip()
        if rule.action == "manual":
            self._flag(
                literal.start,
                FlagReason.MANUAL_COLUMN,
                f'selectedFields "{name}" has no automatic mapping: {rule.note or "see the guide"}',
            )
        elif _PLAIN_PATH.fullmatch(expression):
            if expression.lower() != name.lower():
                end = literal.content_end
                self.edits.append(Edit(literal.content_start, end, expression, "column"))
        else:
            self._flag(
                literal.start,
                FlagReason.UNRESOLVED_REFERENCE,
                f'selectedFields "{name}" is now {expression}: select the columns it reads '
                "and compute it in the pipeline",
            )

    def _row_restriction(self, literal: ScalaLiteral, old: TableName, names_old: bool) -> None:
        """A standard-SQL predicate: rewritten by the engine as the WHERE of a query."""
        self.handled.add(literal)
        masked = mask_literal(self.text, literal)
        try:
            tokens = BigQuery().tokenize(masked)
        except SqlglotError:
            tokens = []
        changes = self.session.changes[old]
        left = {}
        for i, token in enumerate(tokens):
            change = changes.get(token.text.lower())
            after = tokens[i + 1].token_type if i + 1 < len(tokens) else None
            if change is None or token.token_type in STRING_TOKENS or after == TokenType.L_PAREN:
                continue
            if i and tokens[i - 1].token_type == TokenType.DOT:
                continue
            if token.text.lower() in self.session.new_columns[old]:
                continue
            if names_old and not change.manual:
                continue  # the engine rewrites it below
            left.setdefault(change.column.lower(), change)
        for change in left.values():
            reason = FlagReason.MANUAL_COLUMN if change.manual else FlagReason.UNRESOLVED_REFERENCE
            self._flag(literal.start, reason, f"rowRestriction: {change.phrase()}")
        if not names_old:
            return
        prefix = f"SELECT 1 FROM `{old}` WHERE "
        result = self.engine.rewrite(prefix + masked)
        if any(
            f.reason in (FlagReason.UNPARSEABLE, FlagReason.INTERNAL_ERROR) for f in result.flags
        ):
            self._flag(
                literal.start,
                FlagReason.UNRESOLVED_REFERENCE,
                "rowRestriction is not a predicate gaggle can parse; migrate it by hand",
            )
            return
        shift = literal.content_start - len(prefix)
        edits = [
            Edit(c.start + shift, c.end + shift, c.after, c.rule)
            for c in result.changes
            if c.start >= len(prefix) and c.rule != "manual-comment"
        ]
        fitted = self._fit(literal, edits)
        if fitted:
            self.edits.extend(fitted)

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
            typed_kind = "table"
            if kind == "fromQuery":
                old = self._query_table(content)
                typed_kind = "query"
                masked = mask_literal(self.text, literal)
                if _LEGACY_TABLE.search(masked):
                    plan = self._legacy_plan(literal, masked)
                    if plan is not None and plan.problem() is not None:
                        typed_kind = "query-open"
            else:
                old = self.session.spec_table(content)
            close = self.code.matching(self._open_before(literal.start))
            named = _CLASS_AFTER.match(self.text, close + 1) if close is not None else None
            if old is not None and named is not None:
                classes.append(_TypedClass(named.group(1), typed_kind, old, offset))
        return classes

    def _open_before(self, offset: int) -> int:
        return self.text.rfind("(", 0, offset)

    def _query_table(self, sql: str) -> TableName | None:
        for pair in self.engine.migration.tables:
            words = (pair.old.table.lower(), pair.new.table.lower())
            if any(re.search(rf"\b{re.escape(w)}\b", sql, re.I) for w in words):
                return pair.old
        return None

    def _relevant_classes(self) -> dict[str, _TypedClass]:
        """This file's typed classes, then those of other files this file names."""
        own = {c.name: c for c in self.typed_classes()}
        code = "".join(self.text[a:b] + " " for a, b in self.scan.code_spans(len(self.text)))
        for name, typed in self.session.repo_classes.items():
            declared = re.search(rf"\b(?:class|object|type|trait)\s+{re.escape(name)}\b", code)
            if name not in own and not declared and re.search(rf"\b{re.escape(name)}\b", code):
                own[name] = typed
        return own

    # -------------------------------------------------------------- row access

    def _row_flow(self) -> None:
        """Rule 3: follow the rows of each read of an old table to the code reading fields."""
        classes = self._relevant_classes()
        for start, end in self.scan.code_spans(len(self.text)):
            for match in _ROW_TYPE_VAL.finditer(self.text, start, end):
                self.row_types[match.group(1)] = match.group(2)
        for start, end in self.scan.code_spans(len(self.text)):
            for match in _READ_CALL.finditer(self.text, start, end):
                open_index = match.end() - 1
                close = self.code.matching(open_index)
                if close is None:
                    continue
                rows = self._rows_of_read(
                    match.group(1), match.group(2), open_index, close, classes
                )
                if rows is not None:
                    self._flow(self._receiver_start(match.start()), close + 1, rows, 0)
        self._beam_reads()
        self._declared_values(classes)

    def _rows_of_read(
        self, method: str, cls: str | None, open_index: int, close: int, classes
    ) -> _Rows | None:
        table = self._first_arg_table(open_index, close)
        if method in _UNTYPED_READS:
            if table is None:
                return None
            generic = _GENERIC_FORMAT.search(self.text, open_index, close)  # Avro records
            return _Rows("GenericRecord" if generic else "TableRow", table[0], "row")
        if cls is None:
            return None
        cls = cls.rsplit(".", 1)[-1]
        if cls in classes:
            return _Rows(cls, classes[cls].old, classes[cls].kind)
        if table is None:
            return None
        self._bound_declaration(cls, table[0])
        return _Rows(cls, table[0], "bound")

    def _receiver_start(self, dot: int) -> int:
        """Where the expression ending before a `.method` starts (`sc`, `self.sc`)."""
        i = dot
        while i > 0 and self.text[i - 1].isspace():
            i -= 1
        while i > 0 and (self.text[i - 1].isalnum() or self.text[i - 1] in "_."):
            i -= 1
        return i

    def _flow(self, expr_start: int, pos: int, rows: _Rows, depth: int) -> None:
        followed = self._follow(pos, rows)
        if followed is None or depth > 4:
            return
        rows, end = followed
        bound = _BOUND_VAL.search(self.text, max(0, expr_start - 120), expr_start)
        if bound is None:
            return
        self._value_uses(bound.group(1), end, self.code.block_end(expr_start), rows, depth)

    def _value_uses(self, name: str, start: int, end: int, rows: _Rows, depth: int) -> None:
        """Each later use of a value holding the rows: chained calls are followed, a value
        handed to a function is flagged (gaggle does not follow it there)."""
        for use in re.finditer(rf"(?<![\w.$]){re.escape(name)}\b", self.text[:end]):
            if use.start() < start or not self._in_code(use.start()):
                continue
            after = self.code.blank_end(use.end())
            if self.text[after : after + 1] == ".":
                self._flow(use.start(), use.end(), rows, depth + 1)
                continue
            before = self.text[: use.start()].rstrip()[-1:]
            if before in ("(", ",") and self.text[after : after + 1] in (")", ","):
                self._flag(
                    use.start(),
                    FlagReason.UNRESOLVED_REFERENCE,
                    f"{name} holds rows of {self.engine.new_for[rows.old]} ({rows.label}) and is "
                    "passed to a function gaggle does not follow: check the columns it reads",
                )

    def _follow(self, pos: int, rows: _Rows) -> tuple[_Rows, int] | None:
        """Walk the chain after a read; (rows, end) when the chain still holds the rows."""
        end = pos
        for step in self.code.steps(pos):
            if step.open is None:
                if step.method not in KEEPS_ROWS:
                    return None
                end = self.code.blank_end(end)
                continue
            region = self.text[step.open + 1 : step.close]
            converted = self._row_type(region)
            if converted is not None and step.method == "map":
                self._bound_declaration(converted, rows.old)
                rows = _Rows(converted, rows.old, "bound")
                end = step.close + 1
                continue
            reference = method_reference(region)
            if reference is not None and reference.endswith(".toTableRow"):
                if rows.kind != "table":
                    return None  # a query's rows keep their output names, or a plain class
                rows = _Rows("TableRow", rows.old, "row")  # the new table's fields, untyped
                end = step.close + 1
                continue
            if reference is not None and self._follow_def(reference, rows):
                if step.method not in KEEPS_ROWS:
                    return None
                end = step.close + 1
                continue
            if reference is not None and step.method not in ("withName", "setCoder"):
                self._flag(
                    step.open + 1,
                    FlagReason.UNRESOLVED_REFERENCE,
                    f"rows of {self.engine.new_for[rows.old]} ({rows.label}) go to {reference}, "
                    "which gaggle does not follow: check the columns it reads",
                )
                return None
            self._lambda(step.open + 1, step.close, rows)
            if step.method not in KEEPS_ROWS:
                return None
            end = step.close + 1
        return rows, end

    def _follow_def(self, reference: str, rows: _Rows) -> bool:
        """`.map(toKey)` or `.flatMap(Util.toKey)` where this file defines `def toKey(row: T)`
        with one parameter: its body reads the rows. True when such a def was found."""
        found = self._one_param_def(reference)
        if found is None:
            return False
        param, body, close = found
        pattern = re.compile(rf"(?<![\w.$]){re.escape(param)}\s*\.\s*(?=[A-Za-z_])")
        for use in pattern.finditer(self.text, body, close):
            if self._in_code(use.end()):
                self._field_access(use.end(), rows)
        return True

    def _one_param_def(self, reference: str, param_type: str = r"[\w.\[\]]+"):
        """(parameter, body start, body end) of the file's `def name(p: T) = ...`."""
        name = reference.rsplit(".", 1)[-1]
        found = None
        for start, end in self.scan.code_spans(len(self.text)):
            found = found or re.compile(
                rf"\bdef\s+{re.escape(name)}\s*\(\s*([A-Za-z_]\w*)\s*:\s*{param_type}\s*\)"
                r"[^=]*=\s*"
            ).search(self.text, start, end)
        if found is None:
            return None
        body = self.code.blank_end(found.end())
        if self.text[body : body + 1] == "{":
            close = self.code.matching(body) or len(self.text)
        else:
            close = self.text.find("\n", body)
            close = len(self.text) if close == -1 else close
        return found.group(1), body, close

    # -------------------------------------------------------------- Beam reads

    def _beam_reads(self) -> None:
        """Beam's `BigQueryIO.read(parse).from(<table>)` hands each Avro GenericRecord of the
        table to `parse` (`sr.getRecord.get("country")`); `BigQueryIO.readTableRows().from(
        <table>)` inside `sc.customInput(...)` gives TableRows to the rest of the chain."""
        for start, end in self.scan.code_spans(len(self.text)):
            for match in _BEAM_READ.finditer(self.text, start, end):
                method, after, region = match.group(1), match.end(), None
                if self.text[after : after + 1] in ("(", "{"):
                    close = self.code.matching(after)
                    if close is None:
                        continue
                    region, after = (after + 1, close), close + 1
                table = None
                for step in self.code.steps(after):
                    if step.method == "from" and step.open is not None:
                        table = self._first_arg_table(step.open, step.close)
                        break
                if table is None:
                    continue
                if method.startswith("readTableRows"):
                    self._beam_input_rows(match.start(), _Rows("TableRow", table[0], "row"))
                elif region is not None:
                    self._parse_function(*region, _Rows("GenericRecord", table[0], "row"))

    def _beam_input_rows(self, offset: int, rows: _Rows) -> None:
        """The rows of a Beam read given to `sc.customInput(name, <read>)` (or `apply`)."""
        enclosing = None
        for start, end in self.scan.code_spans(len(self.text)):
            for call in _BEAM_INPUT.finditer(self.text, start, min(end, offset)):
                close = self.code.matching(call.end() - 1)
                if close is not None and close > offset:
                    enclosing = (call, close)  # the innermost: the last one opened
        if enclosing is not None:
            call, close = enclosing
            self._flow(self._receiver_start(call.start()), close + 1, rows, 0)

    def _parse_function(self, start: int, end: int, rows: _Rows) -> None:
        """The records a `SchemaAndRecord => T` function reads: `sr.getRecord.get("x")`, or a
        val holding `sr.getRecord`. The function is a lambda, an anonymous
        `SerializableFunction` (its `def apply(sr: SchemaAndRecord)`) or a def of the file."""
        region = self.text[start:end]
        param = lambda_param(region)
        if param is None:
            applied = re.search(r"\bdef\s+apply\s*\(\s*([A-Za-z_]\w*)\s*:", region)
            param = applied.group(1) if applied else None
        reference = method_reference(region) if param is None else None
        if reference is not None:
            found = self._one_param_def(reference, r"SchemaAndRecord")
            if found is None:
                self._flag(
                    start,
                    FlagReason.UNRESOLVED_REFERENCE,
                    f"Avro records of {self.engine.new_for[rows.old]} go to {reference}, which "
                    "gaggle does not follow: check the columns it reads",
                )
                return
            param, start, end = found
        if param is None:
            return
        record = rf"(?<![\w.$]){re.escape(param)}\s*\.\s*getRecord\b(?:\s*\(\s*\))?"
        for use in re.finditer(record + r"\s*\.\s*(?=[A-Za-z_])", self.text[:end]):
            if use.start() >= start and self._in_code(use.start()):
                self._field_access(use.end(), rows)
        holder = re.compile(rf"\b(?:val|var)\s+([A-Za-z_]\w*)\s*(?::[^=\n]+)?=\s*{record}(?!\s*\.)")
        for held in holder.finditer(self.text, start, end):
            if not self._in_code(held.start()):
                continue
            value = re.compile(rf"(?<![\w.$]){re.escape(held.group(1))}\s*\.\s*(?=[A-Za-z_])")
            for use in value.finditer(self.text, held.end(), end):
                if self._in_code(use.end()):
                    self._field_access(use.end(), rows)

    def _row_type(self, region: str) -> str | None:
        found = _ROW_TYPE_FROM.fullmatch(region)
        if found:
            return found.group(1)
        reference = method_reference(region)
        for converter in _CONVERTERS:
            if reference and reference.endswith(converter):
                return self.row_types.get(reference[: -len(converter)])
        return None

    def _lambda(self, start: int, end: int, rows: _Rows) -> None:
        region = self.text[start:end]
        param = lambda_param(region)
        if param is not None:
            pattern = re.compile(rf"(?<![\w.$]){re.escape(param)}\s*\.\s*(?=[A-Za-z_])")
            offsets = [m.end() for m in pattern.finditer(self.text, start, end)]
        else:
            offsets = [start + o for o in placeholder_accesses(region)]
        for offset in offsets:
            if self._in_code(offset):
                self._field_access(offset, rows)

    def _declared_values(self, classes: dict[str, _TypedClass]) -> None:
        """Values declared with a row type (`u: User`, `users: SCollection[User]`)."""
        for name, typed in classes.items():
            rows = _Rows(name, typed.old, typed.kind)
            pattern = re.compile(
                rf"(?<![\w.$])([a-z_]\w*)\s*:\s*(?:(SCollection|Option|Iterable|Seq|List)\s*\[\s*)?"
                rf"{re.escape(name)}\b(?!\s*\.)"
            )
            for start, end in self.scan.code_spans(len(self.text)):
                for match in pattern.finditer(self.text, start, end):
                    scope_end = self.code.block_end(match.end())
                    if match.group(2) == "SCollection":
                        self._value_uses(match.group(1), match.end(), scope_end, rows, 0)
                        continue
                    value = re.compile(rf"(?<![\w.$]){re.escape(match.group(1))}\s*\.\s*(?=\w)")
                    for use in value.finditer(self.text, match.end(), scope_end):
                        if self._in_code(use.end()):
                            self._field_access(use.end(), rows)

    def _bound_declaration(self, cls: str, old: TableName) -> None:
        """A plain case class bound to an old table: its changed fields are flagged."""
        declared = re.search(rf"\bcase\s+class\s+{re.escape(cls)}\s*\(", self.text)
        if declared is None or not self._in_code(declared.start()):
            self._avro_declaration(cls, old)
            return
        close = self.code.matching(declared.end() - 1)
        rows = _Rows(cls, old, "bound")
        for param in re.finditer(r"(?<![\w.])([A-Za-z_]\w*)\s*:", self.text[: close or 0]):
            if param.start() > declared.end() and self._in_code(param.start()):
                self._field_access(param.start(), rows)

    def _avro_declaration(self, cls: str, old: TableName) -> None:
        """`@AvroType.fromSchema("{...}") class T` (or `fromPath`) bound to an old table: the
        schema's changed fields are flagged above the annotation (a schema file elsewhere
        is named in a flag, its fields must be checked by hand)."""
        for start, end in self.scan.code_spans(len(self.text)):
            for match in _AVRO_CLASS.finditer(self.text, start, end):
                close = self.code.matching(match.end() - 1)
                named = _CLASS_AFTER.match(self.text, close + 1) if close is not None else None
                if named is None or named.group(1) != cls:
                    continue
                new = self.engine.new_for[old]
                if match.group(1) != "fromSchema":
                    self._flag(
                        match.start(),
                        FlagReason.UNRESOLVED_REFERENCE,
                        f"{cls} gets its fields from an Avro schema file and is read from {new} "
                        "after the migration: make the schema match the new columns",
                    )
                    return
                changes = self.session.changes[old]
                why = f"{cls} is read from {new} after the migration: its Avro schema must match"
                for field_name in _AVRO_FIELD.finditer(self.text, match.end(), close):
                    change = changes.get(field_name.group(1).lower())
                    if change is not None:
                        self._access(match.start(), f"{cls}.", change, why)
                return

    def _field_access(self, offset: int, rows: _Rows) -> None:
        if offset in self.seen_accesses:
            return
        self.seen_accesses.add(offset)
        new = self.engine.new_for[rows.old]
        changes = self.session.changes[rows.old]
        if rows.kind == "row":
            getter = _GETTER.match(self.text, offset)
            literal = self.by_quote.get(getter.end()) if getter else None
            if literal is None or literal.interpolator:
                return
            change = changes.get(literal.content(self.text).lower())
            if change is None:
                return
            if change.rename is not None and getter.group(1) not in _WRITERS:
                self.edits.append(
                    Edit(literal.content_start, literal.content_end, change.rename, "column")
                )
                return
            why = f"the {rows.label} is read from {new} after the migration"
            self._access(literal.start, f"{rows.label} field ", change, why)
            return
        name = _PLAIN_NAME.match(self.text, offset)
        change = changes.get(name.group(0).lower()) if name else None
        if change is None or (rows.kind == "query" and not change.manual):
            return
        if rows.kind == "table" and change.rename is not None:
            self.edits.append(Edit(offset, name.end(), change.rename, "column"))
            return
        why = {
            "table": f"{rows.label} gets its fields from {new} after the migration",
            "query": f"the query behind {rows.label} needs a decision about this column",
            "query-open": f"the query behind {rows.label} is left to you (see the comment above "
            "it): keep this output name when you rewrite it",
            "bound": f"{rows.label} is read from {new} after the migration: its fields must "
            "match the new columns",
        }[rows.kind]
        self._access(offset, rows.label + ".", change, why)

    def _access(self, offset: int, label: str, change: _FieldChange, why: str) -> None:
        quote = '"' if label.endswith(" field ") else ""
        parts = [f"{label}{quote}{path}{quote} {phrase}" for path, phrase in change.parts]
        reason = FlagReason.MANUAL_COLUMN if change.manual else FlagReason.UNRESOLVED_REFERENCE
        self._flag(
            offset, reason, f"{'; '.join(parts)}: {why}; fix this access by hand", note=False
        )
        entries = self.accesses.setdefault(self._anchor_line(offset), [])
        entries.extend(p for p in parts if p not in entries)

    # -------------------------------------------------------------- comments

    def _comment_lines(self) -> None:
        """One TODO comment per flagged thing, right above its line (or statement)."""
        migration = self.engine.migration
        marker = todo_marker(migration.id)
        lines = sorted(set(self.accesses) | set(self.notes))
        for line in lines:
            start = self.index.line_start(line)
            if self._inside_non_code(start):
                continue  # the line starts inside a string or comment: the flags say it
            text = self.index.line_text(line)
            indent = text[: len(text) - len(text.lstrip(" \t"))]
            comments = []
            if line in self.accesses:
                comments.append(
                    f"// {marker}: {'; '.join(self.accesses[line])}. See {migration.guide_url}"
                )
            comments += [
                f"// {marker}: {note}. See {migration.guide_url}"
                for note in self.notes.get(line, [])
            ]
            present = self.index.comment_block_above(line, "//")
            new = "".join(f"{indent}{c}\n" for c in comments if c not in present)
            if new:
                self.edits.append(Edit(start, start, new, "manual-comment"))

    def _add_note(self, offset: int, message: str) -> None:
        line = self._anchor_line(offset)
        notes = self.notes.setdefault(line, [])
        message = message.rstrip(".")
        if message not in notes:
            notes.append(message)

    def _anchor_line(self, offset: int) -> int:
        """The line a comment about offset goes above: the first line of the statement (or
        annotation) holding it, never a line inside a string, between chained calls
        (`.map(...)`) or inside an argument list, where a comment would be hard to read."""
        line = self.index.position(self._statement_offset(offset))[0]
        openers, closers = self._brackets()
        for _ in range(200):
            if line <= 1:
                break
            start = self.index.line_start(line)
            span = self._inside_non_code(start)
            if span is not None:
                line = self.index.position(self._statement_offset(span[0]))[0]
                continue
            text = self.index.line_text(line)
            first = start + len(text) - len(text.lstrip())
            if first in closers:  # `).map(`, `}.filter(`: the line of the opening bracket
                line = self.index.position(closers[first])[0]
                continue
            opener = openers.get(line)
            if opener is not None and self.text[opener] in "([":
                line = self.index.position(opener)[0]  # inside an argument list
                continue
            previous = self._previous_code_line(line)
            if previous is None:
                break
            if text.lstrip().startswith(".") or previous[1].endswith(_CONTINUES):
                line = previous[0]
                continue
            break
        return line

    def _brackets(self) -> tuple[dict[int, int], dict[int, int]]:
        """(line -> innermost bracket open at its start, closing -> opening bracket offset),
        over code only (literals and comments skipped)."""
        if hasattr(self, "_bracket_maps"):
            return self._bracket_maps
        openers: dict[int, int] = {}
        closers: dict[int, int] = {}
        stack: list[int] = []
        text, skip, line, i = self.text, self.code.skip, 1, 0
        while i < len(text):
            if i in skip:
                end = max(skip[i], i + 1)
                for _ in range(text.count("\n", i, end)):
                    line += 1
                    if stack:
                        openers[line] = stack[-1]
                i = end
                continue
            ch = text[i]
            if ch in "([{":
                stack.append(i)
            elif ch in ")]}" and stack:
                closers[i] = stack.pop()
            elif ch == "\n":
                line += 1
                if stack:
                    openers[line] = stack[-1]
            i += 1
        self._bracket_maps = openers, closers
        return self._bracket_maps

    def _previous_code_line(self, line: int) -> tuple[int, str] | None:
        """The nearest line above with code (blank and comment-only lines skipped), and its
        code with comments removed and trailing blanks stripped."""
        for number in range(line - 1, 0, -1):
            start = self.index.line_start(number)
            end = start + len(self.index.line_text(number))
            code, cursor = [], start
            position = max(0, bisect.bisect_right(self.comment_starts, start) - 1)
            for a, b in self.scan.comments[position:]:
                if a >= end:
                    break
                if b <= cursor:
                    continue
                code.append(self.text[cursor : max(a, cursor)])
                cursor = min(max(b, cursor), end)
            code.append(self.text[cursor:end])
            stripped = "".join(code).rstrip()
            if stripped.strip():
                return number, stripped
        return None

    def _statement_offset(self, offset: int) -> int:
        span = self._inside_non_code(offset)
        if span is not None:
            offset = span[0]
        literal = self._literal_at(offset)
        if literal is not None and literal in self.annotation_at:
            return self.annotation_at[literal]
        return offset

    def _inside_non_code(self, offset: int) -> tuple[int, int] | None:
        position = bisect.bisect_right(self.starts, offset) - 1
        if position >= 0:
            a, b = self.non_code[position]
            if a < offset < b:
                return a, b
        return None

    def _in_code(self, offset: int) -> bool:
        position = bisect.bisect_right(self.starts, offset) - 1
        if position < 0:
            return True
        a, b = self.non_code[position]
        return not a <= offset < b

    # -------------------------------------------------------------- helpers

    def _flag(self, offset: int, reason: FlagReason, message: str, *, note: bool = True) -> None:
        line, column = self.index.position(offset)
        self.flags.append(Flag(line, column, reason, message))
        if note:
            self._add_note(offset, message)
