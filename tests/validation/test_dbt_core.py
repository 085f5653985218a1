"""The optional dbt-core validation source: real dbt compiles the templated fixture project
before and after the rewrite, offline, and every compiled model validates.

Runs when an interpreter with dbt-core and dbt-bigquery is found (this one, GAGGLE_DBT_PYTHON,
or the repo's .venv-dbt from `make .venv-dbt/.installed`); skipped with the reason otherwise.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gaggle.frameworks.dbt_compile import DbtTarget
from gaggle.frameworks.dbt_core import DbtCoreProject, catalog_columns, dbt_python
from gaggle.repo import rewrite_repo
from gaggle.spec import load_migration
from gaggle.validation.offline import OfflineValidator
from gaggle.validation.repo import validate_repo

from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "repos" / "dbt_templated"
SHOP = load_migration(ROOT / "tests" / "fixtures" / "migrations" / "shop_v2")
PYTHON = dbt_python()
pytestmark = pytest.mark.skipif(
    PYTHON is None,
    reason="dbt-core is optional and not installed: run `make .venv-dbt/.installed` "
    "or set GAGGLE_DBT_PYTHON to a Python with dbt-core and dbt-bigquery",
)


def test_real_dbt_compiles_the_rewritten_templates_and_every_model_validates(tmp_path: Path):
    work = tmp_path / "shop"
    shutil.copytree(FIXTURE / "before", work)
    # a package macro listing a relation's columns, as dbt_utils.star does: dbt-core's column
    # introspection is answered from the migration's schemas, offline
    (work / "dbt_packages" / "shop_utils" / "macros" / "cols.sql").write_text(
        "{% macro cols(rel) %}{% for c in adapter.get_columns_in_relation(rel) %}"
        "{{ c.name }}{{ ', ' if not loop.last }}{% endfor %}{% endmacro %}\n"
    )
    (work / "models" / "marts" / "all_orders.sql").write_text(
        "SELECT {{ shop_utils.cols(source('shop', 'orders')) }} FROM {{ source('shop', 'orders') }}\n"
    )
    outcome = rewrite_repo(work, SHOP, write=False)
    target = DbtTarget("acme-prod", "dbt", renderer="dbt-core")
    results = validate_repo(work, SHOP, OfflineValidator(SHOP.catalog), target, outcome)
    problems = [r for r in results if not r.verdict.ok]
    # the one problem is the one gaggle flagged in the model: the macro's output columns
    assert [(r.path, r.note) for r in problems] == [("models/marts/all_orders.sql", "dbt-core")]
    assert "order_day" in problems[0].verdict.problems[0]
    (all_orders,) = [f for f in outcome.files if f.path == "models/marts/all_orders.sql"]
    assert [str(f.reason) for f in all_orders.result.flags] == ["unresolved-template"]
    notes = {(r.path, r.note) for r in results}
    assert ("models/staging/stg_orders.sql", "dbt-core, is_incremental()") in notes
    assert ("models/marts/fct_orders.sql", "dbt-core") in notes

    rewritten = {f.path: f.result.text for f in outcome.files if f.result.changed}
    columns = catalog_columns(SHOP.catalog)
    project = DbtCoreProject(PYTHON, work, rewritten, "acme-prod", "dbt", columns)
    after = project.compile_model("models/marts/fct_orders.sql", after=True, incremental=False)
    assert project.version.startswith("1.")
    # dbt itself rendered the edited schema template, the dispatched macro and the SQL var
    assert "`acme-prod`.`shop_raw_eu_v2`.`orders`" in after.sql
    assert "FORMAT_DATE('%Y%m%d', o.order_date)" in after.sql and "o.order_day" not in after.sql
    refunds = project.compile_model("models/marts/ops_refunds.sql", after=True, incremental=False)
    assert "`shop_raw_eu_v2`.`orders`" in refunds.sql and "`shop_raw_eu`.`refunds`" in refunds.sql
    listed = project.compile_model("models/marts/all_orders.sql", after=True, incremental=False)
    assert "\nSELECT order_id, customer_id, order_date, amount_cents, status FROM" in listed.sql
