"""Behaviours of the engine that golden files show less directly: stars keep the old output
schema, templates are resolved by the adapter, scripts and MERGE are handled statement by
statement, and the report locates every change."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from gaggle.names import TableName
from gaggle.spec import load_migration
from gaggle.sql import FlagReason, SqlRewriter, TemplateTable
from gaggle.validation.equivalence import Outcome, _database, check_equivalence
from sqlglot import exp

from tests.conftest import DEMO_MIGRATION

MIGRATION = load_migration(DEMO_MIGRATION)
ENGINE = SqlRewriter(MIGRATION)
OLD = TableName.parse("acme-prod.core.users_v1")
GAGGLE = Path(sys.executable).parent / "gaggle"

STARS = [
    "SELECT * FROM core.users_v1 WHERE age_bucket IS NULL",
    "SELECT u.* FROM `acme-prod.core.users_v1` AS u",
    "SELECT u.* EXCEPT (age_bucket, marketing_opt_in) FROM `acme-prod`.core.users_v1 AS u",
    "SELECT * EXCEPT (age_bucket, marketing_opt_in) FROM core.users_v1",
    "SELECT * EXCEPT (age_bucket, marketing_opt_in, sessions) REPLACE (UPPER(u.country) AS country) FROM core.users_v1 u",
    "SELECT * EXCEPT (age_bucket, marketing_opt_in) REPLACE (mrr_usd * 12 AS mrr_usd) FROM core.users_v1",
    "SELECT * EXCEPT (age_bucket, marketing_opt_in) FROM core.users_v1 u, UNNEST(u.tags) AS tag",
]


def _output_schema(sql: str) -> list[tuple[str, str]]:
    conn: duckdb.DuckDBPyConnection = _database(MIGRATION, rows=0, seed=0)
    import sqlglot

    relation = conn.sql(sqlglot.transpile(sql, read="bigquery", write="duckdb")[0])
    return list(zip(relation.columns, map(str, relation.types), strict=True))


@pytest.mark.parametrize("query", STARS)
def test_star_over_an_old_table_keeps_the_old_output_schema(query: str):
    result = ENGINE.rewrite(query)
    assert "SELECT *" not in result.text and "u.*" not in result.text
    if "EXCEPT (age_bucket" not in query:  # manual columns stay: the rewrite needs a human
        assert {f.reason for f in result.flags} == {FlagReason.MANUAL_COLUMN}
        return
    assert _output_schema(result.text) == _output_schema(query)
    assert check_equivalence(query, result.text, MIGRATION).outcome == Outcome.EQUAL


def test_star_over_several_using_joins_is_left_for_a_human():
    """One USING join is expanded exactly (golden 073, 145); a chain of them is flagged."""
    query = (
        "SELECT * EXCEPT (age_bucket, marketing_opt_in) FROM core.users_v1 u\n"
        "JOIN sales.orders o USING (user_id)\nJOIN ops.user_flags f USING (user_id)"
    )
    result = ENGINE.rewrite(query)
    assert result.text.startswith(
        "SELECT * EXCEPT (age_bucket, marketing_opt_in) FROM core.users_v2"
    )
    assert [f.reason for f in result.flags] == [FlagReason.STAR_OVER_USING_JOIN]


def test_template_tables_are_replaced_by_what_the_adapter_says():
    def resolve(source: str) -> TemplateTable | None:
        if "users_v1" in source:
            return TemplateTable(OLD, "{{ source('core', 'users_v2') }}")
        return None

    sql = (
        "{{ config(materialized='incremental') }}\n"
        "SELECT u.country, o.amount_usd\n"
        "FROM {{ source('core', 'users_v1') }} AS u\n"
        "JOIN {{ ref('stg_orders') }} AS o ON o.user_id = u.user_id\n"
        "{% if is_incremental() %}WHERE u.updated_at > (SELECT MAX(updated_at) FROM {{ this }}){% endif %}\n"
    )
    result = ENGINE.rewrite(sql, resolve)
    assert result.text == sql.replace("u.country", "u.geo.country_code AS country").replace(
        "'users_v1'", "'users_v2'"
    )


def test_a_template_the_adapter_cannot_rewrite_is_flagged_and_nothing_changes():
    result = ENGINE.rewrite(
        "SELECT country FROM {{ var('users_table') }}",
        lambda source: TemplateTable(OLD, None),
    )
    assert not result.changed
    assert [f.reason for f in result.flags] == [FlagReason.UNRESOLVED_TEMPLATE]


def test_scripts_rewrite_every_statement_and_keep_control_flow():
    script = (
        "DECLARE min_ms INT64 DEFAULT 0;\n"
        "BEGIN\n"
        "  IF min_ms >= 0 THEN\n"
        "    CREATE TEMP TABLE t AS SELECT user_id, signup_ms FROM core.users_v1 WHERE signup_ms > min_ms;\n"
        "  ELSE\n"
        "    SELECT 1;\n"
        "  END IF;\n"
        "END;\n"
    )
    result = ENGINE.rewrite(script)
    assert "SELECT user_id, UNIX_MILLIS(signup_at) AS signup_ms FROM core.users_v2" in result.text
    assert "WHERE UNIX_MILLIS(signup_at) > min_ms" in result.text
    assert result.text.count("\n") == script.count("\n")
    assert "BEGIN\n  IF min_ms >= 0 THEN" in result.text and "END IF;\nEND;" in result.text


def test_merge_rewrites_the_source_side_only():
    merge = (
        "MERGE reporting.users T USING core.users_v1 s ON T.id = s.user_id\n"
        "WHEN MATCHED THEN UPDATE SET T.country = s.country\n"
        "WHEN NOT MATCHED THEN INSERT (id, country) VALUES (s.user_id, s.country)"
    )
    result = ENGINE.rewrite(merge)
    assert result.text == (
        "MERGE reporting.users T USING core.users_v2 s ON T.id = s.user_id\n"
        "WHEN MATCHED THEN UPDATE SET T.country = s.geo.country_code\n"
        "WHEN NOT MATCHED THEN INSERT (id, country) VALUES (s.user_id, s.geo.country_code)"
    )


def test_writing_into_the_old_table_is_flagged_not_renamed():
    result = ENGINE.rewrite("INSERT INTO core.users_v1 (user_id) SELECT user_id FROM x.y")
    assert not result.changed
    assert [f.reason for f in result.flags] == [FlagReason.WRITES_OLD_TABLE]


def test_old_table_name_hidden_from_the_parser_is_flagged():
    # EXECUTE IMMEDIATE hides the SQL in a string; a name outside strings is still caught.
    result = ENGINE.rewrite("EXPORT DATA OPTIONS (uri='gs://b/*') AS SELECT 1 FROM core.users_v1")
    unresolved = [f for f in result.flags if f.reason == FlagReason.UNRESOLVED_REFERENCE]
    assert result.changed or unresolved


def test_report_locates_each_change_by_line_and_column():
    result = ENGINE.rewrite("SELECT\n  u.email\nFROM core.users_v1 u\n")
    assert [(c.line, c.column, c.before, c.after, c.rule) for c in result.changes] == [
        (2, 3, "u.email", "u.email_address AS email", "column"),
        (3, 6, "core.users_v1", "core.users_v2", "table"),
    ]


def test_cli_check_prints_the_diff_and_writes_nothing(tmp_path: Path):
    sql = tmp_path / "jobs" / "daily.sql"
    sql.parent.mkdir()
    sql.write_text("SELECT country FROM core.users_v1\n")
    report = tmp_path / "report.json"
    result = subprocess.run(
        [str(GAGGLE), "rewrite", "--migration", str(DEMO_MIGRATION), str(tmp_path), "--check",
         "--report", str(report)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "-SELECT country FROM core.users_v1" in result.stdout
    assert "+SELECT geo.country_code AS country FROM core.users_v2" in result.stdout
    assert sql.read_text() == "SELECT country FROM core.users_v1\n"
    data = json.loads(report.read_text())
    assert data["files"][0]["path"] == "jobs/daily.sql"
    assert data["files"][0]["changes"][0]["after"] == "geo.country_code AS country"


def test_cli_rewrite_writes_in_place(tmp_path: Path):
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT age_bucket FROM core.users_v1\n")
    result = subprocess.run(
        [str(GAGGLE), "rewrite", "--migration", str(DEMO_MIGRATION), str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0
    assert "manual-column" in result.stdout
    assert sql.read_text().startswith("-- TODO(data-migration users_v2): age_bucket")
    assert sql.read_text().endswith("SELECT age_bucket FROM core.users_v2\n")


def test_renamed_using_column_still_joins_the_same_rows():
    query = (
        "SELECT user_id, country, COUNT(*) AS n\n"
        "FROM core.users_v1 JOIN `acme-prod.sales.orders` USING (user_id, country)\n"
        "GROUP BY user_id, country"
    )
    result = ENGINE.rewrite(query)
    assert result.text == (
        "SELECT orders.user_id, orders.country, COUNT(*) AS n\n"
        "FROM core.users_v2 JOIN `acme-prod.sales.orders` "
        "ON users_v2.user_id = orders.user_id AND users_v2.geo.country_code = orders.country\n"
        "GROUP BY orders.user_id, orders.country"
    )
    assert check_equivalence(query, result.text, MIGRATION).outcome == Outcome.EQUAL


def test_renamed_using_column_in_an_outer_join_is_flagged():
    result = ENGINE.rewrite(
        "SELECT country FROM core.users_v1 u LEFT JOIN `acme-prod.sales.orders` o USING (country)"
    )
    assert "USING (country)" in result.text
    assert FlagReason.AMBIGUOUS_COLUMN in {f.reason for f in result.flags}


def test_dynamic_sql_naming_an_old_table_inside_a_string_is_flagged_not_missed():
    sql = (
        'DECLARE q STRING DEFAULT "SELECT country FROM `acme-prod.core.users_v1`";\n'
        "EXECUTE IMMEDIATE q;\n"
        "SELECT 'users_v1 report' AS title, country FROM `acme-prod.core.users_v1`;\n"
        "EXECUTE IMMEDIATE FORMAT(\"SELECT * FROM core.users_v1 WHERE ds = '%s'\", '2024');\n"
        "SELECT 'analytics.events_20240101 and core.users_v10' AS unrelated;\n"
        "SELECT 'core.users_v1' AS source_table;\n"  # names the table as data: not a read
    )
    result = ENGINE.rewrite(sql)
    flagged = [(f.line, f.reason) for f in result.flags]
    assert flagged == [(1, FlagReason.UNRESOLVED_REFERENCE), (4, FlagReason.UNRESOLVED_REFERENCE)]
    assert "reads the old table core.users_v1 (dynamic SQL?)" in result.flags[1].message
    lines = result.text.splitlines()
    assert lines[0] == sql.splitlines()[0] and lines[3] == sql.splitlines()[3]  # strings untouched
    assert "`acme-prod.core.users_v2`" in lines[2] and "'users_v1 report'" in lines[2]


def _orders_migration(root: Path) -> SqlRewriter:
    """sales.orders moves to sales.orders_v2: same columns plus `channel` at the end, status
    lower-cased by the mapping, so a star can stay a star."""
    import json

    folder = root / "orders_v2"
    (folder / "schemas").mkdir(parents=True)
    demo = DEMO_MIGRATION / "schemas" / "acme-prod.sales.orders.json"
    old = json.loads(demo.read_text())
    (folder / "schemas" / "acme-prod.sales.orders.json").write_text(json.dumps(old))
    new = [*old, {"name": "channel", "type": "STRING", "mode": "NULLABLE"}]
    (folder / "schemas" / "acme-prod.sales.orders_v2.json").write_text(json.dumps(new))
    rows = [
        f"acme-prod.sales.orders,{f['name']},{f['name']},map," for f in old if f["name"] != "status"
    ]
    rows.append("acme-prod.sales.orders,status,LOWER(status),map,now upper case")
    (folder / "mapping.csv").write_text(
        "old_table,old_column,new_expression,action,note\n" + "\n".join(rows) + "\n"
    )
    (folder / "migration.yaml").write_text(
        "id: orders_v2\ntitle: Move to orders_v2\nguide_url: https://wiki.example.com/orders\n"
        "tables:\n  - old: acme-prod.sales.orders\n    new: acme-prod.sales.orders_v2\n"
        "mapping: mapping.csv\n"
    )
    return SqlRewriter(load_migration(folder))


def test_a_star_stays_a_star_with_except_and_replace_where_that_keeps_the_order(tmp_path: Path):
    engine = _orders_migration(tmp_path)
    query = "SELECT *  -- every order\nFROM sales.orders\nWHERE amount_usd > 0"
    assert engine.rewrite(query).text == (
        "SELECT * EXCEPT (channel) REPLACE (LOWER(status) AS status)  -- every order\n"
        "FROM sales.orders_v2\nWHERE amount_usd > 0"
    )
    qualified = "SELECT o.* EXCEPT (items), 1 AS n FROM sales.orders AS o"
    assert engine.rewrite(qualified).text == (
        "SELECT o.* EXCEPT (items, channel) REPLACE (LOWER(o.status) AS status), 1 AS n "
        "FROM sales.orders_v2 AS o"
    )
    # A REPLACE of the consumer's own stays; the order still holds.
    replaced = "SELECT * REPLACE (ROUND(amount_usd) AS amount_usd) FROM sales.orders"
    assert engine.rewrite(replaced).text == (
        "SELECT * EXCEPT (channel) REPLACE (ROUND(amount_usd) AS amount_usd, LOWER(status) AS "
        "status) FROM sales.orders_v2"
    )
    # Proven in DuckDB: same column names in the same order, same rows.
    from gaggle.validation.equivalence import Outcome, check_equivalence

    for before in (query, qualified, replaced):
        verdict = check_equivalence(before, engine.rewrite(before).text, engine.migration)
        assert verdict.outcome == Outcome.EQUAL, verdict.detail
        assert verdict.names_after == verdict.names_before


def test_mentions_that_are_not_references_leave_the_repo_unchanged(tmp_path: Path):
    """A bare table name in YAML prose, paths through another dataset's users_v1 folder, and
    a query of the same table name in another dataset: no flag, no edit."""
    from gaggle.repo import rewrite_repo

    repo = tmp_path / "consumer"
    folder = repo / "sql" / "acme-prod" / "other" / "users_v1"
    folder.mkdir(parents=True)
    (repo / "jobs").mkdir()
    (folder / "query.sql").write_text(
        "SELECT user_id, country FROM `acme-prod.other.users_v1` WHERE country = 'DE'\n"
    )
    (repo / "jobs" / "docs.yaml").write_text(
        "description: used to join to users_v1 before the split\n"
        "paths:\n  - sql/acme-prod/other/users_v1/query.sql\n  - sql/acme-prod/core/users_v1/q.sql\n"
    )
    (repo / "jobs" / "job.json").write_text(
        '{"query": "sql/acme-prod/other/users_v1/query.sql", "note": "not users_v1"}\n'
    )
    outcome = rewrite_repo(repo, MIGRATION, write=False)
    assert {f.path: f.status for f in outcome.files} == {
        "sql/acme-prod/other/users_v1/query.sql": "unchanged"
    }
    assert not any(f.result.references_found for f in outcome.files)
    # The same kinds of file naming the old table with its dataset are still migrated.
    (repo / "jobs" / "job.json").write_text('{"source": "core.users_v1"}\n')
    (repo / "jobs" / "docs.yaml").write_text("query: SELECT 1 FROM `core`.`users_v1`\n")
    outcome = rewrite_repo(repo, MIGRATION, write=False)
    by_path = {f.path: f for f in outcome.files}
    assert by_path["jobs/job.json"].result.text == '{"source": "core.users_v2"}\n'
    assert by_path["jobs/docs.yaml"].status == "flagged"


def test_files_without_any_spelling_of_an_old_table_are_not_parsed(monkeypatch):
    import sqlglot

    parsed = []
    original = sqlglot.parse
    monkeypatch.setattr(sqlglot, "parse", lambda *a, **k: parsed.append(a[0]) or original(*a, **k))
    plain = "SELECT o.order_id FROM `acme-prod.sales.orders` AS o  -- joins users later\n"
    assert ENGINE.rewrite(plain).text == plain
    assert parsed == []
    spellings = [
        "SELECT u.country FROM `acme-prod.core.users_v1` u",
        "SELECT u.country FROM `acme-prod`.`core`.`users_v1` u",
        "SELECT u.country FROM core.users_v1 u",
        "SELECT u.country FROM `core`.users_v1 u",
    ]
    for query in spellings:
        assert "users_v2" in ENGINE.rewrite(query).text.lower(), query
    # Parsed too, but BigQuery dataset and table names are case-sensitive: flagged, not edited.
    lookalike = "SELECT u.country FROM CORE.USERS_V1 u"
    result = ENGINE.rewrite(lookalike)
    assert result.text == lookalike
    assert [f.reason for f in result.flags] == [FlagReason.AMBIGUOUS_TABLE]
    assert len(parsed) == len(spellings) + 1
    bare = ENGINE.rewrite("SELECT country FROM users_v1")  # a bare name in SQL is still read
    assert [f.reason for f in bare.flags] == [FlagReason.AMBIGUOUS_TABLE]


def test_the_prefilter_knows_wildcard_and_qualified_spellings():
    from gaggle.sql.tables import TableMatcher

    class _Pair:
        def __init__(self, old: str, new: str) -> None:
            self.old, self.new = TableName.parse(old), TableName.parse(new)

    class _Migration:
        tables = (_Pair("acme-prod.analytics.events_*", "acme-prod.analytics.app_events_*"),)
        catalog = MIGRATION.catalog

    matcher = TableMatcher(_Migration())
    assert matcher.may_mention("FROM `acme-prod.analytics.events_20240101`")
    assert matcher.mentions_qualified("FROM analytics.events_2024*")
    assert matcher.mentions_qualified("`acme-prod`.`analytics`.`events_*`")
    assert not matcher.mentions_qualified("see analytics_v2.events_20240101 and events_x")
    assert not matcher.may_mention("FROM app_events_20240101")


def test_an_internal_error_keeps_its_traceback_in_the_report(monkeypatch):
    import gaggle.sql.frames as frames_pass

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug in gaggle")

    monkeypatch.setattr(frames_pass, "traverse_scope", broken)  # sqlglot's, made to fail
    query = "SELECT u.country FROM core.users_v1 u"
    result = ENGINE.rewrite(query)
    assert result.text == query  # the file is left unchanged
    (flag,) = result.flags
    assert (
        flag.reason == FlagReason.INTERNAL_ERROR
        and flag.message == "ZeroDivisionError: a bug in gaggle"
    )
    assert "Traceback (most recent call last)" in flag.traceback
    assert "raise ZeroDivisionError" in flag.traceback
    assert result.to_dict()["flags"][0]["traceback"] == flag.traceback


def test_a_statement_that_fails_is_dropped_whole_and_the_others_kept(monkeypatch):
    """Edits are buffered per statement: the failing one leaves no half-applied edit
    (not even its table rename) and is flagged; the statement before it is migrated."""
    import gaggle.sql.frames as frames_pass
    from sqlglot.errors import OptimizeError

    real = frames_pass.traverse_scope

    def fails_on_joins(root):
        if root.find(exp.Join) is not None:
            raise OptimizeError("scope analysis failed")
        return real(root)

    monkeypatch.setattr(frames_pass, "traverse_scope", fails_on_joins)
    text = (
        "SELECT u.country FROM core.users_v1 u;\n"
        "SELECT u.email, o.order_id FROM core.users_v1 u JOIN sales.orders o ON o.user_id = u.user_id;\n"
    )
    result = ENGINE.rewrite(text)
    first, second = result.text.splitlines()
    assert first == "SELECT u.geo.country_code AS country FROM core.users_v2 u;"
    assert second == text.splitlines()[1]
    assert [(f.line, f.reason) for f in result.flags] == [(2, FlagReason.UNRESOLVED_REFERENCE)]
    assert "scope analysis failed" in result.flags[0].message
