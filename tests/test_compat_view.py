"""The compatibility view rebuilds each old table, with its exact schema, from the new one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from gaggle import duck
from gaggle.compat import compat_views_sql
from gaggle.schema import TableSchema
from gaggle.spec import load_migration

from tests.conftest import DEMO_MIGRATION

GAGGLE = Path(sys.executable).parent / "gaggle"


def _run_views(migration_folder: Path) -> tuple[duckdb.DuckDBPyConnection, str]:
    migration = load_migration(migration_folder)
    conn = duckdb.connect()
    for pair in migration.tables:
        duck.create_table(conn, migration.schema(pair.new))
    sql = compat_views_sql(migration)
    for statement in duck.transpile(sql):
        conn.execute(statement)
    return conn, sql


def _schema_in_duckdb(conn: duckdb.DuckDBPyConnection, schema: TableSchema) -> list:
    """DuckDB's own spelling of a BigQuery schema: create it under a scratch name, describe it."""
    scratch = TableSchema(schema.table.__class__("scratch", "expected", "t"), schema.fields)
    duck.create_table(conn, scratch)
    return duck.describe(conn, duck.duckdb_table(scratch.table))


def test_view_has_exactly_the_old_schema_nested_fields_included():
    migration = load_migration(DEMO_MIGRATION)
    conn, _ = _run_views(DEMO_MIGRATION)
    pair = migration.tables[0]
    got = duck.describe(conn, duck.duckdb_table(pair.old))
    expected = _schema_in_duckdb(conn, migration.schema(pair.old))
    assert got == expected
    names = [name for name, _ in got]
    assert names[:4] == ["user_id", "email", "full_name", "country"]
    assert dict(got)["sessions"].startswith("STRUCT(session_id VARCHAR, started_ms BIGINT")


def test_view_computes_old_values_from_a_new_row():
    migration = load_migration(DEMO_MIGRATION)
    conn, _ = _run_views(DEMO_MIGRATION)
    new = duck.duckdb_table(migration.tables[0].new)
    conn.execute(
        f"""INSERT INTO {new} (user_id, email_address, geo, locale, signup_at, status,
            subscription, primary_device, visits, labels)
        VALUES ('u1', 'a@example.com', {{'country_code': 'DE', 'region': 'BE', 'city': 'Berlin'}},
            'de-DE', TIMESTAMPTZ '2024-01-02 03:04:05.678+00', 'ACTIVE',
            {{'plan': 'pro', 'mrr_cents': 1999}},
            {{'os_name': 'android', 'model_name': 'pixel'}},
            [{{'id': 's2', 'started_at': TIMESTAMPTZ '2024-01-03 00:00:00+00', 'duration_s': 5}},
             {{'id': 's1', 'started_at': TIMESTAMPTZ '2024-01-02 00:00:00+00', 'duration_s': 9}}],
            ['vip'])"""
    )
    row = conn.execute(
        "SELECT user_id, email, country, city, language, signup_ms, created_date, is_active, "
        "plan, mrr_usd, device, sessions, tags, age_bucket "
        f"FROM {duck.duckdb_table(migration.tables[0].old)}"
    ).fetchone()
    (user_id, email, country, city, language, signup_ms, created, active, plan, mrr, device,
     sessions, tags, age_bucket) = row  # fmt: skip
    assert (user_id, email, country, city, language) == (
        "u1",
        "a@example.com",
        "DE",
        "Berlin",
        "de",
    )
    assert signup_ms == 1704164645678
    assert str(created) == "2024-01-02"
    assert active is True and plan == "pro" and mrr == pytest.approx(19.99)
    assert device == {"os": "android", "model": "pixel"}
    # Element order of the ARRAY survives the rebuild.
    assert [s["session_id"] for s in sessions] == ["s2", "s1"]
    assert sessions[1]["started_ms"] == 1704153600000
    assert tags == ["vip"]
    assert age_bucket is None  # a manual column has no automatic value


def test_manual_columns_are_named_with_their_note_in_the_view():
    _, sql = _run_views(DEMO_MIGRATION)
    assert "-- manual: age_bucket has no automatic mapping (replaced by birth_year" in sql
    assert "CAST(NULL AS STRING) AS age_bucket" in sql


def test_reserved_word_columns_are_quoted(migration_copy: Path):
    for name in ("acme-prod.core.users_v1.json",):
        path = migration_copy / "schemas" / name
        path.write_text(path.read_text().replace('"name": "plan"', '"name": "select"'))
    mapping = migration_copy / "mapping.csv"
    mapping.write_text(
        mapping.read_text().replace(",plan,subscription.plan", ",select,subscription.plan")
    )
    conn, sql = _run_views(migration_copy)
    assert "subscription.plan AS `select`" in sql
    cols = [name for name, _ in duck.describe(conn, '"acme-prod"."core"."users_v1"')]
    assert "select" in cols


def test_compat_view_command_prints_the_views():
    result = subprocess.run(
        [str(GAGGLE), "compat-view", "--migration", str(DEMO_MIGRATION)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.count("CREATE OR REPLACE VIEW `acme-prod.core.users_v1` AS") == 1
    assert "FROM `acme-prod.core.users_v2`;" in result.stdout


@pytest.mark.parametrize("command", ["describe", "compat-view", "demo-fleet", "demo"])
def test_every_subcommand_has_help(command: str):
    result = subprocess.run([str(GAGGLE), command, "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert f"usage: gaggle {command}" in result.stdout


def test_a_malformed_spec_exits_2_with_the_located_error(migration_copy: Path):
    yaml = migration_copy / "migration.yaml"
    yaml.write_text(yaml.read_text().replace("title:", "titel:"))
    result = subprocess.run(
        [str(GAGGLE), "compat-view", "--migration", str(migration_copy)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert f"{yaml}:3: titel: is not a known key" in result.stderr
    assert result.stdout == ""


def _sharded_migration(folder: Path) -> Path:
    """The demo migration plus a date-sharded table: events_* moves to app_events_*, with
    event_name renamed to name."""
    import json

    schemas = folder / "schemas"
    events = json.loads((schemas / "acme-prod.analytics.events_*.json").read_text())
    for field in events:
        if field["name"] == "event_name":
            field["name"] = "name"
    (schemas / "acme-prod.analytics.app_events_*.json").write_text(json.dumps(events))
    yaml = folder / "migration.yaml"
    yaml.write_text(
        yaml.read_text().replace(
            "    new: acme-prod.core.users_v2\n",
            "    new: acme-prod.core.users_v2\n"
            "  - old: acme-prod.analytics.events_*\n"
            "    new: acme-prod.analytics.app_events_*\n",
        )
    )
    mapping = folder / "mapping.csv"
    rows = [f"{f['name']},{f['name']},map," for f in events if f["name"] != "name"]
    rows.append("event_name,name,map,renamed")
    mapping.write_text(
        mapping.read_text() + "".join(f"acme-prod.analytics.events_*,{row}\n" for row in rows)
    )
    return folder


def test_a_sharded_table_gets_a_script_creating_one_view_per_existing_shard(
    migration_copy: Path,
):
    import re

    migration = load_migration(_sharded_migration(migration_copy))
    pair = next(p for p in migration.tables if p.old.is_wildcard)
    sql = compat_views_sql(migration)
    assert "FOR shard IN (\n  SELECT SUBSTR(table_name, 12) AS suffix\n" in sql
    assert "FROM `acme-prod.analytics`.INFORMATION_SCHEMA.TABLES\n" in sql
    assert "WHERE STARTS_WITH(table_name, 'app_events_')\n" in sql
    assert ", shard.suffix, shard.suffix);\nEND FOR;\n" in sql
    # The view each loop turn creates, for the shard 20240101, runs and has the old schema.
    template = re.search(r'FORMAT\(r"""\n(.*?)\n"""', sql, re.DOTALL).group(1)
    assert "`acme-prod.analytics.events_%s` AS" in template
    view = template.replace("%s", "20240101").replace("%%", "%")
    conn = duckdb.connect()
    shard = TableSchema(pair.new.__class__("acme-prod", "analytics", "app_events_20240101"),
                        migration.schema(pair.new).fields)  # fmt: skip
    duck.create_table(conn, shard)
    for statement in duck.transpile(view):
        conn.execute(statement)
    got = duck.describe(conn, '"acme-prod"."analytics"."events_20240101"')
    assert got == _schema_in_duckdb(conn, migration.schema(pair.old))
    assert [name for name, _ in got][:3] == ["event_date", "event_timestamp", "event_name"]
    # The same projection as a query over every new shard, commented out below the script.
    assert "-- FROM `acme-prod.analytics.app_events_*`\n" in sql
    assert "--   name AS event_name," in sql
