"""BigQuery SQL job repos: `.sql` files plus YAML or JSON job configs naming tables.

SQL goes through the engine (query parameters and Airflow/Jinja macros are kept
byte for byte). In configs, a string value that names an old table is renamed in
the same form, edited in place so formatting, comments and key order stay as they
are; a value that mentions an old table in any other way (inline SQL, say) is
flagged for a human. A table the job writes, or copies/extracts whole, keeps its
name and is flagged (`gaggle.frameworks.config_roles`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from gaggle.frameworks import config_roles
from gaggle.frameworks.base import RepoFile, result_from_edits
from gaggle.nesting import MAX_DEPTH, too_deep_at
from gaggle.sql import RewriteResult, SqlRewriter, dataform
from gaggle.sql.edits import Edit, LineIndex
from gaggle.sql.report import Flag, FlagReason

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
MAX_EXPANDED_VALUES = 100_000  # a job config is a few hundred values; more is an alias bomb


class ConfigRewriter:
    """Renames old tables in YAML or JSON string values; shared by the SQL-job and dbt adapters."""

    def __init__(self, engine: SqlRewriter) -> None:
        self.engine = engine

    def mentions_old_table(self, text: str) -> bool:
        """Named with its dataset (issue 15): a bare table name in prose or a path is not."""
        return self.engine.tables.mentions_qualified(text)

    def rewrite_yaml(self, text: str) -> RewriteResult:
        if too_deep_at(text) is not None:
            return _too_deep(text, "YAML")
        try:
            document = YAML(typ="rt").load(text)
        except YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = mark.line + 1 if mark else 1
            flag = Flag(line, 1, FlagReason.UNPARSEABLE, f"the YAML does not parse: {err}")
            return RewriteResult(text, text, flags=[flag])
        except RecursionError:
            return _too_deep(text, "YAML")
        expanded = _expanded_size(document)
        if expanded > MAX_EXPANDED_VALUES:
            message = (
                f"the YAML's aliases expand to {_rounded(expanded)} values (an alias bomb): "
                f"gaggle does not rewrite a file over {MAX_EXPANDED_VALUES:,}; migrate it by hand"
            )
            return RewriteResult(text, text, flags=[Flag(1, 1, FlagReason.UNPARSEABLE, message)])
        index = LineIndex(text)
        edits: list[Edit] = []
        flags: list[Flag] = []
        places: set[int] = set()
        for value, line, column in _yaml_strings(document):
            start = _after_anchor(text, index.line_start(line) + column)
            if start in places or text[start : start + 1] == "*":
                continue  # an alias: its anchored value is edited where it is written
            places.add(start)
            self._scalar(text, start, value, edits, flags, index)
        return result_from_edits(text, edits, flags)

    def rewrite_json(self, text: str) -> RewriteResult:
        if too_deep_at(text) is not None:
            return _too_deep(text, "JSON")
        try:
            json.loads(text)
        except json.JSONDecodeError as err:
            flag = Flag(err.lineno, err.colno, FlagReason.UNPARSEABLE, f"invalid JSON: {err.msg}")
            return RewriteResult(text, text, flags=[flag])
        except RecursionError:
            return _too_deep(text, "JSON")
        index = LineIndex(text)
        edits: list[Edit] = []
        flags: list[Flag] = []
        for match in _JSON_STRING.finditer(text):
            following = text[match.end() :].lstrip()[:1]
            if following == ":":
                continue  # a key, not a value
            value = json.loads(match.group(0))
            held = config_roles.held_target(self.engine, text, match.start(), value, json=True)
            if held is not None:  # a table the job writes, or reads whole: kept, flagged
                flags.append(held[0])
                continue
            renamed = self.engine.tables.rename_spec(value)
            if renamed is not None:
                new_token = json.dumps(renamed, ensure_ascii=False)
                edits.append(Edit(match.start(), match.end(), new_token, "config-table"))
            elif self.mentions_old_table(value):
                flags.append(_flag(index, match.start(), value))
        return result_from_edits(text, edits, flags)

    def _scalar(
        self,
        text: str,
        start: int,
        value: str,
        edits: list[Edit],
        flags: list[Flag],
        index: LineIndex,
    ) -> None:
        held = config_roles.held_target(self.engine, text, start, value)
        if held is not None:  # a table the job writes, or reads whole: kept, flagged
            flag, comment = held
            flags.append(flag)
            edits.extend([comment] if comment is not None else [])
            return
        renamed = self.engine.tables.rename_spec(value)
        if renamed is not None:
            quote = text[start] if text[start : start + 1] in ("'", '"') else ""
            begin = start + len(quote)
            if text[begin : begin + len(value)] == value:
                edits.append(Edit(begin, begin + len(value), renamed, "config-table"))
                return
        if self.mentions_old_table(value):
            flags.append(_flag(index, start, value))


def _flag(index: LineIndex, offset: int, value: str) -> Flag:
    line, column = index.position(offset)
    preview = value if len(value) < 60 else value[:57] + "..."
    return Flag(
        line,
        column,
        FlagReason.UNRESOLVED_REFERENCE,
        f"{preview!r} mentions an old table but is not a table name; migrate it by hand",
    )


_ANCHOR = re.compile(r"&[^\s,\[\]{}]+\s*")


def _after_anchor(text: str, start: int) -> int:
    """Where a scalar's value begins: past its `&anchor`, if it has one."""
    anchor = _ANCHOR.match(text, start)
    return anchor.end() if anchor else start


def _too_deep(text: str, language: str) -> RewriteResult:
    line = too_deep_at(text) or 1
    message = (
        f"the {language} is nested too deep for gaggle to read (more than {MAX_DEPTH} levels "
        f"at line {line}); it is left unchanged: migrate it by hand"
    )
    return RewriteResult(text, text, flags=[Flag(line, 1, FlagReason.UNPARSEABLE, message)])


def _children(node) -> list:
    if isinstance(node, CommentedMap):
        return list(node.values())
    if isinstance(node, CommentedSeq):
        return list(node)
    return []


def _expanded_size(document) -> int:
    """How many values the document holds once every alias is expanded: computed over the
    shared nodes (each once, no recursion), so an alias bomb costs nothing to measure."""
    sizes: dict[int, int] = {}
    stack = [(document, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = [c for c in _children(node) if isinstance(c, CommentedMap | CommentedSeq)]
        if children_done:
            leaves = len(_children(node)) - len(children)
            sizes[id(node)] = 1 + leaves + sum(sizes.get(id(c), 0) for c in children)
        else:
            stack.append((node, True))
            stack += [(c, False) for c in children if id(c) not in sizes]
    return sizes.get(id(document), 1)


def _rounded(number: int) -> str:
    return f"{number:,}" if number < 10**9 else f"about 10^{len(str(number)) - 1}"


def _yaml_strings(document) -> Iterator[tuple[str, int, int]]:
    """Every string value (not key) of a round-trip YAML document with its 0-based line/col,
    in document order.

    Each node is walked once: a node reached again through an alias is not walked again
    (its strings are edited where the anchor writes them), and the walk keeps its own
    stack, so neither an alias bomb nor deep nesting can exhaust memory or the stack."""
    if not isinstance(document, CommentedMap | CommentedSeq):
        return
    seen = {id(document)}
    stack = [_entries(document)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        value, where = entry
        if isinstance(value, str):
            line, column = where()
            yield value, line + 1, column
        elif isinstance(value, CommentedMap | CommentedSeq) and id(value) not in seen:
            seen.add(id(value))
            stack.append(_entries(value))


def _entries(node: CommentedMap | CommentedSeq) -> Iterator[tuple[object, Callable]]:
    """A container's values, each with how to find where it is written."""
    if isinstance(node, CommentedMap):
        return ((value, lambda key=key: node.lc.value(key)) for key, value in node.items())
    return ((value, lambda at=at: node.lc.item(at)) for at, value in enumerate(node))


class SqlJobsSession:
    framework = "sql"

    def __init__(self, engine: SqlRewriter) -> None:
        self.engine = engine
        self.configs = ConfigRewriter(engine)

    def kind_of(self, file: RepoFile) -> str | None:
        suffix = Path(file.relative).suffix.lower()
        if suffix == ".sql":
            return "sql"
        if suffix == ".sqlx":
            return "dataform-sqlx"
        if suffix in (".yml", ".yaml", ".json") and self.configs.mentions_old_table(file.text):
            return "job-config"
        return None

    def rewrite(self, file: RepoFile) -> RewriteResult:
        suffix = Path(file.relative).suffix.lower()
        if suffix == ".sql":
            return self.engine.rewrite(file.text)
        if suffix == ".sqlx":
            return dataform.rewrite_sqlx(self.engine, file.text)
        if suffix == ".json":
            return self.configs.rewrite_json(file.text)
        return self.configs.rewrite_yaml(file.text)

    def finish(self) -> list:
        return []


class SqlJobsFramework:
    """Claims every .sql file and job config no framework before it claimed."""

    name = "sql"

    def open(self, repo: Path, engine: SqlRewriter, files: list[RepoFile]) -> SqlJobsSession | None:
        session = SqlJobsSession(engine)
        if any(session.kind_of(file) for file in files):
            return session
        return None
