"""The dbt renderer compiles models with dbt's semantics and maps lines back to the model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gaggle.frameworks.dbt import DbtFramework
from gaggle.frameworks.dbt_compile import CompileError, DbtRenderer, DbtTarget
from gaggle.repo import collect_files
from gaggle.spec import load_migration
from gaggle.sql import SqlRewriter
from gaggle.validation.offline import OfflineValidator
from gaggle.validation.repo import validate_repo

from tests.conftest import DEMO_MIGRATION, ROOT

MIGRATION = load_migration(DEMO_MIGRATION)
PROJECT_DIR = ROOT / "tests" / "fixtures" / "repos" / "dbt" / "before"
TARGET = DbtTarget("acme-prod", "analytics_dbt")


def _renderer(macros: str = "") -> DbtRenderer:
    files, _ = collect_files(PROJECT_DIR)
    session = DbtFramework().open(PROJECT_DIR, SqlRewriter(MIGRATION), files)
    return DbtRenderer(session.projects[0], TARGET, macros)


def test_source_ref_var_config_this_compile_like_dbt():
    model = (
        "{{ config(materialized='incremental') }}\n"
        "select * from {{ source('core', 'users_v1') }} u\n"
        "join {{ ref('stg_orders') }} o using (user_id)\n"
        "where d >= '{{ var('start_date') }}'\n"
        "{% if is_incremental() %}and u.updated_at > (select max(updated_at) from {{ this }}){% endif %}\n"
    )
    full = _renderer().compile("fct_users", model)
    assert full.sql.splitlines() == [
        "",
        "select * from `acme-prod.core.users_v1` u",
        "join `acme-prod.analytics_dbt.stg_orders` o using (user_id)",
        "where d >= '2024-01-01'",
        "",
    ]
    incremental = _renderer().compile("fct_users", model, incremental=True)
    assert "from `acme-prod.analytics_dbt.fct_users`)" in incremental.sql


def test_compiled_lines_map_back_to_the_model():
    model = "{{ config(\n    materialized='table'\n) }}\n{# a note #}\nselect\n  a,\n  b\nfrom t\n"
    compiled = _renderer().compile("m", model)
    line_of_b = compiled.sql.splitlines().index("  b") + 1
    assert compiled.source_line(line_of_b) == 7


def test_project_macros_are_available_to_every_model():
    macros = "{% macro cents(column) %}({{ column }} * 100){% endmacro %}"
    compiled = _renderer(macros).compile("m", "select {{ cents('x') }} as y from t")
    assert compiled.sql.strip() == "select (x * 100) as y from t"


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("select 1 from {{ source('core', 'nope') }}", "source('core', 'nope') is not declared"),
        ("select {{ unknown_macro() }}", "UndefinedError"),
        ("select {{ var('missing') }}", "var('missing') is not defined"),
    ],
)
def test_what_cannot_compile_says_why(model: str, message: str):
    with pytest.raises(CompileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _renderer().compile("m", model)


def test_validation_reports_errors_at_the_model_line(tmp_path: Path):
    work = tmp_path / "dbt"
    shutil.copytree(PROJECT_DIR, work)
    (work / "models" / "marts" / "broken_after.sql").write_text(
        "{{ config(materialized='table') }}\n"
        "{# the next lines read the old table #}\n"
        "select\n"
        "    u.user_id,\n"
        "    u.marketing_opt_in\n"
        "from {{ source('core', 'users_v1') }} u\n"
    )
    results = validate_repo(work, MIGRATION, OfflineValidator(MIGRATION.catalog))
    broken = [r for r in results if r.path == "models/marts/broken_after.sql"]
    assert len(broken) == 1 and not broken[0].verdict.ok
    # Line 5 of the model before the rewrite; the rewrite adds one TODO line above it.
    assert broken[0].line == 6
    assert "marketing_opt_in" in broken[0].verdict.problems[0]


def test_package_macros_render_under_their_name_as_dbt_defines_them():
    package = (
        "{% macro cents(column) %}{{ return(adapter.dispatch('cents', 'pkg')(column)) }}{% endmacro %}\n"
        "{% macro default__cents(column) %}{% do [].append(1) %}({{ column }} * 100){% endmacro %}\n"
        "{% macro twice(column) %}{{ pkg.cents(column) }} * 2{% endmacro %}\n"
        "{% test positive(model, column_name) %}select 1{% endtest %}\n"
        "{% materialization weird, default %}{{ nonsense( }}{% endmaterialization %}\n"
        "{% macro introspects(rel) %}{{ adapter.get_columns_in_relation(rel) }}{% endmacro %}\n"
    )
    renderer = DbtRenderer(_renderer().project, TARGET, "", {"pkg": package})
    compiled = renderer.compile(
        "m", "select {{ pkg.twice('x') }} as y, {{ pkg.introspects('t') }} as z"
    )
    # dispatch, a package macro calling its own package by name, dbt's `do` tag; a macro
    # that needs the warehouse renders as a NULL stand-in on both sides
    assert compiled.sql.strip() == "select (x * 100) * 2 as y, NULL as z"


def test_project_macros_are_reachable_under_the_project_name():
    """A package calls its own macros as `ga4.base_select()` (the GA4 package does); dbt
    puts the root project's macros under its name, so the fast renderer must too."""
    macros = (
        "{% macro cols() %}{{ return(adapter.dispatch('cols', 'growth')()) }}{% endmacro %}\n"
        "{% macro default__cols() %}a, {{ growth.tail() }}{% endmacro %}\n"
        "{% macro tail() %}b{% endmacro %}\n"
    )
    compiled = _renderer(macros).compile("m", "select {{ growth.cols() }} from t")
    assert compiled.sql.strip() == "select a, b from t"
