"""Compile dbt models for validation without dbt-core: a Jinja renderer with dbt's semantics
for `ref`, `source`, `var`, `config`, `is_incremental`, `this` and `target`.

Why not dbt-core: it needs a profile, an adapter package and a connection to build
its manifest, and it parses the whole project on every call (seconds to tens of
seconds per repo); gaggle only needs each model's SQL with table names filled in,
which this renderer produces in milliseconds with no credentials. The project's
macros are made available as dbt makes them: globally, to every model.

Line numbers map back: each line of the source carries a marker comment through
rendering, so an error in compiled SQL is reported at the model's own line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from gaggle.frameworks.dbt import DbtProject, SourceTable

_MARKER = re.compile(r"/\*@gaggle:(\d+)\*/")


@dataclass(frozen=True)
class CompiledModel:
    sql: str  # with line markers removed
    line_map: tuple[int, ...]  # compiled line (0-based index) -> source line (1-based)

    def source_line(self, compiled_line: int) -> int:
        if not self.line_map:
            return compiled_line
        index = min(max(compiled_line - 1, 0), len(self.line_map) - 1)
        return self.line_map[index]


class CompileError(Exception):
    """A model cannot be compiled (an unknown macro, a Jinja syntax error)."""


@dataclass(frozen=True)
class DbtTarget:
    project: str  # the BigQuery project models are built in
    dataset: str  # the dataset models are built in
    renderer: str = "fast"  # fast (DbtRenderer) or dbt-core (gaggle.frameworks.dbt_core)


class DbtRenderer:
    """Renders models as dbt would on BigQuery, in a sandbox (the templates are untrusted):
    project macros global to every model, package macros under their package's name,
    `adapter.dispatch` to `bigquery__`/`default__`, `return()` as the macro's output."""

    def __init__(
        self,
        project: DbtProject,
        target: DbtTarget,
        macros: str = "",
        packages: dict[str, str] | None = None,
    ) -> None:
        self.project = project
        self.target = target
        self.macros = macros
        self.packages = packages or {}
        self.environment = SandboxedEnvironment(
            undefined=jinja2.StrictUndefined,
            extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"],  # as dbt enables them
        )

    def compile(self, model_name: str, text: str, incremental: bool = False) -> CompiledModel:
        marked = _mark_lines(text)
        try:
            context = self._context(model_name, incremental)
            self._load_macros(context)
            template = self.environment.from_string(marked)
            rendered = template.render(**context)
        except jinja2.TemplateError as err:
            raise CompileError(f"{type(err).__name__}: {err}") from err
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as err:
            raise CompileError(f"{type(err).__name__}: {err}") from err
        return _unmark(rendered)

    def _load_macros(self, context: dict) -> None:
        """Package modules, then the project's macros as globals; dispatch looks in both."""
        modules: list[object] = []

        def dispatch(name: str, macro_namespace: str | None = None, **_: object):
            for prefix in ("bigquery__", "default__"):
                for module in modules:
                    found = getattr(module, prefix + name, None)
                    if found is not None:
                        return found
            raise CompileError(f"adapter.dispatch('{name}'): no bigquery__/default__ macro")

        context["adapter"] = {"dispatch": dispatch}
        context["return"] = lambda value=None: "" if value is None else value
        namespaces = {package: _Package(package) for package in self.packages}
        own = self.project.name
        if own and own not in namespaces and self.macros:  # `ga4.base_select()`, as dbt allows
            namespaces[own] = _Package(own, own=True)
        context.update(namespaces)
        for package, text in self.packages.items():
            module = self.environment.from_string(_as_jinja(text)).make_module(dict(context))
            namespaces[package].module = module
            modules.append(module)
        if self.macros:
            module = self.environment.from_string(_as_jinja(self.macros)).make_module(dict(context))
            modules.insert(0, module)
            if own in namespaces and namespaces[own].own:
                namespaces[own].module = module
            for name in dir(module):
                if not name.startswith("_"):
                    context[name] = getattr(module, name)

    def _context(self, model_name: str, incremental: bool) -> dict:
        target = self.target

        def ref(*args: str, **_: object) -> str:
            return f"`{target.project}.{target.dataset}.{args[-1]}`"

        def source(source_name: str, table_name: str) -> str:
            entry = self._source(source_name, table_name)
            if entry is None:
                raise CompileError(f"source('{source_name}', '{table_name}') is not declared")
            if entry.schema is None:
                raise CompileError(
                    f"source('{source_name}', '{table_name}'): its schema cannot be rendered offline"
                )
            database = entry.database or target.project
            return f"`{database}.{entry.schema}.{entry.identifier}`"

        def var(name: str, default: object = None) -> object:
            if name in self.project.all_vars:
                return self.project.all_vars[name]
            if name in self.project.vars:
                return self.project.vars[name]
            if default is None:
                raise CompileError(f"var('{name}') is not defined in dbt_project.yml")
            return default

        return {
            "ref": ref,
            "source": source,
            "var": var,
            "config": lambda *a, **k: "",
            "is_incremental": lambda: incremental,
            "this": f"`{target.project}.{target.dataset}.{model_name}`",
            "target": {"project": target.project, "database": target.project,
                       "dataset": target.dataset, "schema": target.dataset, "name": "gaggle"},
            "env_var": lambda name, default="": default,
            "log": lambda *a, **k: "",
        }  # fmt: skip

    def _source(self, source_name: str, table_name: str) -> SourceTable | None:
        return next(
            (s for s in self.project.sources if s.source == source_name and s.name == table_name),
            None,
        )


_TEST_BLOCK = re.compile(r"\{%(-?)\s*test\s+(\w+)")
_END_TEST = re.compile(r"\{%(-?)\s*endtest\s*(-?)%\}")
_DBT_ONLY_BLOCK = re.compile(
    r"\{%-?\s*(materialization|docs|snapshot)\b.*?\{%-?\s*end\1\s*-?%\}", re.S
)


def _as_jinja(macros: str) -> str:
    """dbt's own block tags in plain Jinja: a generic `{% test x() %}` is the macro
    `test_x`, as dbt defines it; materializations and docs blocks are not model code."""
    text = _DBT_ONLY_BLOCK.sub("", macros)
    text = _TEST_BLOCK.sub(lambda m: "{%" + m.group(1) + " macro test_" + m.group(2), text)
    return _END_TEST.sub(lambda m: "{%" + m.group(1) + " endmacro " + m.group(2) + "%}", text)


class _Package:
    """A package's macros under its name (`dbt_utils.star(...)`), reachable from its own
    macros too. A package macro that cannot render offline (it introspects the warehouse,
    or needs dbt internals the fast renderer lacks) renders as a NULL stand-in, the same
    on both sides of the comparison, and is remembered in `stand_ins`."""

    def __init__(self, name: str, own: bool = False) -> None:
        self.name = name
        self.own = own  # the project's own macros under its name: failures are not hidden
        self.module: object | None = None
        self.stand_ins: list[str] = []

    def __getattr__(self, macro: str):
        if macro.startswith("_") or self.module is None:
            raise AttributeError(macro)
        found = getattr(self.module, macro, None)
        if found is None:
            raise AttributeError(f"{self.name}.{macro}")
        if self.own:
            return found

        def call(*args: object, **kwargs: object) -> object:
            try:
                return found(*args, **kwargs)
            except Exception:  # any failure inside someone else's macro: a stand-in
                self.stand_ins.append(f"{self.name}.{macro}")
                return "NULL"

        return call


def _mark_lines(text: str) -> str:
    """A marker comment at the end of every line whose end is outside a Jinja tag."""
    out, depth = [], 0
    for number, line in enumerate(text.split("\n"), 1):
        depth += len(re.findall(r"\{\{|\{%|\{#", line)) - len(re.findall(r"\}\}|%\}|#\}", line))
        out.append(line + (f"/*@gaggle:{number}*/" if depth == 0 else ""))
    return "\n".join(out)


def _unmark(rendered: str) -> CompiledModel:
    lines, mapping = [], []
    last = 1
    for line in rendered.split("\n"):
        found = _MARKER.findall(line)
        if found:
            last = int(found[0])
        mapping.append(last)
        lines.append(_MARKER.sub("", line))
    return CompiledModel("\n".join(lines), tuple(mapping))
