"""Framework adapters over realistic fixture repos: before/ rewritten must equal after/ byte
for byte, a second run changes nothing, and the walk skips what it must not touch."""

from __future__ import annotations

import shutil
from pathlib import Path

import jinja2
import pytest
from gaggle.repo import collect_files, rewrite_repo
from gaggle.spec import load_migration
from gaggle.validation.equivalence import Outcome, check_equivalence

from tests.conftest import DEMO_MIGRATION, ROOT

REPOS = ROOT / "tests" / "fixtures" / "repos"
MIGRATION = load_migration(DEMO_MIGRATION)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", ["sqljobs", "dbt"])
def test_fixture_repo_is_rewritten_to_its_after_tree(name: str, tmp_path: Path):
    work = tmp_path / name
    shutil.copytree(REPOS / name / "before", work)
    rewrite_repo(work, MIGRATION, write=True)
    expected, got = _tree(REPOS / name / "after"), _tree(work)
    assert sorted(got) == sorted(expected)
    for path, content in expected.items():
        assert got[path] == content, path
    again = rewrite_repo(work, MIGRATION, write=False)
    assert not [f.path for f in again.files if f.result.changed]


def test_sql_job_repo_report_names_framework_kinds_and_flags(tmp_path: Path):
    work = tmp_path / "jobs"
    shutil.copytree(REPOS / "sqljobs" / "before", work)
    outcome = rewrite_repo(work, MIGRATION, write=False)
    assert outcome.frameworks == ["sql"]
    kinds = {f.path: f.kind for f in outcome.files}
    assert kinds["jobs/daily_active_users.yaml"] == "job-config"
    assert kinds["sql/merge_user_dim.sql"] == "sql"
    assert "jobs/orders_rollup.yaml" not in kinds  # no old table: not a config to touch
    flagged = {(f.path, str(flag.reason)) for f in outcome.files for flag in f.result.flags}
    assert ("jobs/ltv_export.yml", "unresolved-reference") in flagged  # inline SQL in YAML
    assert ("sql/merge_user_dim.sql", "manual-column") in flagged
    table = outcome.summary_table()
    assert "job-config" in table and "sql" in table


def test_dbt_models_downstream_of_a_rewritten_model_are_untouched(tmp_path: Path):
    before, after = REPOS / "dbt" / "before", REPOS / "dbt" / "after"
    for downstream in ("models/intermediate/int_user_orders.sql", "models/marts/mart_country.sql"):
        assert (before / downstream).read_bytes() == (after / downstream).read_bytes()
    # ...because the rewritten staging model returns the same columns and rows.
    original = _compile(before / "models/staging/stg_users.sql")
    rewritten = _compile(after / "models/staging/stg_users.sql")
    verdict = check_equivalence(original, rewritten, MIGRATION)
    assert verdict.outcome == Outcome.EQUAL, verdict.detail


def _compile(model: Path) -> str:
    """Render a model the way dbt would for these calls: source() to its table, config() to ''."""
    env = jinja2.Environment()
    return env.from_string(model.read_text()).render(
        config=lambda **_: "",
        source=lambda source, table: f"`acme-prod.{source}.{table}`",
    )


def test_dbt_sources_keep_the_old_table_while_a_model_still_needs_it(tmp_path: Path):
    work = tmp_path / "dbt"
    shutil.copytree(REPOS / "dbt" / "before", work)
    broken = work / "models" / "marts" / "broken.sql"
    broken.write_text("select user_id from {{ source('core', 'users_v1') }} where (\n")
    rewrite_repo(work, MIGRATION, write=True)
    sources = (work / "models" / "staging" / "sources.yml").read_text()
    assert "      - name: users_v1\n" in sources and "      - name: users_v2\n" in sources
    assert sources.index("name: users_v1") < sources.index("name: users_v2")
    assert broken.read_text().endswith("where (\n")  # unparseable: left as it was


def test_walk_skips_links_binaries_large_files_and_vendored_folders(tmp_path: Path):
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "ok.sql").write_text("select country from core.users_v1\n")
    (tmp_path / "sql" / "blob.sql").write_bytes(b"select 1\x00\x01")
    (tmp_path / "sql" / "huge.sql").write_text("-- x\n" * 300_000)
    (tmp_path / "sql" / "latin1.sql").write_bytes("select 'caf\xe9'".encode("latin-1"))
    outside = tmp_path.parent / "outside.sql"
    outside.write_text("select country from core.users_v1\n")
    (tmp_path / "sql" / "link.sql").symlink_to(outside)
    (tmp_path / "dbt_packages" / "pkg").mkdir(parents=True)
    (tmp_path / "dbt_packages" / "pkg" / "m.sql").write_text("select 1 from core.users_v1")
    files, skipped = collect_files(tmp_path)
    assert [f.relative for f in files] == ["sql/ok.sql"]
    reasons = {s.path: s.reason for s in skipped}
    assert reasons["sql/blob.sql"] == "binary"
    assert reasons["sql/huge.sql"].startswith("larger than")
    assert reasons["sql/latin1.sql"] == "not UTF-8 text"
    assert reasons["sql/link.sql"] == "symbolic link"
    assert reasons["dbt_packages/"] == "installed dbt packages"
    rewrite_repo(tmp_path, MIGRATION, write=True)
    assert outside.read_text() == "select country from core.users_v1\n"  # never followed


def test_line_endings_bom_and_missing_final_newline_survive(tmp_path: Path):
    path = tmp_path / "q.sql"
    path.write_bytes(b"\xef\xbb\xbfSELECT country\r\nFROM core.users_v1")
    rewrite_repo(tmp_path, MIGRATION, write=True)
    assert path.read_bytes() == (
        b"\xef\xbb\xbfSELECT geo.country_code AS country\r\nFROM core.users_v2"
    )


def test_progress_is_reported_for_every_file(tmp_path: Path):
    work = tmp_path / "jobs"
    shutil.copytree(REPOS / "sqljobs" / "before", work)
    calls: list[tuple[int, int]] = []
    rewrite_repo(
        work, MIGRATION, write=False, progress=lambda done, total: calls.append((done, total))
    )
    total = len(collect_files(work)[0])
    assert calls == [(n, total) for n in range(1, total + 1)]
