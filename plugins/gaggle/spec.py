"""Load a migration folder (migration.yaml, mapping.csv, schemas/) into typed objects.

Loading is strict: the first defect raises one SpecError naming the file, the
line, the field, what is wrong and how to fix it. Anything that loads is safe to
run: every old column has exactly one rule, every expression parses, uses only
columns of the new table, and yields the old column's type where sqlglot can tell.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import (
    MappingEndEvent,
    MappingStartEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from gaggle.errors import SpecError
from gaggle.mapping import ColumnRule, TablePair, read_mapping
from gaggle.names import TableName
from gaggle.nesting import too_deep_at
from gaggle.schema import Catalog, TableSchema, load_schema_file

MIGRATION_FILE = "migration.yaml"
MAX_YAML_DEPTH = 100  # a spec nests four or five levels; far more is a mistake or an attack
_ID = re.compile(r"^[a-z0-9_]+$")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]*/[A-Za-z0-9._\-]+$")
# git check-ref-format, the parts a branch name can get wrong.
_BAD_BRANCH = re.compile(r"(^[-/.])|(\.\.)|([\s~^:?*\[\\])|(@\{)|(\.lock$)|([/.]$)|(//)")

TOP_KEYS = {
    "id": True,
    "title": True,
    "guide_url": True,
    "tables": True,
    "mapping": False,
    "consumers": False,
    "pull_request": False,
}
CONSUMER_KEYS = {"repos", "github_search", "lineage"}
LINEAGE_KEYS = {"days", "region", "project", "repo_label", "principals"}
MAX_LINEAGE_DAYS = 180  # INFORMATION_SCHEMA.JOBS keeps 180 days of history
_REGION = re.compile(r"^[a-z]+(-[a-z]+[0-9]+)?$")  # us, eu, us-central1, europe-west2
_PROJECT = re.compile(r"^([a-z][a-z0-9.\-]*[a-z0-9]:)?[a-z][a-z0-9\-]{4,28}[a-z0-9]$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_\-]{0,62}$")  # BigQuery label keys
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PULL_REQUEST_KEYS = {
    "branch",
    "title",
    "labels",
    "draft",
    "draft_while_decisions",
    "request_reviewers",
}
TABLE_KEYS = {"old", "new"}


@dataclass(frozen=True)
class LineageSettings:
    """Where and how to read BigQuery lineage (`consumers.lineage` as a mapping)."""

    days: int = 30  # readers in the last N days count
    region: str = "us"  # the JOBS view read is `region-<region>`
    projects: tuple[str, ...] = ()  # projects whose jobs to read; () = the old tables' projects
    repo_label: str = "gaggle-repo"  # job label whose value names the repo (owner__name)
    principals: tuple[tuple[str, str], ...] = ()  # (user_email, owner/name), sorted

    def principal_map(self) -> dict[str, str]:
        return dict(self.principals)


@dataclass(frozen=True)
class Consumers:
    repos: tuple[str, ...] = ()
    github_search: str | None = None
    lineage: bool = False  # on when `lineage: true` or a mapping
    lineage_settings: LineageSettings = LineageSettings()


@dataclass(frozen=True)
class PullRequestSettings:
    branch: str
    title: str
    labels: tuple[str, ...] = ()
    draft: bool = False
    request_reviewers: bool = False  # ask the CODEOWNERS of the changed files to review
    draft_while_decisions: bool = True  # a PR with manual decisions left opens as a draft


@dataclass(frozen=True)
class Migration:
    id: str
    title: str
    guide_url: str
    folder: Path
    tables: tuple[TablePair, ...]
    rules: tuple[ColumnRule, ...]
    catalog: Catalog
    consumers: Consumers
    pull_request: PullRequestSettings
    mapping_file: Path
    guide: Path | None = None

    def rules_for(self, old_table: TableName) -> dict[tuple[str, ...], ColumnRule]:
        """The rules of one old table, keyed by lower-cased path."""
        return {tuple(p.lower() for p in r.path): r for r in self.rules if r.old_table == old_table}

    def schema(self, table: TableName) -> TableSchema:
        found = self.catalog.get(table)
        if found is None:  # load_migration guarantees every named table has one
            raise KeyError(table)
        return found


def load_migration(folder: Path | str) -> Migration:
    """Load and validate a migration folder; raises SpecError on the first defect."""
    folder = Path(folder)
    yaml_path = folder / MIGRATION_FILE
    doc = _read_yaml(yaml_path)
    reader = _Fields(yaml_path, doc)
    reader.reject_unknown(doc, TOP_KEYS, "")
    migration_id = reader.string(doc, "id")
    if not _ID.match(migration_id):
        reader.fail(doc, "id", f"{migration_id!r} may hold only a-z, 0-9 and _", "e.g. users_v2")
    if migration_id != folder.name:
        reader.fail(
            doc,
            "id",
            f"{migration_id!r} differs from the folder name {folder.name!r}",
            f"rename the folder to {migration_id} or set id: {folder.name}",
        )
    title = reader.string(doc, "title")
    guide_url = reader.string(doc, "guide_url")
    if not re.match(r"^https?://[^\s/]+\S*$", guide_url):
        reader.fail(doc, "guide_url", f"{guide_url!r} is not an http(s) URL", "give a full URL")
    tables = _read_tables(reader, doc)
    catalog = _read_catalog(folder, yaml_path, reader, doc, tables)
    mapping_name = reader.string(doc, "mapping", default="mapping.csv")
    mapping_path = folder / mapping_name
    if not mapping_path.is_file() or Path(mapping_name).is_absolute() or ".." in mapping_name:
        reader.fail(
            doc,
            "mapping",
            f"{mapping_name!r} is not a file inside the migration folder",
            "name the mapping table's file relative to the folder, e.g. mapping.csv",
        )
    rules = read_mapping(mapping_path, tables, catalog)
    guide = folder / "guide.md"
    return Migration(
        id=migration_id,
        title=title,
        guide_url=guide_url,
        folder=folder,
        tables=tables,
        rules=rules,
        catalog=catalog,
        consumers=_read_consumers(reader, doc),
        pull_request=_read_pull_request(reader, doc, migration_id, title),
        mapping_file=mapping_path,
        guide=guide if guide.is_file() else None,
    )


def discover_migrations(root: Path | str) -> list[Path]:
    """Every migration folder under root (a folder holding migration.yaml), sorted."""
    return sorted(p.parent for p in Path(root).glob(f"*/{MIGRATION_FILE}"))


def _read_yaml(path: Path) -> CommentedMap:
    if not path.is_file():
        raise SpecError(
            path, None, MIGRATION_FILE, "is missing", "create it; see the README's spec format"
        )
    try:
        text = path.read_text(encoding="utf-8")
        _check_depth(path, text)
        doc = YAML(typ="rt").load(text)
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        raise SpecError(
            path, line, "yaml", f"is not valid YAML: {err.problem}", "fix the syntax at that line"
        ) from err
    except UnicodeDecodeError as err:
        raise SpecError(path, None, "yaml", "is not UTF-8 text", "save it as UTF-8") from err
    if not isinstance(doc, CommentedMap):
        raise SpecError(
            path, 1, "yaml", "must be a mapping of keys (id, title, ...)", "see the README"
        )
    return doc


def _check_depth(path: Path, text: str) -> None:
    """Refuse nesting deeper than a spec needs, before the (recursive) loader meets it:
    the parser's events come one by one, so even 3,000 levels cost no recursion."""
    line = too_deep_at(text, MAX_YAML_DEPTH)
    if line is not None:  # flow nesting: found without the parser, which slows down on it
        raise SpecError(
            path,
            line,
            "yaml",
            f"is nested deeper than {MAX_YAML_DEPTH} levels",
            "a migration spec needs a few levels: remove the nesting at that line",
        )
    depth = 0
    for event in YAML(typ="rt").parse(text):
        if isinstance(event, MappingStartEvent | SequenceStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise SpecError(
                    path,
                    event.start_mark.line + 1,
                    "yaml",
                    f"is nested deeper than {MAX_YAML_DEPTH} levels",
                    "a migration spec needs a few levels: remove the nesting at that line",
                )
        elif isinstance(event, MappingEndEvent | SequenceEndEvent):
            depth -= 1


class _Fields:
    """Typed access to YAML keys that turns every defect into a located SpecError."""

    def __init__(self, path: Path, doc: CommentedMap) -> None:
        self.path = path
        self.doc = doc

    def line_of(self, node: Any, key: str | int | None = None) -> int | None:
        try:
            if key is None:
                return node.lc.line + 1
            if isinstance(node, CommentedSeq):
                return node.lc.item(key)[0] + 1
            if key in node:
                return node.lc.key(key)[0] + 1
            return node.lc.line + 1
        except (AttributeError, KeyError, IndexError, TypeError):
            return None

    def fail(self, node: Any, key: str | int, problem: str, fix: str, field: str = "") -> None:
        raise SpecError(self.path, self.line_of(node, key), field or str(key), problem, fix)

    def reject_unknown(self, node: CommentedMap, allowed: dict | set, prefix: str) -> None:
        for key in node:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                fix = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
                self.fail(node, key, "is not a known key", fix, f"{prefix}{key}")
        required = (
            [k for k, needed in allowed.items() if needed] if isinstance(allowed, dict) else []
        )
        for key in required:
            if key not in node:
                self.fail(node, key, "is required but missing", f"add `{key}:`", f"{prefix}{key}")

    def string(
        self, node: CommentedMap, key: str, default: str | None = None, field: str = ""
    ) -> str:
        if key not in node and default is not None:
            return default
        value = node.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(
                node, key, f"must be a non-empty string, got {value!r}", "quote it", field or key
            )
        return value.strip()

    def mapping(self, node: CommentedMap, key: str) -> CommentedMap:
        value = node.get(key)
        if value is None:
            return CommentedMap()
        if not isinstance(value, CommentedMap):
            self.fail(
                node, key, f"must be a mapping, got {type(value).__name__}", "indent its keys"
            )
        return value

    def string_list(self, node: CommentedMap, key: str, field: str) -> tuple[str, ...]:
        value = node.get(key, [])
        if not isinstance(value, list):
            self.fail(node, key, "must be a list", f"write `{key}: [a, b]`", field)
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.fail(value, index, f"must be a string, got {item!r}", "quote it", field)
        return tuple(value)


def _read_tables(reader: _Fields, doc: CommentedMap) -> tuple[TablePair, ...]:
    entries = doc.get("tables")
    if not isinstance(entries, list) or not entries:
        reader.fail(
            doc,
            "tables",
            "must be a non-empty list of {old, new}",
            "add `- old: project.dataset.table` and `new: ...`",
        )
    pairs: list[TablePair] = []
    for index, entry in enumerate(entries):
        field = f"tables[{index}]"
        if not isinstance(entry, CommentedMap):
            reader.fail(entries, index, "must be a mapping with old and new", "see README", field)
        reader.reject_unknown(entry, dict.fromkeys(TABLE_KEYS, True), f"{field}.")
        names = {}
        for side in ("old", "new"):
            text = reader.string(entry, side, field=f"{field}.{side}")
            try:
                names[side] = TableName.parse(text)
            except ValueError as err:
                reader.fail(entry, side, str(err), "write project.dataset.table", f"{field}.{side}")
        old, new = names["old"], names["new"]
        if old == new:
            reader.fail(entry, "new", "is the same table as old", "name the replacement", field)
        if old.is_wildcard != new.is_wildcard:
            reader.fail(
                entry,
                "new",
                "a date-sharded (wildcard) table must map to a wildcard table",
                "use `*` on both sides or neither",
                f"{field}.new",
            )
        for earlier in pairs:
            if earlier.old == old:
                reader.fail(
                    entry,
                    "old",
                    f"{old} is listed twice (first on line {earlier.line})",
                    "keep one entry per old table",
                    f"{field}.old",
                )
        pairs.append(TablePair(old, new, reader.line_of(entries, index) or 0))
    return tuple(pairs)


def _read_catalog(
    folder: Path,
    yaml_path: Path,
    reader: _Fields,
    doc: CommentedMap,
    tables: tuple[TablePair, ...],
) -> Catalog:
    catalog = Catalog()
    schema_dir = folder / "schemas"
    for file in sorted(schema_dir.glob("*.json")):
        try:
            name = TableName.parse(file.name[: -len(".json")])
        except ValueError as err:
            raise SpecError(
                file,
                None,
                "schema file name",
                str(err),
                "name schema files <project>.<dataset>.<table>.json",
            ) from err
        catalog.add(load_schema_file(file, name))
    for index, pair in enumerate(tables):
        for side in ("old", "new"):
            table = getattr(pair, side)
            if catalog.get(table) is None:
                reader.fail(
                    doc["tables"][index],
                    side,
                    f"has no schema file schemas/{table}.json",
                    f"run `bq show --schema --format=prettyjson {table.project}:{table.dataset}."
                    f"{table.table} > schemas/{table}.json`",
                    f"tables[{index}].{side}",
                )
    return catalog


def _read_consumers(reader: _Fields, doc: CommentedMap) -> Consumers:
    node = reader.mapping(doc, "consumers")
    reader.reject_unknown(node, dict.fromkeys(CONSUMER_KEYS, False), "consumers.")
    repos = reader.string_list(node, "repos", "consumers.repos")
    for index, repo in enumerate(repos):
        if not _REPO.match(repo):
            reader.fail(
                node["repos"],
                index,
                f"{repo!r} is not owner/name",
                "write repos as owner/name",
                "consumers.repos",
            )
        if repo in repos[:index]:
            reader.fail(node["repos"], index, f"{repo} is listed twice", "list it once", "repos")
    search = None
    if "github_search" in node:
        search = reader.string(node, "github_search", field="consumers.github_search")
    lineage = node.get("lineage", False)
    settings = LineageSettings()
    if isinstance(lineage, CommentedMap):
        settings, lineage = _read_lineage(reader, lineage), True
    elif not isinstance(lineage, bool):
        reader.fail(
            node,
            "lineage",
            f"must be true or false (or a mapping of settings), got {lineage!r}",
            "write true or false, or a mapping such as {days: 30, region: us}",
        )
    return Consumers(repos=repos, github_search=search, lineage=lineage, lineage_settings=settings)


def _read_lineage(reader: _Fields, node: CommentedMap) -> LineageSettings:
    """`consumers.lineage` as a mapping: {days, region, project, repo_label, principals}."""
    prefix = "consumers.lineage."
    reader.reject_unknown(node, dict.fromkeys(LINEAGE_KEYS, False), prefix)
    days = node.get("days", LineageSettings.days)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_LINEAGE_DAYS:
        reader.fail(
            node,
            "days",
            f"must be a whole number of days from 1 to {MAX_LINEAGE_DAYS}, got {days!r}",
            f"write e.g. days: 30 (INFORMATION_SCHEMA.JOBS keeps {MAX_LINEAGE_DAYS} days)",
            prefix + "days",
        )
    region = reader.string(node, "region", default=LineageSettings.region, field=prefix + "region")
    if not _REGION.match(region.lower()):
        reader.fail(
            node,
            "region",
            f"{region!r} is not a BigQuery location",
            "write the location of the jobs, e.g. us, eu or europe-west2 (without `region-`)",
            prefix + "region",
        )
    projects = _lineage_projects(reader, node, prefix + "project")
    label = reader.string(
        node, "repo_label", default=LineageSettings.repo_label, field=prefix + "repo_label"
    )
    if not _LABEL_KEY.match(label):
        reader.fail(
            node,
            "repo_label",
            f"{label!r} is not a valid BigQuery label key",
            "use lowercase letters, digits, _ and -, starting with a letter, e.g. gaggle-repo",
            prefix + "repo_label",
        )
    return LineageSettings(
        days=days,
        region=region.lower(),
        projects=projects,
        repo_label=label,
        principals=_lineage_principals(reader, node, prefix + "principals"),
    )


def _lineage_projects(reader: _Fields, node: CommentedMap, field: str) -> tuple[str, ...]:
    value = node.get("project")
    if value is None and "project" not in node:
        return ()
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        where, key = (value, index) if isinstance(value, list) else (node, "project")
        if not isinstance(item, str) or not _PROJECT.match(item.strip()):
            reader.fail(
                where,
                key,
                f"{item!r} is not a Google Cloud project id",
                "write the id of the project whose jobs to read (or a list of them), "
                "e.g. project: acme-prod",
                field,
            )
    if not items:
        reader.fail(node, "project", "is an empty list", "name at least one project", field)
    return tuple(dict.fromkeys(item.strip() for item in items))


def _lineage_principals(reader: _Fields, node: CommentedMap, field: str) -> tuple:
    value = node.get("principals")
    if value is None and "principals" not in node:
        return ()
    if not isinstance(value, CommentedMap):
        reader.fail(
            node,
            "principals",
            f"must be a mapping of principal to repo, got {type(value).__name__}",
            "write principals: {etl@acme-prod.iam.gserviceaccount.com: acme/growth-dbt}",
            field,
        )
    found = {}
    for email, repo in value.items():
        if not isinstance(email, str) or not _EMAIL.match(email):
            reader.fail(
                value,
                email,
                f"{email!r} is not a principal's email",
                "key each entry by the user_email BigQuery records, e.g. etl@proj.iam.gserviceaccount.com",
                field,
            )
        if not isinstance(repo, str) or not _REPO.match(repo):
            reader.fail(
                value,
                email,
                f"{repo!r} is not owner/name",
                "map the principal to the repo that runs its jobs, as owner/name",
                f"{field}.{email}",
            )
        found[email.lower()] = repo
    return tuple(sorted(found.items()))


def _read_pull_request(
    reader: _Fields, doc: CommentedMap, migration_id: str, title: str
) -> PullRequestSettings:
    node = reader.mapping(doc, "pull_request")
    reader.reject_unknown(node, dict.fromkeys(PULL_REQUEST_KEYS, False), "pull_request.")
    default_branch = "data-migration/" + migration_id.replace("_", "-")
    branch = reader.string(node, "branch", default=default_branch, field="pull_request.branch")
    if _BAD_BRANCH.search(branch):
        reader.fail(
            node,
            "branch",
            f"{branch!r} is not a valid git branch name",
            "use letters, digits, '-', '_' and '/' only",
            "pull_request.branch",
        )
    pr_title = reader.string(node, "title", default=title, field="pull_request.title")
    labels = reader.string_list(node, "labels", "pull_request.labels")
    flags = {}
    for key, default in (
        ("draft", False),
        ("request_reviewers", False),
        ("draft_while_decisions", True),
    ):
        value = node.get(key, default)
        if not isinstance(value, bool):
            reader.fail(node, key, f"must be true or false, got {value!r}", "write true or false")
        flags[key] = value
    return PullRequestSettings(branch=branch, title=pr_title, labels=labels, **flags)
