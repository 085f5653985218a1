"""Dataform SQLX files (trial 2: a repo's `.sqlx` models reading an old table were not even
scanned): their SQL is rewritten through a same-length mask of the JavaScript, and what the
JavaScript names (an old table, a changed column) is flagged in the file."""

from __future__ import annotations

from pathlib import Path

import sqlglot
from gaggle.repo import rewrite_repo
from gaggle.spec import load_migration
from gaggle.sql import FlagReason
from gaggle.sql.branches import TemplatedRewriter
from gaggle.sql.dataform import mask, rewrite_sqlx

from tests.conftest import DEMO_MIGRATION

MIGRATION = load_migration(DEMO_MIGRATION)
ENGINE = TemplatedRewriter(MIGRATION)

MODEL = """config {
  type: "incremental",
  tags: ["daily"]
}
pre_operations {
  DELETE FROM `acme-prod.scratch.t` WHERE TRUE
}
SELECT user_id, email -- who
FROM `acme-prod.core.users_v1`
WHERE country = 'FR' ${when(incremental(), `AND updated_at > (SELECT MAX(updated_at) FROM ${self()})`)}
"""


def test_sqlx_sql_is_rewritten_and_the_javascript_kept_byte_for_byte():
    result = rewrite_sqlx(ENGINE, MODEL)
    assert result.flags == []
    assert result.text == MODEL.replace(
        "user_id, email", "user_id, email_address AS email"
    ).replace("users_v1", "users_v2").replace("WHERE country", "WHERE geo.country_code")


def test_the_mask_keeps_every_offset_and_line():
    masked, hidden = mask(MODEL)
    assert len(masked) == len(MODEL)
    assert masked.count("\n") == MODEL.count("\n")
    assert [h.kind for h in hidden] == ["config", "expression"]
    assert "DELETE FROM" in masked  # pre_operations SQL stays visible to the engine


def test_a_ref_naming_the_old_table_is_flagged_in_place():
    text = 'config { type: "view" }\nSELECT email FROM ${ref("core", "users_v1")}\n'
    result = rewrite_sqlx(ENGINE, text)
    assert [(f.line, f.reason) for f in result.flags] == [(2, FlagReason.UNRESOLVED_TEMPLATE)]
    assert result.text.splitlines()[1].startswith("-- TODO(data-migration users_v2)")


def test_a_changed_column_inside_javascript_is_flagged_when_the_file_reads_the_old_table():
    text = (
        "SELECT user_id FROM `acme-prod.core.users_v1`\n"
        "WHERE TRUE ${when(incremental(), `AND country = 'FR'`)}\n"
    )
    result = rewrite_sqlx(ENGINE, text)
    assert [(f.line, f.reason) for f in result.flags] == [(2, FlagReason.UNRESOLVED_TEMPLATE)]
    assert "country" in result.flags[0].message


def test_a_js_block_naming_the_old_table_is_flagged():
    text = 'js {\n  const src = "acme-prod.core.users_v1";\n}\nSELECT 1 AS x\n'
    result = rewrite_sqlx(ENGINE, text)
    assert [(f.line, f.reason) for f in result.flags] == [(1, FlagReason.UNRESOLVED_TEMPLATE)]


def test_a_repo_scan_includes_sqlx_files(tmp_path: Path):
    (tmp_path / "definitions").mkdir()
    (tmp_path / "definitions" / "m.sqlx").write_text(MODEL)
    outcome = rewrite_repo(tmp_path, MIGRATION, write=True)
    assert [(f.path, f.kind) for f in outcome.touched] == [("definitions/m.sqlx", "dataform-sqlx")]
    assert "users_v2" in (tmp_path / "definitions" / "m.sqlx").read_text()


def test_an_expression_where_a_value_stands_is_masked_as_a_value():
    text = (
        "SELECT email FROM `acme-prod.core.users_v1`\n"
        "WHERE updated_at > ${when(incremental(), `(SELECT MAX(t) FROM ${self()})`, `0`)}\n"
    )
    result = rewrite_sqlx(ENGINE, text)
    assert result.flags == []
    assert result.text == text.replace("email", "email_address AS email").replace(
        "users_v1", "users_v2"
    )


def test_a_self_reference_naming_a_function_stays_a_name():
    text = "CREATE OR REPLACE FUNCTION ${self()}(x INT64) AS (\n  x + 1\n);\n"
    masked, _ = mask(text)
    assert masked.startswith("CREATE OR REPLACE FUNCTION _df0_    (x INT64)")
    assert sqlglot.parse_one(masked, read="bigquery") is not None


def test_validate_checks_the_sql_of_an_edited_sqlx_file():
    from gaggle.validation.offline import OfflineValidator
    from gaggle.validation.repo import validate_edits

    config = 'config { type: "view" }\n'
    base = {"definitions/a.sqlx": config + "SELECT u.signup_ms\nFROM `acme-prod.core.users_v1` u\n"}
    wrong = {
        "definitions/a.sqlx": config
        + "SELECT u.signup_at AS signup_ms\nFROM `acme-prod.core.users_v2` u\n"
    }
    results = validate_edits(MIGRATION, base, wrong, OfflineValidator(MIGRATION.catalog))
    assert [(r.path, r.verdict.problems) for r in results] == [
        ("definitions/a.sqlx", ["signup_ms changes from signup_ms INT64 to signup_ms TIMESTAMP"])
    ]
