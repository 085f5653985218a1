"""Real dbt as a validation source (optional): dbt-core compiles the project before and after
the rewrite, offline, through its programmatic runner (dbtRunner).

dbt-core and dbt-bigquery are not gaggle dependencies: their pins conflict with
Airflow's environment (see docs/templates.md). They run in whichever interpreter has
them: this one if `dbt` imports here, else `GAGGLE_DBT_PYTHON`, else the repo's
`.venv-dbt` (`make .venv-dbt/.installed`). The work is done by dbt_core_worker.py in a
child process, so the adapter patch it needs never touches this process.

The fast renderer (dbt_compile.DbtRenderer) stays the default: milliseconds per model
with every template branch; dbt-core takes seconds per project and renders the branch
the project's vars select, plus both sides of is_incremental().
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from gaggle.frameworks.dbt_compile import CompiledModel, CompileError

WORKER = Path(__file__).with_name("dbt_core_worker.py")
_MARK = "@@gaggle-dbt@@"
_REPO_VENV = Path(__file__).resolve().parents[3] / ".venv-dbt" / "bin" / "python"


def dbt_python() -> str | None:
    """An interpreter that has dbt-core and dbt-bigquery, or None (the reason is in docs)."""
    if importlib.util.find_spec("dbt") is not None:
        try:
            has_bigquery = importlib.util.find_spec("dbt.adapters.bigquery") is not None
        except ModuleNotFoundError:
            has_bigquery = False
        if has_bigquery:
            return sys.executable
    configured = os.environ.get("GAGGLE_DBT_PYTHON")
    if configured:
        return configured
    return str(_REPO_VENV) if _REPO_VENV.is_file() else None


def compile_project(
    python: str,
    directory: Path,
    project: str,
    dataset: str,
    incremental: bool,
    columns: Mapping[str, list] | None = None,
    timeout: int = 600,
) -> dict:
    """{"dbt_version", "models": {path: sql}, "errors"} for one dbt project directory;
    `columns` ("project.dataset.table" -> [[name, type]]) answers dbt's column introspection."""
    env = {**os.environ, "DO_NOT_TRACK": "1", "NO_GCE_CHECK": "true"}
    known = directory.parent / "gaggle-columns.json"
    known.write_text(json.dumps(dict(columns or {})), encoding="utf-8")
    flag = "1" if incremental else "0"
    try:
        done = subprocess.run(
            [python, str(WORKER), str(directory), project, dataset, flag, str(known)],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=directory,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as err:
        raise CompileError(f"dbt-core could not run: {err}") from err
    marker = done.stdout.rfind(_MARK)
    if marker < 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise CompileError("dbt-core failed: " + " | ".join(tail))
    output, _ = json.JSONDecoder().raw_decode(done.stdout[marker + len(_MARK) :])
    return output


class DbtCoreProject:
    """One dbt project compiled by dbt-core: the before tree as it is on disk, the after tree
    with the rewrite's files in place; both sides of is_incremental()."""

    whole_project = True  # compiled from the files, not from one model's text

    def __init__(
        self,
        python: str,
        project_dir: Path,
        rewritten: Mapping[str, str],
        project: str,
        dataset: str,
        columns: Mapping[str, list] | None = None,
    ) -> None:
        self.python = python
        self.columns = columns or {}
        self.project_dir = project_dir
        self.rewritten = rewritten  # path relative to the project dir -> new text
        self.target = (project, dataset)
        self.compiled: dict[tuple[bool, bool], dict] = {}
        self.version = ""
        self.root = ""  # the project's folder relative to the repo

    def compile_model(self, relative: str, after: bool, incremental: bool) -> CompiledModel:
        key = (after, incremental)
        if key not in self.compiled:
            self.compiled[key] = self._compile(after, incremental)
        output = self.compiled[key]
        self.version = output.get("dbt_version", "")
        sql = output["models"].get(relative)
        if sql is None:
            detail = "; ".join(output.get("errors") or []) or "no compiled code"
            raise CompileError(f"dbt-core did not compile {relative}: {detail}")
        return CompiledModel(sql, ())

    def _compile(self, after: bool, incremental: bool) -> dict:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "project"
            shutil.copytree(self.project_dir, copy, symlinks=False, ignore=_IGNORED)
            if after:
                for relative, text in self.rewritten.items():
                    target = copy / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text, encoding="utf-8")
            return compile_project(self.python, copy, *self.target, incremental, self.columns)


def catalog_columns(catalog) -> dict[str, list]:
    """A migration catalog's tables as dbt column introspection answers them."""
    return {
        str(name).lower(): [[f.name, f.type] for f in schema.fields]
        for name, schema in catalog.tables.items()
    }


_IGNORED = shutil.ignore_patterns(".git", "target", "logs")
