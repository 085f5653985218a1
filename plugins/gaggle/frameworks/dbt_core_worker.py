"""Compile a dbt project with dbt-core itself, offline: run by a Python that has dbt-core and
dbt-bigquery (this file imports nothing from gaggle, so it runs under another interpreter).

    python dbt_core_worker.py PROJECT_DIR TARGET_PROJECT TARGET_DATASET INCREMENTAL(0|1) [COLUMNS]

prints one JSON object: {"dbt_version": ..., "models": {original_file_path: compiled_sql},
"errors": [...]}. How it stays offline (measured, see docs/templates.md): a BigQuery
profile with `method: oauth-secrets` and a dummy token, `DO_NOT_TRACK=1`,
`NO_GCE_CHECK=true`, no cache population or introspection, and
`BigQueryAdapter.get_relation` replaced so `is_incremental()` never asks BigQuery
whether the table exists (None: the full-refresh branch; a relation: the incremental one).
`get_columns_in_relation` answers from COLUMNS (a JSON file: "project.dataset.table" ->
[[name, type], ...], the migration's schemas), so macros that list a relation's columns
(`dbt_utils.star`) render the real columns of the old and the new table.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


def compile_project(
    project_dir: str, project: str, dataset: str, incremental: bool, columns: dict | None = None
) -> dict:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("NO_GCE_CHECK", "true")
    from dbt.adapters.bigquery import BigQueryAdapter
    from dbt.adapters.bigquery.relation import BigQueryRelation
    from dbt.cli.main import dbtRunner
    from dbt.version import __version__

    def get_relation(self, database, schema, identifier):
        if not incremental:
            return None
        return BigQueryRelation.create(
            database=database, schema=schema, identifier=identifier, type="table"
        )

    def get_columns_in_relation(self, relation):
        from dbt.adapters.bigquery.column import BigQueryColumn

        key = f"{relation.database}.{relation.schema}.{relation.identifier}".lower()
        return [BigQueryColumn(name, dtype) for name, dtype in (columns or {}).get(key, [])]

    BigQueryAdapter.get_relation = get_relation
    BigQueryAdapter.get_columns_in_relation = get_columns_in_relation
    profile_name = _profile_name(Path(project_dir) / "dbt_project.yml")
    with tempfile.TemporaryDirectory() as profiles:
        Path(profiles, "profiles.yml").write_text(
            f"{profile_name}:\n  target: gaggle\n  outputs:\n    gaggle:\n"
            "      type: bigquery\n      method: oauth-secrets\n      token: offline\n"
            f"      project: {project}\n      dataset: {dataset}\n"
            "      threads: 1\n      job_retries: 0\n"
        )
        result = dbtRunner().invoke(
            [
                "compile",
                "--project-dir", project_dir,
                "--profiles-dir", profiles,
                "--target-path", str(Path(profiles) / "target"),
                "--log-path", str(Path(profiles) / "logs"),
                "--no-populate-cache", "--no-introspect", "--threads", "1", "--quiet",
            ]
        )  # fmt: skip
    models, errors = {}, []
    if result.exception is not None:
        errors.append(f"{type(result.exception).__name__}: {result.exception}")
    for item in getattr(result.result, "results", None) or []:
        node = item.node
        if getattr(node, "resource_type", None) and str(node.resource_type).endswith("model"):
            if getattr(node, "compiled_code", None) is not None:
                models[node.original_file_path] = node.compiled_code
            elif item.message:
                errors.append(f"{node.original_file_path}: {item.message}")
    return {"dbt_version": __version__, "models": models, "errors": errors}


def _profile_name(project_file: Path) -> str:
    for line in project_file.read_text(encoding="utf-8").splitlines():
        if line.startswith("profile:"):
            return line.split(":", 1)[1].strip().strip("'\"") or "default"
    return "default"


if __name__ == "__main__":
    # this file's folder holds gaggle's own dbt.py: it must not shadow the dbt package
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    directory, target_project, target_dataset, flag = sys.argv[1:5]
    known = json.loads(Path(sys.argv[5]).read_text()) if len(sys.argv) > 5 else {}
    output = compile_project(directory, target_project, target_dataset, flag == "1", known)
    sys.stdout.write("\n@@gaggle-dbt@@" + json.dumps(output) + "\n")
