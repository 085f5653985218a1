"""Validate a repo's rewrite: each changed statement before and after, by one backend.

The rewrite is computed in memory (nothing is written). SQL job files are rendered
with a fixed Airflow-like context; dbt models are compiled by the dbt renderer (both
`is_incremental()` branches when the model has one). Statements are paired by
position, and only those the rewrite changed are checked. Every problem is reported
at the line of the original file.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from sqlglot.tokens import TokenType

from gaggle.errors import GaggleError
from gaggle.frameworks.dbt import DbtFramework, DbtProject, DbtSession, package_name
from gaggle.frameworks.dbt_compile import CompiledModel, CompileError, DbtRenderer, DbtTarget
from gaggle.frameworks.dbt_core import DbtCoreProject, catalog_columns, dbt_python
from gaggle.repo import RepoOutcome, collect_files, rewrite_repo
from gaggle.spec import Migration
from gaggle.sql import SqlRewriter, dataform
from gaggle.sql.branches import branch_templates
from gaggle.sql.script import mask_control_flow
from gaggle.validation.analysis import Analysis, Validator, Verdict, judge
from gaggle.validation.equivalence import Outcome, check_equivalence
from gaggle.validation.scala import is_scala, scala_query_pairs


def _ds_add(ds: str, days: int) -> str:
    return (date.fromisoformat(ds) + timedelta(days=days)).isoformat()


def _ds_format(ds: str, input_format: str, output_format: str) -> str:
    return datetime.strptime(ds, input_format).strftime(output_format)


AIRFLOW_CONTEXT = {
    "macros": SimpleNamespace(ds_add=_ds_add, ds_format=_ds_format),
    "ds": "2024-01-01",
    "ds_nodash": "20240101",
    "ts": "2024-01-01T00:00:00+00:00",
    "data_interval_start": "2024-01-01T00:00:00+00:00",
    "data_interval_end": "2024-01-02T00:00:00+00:00",
    "params": {},
}


@dataclass
class StatementResult:
    path: str
    line: int  # in the original file
    verdict: Verdict
    note: str = ""  # e.g. "is_incremental() branch"

    def to_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "note": self.note, **self.verdict.to_dict()}


class EquivalenceValidator:
    """Pairs the offline checks with a DuckDB run of both queries on synthetic rows."""

    name = "equivalence"

    def __init__(self, migration: Migration, offline: Validator) -> None:
        self.migration = migration
        self.offline = offline

    def verdict(self, before: str, after: str) -> Verdict:
        verdict = judge(
            self.offline.analyze(before),
            self.offline.analyze(after),
            [p.old for p in self.migration.tables],
        )
        try:
            result = check_equivalence(before, after, self.migration)
        except Exception as err:  # sqlglot's transpiler limits, say
            verdict.warnings.append(f"not checkable in DuckDB: {type(err).__name__}: {err}")
            return verdict
        if result.outcome == Outcome.DIFFERENT:
            verdict.ok = False
            verdict.problems.append(f"results differ in DuckDB: {result.detail}")
        elif result.outcome == Outcome.NOT_CHECKABLE:
            verdict.warnings.append(f"not checkable in DuckDB: {result.detail}")
        else:
            verdict.evidence.append(f"same {result.rows_compared} rows in DuckDB")
        return verdict


def validate_repo(
    repo: Path,
    migration: Migration,
    validator: Validator | EquivalenceValidator,
    dbt_target: DbtTarget | None = None,
    outcome: RepoOutcome | None = None,
) -> list[StatementResult]:
    """Validate gaggle's own rewrite of a repo; pass `outcome` when it was just rewritten."""
    outcome = outcome or rewrite_repo(repo, migration, write=False)
    # a model reads what its macros, vars and sources say: when those changed, it changed
    dbt_changed = any(
        f.result.changed
        for f in outcome.files
        if f.kind in ("dbt-macro", "dbt-project", "dbt-sources")
    )
    checked = [
        f
        for f in outcome.files
        if (
            f.kind in ("sql", "dbt-model", "dataform-sqlx")
            and (f.result.changed or (f.kind == "dbt-model" and dbt_changed))
        )
        or (f.kind == "scala" and f.result.changed)
    ]
    return validate_edits(
        migration,
        {f.path: f.result.original for f in checked},
        {f.path: f.result.text for f in checked},
        validator,
        repo=repo,
        dbt_target=dbt_target,
        outcome=outcome,
    )


def validate_edits(
    migration: Migration,
    base_files: Mapping[str, str],
    edited_files: Mapping[str, str],
    validator: Validator | EquivalenceValidator,
    *,
    repo: Path | None = None,
    dbt_target: DbtTarget | None = None,
    outcome: RepoOutcome | None = None,
) -> list[StatementResult]:
    """Validate edits anyone made: each file that differs between base_files (the
    original, reading the old tables) and edited_files (the edit, reading the new
    tables), statement by statement, by the given validator backend.

    Keys are repo-relative paths. SQL files render with the Airflow-like context, every
    Jinja branch variant apart; with `repo`, the repo's dbt models compile through dbt
    (both `is_incremental()` branches), and with gaggle's `outcome` the after side sees the
    project's sources, macros and vars as rewritten, so a model whose text is unchanged but
    whose macros changed is checked too. Files added or deleted by the edit have nothing to
    compare against and are skipped.
    """
    renderers = _dbt_renderers(repo, migration, dbt_target, outcome) if repo is not None else {}
    failures: list[StatementResult] = []
    pending: list[_Pending] = []
    for path in sorted(set(base_files) & set(edited_files)):
        before, after = base_files[path], edited_files[path]
        if before != after and is_scala(path):  # Scio: the SQL in its query strings
            problems: list[str] = []
            try:
                for label, old, new in scala_query_pairs(before, after, migration, problems):
                    pending += _changed_statements(path, label, old, new, failures)
            except Exception as err:  # one file's surprise is its own failure
                problems.append(f"could not be validated ({type(err).__name__}: {err})")
            failures += [_compile_failure(path, problem) for problem in problems]
        if path.lower().endswith(".sqlx"):  # Dataform: its SQL, the JavaScript masked
            if before != after:
                masked = (_dataform_sql(before), _dataform_sql(after))
                pending += _changed_statements(path, "dataform", *masked, failures)
            continue
        if not path.lower().endswith(".sql"):
            continue
        if before == after and (outcome is None or path not in renderers):
            continue
        if renderers and path not in renderers and "/macros/" in f"/{path}":
            failures.append(_macro_not_validated(path, outcome is None))
            continue
        kind = "dbt-model" if path in renderers else "sql"
        try:
            pending += [
                item
                for label, compiled_before, compiled_after in _compiled_pairs(
                    path, kind, before, after, renderers, failures
                )
                for item in _changed_statements(
                    path, label, compiled_before, compiled_after, failures
                )
            ]
        except Exception as err:  # one file's surprise (a bug, a hostile file) is its own failure
            failures.append(
                _compile_failure(path, f"could not be validated ({type(err).__name__}: {err})")
            )
    return failures + _judge_all(pending, validator, migration)


@dataclass
class _Pending:
    path: str
    label: str
    before: str
    after: str
    line: int  # of the statement in the compiled rewrite
    compiled: CompiledModel


def _judge_all(
    pending: list[_Pending], validator: Validator | EquivalenceValidator, migration: Migration
) -> list[StatementResult]:
    """Every changed statement judged; a backend with `analyze_many` (dry runs) gets them all
    at once, so it can keep several round trips in flight."""
    olds = [p.old for p in migration.tables]
    if isinstance(validator, EquivalenceValidator):
        verdicts = [validator.verdict(p.before, p.after) for p in pending]
    else:
        texts = [text for p in pending for text in (p.before, p.after)]
        analyses = _analyze_all(validator, texts)
        verdicts = [judge(analyses[2 * i], analyses[2 * i + 1], olds) for i in range(len(pending))]
    results = []
    for item, verdict in zip(pending, verdicts, strict=True):
        line = item.compiled.source_line(item.line)
        if verdict.after and verdict.after.error and verdict.after.error.line:
            line = item.compiled.source_line(item.line + verdict.after.error.line - 1)
        results.append(StatementResult(item.path, line, verdict, item.label))
    return results


def _analyze_all(validator: Validator, texts: list[str]) -> list[Analysis]:
    """Each text analyzed; a backend that raises on one (a bug, a transport failure) makes
    that statement not checkable instead of stopping the whole repo's check."""
    many = getattr(validator, "analyze_many", None)
    if many is not None:
        try:
            return many(texts)
        except Exception:  # retried one by one below, each failure kept
            pass
    return [_analyze_one(validator, text) for text in texts]


def _analyze_one(validator: Validator, text: str) -> Analysis:
    try:
        return validator.analyze(text)
    except Exception as err:
        return Analysis(
            not_checkable=f"{validator.name} failed on it ({type(err).__name__}: {err})"
        )


def _compiled_pairs(path: str, kind: str, before: str, after: str, renderers: dict, results: list):
    """(label, compiled before, compiled after) for each Jinja branch of the file: every
    variant the rewrite considered (see gaggle.sql.branches) is rendered and validated."""
    branches = branch_templates(before, after)
    if kind == "sql":
        for label, variant_before, variant_after in branches:
            try:
                yield label, _airflow(variant_before), _airflow(variant_after)
            except jinja2.TemplateError as err:
                results.append(_compile_failure(path, f"cannot render its macros: {err}"))
        return
    pair = renderers.get(path)
    if pair is None:
        return
    before_renderer, after_renderer = pair
    if getattr(before_renderer, "whole_project", False):  # real dbt: the vars pick the branch
        relative = path[len(before_renderer.root) :].lstrip("/")
        for incremental in [False, True] if "is_incremental" in before else [False]:
            label = "dbt-core" + (", is_incremental()" if incremental else "")
            try:
                yield (
                    label,
                    before_renderer.compile_model(relative, False, incremental),
                    before_renderer.compile_model(relative, True, incremental),
                )
            except CompileError as err:
                results.append(_compile_failure(path, f"dbt-core: {err}"))
        return
    name = Path(path).stem
    decided = any("is_incremental()" in label for label, _, _ in branches)
    for label, before, after in branches:
        modes = [False, True] if "is_incremental" in before and not decided else [False]
        for incremental in modes:
            if decided:
                incremental = "if is_incremental()" in label
            shown = label or ("is_incremental() branch" if incremental else "")
            try:
                compiled_before = before_renderer.compile(name, before, incremental)
            except CompileError as err:
                results.append(
                    _unrenderable_branch(path, shown, err, after_renderer, after, incremental)
                )
                continue
            try:
                yield shown, compiled_before, after_renderer.compile(name, after, incremental)
            except CompileError as err:
                results.append(_compile_failure(path, f"cannot compile the model: {err}"))


def _macro_not_validated(path: str, against_base: bool) -> StatementResult:
    """A dbt macro is no statement (rendered as a SQL job it fails on dbt's tags): it is
    checked through the models calling it, which under --base compile with the edited
    macros on both sides, so the edit is said to be unvalidated."""
    why = (
        "under --base its models compile with the edited macro on both sides"
        if against_base
        else "it is checked through the models that call it"
    )
    warning = f"not validated: a dbt macro ({why}); review the models calling it"
    return StatementResult(path, 1, Verdict(True, warnings=[warning]))


def _unrenderable_branch(
    path: str, label: str, err: CompileError, after_renderer, after: str, incremental: bool
) -> StatementResult:
    """A branch the original model does not compile in either (every branch is forced, also
    one behind a var the project leaves to its users): when the rewrite fails there with the
    same error, nothing is known against the rewrite; it is said, not counted as a problem."""
    try:
        after_renderer.compile(Path(path).stem, after, incremental)
    except CompileError as after_err:
        if str(after_err) == str(err):
            where = "in this branch" if label else "here"
            warning = f"not checkable: the original does not compile {where} either: {err}"
            return StatementResult(path, 1, Verdict(True, warnings=[warning]), label)
    return _compile_failure(path, f"cannot compile the model: {err}")


def _airflow(text: str) -> CompiledModel:
    # the repo's template is untrusted: sandboxed, so it cannot reach Python's internals
    rendered = SandboxedEnvironment(undefined=jinja2.ChainableUndefined).from_string(text)
    sql = rendered.render(**AIRFLOW_CONTEXT)
    return CompiledModel(sql, tuple(range(1, sql.count("\n") + 2)))


def _dataform_sql(text: str) -> CompiledModel:
    sql = dataform.mask(text)[0]  # same lines: statement lines point into the file
    return CompiledModel(sql, tuple(range(1, sql.count("\n") + 2)))


def _compile_failure(path: str, message: str) -> StatementResult:
    return StatementResult(path, 1, Verdict(False, [message]))


def _changed_statements(
    path: str, label: str, before: CompiledModel, after: CompiledModel, failures: list
) -> list[_Pending]:
    before_parts, after_parts = _statements(before.sql), _statements(after.sql)
    if len(before_parts) != len(after_parts):
        failures.append(_compile_failure(path, "the rewrite changed the number of statements"))
        return []
    return [
        _Pending(path, label, b_sql, a_sql, a_line, after)
        for (_, b_sql), (a_line, a_sql) in zip(before_parts, after_parts, strict=True)
        if b_sql != a_sql
    ]


def _statements(sql: str) -> list[tuple[int, str]]:
    """(first line, text) of each statement, split at semicolons, with scripting's control
    flow (BEGIN ... END, IF, loops) masked away: otherwise a statement inside a block
    parses as an opaque Command and its tables and columns go unchecked."""
    masked, tokens = mask_control_flow(sql)
    if tokens is None:
        return [(1, sql)]
    sql = masked
    parts, start = [], 0
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            parts.append((start, token.start))
            start = token.end + 1
    parts.append((start, len(sql)))
    found = []
    for begin, end in parts:
        text = sql[begin:end]
        if text.strip():
            offset = begin + (len(text) - len(text.lstrip()))
            found.append((sql.count("\n", 0, offset) + 1, text.strip()))
    return found


def _dbt_renderers(
    repo: Path, migration: Migration, target: DbtTarget | None, outcome: RepoOutcome | None = None
) -> dict[str, tuple[DbtRenderer, DbtRenderer]]:
    """Before and after renderers for every dbt model file, with the project's macros loaded.

    The after side sees the project as the rewrite leaves it: its sources YAML (an edited
    schema template, a sibling source for moved tables), its macros and its vars as
    rewritten; without an outcome, each sources entry of an old table also answers to the
    new table's name, and vars naming an old table are renamed.
    """
    files, _ = collect_files(repo)
    engine = SqlRewriter(migration)
    session = DbtFramework().open(repo.resolve(), engine, files)
    if not isinstance(session, DbtSession):
        return {}
    after_session = None
    if outcome is not None:
        rewritten = {f.path: f.result.text for f in outcome.files if f.result.changed}
        after_files = [replace(f, text=rewritten.get(f.relative, f.text)) for f in files]
        after_session = DbtFramework().open(repo.resolve(), engine, after_files)
    default = target or DbtTarget(migration.tables[0].new.project, "dbt")
    if default.renderer == "dbt-core":
        return _dbt_core_renderers(repo, session, files, default, outcome)
    renderers = {}
    for position, project in enumerate(session.projects):
        mine = [f for f in files if session.project_of(f.relative) is project]
        packages = _package_macros(repo / project.root / "dbt_packages")
        before = DbtRenderer(project, default, _macros(session, mine), packages)
        if isinstance(after_session, DbtSession):
            after_project = after_session.projects[position]
            theirs = [
                f for f in after_files if after_session.project_of(f.relative) is after_project
            ]
            after = DbtRenderer(after_project, default, _macros(after_session, theirs), packages)
        else:
            macros = _macros(session, mine)
            after = DbtRenderer(
                _migrated_project(project, session, engine), default, macros, packages
            )
        for file in mine:
            if session.kind_of(file) == "dbt-model":
                renderers[file.relative] = (before, after)
    return renderers


def _dbt_core_renderers(
    repo: Path, session: DbtSession, files: list, target: DbtTarget, outcome: RepoOutcome | None
) -> dict:
    """Every model mapped to its project compiled by real dbt (see gaggle.frameworks.dbt_core)."""
    python = dbt_python()
    if python is None:
        raise CompileError(
            "--dbt-renderer dbt-core: no interpreter has dbt-core and dbt-bigquery "
            "(install them, set GAGGLE_DBT_PYTHON, or run make .venv-dbt/.installed)"
        )
    changed = {
        f.path: f.result.text for f in (outcome.files if outcome else []) if f.result.changed
    }
    columns = catalog_columns(session.engine.migration.catalog)
    renderers = {}
    for project in session.projects:
        prefix = f"{project.root}/" if project.root else ""
        rewritten = {p[len(prefix) :]: t for p, t in changed.items() if p.startswith(prefix)}
        core = DbtCoreProject(
            python, repo / project.root, rewritten, target.project, target.dataset, columns
        )
        core.root = project.root
        for file in files:
            if (
                session.project_of(file.relative) is project
                and session.kind_of(file) == "dbt-model"
            ):
                renderers[file.relative] = (core, core)
    return renderers


def _macros(session: DbtSession, files: list) -> str:
    return "".join(f.text + "\n" for f in files if session.kind_of(f) == "dbt-macro")


def _package_macros(folder: Path) -> dict[str, str]:
    """Each installed package's macros, under the name models call it by (read only)."""
    found: dict[str, str] = {}
    if not folder.is_dir():
        return found
    for package in sorted(p for p in folder.iterdir() if p.is_dir()):
        texts = []
        for path in (
            sorted((package / "macros").rglob("*.sql")) if (package / "macros").is_dir() else []
        ):
            try:
                texts.append(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                continue
        found[package_name(package)] = "\n".join(texts)
    return found


def _migrated_project(project: DbtProject, session: DbtSession, engine: SqlRewriter) -> DbtProject:
    sources = list(project.sources)
    for entry in project.sources:
        old = session.old_table(entry)
        if old is not None:
            new = engine.new_for[old]
            sources.append(replace(entry, name=new.table, identifier=new.table))
    variables = {k: engine.tables.rename_spec(v) or v for k, v in project.vars.items()}
    return replace(project, sources=sources, vars=variables)


def validate_against_base(
    repo: Path,
    base: str,
    migration: Migration,
    validator: Validator | EquivalenceValidator,
    dbt_target: DbtTarget | None = None,
) -> list[StatementResult]:
    """Validate the working tree's edits against git commit `base`, whoever made them:
    each SQL file that differs from `base` is original-at-base against working-tree text."""
    changed = _git(repo, "diff", "--name-only", "--relative", "-z", base, "--", ".")
    base_files, edited_files = {}, {}
    for path in filter(None, changed.split("\0")):
        current = repo / path
        if not (path.lower().endswith(".sql") or is_scala(path)) or not current.is_file():
            continue
        try:
            base_files[path] = _git(repo, "show", f"{base}:./{path}")
        except GaggleError:
            continue  # added since base: nothing to compare against
        edited_files[path] = current.read_text(encoding="utf-8")
    return validate_edits(
        migration, base_files, edited_files, validator, repo=repo, dbt_target=dbt_target
    )


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
    except OSError as err:
        raise GaggleError(f"validate --base needs git: {err}") from err
    if done.returncode != 0:
        raise GaggleError(
            f"{repo}: git {' '.join(args[:2])} failed: {done.stderr.strip()}; "
            "--base takes a commit of the repo's git history (a branch, tag or SHA)"
        )
    return done.stdout
