"""dbt projects: models through the engine with their Jinja intact, sources YAML switched.

`{{ source('core', 'users_v1') }}` names an old table through a sources YAML entry;
the adapter resolves it for the engine and writes `{{ source('core', 'users_v2') }}`.
Once every model is seen, the sources entry is switched to the new table (or, when
some use of the old one is left for a human, the new table is added beside it), with
its column docs renamed per the mapping table, by character edits so comments and
order stay. `{{ var('x') }}` naming an old table in dbt_project.yml is followed and
the var's value renamed. `{{ ref() }}` needs nothing: output names never change, so
models downstream of a rewritten one keep working. Anything else naming an old table
through Jinja is flagged, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from gaggle.frameworks import dbt_inline as inline
from gaggle.frameworks import dbt_locations as locations
from gaggle.frameworks.base import RepoFile, result_from_edits
from gaggle.names import TableName
from gaggle.sql import RewriteResult, SqlRewriter, TemplateTable
from gaggle.sql.edits import Edit, LineIndex
from gaggle.sql.edits import apply as apply_edits
from gaggle.sql.flag_comments import FlagCommenter
from gaggle.sql.report import Flag, FlagReason, todo_marker

_SOURCE = re.compile(
    r"""source\(\s*(?P<q1>['"])(?P<source>[^'"]+)(?P=q1)\s*,\s*(?P<q2>['"])(?P<table>[^'"]+)(?P=q2)\s*\)"""
)
_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.S)
_PLAIN_SOURCE = re.compile(r"\{\{-?\s*" + _SOURCE.pattern + r"\s*-?\}\}")
_VAR = re.compile(r"""var\(\s*(['"])(?P<name>[^'"]+)\1""")
_DEFAULT_PATHS = {
    "model-paths": ["models"],
    "analysis-paths": ["analyses"],
    "snapshot-paths": ["snapshots"],
    "macro-paths": ["macros"],
    "test-paths": ["tests"],
}


@dataclass
class SourceTable:
    """One `tables:` entry of a sources YAML and where it is written."""

    file: str  # relative path of the YAML file
    source: str
    name: str
    database: str | None
    schema: str | None
    identifier: str
    node: CommentedMap
    line: int  # 1-based line of the entry's first key
    column: int  # 0-based column of the entry's first key
    # The location as written (templates included), for editing; database/schema/identifier
    # above are the values rendered with the project's vars (schema None: cannot be known).
    raw: dict[str, str] = field(default_factory=dict)
    source_node: CommentedMap | None = None
    source_line: int = 0  # 1-based line of the source's first key
    source_column: int = 0


@dataclass
class DbtProject:
    root: str  # relative folder of dbt_project.yml ("" for the repo root)
    paths: list[str]  # relative folders holding SQL dbt reads (models, macros, ...)
    vars: dict[str, str] = field(default_factory=dict)
    sources: list[SourceTable] = field(default_factory=list)
    all_vars: dict[str, object] = field(default_factory=dict)  # any type: lists, numbers
    name: str = ""  # dbt_project.yml's name: its macros are also reachable as `name.macro()`


class DbtSession:
    framework = "dbt"

    def __init__(
        self,
        engine: SqlRewriter,
        projects: list[DbtProject],
        files: list[RepoFile],
        repo: Path | None = None,
    ):
        self.engine = engine
        self.projects = projects
        self.files = {f.relative: f for f in files}
        self.commenter = getattr(engine, "commenter", None) or FlagCommenter(engine.migration)
        self.fragments = {p.root: self._fragment_index(p, repo) for p in projects}
        # fragment key -> [(model, edits relative to the fragment, call, the model parsed)]
        self.fragment_uses: dict[str, list[tuple[str, frozenset, inline.Call, bool]]] = {}
        self.model_results: dict[str, RewriteResult] = {}  # models with inlined calls, raw
        self.model_reads_migrated: dict[str, bool] = {}  # ...and whether they read a moved table
        self.switched: dict[tuple[str, str, str], list[str]] = {}  # entry -> files migrated
        self.kept: dict[tuple[str, str, str], list[str]] = {}  # entry -> files still on old
        self.var_renames: dict[tuple[str, str], str] = {}  # (project root, var) -> new value
        # Sources whose tables move to another dataset or project: "A" sources move as a
        # whole (their schema template is edited); "B" sources get a sibling source for
        # the moved tables, and exactly the source() calls reading a moved table follow it.
        self.split: set[tuple[str, str]] = set()  # (file, source) forced to B
        self.source_users: dict[tuple[str, str], set[str]] = {}  # (file, source) -> models
        self._current = ""  # the model being rewritten

    # ------------------------------------------------------------ protocol

    def kind_of(self, file: RepoFile) -> str | None:
        project = self.project_of(file.relative)
        if project is None:
            return None
        name = file.relative.rsplit("/", 1)[-1]
        if name == "dbt_project.yml":
            return "dbt-project"  # rewritten in finish(), once every model has been seen
        if _source_file(project, file.relative):
            return "dbt-yaml"
        if name.endswith(".json") and '"dbt_schema_version"' in file.text[:500]:
            return "dbt-artifact"  # manifest.json & co.: dbt's own output, never edited
        if file.relative.endswith(".sql") and any(
            file.relative.startswith(_join(project.root, p) + "/") for p in project.paths
        ):
            return "dbt-model" if "/macros/" not in f"/{file.relative}" else "dbt-macro"
        return None

    def rewrite(self, file: RepoFile) -> RewriteResult:
        project = self.project_of(file.relative)
        assert project is not None
        if not file.relative.endswith(".sql"):
            return RewriteResult(file.text, file.text)  # project files change in finish()
        uses: list[tuple[tuple[str, str, str], bool]] = []

        def resolve(template: str) -> TemplateTable | None:
            return self._resolve(project, template, uses)

        self._current = file.relative
        calls = self.fragments[project.root].calls(file.text) if "{{" in file.text else []
        if calls:
            raw = self._rewrite_inlined(file, calls, resolve)
        else:
            branches = getattr(self.engine, "rewrite_branches", None)
            raw = (
                branches(file.text, resolve)
                if branches
                else self.engine.rewrite(file.text, resolve)
            )
        failed = any(
            f.reason in (FlagReason.UNPARSEABLE, FlagReason.INTERNAL_ERROR) for f in raw.flags
        )
        migrated = set() if failed else {entry for entry, rewritten in uses if rewritten}
        index = LineIndex(file.text)
        unplaced: list[Flag] = []
        for match in _SOURCE.finditer(file.text):
            entry = self._source_entry(project, match["source"], match["table"])
            old = self.old_table(entry) if entry is not None else None
            if entry is None or old is None:
                continue
            key = (entry.file, entry.source, entry.name)
            target = self.switched if key in migrated else self.kept
            target.setdefault(key, []).append(file.relative)
            if key not in migrated and not raw.flags:
                line, column = index.position(match.start())
                unplaced.append(
                    Flag(
                        line,
                        column,
                        FlagReason.UNRESOLVED_REFERENCE,
                        f"{match.group(0)} reads {old}, but gaggle could not rewrite the "
                        "statement around it (it does not parse?); migrate it by hand",
                    )
                )
        for key, _ in uses:  # sources read another way (a var holding a source() call)
            bucket = self.switched if key in migrated else self.kept
            if file.relative not in bucket.get(key, []):
                bucket.setdefault(key, []).append(file.relative)
        if calls:
            self.model_results[file.relative] = raw
            self.model_reads_migrated[file.relative] = bool(migrated)
        unplaced += self._relation_argument_flags(project, file.text, index)
        extra = self.commenter.macro_argument_flags(raw, bool(migrated)) + unplaced
        return self._finish(raw, extra)

    def _finish(self, result: RewriteResult, extra: list[Flag]) -> RewriteResult:
        """Extra flags added; as in-file comments unless the engine leaves comments for later."""
        finish = getattr(self.engine, "finish", None)
        return finish(result, extra) if finish else self.commenter.annotate(result, extra)

    def _relation_argument_flags(self, project: DbtProject, text: str, index: LineIndex) -> list:
        """A macro given an old table as an argument (`dbt_utils.star(from=source(...))`,
        `union_relations`, ...) reads its columns where gaggle cannot see: when the
        migration changes any of them, the call is flagged."""
        flags = []
        for expression in _EXPRESSION.finditer(text):
            body = expression.group(0)
            if "source(" not in body or _PLAIN_SOURCE.fullmatch(body):
                continue
            for match in _SOURCE.finditer(body):
                entry = self._source_entry(project, match["source"], match["table"])
                old = self.old_table(entry) if entry is not None else None
                if old is None or not self._changes_columns(old):
                    continue
                line, column = index.position(expression.start())
                flags.append(
                    Flag(
                        line,
                        column,
                        FlagReason.UNRESOLVED_TEMPLATE,
                        f"a macro reads the columns of {old} through {match.group(0)}; the "
                        "migration renames or changes some of them, and gaggle cannot see "
                        "which the macro uses: check its output by hand",
                    )
                )
                break
        return flags

    def _changes_columns(self, old: TableName) -> bool:
        return any(
            rule.action != "map" or (rule.expression or "").lower() != ".".join(path)
            for path, rule in self.engine.rules[old].items()
        )

    # ------------------------------------------------------------ macros and vars

    def _fragment_index(self, project: DbtProject, repo: Path | None) -> inline.FragmentIndex:
        index = inline.FragmentIndex()
        for relative, file in self.files.items():
            if self.project_of(relative) is project and self.kind_of(file) == "dbt-macro":
                index.add_macros(relative, file.text)
        packages = (repo / project.root / "dbt_packages") if repo is not None else None
        if packages is not None and packages.is_dir():
            for folder in sorted(p for p in packages.iterdir() if p.is_dir()):
                index.add_package_dir(folder, package_name(folder))
        project_file = self.files.get(_join(project.root, "dbt_project.yml"))
        word = self.commenter.column_word
        if project_file is not None and word is not None:
            try:
                document = YAML(typ="rt").load(project_file.text)
            except YAMLError:
                document = None
            variables = document.get("vars") if isinstance(document, CommentedMap) else None
            lines = LineIndex(project_file.text)
            for name, value in (variables or {}).items():
                if not isinstance(value, str) or not word.search(value):
                    continue
                if self.engine.tables.rename_spec(value) is not None:
                    continue  # a table name: renamed by _rewrite_vars
                start = self._scalar_start(project_file.text, lines, variables, name, value)
                if start is not None:
                    index.add_var(str(name), project_file.relative, start, value)
        return index

    def _rewrite_inlined(self, file: RepoFile, calls: list, resolve) -> RewriteResult:
        """The model rewritten with its macro calls and SQL vars inlined (see dbt_inline)."""
        expansion = inline.expand(file.text, calls)
        branches = getattr(self.engine, "rewrite_branches", self.engine.rewrite)
        raw = branches(expansion.text, resolve)
        parts = inline.split(expansion, raw)
        parsed = not parts.crossing and not any(
            f.reason in (FlagReason.UNPARSEABLE, FlagReason.INTERNAL_ERROR) for f in raw.flags
        )
        for call in parts.calls:
            edits = parts.fragments.get(call.fragment.key, frozenset())
            self.fragment_uses.setdefault(call.fragment.key, []).append(
                (file.relative, edits, call, parsed)
            )
        return parts.model

    def _fragment_results(self) -> tuple[dict[str, list[Edit]], dict[str, list[Flag]], set[str]]:
        """Edits per fragment file where every caller agrees; flags (with comments) at the
        fragment and each call site otherwise. Returns (edits, flags by file, models to redo)."""
        edits: dict[str, list[Edit]] = {}
        flags: dict[str, list[Flag]] = {}
        redo: set[str] = set()
        for uses in self.fragment_uses.values():
            fragment = uses[0][2].fragment
            sets = {edit_set for _, edit_set, _, _ in uses}
            if sets == {frozenset()}:
                continue
            agreed = len(sets) == 1 and all(parsed for _, _, _, parsed in uses)
            if agreed and fragment.editable:
                edits.setdefault(fragment.file, []).extend(
                    Edit(fragment.start + a, fragment.start + b, text, "column")
                    for a, b, text in next(iter(sets))
                )
                continue
            what = fragment.key.split(":", 1)[1].strip(":").replace(":", ".")
            kind = "var" if fragment.key.startswith("var:") else "macro"
            why = (
                "it is a package's macro (gaggle does not edit packages: override it in the "
                "project)"
                if not fragment.editable
                else "its callers do not all read a migrated table the same way"
            )
            message = f"the {kind} {what} reads columns the migration changes, but {why}; migrate it by hand"
            index = (
                LineIndex(self.files[fragment.file].text) if fragment.file in self.files else None
            )
            if index is not None and fragment.editable:
                line, _ = index.position(fragment.start)
                flags.setdefault(fragment.file, []).append(
                    Flag(line, 1, FlagReason.UNRESOLVED_TEMPLATE, message)
                )
            for model, _, call, _ in uses:
                model_index = LineIndex(self.files[model].text)
                line, column = model_index.position(call.start)
                flags.setdefault(model, []).append(
                    Flag(line, column, FlagReason.UNRESOLVED_TEMPLATE, message)
                )
                redo.add(model)
        return edits, flags, redo

    def finish(self) -> list[tuple[RepoFile, str, RewriteResult]]:
        done = []
        fragment_edits, fragment_flags, redo = self._fragment_results()
        for relative in sorted(redo):
            file = self.files[relative]
            raw = self.model_results[relative]
            reads_migrated = self.model_reads_migrated.get(relative, False)
            extra = self.commenter.macro_argument_flags(raw, reads_migrated)
            extra += fragment_flags.get(relative, [])
            done.append((file, "dbt-model", self._finish(raw, extra)))
        for relative in sorted(set(fragment_edits) | set(fragment_flags) - redo):
            file = self.files.get(relative)
            if file is None or relative.endswith("dbt_project.yml"):
                continue
            result = result_from_edits(file.text, fragment_edits.get(relative, []), [])
            done.append((file, "dbt-macro", self._finish(result, fragment_flags.get(relative, []))))
        self._project_fragment_edits = fragment_edits
        for relative in sorted(self._split_kept_sources()):
            file = self.files[relative]
            done.append((file, self.kind_of(file) or "dbt-model", self.rewrite(file)))
        for project in self.projects:
            for relative in sorted({s.file for s in project.sources}):
                result = self._rewrite_sources(project, relative)
                if result.references_found:
                    done.append((self.files[relative], "dbt-sources", result))
            project_file = self.files.get(_join(project.root, "dbt_project.yml"))
            if project_file is not None:
                result = self._rewrite_vars(project, project_file)
                if result.references_found:
                    done.append((project_file, "dbt-project", result))
        return done

    # ------------------------------------------------------------ templates

    def _resolve(self, project: DbtProject, template: str, uses: list) -> TemplateTable | None:
        match = _SOURCE.search(template)
        if match:
            entry = self._source_entry(project, match["source"], match["table"])
            if entry is None:
                return None
            old = self.old_table(entry)
            if old is None:
                return None
            key = (entry.file, entry.source, entry.name)
            new = self.engine.new_for[old]
            uses.append((key, True))
            source_start, source_end = match.span("source")
            start, end = match.span("table")
            if new.dataset != old.dataset or new.project != old.project:
                self.source_users.setdefault((entry.file, entry.source), set()).add(self._current)
                if self._plan(project, entry) == "B":
                    return TemplateTable(
                        old,
                        template[:source_start]
                        + self._new_source_name(entry, new)
                        + template[source_end:start]
                        + self._new_entry_name(entry, old, new)
                        + template[end:],
                    )
            name = self._new_entry_name(entry, old, new)
            return TemplateTable(old, template[:start] + name + template[end:])
        match = _VAR.search(template)
        if match and match["name"] in project.vars:
            value = project.vars[match["name"]]
            held = _SOURCE.search(value)
            if held:  # a var holding a source() call (a package's way to let users repoint it)
                return self._var_source(project, template, held, uses)
            renamed = self.engine.tables.rename_spec(value)
            old = self._table_from_spec(value.strip("`"))
            if renamed is None or old is None:
                mentioned = self._mentioned_table(value)
                return TemplateTable(mentioned, None) if mentioned else None
            self.var_renames[(project.root, match["name"])] = renamed
            return TemplateTable(old, template) if old else None
        return None

    def _var_source(self, project: DbtProject, template: str, held, uses: list):
        """`{{ var('orders') }}` whose value is `{{ source('shop', 'orders') }}`: when the
        source moves as a whole (its schema edited) the var needs nothing; otherwise the
        var's value would have to change for every reader: flagged."""
        entry = self._source_entry(project, held["source"], held["table"])
        old = self.old_table(entry) if entry is not None else None
        if entry is None or old is None:
            return None
        key = (entry.file, entry.source, entry.name)
        new = self.engine.new_for[old]
        moves = new.dataset != old.dataset or new.project != old.project
        if moves and new.table == old.table and self._plan(project, entry) == "A":
            uses.append((key, True))
            self.source_users.setdefault((entry.file, entry.source), set()).add(self._current)
            return TemplateTable(old, template)
        uses.append((key, False))
        return TemplateTable(old, None)

    def _plan(self, project: DbtProject, entry: SourceTable) -> str:
        """A: every table of the source moves to one new dataset and its location can be
        edited in place; B otherwise (a sibling source for the moved tables)."""
        if (entry.file, entry.source) in self.split:
            return "B"
        siblings = [s for s in project.sources if (s.file, s.source) == (entry.file, entry.source)]
        targets = set()
        for sibling in siblings:
            old = self.old_table(sibling)
            if old is None:
                return "B"
            new = self.engine.new_for[old]
            targets.add((new.project, new.dataset, old.project, old.dataset))
        if len(targets) != 1:
            return "B"
        return "A" if self._location_edits(entry) is not None else "B"

    def _location_edits(self, entry: SourceTable) -> list[Edit] | None:
        """The edits of the source's schema (and database) that point it at the new dataset."""
        old = self.old_table(entry)
        if old is None or entry.source_node is None:
            return None
        new = self.engine.new_for[old]
        file = self.files[entry.file]
        index = LineIndex(file.text)
        edits = []
        project = self.project_of(entry.file)
        variables = project.all_vars if project else {}
        for key in ("schema", "dataset", "database", "project"):
            if key not in entry.raw:
                continue
            is_schema = key in ("schema", "dataset")
            before, after = (old.dataset, new.dataset) if is_schema else (old.project, new.project)
            if before == after:
                continue
            found = locations.retarget(entry.raw[key], before, after, variables)
            start = self._scalar_start(file.text, index, entry.source_node, key, entry.raw[key])
            if found is None or start is None:
                return None
            edits.append(Edit(start + found[0], start + found[1], found[2], "dbt-source"))
        if not any(k in entry.raw for k in ("schema", "dataset")) and old.dataset != new.dataset:
            return None  # the schema is the source's name: a sibling source is clearer
        return edits

    @staticmethod
    def _scalar_start(
        text: str, index: LineIndex, node: CommentedMap, key: str, raw: str
    ) -> int | None:
        """Where a one-line scalar's value starts in the file (None: block or escaped)."""
        line, column = node.lc.value(key)
        start = index.line_start(line + 1) + column
        quote = text[start] if text[start] in "'\"" else ""
        begin = start + len(quote)
        return begin if text[begin : begin + len(raw)] == raw else None

    def _new_source_name(self, entry: SourceTable, new: TableName) -> str:
        return f"{entry.source}_{new.dataset}"

    @staticmethod
    def _new_entry_name(entry: SourceTable, old: TableName, new: TableName) -> str:
        """The table name source() calls use once the entry points at the new table: the new
        table's own name, except that an entry named apart from a sharded identifier
        (`name: events`, `identifier: events_*`) never becomes a glob (`events_v2_*`)."""
        if "*" in entry.name or entry.name.lower() == old.table.lower():
            return new.table
        return new.table.rstrip("*").rstrip("_") or new.table

    def _mentioned_table(self, text: str) -> TableName | None:
        """An old table a var's value mentions without being just its name."""
        return next((old for old in self.engine.new_for if old.table.lower() in text.lower()), None)

    def _table_from_spec(self, spec: str) -> TableName | None:
        for old in self.engine.new_for:
            if spec.replace(":", ".", 1).lower() in (str(old).lower(), old.short.lower()):
                return old
        return None

    def _source_entry(self, project: DbtProject, source: str, table: str) -> SourceTable | None:
        return next((s for s in project.sources if s.source == source and s.name == table), None)

    def old_table(self, entry: SourceTable) -> TableName | None:
        if entry.schema is None:
            return None  # a location gaggle cannot render offline: see _unresolved_flags
        for old in self.engine.new_for:
            if entry.schema.lower() != old.dataset.lower():
                continue
            if entry.identifier.lower() != old.table.lower():
                continue
            if entry.database is None or entry.database.lower() == old.project.lower():
                return old
        return None

    # ------------------------------------------------------------ finish

    def _split_kept_sources(self) -> set[str]:
        """A source planned to move as a whole while some model keeps reading one of its old
        tables cannot move: it becomes B, and the models that read it are rewritten again."""
        again: set[str] = set()
        for project in self.projects:
            for entry in project.sources:
                group = (entry.file, entry.source)
                key = (entry.file, entry.source, entry.name)
                if (
                    key in self.kept
                    and group in self.source_users
                    and group not in self.split
                    and self._plan(project, entry) == "A"
                ):
                    self.split.add(group)
                    again |= self.source_users[group]
        return again

    def _rewrite_sources(self, project: DbtProject, relative: str) -> RewriteResult:
        file = self.files[relative]
        index = LineIndex(file.text)
        edits: list[Edit] = []
        flags: list[Flag] = self._unresolved_flags(project, relative, index, edits)
        siblings: dict[str, list[tuple[SourceTable, TableName]]] = {}
        moved_whole = {
            (e.file, e.source)
            for e in project.sources
            if e.file == relative
            and (e.file, e.source, e.name) in self.switched
            and self._moves_dataset(e)
            and self._plan(project, e) == "A"
        }
        for entry in (s for s in project.sources if s.file == relative):
            old = self.old_table(entry)
            key = (entry.file, entry.source, entry.name)
            unread = old is not None and key not in self.switched and key not in self.kept
            if unread and (entry.file, entry.source) in moved_whole:
                continue  # it moves with its source's edited location
            if unread and not self._declared(project, self.engine.new_for[old]):
                flags.append(self._unread_flag(entry, old, index, edits))
                continue
            if old is None or key not in self.switched:
                continue  # no model moved off this entry: nothing to switch or add
            new = self.engine.new_for[old]
            entry_edits, entry_flags = self._entry_edits(file.text, index, entry, old)
            flags += entry_flags
            if new.dataset != old.dataset or new.project != old.project:
                if self._plan(project, entry) == "A":
                    edits += entry_edits
                    edits += [e for e in self._location_edits(entry) or [] if e not in edits]
                else:
                    siblings.setdefault(entry.source, []).append((entry, old))
            elif key in self.kept:  # some model still reads the old table: add the new one
                edits.append(self._copy_entry(file.text, index, entry, entry_edits))
            else:
                edits += entry_edits
        for moved in siblings.values():
            edits.append(self._sibling_source(file.text, index, moved))
        return result_from_edits(file.text, [e for e in edits if _changes(file.text, e)], flags)

    def _sibling_source(
        self, text: str, index: LineIndex, moved: list[tuple[SourceTable, TableName]]
    ) -> Edit:
        """A new source right after the old one, holding the moved tables at their new
        location (the location template edited when it can be, else the name written out)."""
        first, old = moved[0]
        new = self.engine.new_for[old]
        project = self.project_of(first.file)
        variables = project.all_vars if project else {}
        dash = " " * max(first.source_column - 2, 0)
        inner = " " * first.source_column
        lines = [f"{dash}- name: {self._new_source_name(first, new)}"]
        for keys, before, after in (
            (("database", "project"), old.project, new.project),
            (("schema", "dataset"), old.dataset, new.dataset),
        ):
            key = next((k for k in keys if k in first.raw), keys[0])
            raw = first.raw.get(key)
            value = after
            if raw is not None and "\n" not in raw.strip():
                found = locations.retarget(raw, before, after, variables)
                if found is not None:
                    value = raw[: found[0]] + found[2] + raw[found[1] :]
            elif raw is not None and before == after:
                value = after  # a multi-line template: its rendered value, written out
            lines.append(f"{inner}{key}: {_yaml_string(value)}")
        lines.append(f"{inner}tables:")
        block = "\n".join(lines) + "\n"
        for entry, entry_old in moved:
            entry_edits, _ = self._entry_edits(text, index, entry, entry_old)
            copy = self._copy_entry(text, index, entry, entry_edits).text.lstrip("\n")
            shift = first.source_column + 4 - entry.column
            block += "".join(
                (" " * shift + line if shift > 0 else line[-shift:]) if line.strip() else line
                for line in copy.splitlines(keepends=True)
            )
        end = self._block_end(index, first.source_line, first.source_column - 2, len(text))
        if end > 0 and text[end - 1 : end] != "\n":
            block = "\n" + block
        return Edit(end, end, block, "dbt-source")

    @staticmethod
    def _block_end(index: LineIndex, first: int, column: int, size: int) -> int:
        """The offset after the last line of a YAML block starting at line `first`."""
        last, total = first, len(index.starts)
        while last + 1 <= total:
            candidate = index.line_text(last + 1)
            if candidate.strip() and len(candidate) - len(candidate.lstrip()) <= column:
                break
            last += 1
        while last > first and not index.line_text(last).strip():
            last -= 1
        return index.line_start(last + 1) if last < total else size

    def _moves_dataset(self, entry: SourceTable) -> bool:
        old = self.old_table(entry)
        if old is None:
            return False
        new = self.engine.new_for[old]
        return new.dataset != old.dataset or new.project != old.project

    def _declared(self, project: DbtProject, table: TableName) -> bool:
        """Whether some source entry already points at this (new) table."""
        return any(
            entry.schema is not None
            and entry.schema.lower() == table.dataset.lower()
            and entry.identifier.lower() == table.table.lower()
            and (entry.database is None or entry.database.lower() == table.project.lower())
            for entry in project.sources
        )

    def _unread_flag(
        self, entry: SourceTable, old: TableName, index: LineIndex, edits: list
    ) -> Flag:
        """An entry pointing at an old table that no model reads through source(): it may be
        read another way (a var, a package macro, an analysis): a human checks, in the file."""
        message = (
            f"source('{entry.source}', '{entry.name}') points at the old table {old}, but no "
            "model gaggle rewrote reads it through source() (a var or a package macro may); "
            f"check its readers and point it at {self.engine.new_for[old]}"
        )
        comment = (
            f"{' ' * max(entry.column - 2, 0)}# {todo_marker(self.engine.migration.id)}: {message}. "
            f"See {self.engine.migration.guide_url}\n"
        )
        if comment.strip() not in index.line_text(max(entry.line - 1, 1)).strip():
            start = index.line_start(entry.line)
            edits.append(Edit(start, start, comment, "manual-comment"))
        return Flag(entry.line, entry.column + 1, FlagReason.UNRESOLVED_REFERENCE, message)

    def _unresolved_flags(
        self, project: DbtProject, relative: str, index: LineIndex, edits: list[Edit]
    ) -> list[Flag]:
        """A table entry whose location cannot be rendered offline but whose name is an old
        table's: flagged with a comment in the YAML, never guessed."""
        flags = []
        old_names = {old.table.lower(): old for old in self.engine.new_for}
        for entry in (s for s in project.sources if s.file == relative):
            old = old_names.get(entry.identifier.lower())
            if entry.schema is not None or old is None:
                continue
            message = (
                f"the location of source('{entry.source}', '{entry.name}') cannot be rendered "
                f"offline (schema {entry.raw.get('schema') or entry.raw.get('dataset')!r}); if it "
                f"is {old}, point it at {self.engine.new_for[old]} by hand"
            )
            flags.append(
                Flag(entry.line, entry.column + 1, FlagReason.UNRESOLVED_TEMPLATE, message)
            )
            comment = (
                f"{' ' * max(entry.column - 2, 0)}# {todo_marker(self.engine.migration.id)}: {message}. "
                f"See {self.engine.migration.guide_url}\n"
            )
            if comment.strip() not in index.line_text(entry.line - 1).strip():
                start = index.line_start(entry.line)
                edits.append(Edit(start, start, comment, "manual-comment"))
        return flags

    def _entry_edits(
        self, text: str, index: LineIndex, entry: SourceTable, old: TableName
    ) -> tuple[list[Edit], list[Flag]]:
        new = self.engine.new_for[old]
        edits = [
            self._value_edit(text, index, entry.node, "name", self._new_entry_name(entry, old, new))
        ]
        raw_identifier = entry.raw.get("identifier", "")
        if "identifier" in entry.node and not locations.is_template(raw_identifier):
            edits.append(self._value_edit(text, index, entry.node, "identifier", new.table))
        elif "identifier" in entry.node and old.table != new.table:
            project = self.project_of(entry.file)
            found = locations.retarget(
                raw_identifier, old.table, new.table, project.all_vars if project else {}
            )
            start = self._scalar_start(text, index, entry.node, "identifier", raw_identifier)
            if found is None or start is None:
                edits.append(self._value_edit(text, index, entry.node, "identifier", new.table))
            else:
                edits.append(Edit(start + found[0], start + found[1], found[2], "dbt-source"))
        flags: list[Flag] = []
        columns = entry.node.get("columns")
        rules = self.engine.rules[old]
        for position, column in enumerate(columns if isinstance(columns, CommentedSeq) else []):
            if not isinstance(column, CommentedMap) or not isinstance(column.get("name"), str):
                continue
            rule = rules.get(tuple(p.lower() for p in column["name"].split(".")))
            if rule is None or (rule.expression or "").lower() == column["name"].lower():
                continue
            if rule.action == "map" and re.fullmatch(r"[A-Za-z_][\w.]*", rule.expression or ""):
                edits.append(self._value_edit(text, index, column, "name", rule.expression or ""))
                continue
            line = columns.lc.item(position)[0] + 1
            indent = " " * (columns.lc.item(position)[1] - 2)
            what = (
                f"has no automatic mapping: {rule.note}"
                if rule.action == "manual"
                else f"is now {rule.expression}"
            )
            comment = (
                f"{indent}# {todo_marker(self.engine.migration.id)}: {column['name']} "
                f"{what}; move its docs and tests. See {self.engine.migration.guide_url}\n"
            )
            if comment.strip() not in index.line_text(line - 1).strip():
                start = index.line_start(line)
                edits.append(Edit(start, start, comment, "manual-comment"))
            reason = FlagReason.MANUAL_COLUMN if rule.action == "manual" else FlagReason.COLUMN_DOCS
            flags.append(
                Flag(line, len(indent) + 1, reason, f"column docs for {column['name']} {what}")
            )
        return edits, flags

    @staticmethod
    def _value_edit(text: str, index: LineIndex, node: CommentedMap, key: str, value: str) -> Edit:
        line, column = node.lc.value(key)
        start = index.line_start(line + 1) + column
        current = str(node[key])
        quote = text[start] if text[start] in "'\"" else ""
        begin = start + len(quote)
        return Edit(begin, begin + len(current), value, "dbt-source")

    @staticmethod
    def _copy_entry(text: str, index: LineIndex, entry: SourceTable, edits: list[Edit]) -> Edit:
        """The entry's block copied right after it, with the edits applied to the copy."""
        first = entry.line
        last = first
        total = len(index.starts)
        while last + 1 <= total:
            candidate = index.line_text(last + 1)
            if candidate.strip() and len(candidate) - len(candidate.lstrip()) < entry.column:
                break
            last += 1
        while last > first and not index.line_text(last).strip():
            last -= 1
        start = index.line_start(first)
        end = index.line_start(last + 1) if last < total else len(text)
        block = text[start:end]
        shifted = [Edit(e.start - start, e.end - start, e.text, e.rule) for e in edits]
        copy = apply_edits(block, shifted)
        if not block.endswith("\n"):
            copy = "\n" + copy
        return Edit(end, end, copy, "dbt-source")

    def _rewrite_vars(self, project: DbtProject, file: RepoFile) -> RewriteResult:
        renames = {name: v for (root, name), v in self.var_renames.items() if root == project.root}
        inlined = getattr(self, "_project_fragment_edits", {}).get(file.relative, [])
        if not renames and not inlined:
            return RewriteResult(file.text, file.text)
        try:
            document = YAML(typ="rt").load(file.text)
        except YAMLError:
            return RewriteResult(file.text, file.text)
        variables = document.get("vars") if isinstance(document, CommentedMap) else None
        index = LineIndex(file.text)
        edits = [
            self._value_edit(file.text, index, variables, name, value)
            for name, value in renames.items()
            if isinstance(variables, CommentedMap) and name in variables
        ]
        return result_from_edits(file.text, edits + inlined, [])

    def project_of(self, relative: str) -> DbtProject | None:
        found = [p for p in self.projects if not p.root or relative.startswith(p.root + "/")]
        return max(found, key=lambda p: len(p.root), default=None)


class DbtFramework:
    name = "dbt"

    def open(self, repo: Path, engine: SqlRewriter, files: list[RepoFile]) -> DbtSession | None:
        projects = []
        for file in files:
            if file.relative.rsplit("/", 1)[-1] == "dbt_project.yml":
                project = _read_project(file)
                if project is not None:
                    projects.append(project)
        if not projects:
            return None
        for project in projects:
            for file in files:
                if _source_file(project, file.relative):
                    project.sources += _read_sources(file, project.all_vars)
        return DbtSession(engine, projects, files, repo)


def _read_project(file: RepoFile) -> DbtProject | None:
    try:
        document = YAML(typ="safe").load(file.text) or {}
    except YAMLError:
        return None
    root = file.relative.rsplit("/", 1)[0] if "/" in file.relative else ""
    paths: list[str] = []
    for key, default in _DEFAULT_PATHS.items():
        value = document.get(key, default)
        paths += [str(p).strip("/") for p in (value if isinstance(value, list) else default)]
    raw_vars = document.get("vars") if isinstance(document.get("vars"), dict) else {}
    everything = {str(k): v for k, v in raw_vars.items() if not isinstance(v, dict)}
    scoped = raw_vars.get(str(document.get("name", "")))  # vars scoped to the project itself
    if isinstance(scoped, dict):
        everything.update({str(k): v for k, v in scoped.items()})
    variables = {k: v for k, v in everything.items() if isinstance(v, str)}
    name = str(document.get("name") or "")
    return DbtProject(root, paths, variables, all_vars=everything, name=name)


def _source_file(project: DbtProject, relative: str) -> bool:
    return relative.endswith((".yml", ".yaml")) and any(
        relative.startswith(_join(project.root, p) + "/") for p in project.paths
    )


def _read_sources(file: RepoFile, variables: dict[str, object] | None = None) -> list[SourceTable]:
    """Every table entry of a sources YAML, its location rendered with the project's vars."""
    if "sources" not in file.text:
        return []
    try:
        document = YAML(typ="rt").load(file.text)
    except YAMLError:
        return []
    variables = variables or {}
    found = []
    sources = document.get("sources") if isinstance(document, CommentedMap) else None
    for source_position, source in enumerate(sources if isinstance(sources, CommentedSeq) else []):
        if not isinstance(source, CommentedMap) or not isinstance(source.get("name"), str):
            continue
        database_key = "database" if "database" in source else "project"
        schema_key = "schema" if "schema" in source else "dataset"
        raw_database = source.get(database_key)
        raw_schema = str(source.get(schema_key) or source["name"])
        database = locations.resolve(str(raw_database), variables) if raw_database else None
        schema = locations.resolve(raw_schema, variables)
        source_line, source_column = sources.lc.item(source_position)
        tables = source.get("tables")
        for position, table in enumerate(tables if isinstance(tables, CommentedSeq) else []):
            if not isinstance(table, CommentedMap) or not isinstance(table.get("name"), str):
                continue
            line, column = tables.lc.item(position)
            raw_identifier = str(table.get("identifier") or table["name"])
            raw = {schema_key: raw_schema, "identifier": raw_identifier}
            if raw_database:
                raw[database_key] = str(raw_database)
            found.append(
                SourceTable(
                    file=file.relative,
                    source=source["name"],
                    name=table["name"],
                    database=database,
                    schema=schema,
                    identifier=locations.resolve(raw_identifier, variables) or raw_identifier,
                    node=table,
                    line=line + 1,
                    column=column,
                    raw=raw,
                    source_node=source,
                    source_line=source_line + 1,
                    source_column=source_column,
                )
            )
    return found


def package_name(folder: Path) -> str:
    """A package's name as models call it: its dbt_project.yml name, else its folder."""
    try:
        document = YAML(typ="safe").load((folder / "dbt_project.yml").read_text("utf-8")) or {}
    except (OSError, UnicodeDecodeError, YAMLError):
        return folder.name
    name = document.get("name") if isinstance(document, dict) else None
    return str(name) if name else folder.name


def _changes(text: str, edit: Edit) -> bool:
    return text[edit.start : edit.end] != edit.text


def _yaml_string(value: str) -> str:
    """A YAML scalar for a value that may hold Jinja (quoted so `{` stays text)."""
    if re.fullmatch(r"[A-Za-z_][\w.-]*", value):
        return value
    if '"' not in value and "\\" not in value:
        return f'"{value}"'
    return "'" + value.replace("'", "''") + "'"


def _join(root: str, path: str) -> str:
    return f"{root}/{path}" if root else path
