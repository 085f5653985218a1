"""What a table named in a job config is for: the table the job writes, or rows it carries whole.

A YAML or JSON job config names tables in string values. Most name a table a query reads
(its SQL is migrated on its own), and are retargeted. Two kinds must not be:

- the job's WRITE target (`destination_table:`, Airflow's `destinationTable: {tableId}`
  and `destination_project_dataset_table`, bigquery-etl's `scheduling.destination_table`,
  a scheduled query's `destination_table_name_template`, or a `table:` next to a
  `write_disposition`): retargeting it makes the job that builds the old table overwrite
  the replacement with rows in the old shape. Producers are out of scope, as in SQL;
  the value is flagged `writes-old-table` and left as is.
- a table a copy, extract or snapshot job reads WHOLE (`source_table:`, Airflow's
  `sourceTable(s)` and `source_project_dataset_table(s)`, anything under `copy:` or
  `extract:`): no SQL names its columns, so a bare retarget silently changes the shape
  of what the job produces. Flagged and left as is.

The key names are those of real schedulers; a key is compared without case, `_` or `-`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from gaggle.sql import SqlRewriter
from gaggle.sql.edits import Edit, LineIndex
from gaggle.sql.report import Flag, FlagReason, todo_marker

WRITE = "write"
WHOLE_READ = "whole-read"

# a key starting so names where the job writes
_WRITE_PREFIXES = ("destination", "dest", "target", "output", "sink", "write", "deletion", "into")
# a key starting so names a table whose rows the job carries whole
_WHOLE_READ_PREFIXES = ("sourcetable", "sourceprojectdatasettable", "sourcedatasettable")
# a section whose tables are read whole (copy / extract / snapshot jobs)
_WHOLE_READ_SECTIONS = {"copy", "tablecopy", "extract", "export", "snapshot", "clone", "backup"}
# a sibling key saying the mapping describes a write
_WRITE_SIBLINGS = {
    "writedisposition",
    "createdisposition",
    "ifexists",  # pandas-gbq
    "writemode",
    "appendtable",  # bq query --append_table / --replace
    "replace",
    "overwrite",
}
# a sibling key saying the job is a query: its declared sources are migrated with the SQL
_QUERY_SIBLINGS = {"query", "sql", "queryfile", "sqlfile", "querytext"}
_TABLE_KEYS = {
    "table",
    "tableid",
    "tablename",
    "tablespec",
    "tableref",
    "tablereference",
    "datasettable",
    "projectdatasettable",
}
_ANCHOR = re.compile(r"&[^\s,\[\]{}]+\s*")
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


@dataclass(frozen=True)
class Role:
    kind: str  # WRITE or WHOLE_READ
    key: str  # the key that says so, as written


@dataclass
class _Map:
    entries: list  # (key, child)


@dataclass
class _Seq:
    items: list


@dataclass(frozen=True)
class _Leaf:
    offsets: tuple[int, ...]  # where the value may be said to start (quote or anchor)


def _norm(key: object) -> str:
    return re.sub(r"[\s_\-]", "", str(key)).lower()


def _roles(tree) -> dict[int, Role]:
    """Each string leaf's offsets -> its role, for the leaves that have one."""
    found: dict[int, Role] = {}
    # (node, keys from the root, the key sets of the mappings on the way)
    stack = [(tree, (), ())]
    while stack:
        node, keys, mappings = stack.pop()
        if isinstance(node, _Leaf):
            role = _role_of(keys, mappings)
            if role is not None:
                for offset in node.offsets:
                    found[offset] = role
        elif isinstance(node, _Map):
            names = frozenset(_norm(k) for k, _ in node.entries)
            for key, child in node.entries:
                stack.append((child, (*keys, str(key)), (*mappings, names)))
        elif isinstance(node, _Seq):
            stack += [(child, keys, mappings) for child in node.items]
    return found


def _role_of(keys: tuple[str, ...], mappings: tuple[frozenset, ...]) -> Role | None:
    for depth in range(len(keys) - 1, -1, -1):  # the nearest key decides first
        key = _norm(keys[depth])
        if key.startswith(_WHOLE_READ_PREFIXES):
            if mappings[depth] & _QUERY_SIBLINGS:
                return None  # a query job declaring what its SQL reads
            return Role(WHOLE_READ, keys[depth])
        if key.startswith(_WRITE_PREFIXES):
            return Role(WRITE, keys[depth])
    for key in keys:
        if _norm(key) in _WHOLE_READ_SECTIONS:
            return Role(WHOLE_READ, key)
    if keys and _norm(keys[-1]) in _TABLE_KEYS:
        for names in mappings:
            if names & _WRITE_SIBLINGS:
                return Role(WRITE, keys[-1])
    return None


@lru_cache(maxsize=8)
def _yaml_roles(text: str) -> dict[int, Role]:
    try:
        document = YAML(typ="rt").load(text)
    except Exception:  # the rewriter reports a YAML that does not parse
        return {}
    index = LineIndex(text)

    def leaf(line: int, column: int) -> _Leaf:
        start = index.line_start(line + 1) + column
        if text[start : start + 1] == "*":
            return _Leaf(())  # an alias: its anchored value is the one flagged
        anchor = _ANCHOR.match(text, start)
        return _Leaf((start, anchor.end()) if anchor else (start,))

    seen: set[int] = set()

    def tree(node):  # each node once: an alias is not walked again (no alias bombs)
        if id(node) in seen:
            return None
        seen.add(id(node))
        if isinstance(node, CommentedMap):
            entries = []
            for key, value in node.items():
                child = leaf(*node.lc.value(key)) if isinstance(value, str) else tree(value)
                entries.append((key, child))
            return _Map(entries)
        if isinstance(node, CommentedSeq):
            items = []
            for position, value in enumerate(node):
                items.append(
                    leaf(*node.lc.item(position)) if isinstance(value, str) else tree(value)
                )
            return _Seq(items)
        return None

    try:
        return _roles(tree(document))
    except RecursionError:  # nested too deep: the rewriter flags it
        return {}


@lru_cache(maxsize=8)
def _json_roles(text: str) -> dict[int, Role]:
    """The same for JSON, read with its own small tokenizer so each string keeps its offset."""
    root = _Seq([])
    stack: list = [root]
    pending: list = [None]  # the key waiting for its value, per open object
    tokens = list(_JSON_TOKEN.finditer(text))
    for i, token in enumerate(tokens):
        value = token.group(0)
        if value in ":,":
            continue
        if value in "}]":
            if len(stack) > 1:
                stack.pop()
                pending.pop()
            continue
        top = stack[-1]
        is_key = (
            isinstance(top, _Map)
            and pending[-1] is None
            and i + 1 < len(tokens)
            and tokens[i + 1].group(0) == ":"
        )
        if is_key:
            pending[-1] = _json_key(value)
            continue
        node = _Map([]) if value == "{" else _Seq([]) if value == "[" else _Leaf((token.start(),))
        if isinstance(top, _Map):
            top.entries.append((pending[-1], node))
            pending[-1] = None
        else:
            top.items.append(node)
        if value in "{[":
            stack.append(node)
            pending.append(None)
    return _roles(root)


def _json_key(token: str) -> str:
    return token[1:-1] if token.startswith('"') else token


def held_target(
    engine: SqlRewriter, text: str, start: int, value: str, *, json: bool = False
) -> tuple[Flag, Edit | None] | None:
    """The flag (and, in YAML, the in-file comment) for a config value naming an old table
    that must keep it: the table the job writes, or one it reads whole. None otherwise."""
    old = _old_table(engine, value)
    if old is None:
        return None
    role = (_json_roles if json else _yaml_roles)(text).get(start)
    if role is None:
        return None
    new = engine.new_for[old]
    if role.kind == WRITE:
        reason = FlagReason.WRITES_OLD_TABLE
        message = (
            f"{role.key} makes this job write the deprecated {old}; producers are out of "
            f"scope, so it is left as is: retargeting it to {new} would write rows of the "
            "old shape into the replacement"
        )
    else:
        reason = FlagReason.UNRESOLVED_REFERENCE
        message = (
            f"{role.key} reads {old} whole (a copy, extract or snapshot): {new} has other "
            "columns, so a bare retarget would silently change the shape of what this job "
            "produces; left as is: retarget it by hand once what receives the rows expects "
            "the new columns"
        )
    index = LineIndex(text)
    line, column = index.position(start)
    flag = Flag(line, column, reason, message)
    if json:
        return flag, None  # JSON has no comments: the flag is in the report and the PR
    migration = engine.migration
    comment = f"# {todo_marker(migration.id)}: {message}. See {migration.guide_url}"
    if comment in index.comment_block_above(line, "#"):
        return flag, None
    line_text = index.line_text(line)
    indent = line_text[: len(line_text) - len(line_text.lstrip(" "))]
    at = index.line_start(line)
    return flag, Edit(at, at, f"{indent}{comment}\n", "manual-comment")


def _old_table(engine: SqlRewriter, value: str):
    """The old table a value names: as a spec (`p.d.t`, `p:d.t`, `d.t`) or as a bare table id."""
    spec = value.strip().strip("`")
    if engine.tables.rename_spec(spec) is not None:
        for pair in engine.migration.tables:
            old = pair.old
            forms = {str(old), f"{old.project}:{old.dataset}.{old.table}", old.short}
            if spec.lower() in {f.lower() for f in forms}:
                return old
    matches = [p.old for p in engine.migration.tables if p.old.table.lower() == spec.lower()]
    return matches[0] if len(matches) == 1 else None
