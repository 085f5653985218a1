"""dbt projects full of templates: templated source locations, dispatched macros, SQL vars,
incremental branches and package macros migrate end to end (shop_v2 moves a dataset)."""

from __future__ import annotations

import shutil
from pathlib import Path

from gaggle.frameworks import dbt_locations as locations
from gaggle.repo import rewrite_repo
from gaggle.spec import load_migration
from gaggle.validation.offline import OfflineValidator
from gaggle.validation.repo import EquivalenceValidator, validate_repo

from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "repos" / "dbt_templated"
SHOP = load_migration(ROOT / "tests" / "fixtures" / "migrations" / "shop_v2")


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _copy(tmp_path: Path) -> Path:
    work = tmp_path / "shop"
    shutil.copytree(FIXTURE / "before", work)
    return work


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_templated_project_is_rewritten_to_its_after_tree(tmp_path: Path):
    work = _copy(tmp_path)
    outcome = rewrite_repo(work, SHOP, write=True)
    assert not [f for f in outcome.files if f.result.flags]
    expected, got = _tree(FIXTURE / "after"), _tree(work)
    assert sorted(got) == sorted(expected)
    for path, content in expected.items():
        assert got[path] == content, path
    again = rewrite_repo(work, SHOP, write=False)
    assert not [f.path for f in again.files if f.result.changed]


def test_templated_project_validates_every_branch_offline_and_in_duckdb(tmp_path: Path):
    work = _copy(tmp_path)
    offline = OfflineValidator(SHOP.catalog)
    for validator in (offline, EquivalenceValidator(SHOP, offline)):
        results = validate_repo(work, SHOP, validator)
        assert [r for r in results if not r.verdict.ok] == []
        labels = {(r.path, r.note) for r in results}
        assert ("models/staging/stg_orders.sql", "if is_incremental()") in labels
        assert ("models/staging/stg_orders.sql", "not (is_incremental())") in labels
        # changed only through its dispatched macro and its SQL var: still validated
        assert any(path == "models/marts/fct_orders.sql" for path, _ in labels)
    proofs = [r for r in results if any("same" in e for e in r.verdict.evidence)]
    assert {r.path for r in proofs} >= {
        "models/marts/fct_orders.sql",
        "models/staging/stg_customers.sql",
    }


def test_schema_template_is_edited_minimally_and_checked_by_rendering():
    variables = {"region_ids": ["eu", "us"]}
    schema = "{{ var('shop_schema', 'shop_raw') }}_{{ var('region_ids')[0] }}"
    assert locations.resolve(schema, variables) == "shop_raw_eu"
    start, end, text = locations.retarget(schema, "shop_raw_eu", "shop_raw_eu_v2", variables)
    assert schema[:start] + text + schema[end:] == schema + "_v2"
    # a var set in dbt_project.yml wins over the default; a literal part is edited in place
    assert locations.resolve(schema, {**variables, "shop_schema": "raw"}) == "raw_eu"
    assert locations.retarget("shop_{{ var('r') }}_raw", "shop_eu_raw", "shop_eu_raw2", {"r": "eu"})
    # what cannot be rendered offline is None, never a guess
    assert locations.resolve("{{ target.schema }}_raw", {}) is None
    assert locations.resolve("{{ var('nowhere') }}", {}) is None
    # the YAML is untrusted: the sandbox refuses attribute tricks
    assert locations.resolve("{{ ''.__class__.__mro__ }}", {}) is None


_PROJECT = {
    "dbt_project.yml": "name: 'p'\nconfig-version: 2\nvars:\n  region: 'eu'\n",
    "models/sources.yml": (
        "version: 2\nsources:\n  - name: shop\n    database: acme-prod\n"
        "    schema: \"shop_raw_{{ var('region') }}\"\n    tables:\n      - name: orders\n"
        "      - name: customers\n"
    ),
}


def test_a_source_that_would_move_whole_gets_a_sibling_when_a_model_keeps_the_old_table(
    tmp_path: Path,
):
    work = _write(
        tmp_path / "p",
        {
            **_PROJECT,
            "models/good.sql": "SELECT o.order_id, o.amount_usd FROM {{ source('shop', 'orders') }} o\n",
            "models/broken.sql": "SELECT o.order_id FROM {{ source('shop', 'orders') }} o WHERE AND\n",
        },
    )
    rewrite_repo(work, SHOP, write=True)
    sources = (work / "models/sources.yml").read_text()
    assert "schema: \"shop_raw_{{ var('region') }}\"\n" in sources  # the old source stays
    assert "- name: shop_shop_raw_eu_v2" in sources
    assert "schema: \"shop_raw_{{ var('region') }}_v2\"" in sources
    good = (work / "models/good.sql").read_text()
    assert "source('shop_shop_raw_eu_v2', 'orders')" in good and "amount_cents / 100" in good
    broken = (work / "models/broken.sql").read_text()
    assert "source('shop', 'orders')" in broken and "TODO(data-migration shop_v2)" in broken


def test_macro_read_by_a_migrated_and_an_unmigrated_table_is_flagged_at_macro_and_callers(
    tmp_path: Path,
):
    macro = (
        "{% macro order_cols() %}{{ return(adapter.dispatch('order_cols')()) }}{% endmacro %}\n"
        "{% macro default__order_cols() %}\n    o.order_id, o.order_day\n{% endmacro %}\n"
    )
    work = _write(
        tmp_path / "p",
        {
            **_PROJECT,
            "macros/cols.sql": macro,
            "models/new.sql": "SELECT {{ order_cols() }} FROM {{ source('shop', 'orders') }} o\n",
            "models/archive.sql": "SELECT {{ order_cols() }} FROM `acme-prod.archive.orders_2019` o\n",
        },
    )
    outcome = rewrite_repo(work, SHOP, write=True)
    assert (work / "macros/cols.sql").read_text().count("o.order_day") == 1  # not edited
    assert "TODO(data-migration shop_v2)" in (work / "macros/cols.sql").read_text()
    for model in ("models/new.sql", "models/archive.sql"):
        text = (work / model).read_text()
        assert "macro default__order_cols reads columns the migration changes" in text, model
    flagged = {f.path for f in outcome.files if f.result.flags}
    assert {"macros/cols.sql", "models/new.sql", "models/archive.sql"} <= flagged


def test_a_package_macro_listing_old_columns_is_flagged_at_the_call_site_never_edited(
    tmp_path: Path,
):
    package = "{% macro order_cols() %}\n    o.order_id, o.order_day\n{% endmacro %}\n"
    work = _write(
        tmp_path / "p",
        {
            **_PROJECT,
            "dbt_packages/pkg/dbt_project.yml": "name: 'pkg'\n",
            "dbt_packages/pkg/macros/cols.sql": package,
            "models/m.sql": "SELECT {{ pkg.order_cols() }} FROM {{ source('shop', 'orders') }} o\n",
        },
    )
    rewrite_repo(work, SHOP, write=True)
    assert (work / "dbt_packages/pkg/macros/cols.sql").read_text() == package
    text = (work / "models/m.sql").read_text()
    assert "the macro pkg.order_cols reads columns the migration changes" in text
    assert "gaggle does not edit packages" in text


def test_a_source_location_that_cannot_be_rendered_is_flagged_in_the_yaml(tmp_path: Path):
    work = _write(
        tmp_path / "p",
        {
            "dbt_project.yml": "name: 'p'\nconfig-version: 2\n",
            "models/sources.yml": (
                'version: 2\nsources:\n  - name: shop\n    schema: "{{ target.schema }}_raw"\n'
                "    tables:\n      - name: orders\n"
            ),
            "models/m.sql": "SELECT o.order_day FROM {{ source('shop', 'orders') }} o\n",
        },
    )
    outcome = rewrite_repo(work, SHOP, write=True)
    sources = (work / "models/sources.yml").read_text()
    assert "# TODO(data-migration shop_v2): the location of source('shop', 'orders')" in sources
    assert [f.reason for o in outcome.files if o.path.endswith(".yml") for f in o.result.flags] == [
        "unresolved-template"
    ]


def test_a_var_holding_a_source_call_follows_the_source_and_needs_no_edit(tmp_path: Path):
    project = _PROJECT["dbt_project.yml"] + "  orders: \"{{ source('shop', 'orders') }}\"\n"
    work = _write(
        tmp_path / "p",
        {
            **_PROJECT,
            "dbt_project.yml": project,
            "models/m.sql": "SELECT o.order_id, o.order_day FROM {{ var('orders') }} o\n",
        },
    )
    outcome = rewrite_repo(work, SHOP, write=True)
    model = (work / "models/m.sql").read_text()
    assert "FROM {{ var('orders') }} o" in model and "FORMAT_DATE('%Y%m%d', o.order_date)" in model
    assert '_v2"' in (work / "models/sources.yml").read_text()  # the source moved as a whole
    assert not [f for o in outcome.files for f in o.result.flags]


def test_an_old_table_no_model_reads_through_source_is_flagged_in_the_yaml(tmp_path: Path):
    """A package reads its sources through vars and macros gaggle cannot see (a pattern of
    public source packages): the entry says so in the file instead of the repo looking done."""
    work = _write(
        tmp_path / "p",
        {**_PROJECT, "models/m.sql": "{{ some_package.union_data(table_identifier='orders') }}\n"},
    )
    outcome = rewrite_repo(work, SHOP, write=True)
    sources = (work / "models/sources.yml").read_text()
    assert sources.count("# TODO(data-migration shop_v2): source('shop', ") == 2
    assert "no model gaggle rewrote reads it through source()" in sources
    (yaml,) = [o for o in outcome.files if o.path == "models/sources.yml"]
    assert {str(f.reason) for f in yaml.result.flags} == {"unresolved-reference"}
    assert rewrite_repo(work, SHOP, write=False).files and not [
        o.path for o in rewrite_repo(work, SHOP, write=False).files if o.result.changed
    ]


def test_a_macro_given_a_migrated_table_is_flagged_where_it_is_called(tmp_path: Path):
    star = "{{ dbt_utils.star(from=source('shop', 'orders'), relation_alias='o') }}"
    work = _write(
        tmp_path / "p",
        {
            **_PROJECT,
            "models/m.sql": f"SELECT\n  {star}\nFROM {{{{ source('shop', 'orders') }}}} o\n",
        },
    )
    outcome = rewrite_repo(work, SHOP, write=True)
    text = (work / "models/m.sql").read_text()
    assert "a macro reads the columns of acme-prod.shop_raw_eu.orders through source(" in text
    assert text.splitlines()[2].strip() == star  # the call itself untouched, the TODO above it
    (model,) = [o for o in outcome.files if o.path == "models/m.sql"]
    assert [str(f.reason) for f in model.result.flags] == ["unresolved-template"]


def test_jinja_literals_in_models_a_table_variable_and_a_loop_over_changed_columns(
    tmp_path: Path,
):
    """A model setting its table in a variable is rewritten like a table name; a loop over a
    changed column of a source that moved as a whole (no edit in the model) is flagged."""
    work = _write(
        tmp_path / "p",
        {
            **_PROJECT,
            "models/m.sql": (
                "{% set src = 'acme-prod.shop_raw_eu.orders' %}\n"
                "SELECT o.order_id, o.order_day FROM `{{ src }}` o\n"
            ),
            "models/n.sql": (
                "{% for c in ['order_day'] %}\n"
                "SELECT o.order_id, {{ c }} FROM {{ source('shop', 'orders') }} o\n"
                "{% endfor %}\n"
            ),
        },
    )
    outcome = rewrite_repo(work, SHOP, write=True)
    model = (work / "models/m.sql").read_text()
    assert model.startswith("{% set src = 'acme-prod.shop_raw_eu_v2.orders' %}\n")
    assert "FORMAT_DATE('%Y%m%d', o.order_date) AS order_day" in model
    flags = {o.path: [(f.line, str(f.reason)) for f in o.result.flags] for o in outcome.files}
    assert flags["models/m.sql"] == []
    assert flags["models/n.sql"] == [(1, "unresolved-template")]
    assert "the Jinja literal 'order_day'" in (work / "models/n.sql").read_text()


def test_a_config_whose_string_argument_holds_a_template_still_parses(tmp_path: Path):
    """`{{ config(pre_hook="{{ m() }}" if var('x', false) else "") }}` (seen in a public GA4
    package): the `}}` inside the string does not end the expression, so the model is masked
    whole, parses and gets its column rewrites instead of an `unparseable` flag."""
    config = (
        '{{\n  config(\n    pre_hook="{{ pkg.prepare() }}" if var(\'split\', false) else "",\n'
        "    materialized='incremental',\n  )\n}}\n"
    )
    work = _write(
        tmp_path / "p",
        {
            **_PROJECT,
            "models/m.sql": config
            + "SELECT o.order_id, o.order_day FROM {{ source('shop', 'orders') }} o\n",
        },
    )
    outcome = rewrite_repo(work, SHOP, write=True)
    model = (work / "models/m.sql").read_text()
    assert model.startswith(config)
    assert "FORMAT_DATE('%Y%m%d', o.order_date) AS order_day" in model
    assert not [f for o in outcome.files for f in o.result.flags]


def _events_migration(folder: Path):
    """A date-sharded table renamed in place: analytics.events_* -> analytics.events_v2_*."""
    import json

    column = {"type": "STRING", "mode": "NULLABLE"}
    (folder / "schemas").mkdir(parents=True)
    for table, name in (("events_*", "event_name"), ("events_v2_*", "name")):
        schema = [{"name": "user_id", **column}, {"name": name, **column}]
        (folder / "schemas" / f"acme-prod.analytics.{table}.json").write_text(json.dumps(schema))
    (folder / "migration.yaml").write_text(
        "id: events_v2\ntitle: t\nguide_url: https://wiki.example.com/events-v2\n"
        "tables:\n  - old: acme-prod.analytics.events_*\n    new: acme-prod.analytics.events_v2_*\n"
        "mapping: mapping.csv\n"
    )
    (folder / "mapping.csv").write_text(
        "old_table,old_column,new_expression,action,note\n"
        "acme-prod.analytics.events_*,user_id,user_id,map,\n"
        "acme-prod.analytics.events_*,event_name,name,map,renamed\n"
    )
    return load_migration(folder)


def test_a_source_table_named_apart_from_its_sharded_identifier_never_gets_a_glob_name(
    tmp_path: Path,
):
    """`name: events` with `identifier: events_*` (the GA4 package's source): the entry and
    the source() calls get `events_v2`, not the wildcard `events_v2_*` as a dbt name."""
    migration = _events_migration(tmp_path / "events_v2")
    work = _write(
        tmp_path / "p",
        {
            "dbt_project.yml": "name: 'p'\nconfig-version: 2\n",
            "models/src.yml": (
                "version: 2\nsources:\n  - name: ga4\n    database: acme-prod\n"
                "    schema: analytics\n    tables:\n      - name: events\n"
                "        identifier: events_* # all shards\n"
            ),
            "models/m.sql": "SELECT e.event_name FROM {{ source('ga4', 'events') }} e\n",
        },
    )
    outcome = rewrite_repo(work, migration, write=True)
    assert not [f for o in outcome.files for f in o.result.flags]
    assert (work / "models/m.sql").read_text() == (
        "SELECT e.name AS event_name FROM {{ source('ga4', 'events_v2') }} e\n"
    )
    sources = (work / "models/src.yml").read_text()
    assert "      - name: events_v2\n        identifier: events_v2_* # all shards\n" in sources


def test_a_branch_the_original_cannot_compile_either_is_not_a_problem_of_the_rewrite(
    tmp_path: Path,
):
    """Every Jinja branch is rendered, also `{% if var('extra', 'none') != 'none' %}` that
    calls `var('extra')` with no default (a var a package leaves to its users, seen in the
    GA4 package): the original fails there exactly as the rewrite does, which says nothing
    about the rewrite. The other branch is still checked, and a new failure still counts."""
    work = _write(
        tmp_path / "p",
        {
            **_PROJECT,
            "models/m.sql": (
                "SELECT o.order_id{% if var('extra', 'none') != 'none' %}, {{ var('extra') }}"
                "{% endif %} FROM {{ source('shop', 'orders') }} o\n"
            ),
        },
    )
    offline = OfflineValidator(SHOP.catalog)
    results = validate_repo(work, SHOP, offline)
    assert [r for r in results if not r.verdict.ok] == []
    unreachable = [r for r in results if any("does not compile" in w for w in r.verdict.warnings)]
    assert (
        len(unreachable) == 1
        and "var('extra') is not defined" in unreachable[0].verdict.warnings[0]
    )
    assert len([r for r in results if r.verdict.ok and not r.verdict.warnings]) == 1


def test_a_config_naming_an_output_column_is_not_flagged_but_a_hook_is(tmp_path: Path):
    """`config(cluster_by=['order_day'])` names the model's own output column, which the
    rewrite keeps (`... AS order_day`): no flag (the GA4 package clusters on event_name).
    A hook is SQL gaggle does not rewrite: a changed column in it is still flagged."""
    select = "SELECT o.order_id, o.order_day FROM {{ source('shop', 'orders') }} o\n"
    work = _write(
        tmp_path / "p",
        {
            **_PROJECT,
            "models/m.sql": "{{ config(cluster_by=['order_day'], unique_key='order_day') }}\n"
            + select,
            "models/n.sql": "{{ config(post_hook=\"delete from t where order_day = '1'\") }}\n"
            + select,
        },
    )
    outcome = rewrite_repo(work, SHOP, write=True)
    flags = {o.path: [str(f.reason) for f in o.result.flags] for o in outcome.files}
    assert flags["models/m.sql"] == []
    assert flags["models/n.sql"] == ["unresolved-template"]
    assert "FORMAT_DATE('%Y%m%d', o.order_date) AS order_day" in (work / "models/m.sql").read_text()


def test_generated_dbt_artifacts_are_not_taken_for_job_configs(tmp_path: Path):
    """`docs/manifest.json` (a committed `dbt docs generate` site, as in Fivetran's
    packages) names the sources' tables; it is dbt's output, regenerated by dbt, not a job
    config to edit or flag."""
    manifest = (
        '{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},'
        ' "sources": {"source.p.shop.orders": {"relation_name": "acme-prod.shop_raw_eu.orders",'
        ' "unique_id": "source.p.shop.orders"}}}'
    )
    work = _write(
        tmp_path / "p",
        {
            **_PROJECT,
            "docs/manifest.json": manifest,
            "models/m.sql": "SELECT o.order_id FROM {{ source('shop', 'orders') }} o\n",
        },
    )
    outcome = rewrite_repo(work, SHOP, write=True)
    assert (work / "docs/manifest.json").read_text() == manifest
    (artifact,) = [o for o in outcome.files if o.path == "docs/manifest.json"]
    assert artifact.kind == "dbt-artifact" and not artifact.result.flags


def test_a_var_left_on_a_moved_table_names_the_columns_that_change(tmp_path: Path):
    """Fivetran packages read a source through `{{ var('orders') }}` and fill the columns a
    table lacks with NULLs (`fill_staging_columns`): repointing the var by hand, as the flag
    asks, would silently NULL the renamed columns, so the flag names them."""
    sources = _PROJECT["models/sources.yml"] + "      - name: refunds\n"
    project = _PROJECT["dbt_project.yml"] + "  orders: \"{{ source('shop', 'orders') }}\"\n"
    work = _write(
        tmp_path / "p",
        {
            "dbt_project.yml": project,
            "models/sources.yml": sources,
            "models/m.sql": "SELECT * FROM {{ var('orders') }}\n",
        },
    )
    outcome = rewrite_repo(work, SHOP, write=True)
    (flag,) = [f for o in outcome.files if o.path == "models/m.sql" for f in o.result.flags]
    assert "point it at acme-prod.shop_raw_eu_v2.orders by hand" in flag.message
    assert "its columns amount_usd, order_day change" in flag.message


def test_validate_base_does_not_render_a_dbt_macro_as_a_sql_job(tmp_path: Path):
    """`validate --base` on a hand edit of a dbt macro (`{% do %}`, a dbt tag): it was
    rendered as an Airflow SQL job and failed ("unknown tag 'do'"). A macro is not a
    statement; its models compile with the edited macro on both sides under --base, so the
    edit is said to be unvalidated instead of a false problem."""
    import subprocess

    from gaggle.validation.repo import validate_against_base

    macro = "{% macro m() %}{% do log('x') %}o.order_day{% endmacro %}\n"
    work = _write(
        tmp_path / "p",
        {
            **_PROJECT,
            "macros/m.sql": macro,
            "models/x.sql": "SELECT {{ m() }} FROM {{ source('shop', 'orders') }} o\n",
        },
    )

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@e.com", *args],
            check=True, capture_output=True,
        )  # fmt: skip

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "before")
    (work / "macros/m.sql").write_text(macro.replace("o.order_day", "o.order_date"))
    results = validate_against_base(work, "main", SHOP, OfflineValidator(SHOP.catalog))
    (result,) = [r for r in results if r.path == "macros/m.sql"]
    assert result.verdict.ok and "not validated" in result.verdict.warnings[0]
