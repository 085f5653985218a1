"""discover() merges the explicit list, code search and lineage into one deduplicated list,
on real local repos and the local BigQuery; the local forge's search on the demo fleet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gaggle.discovery import DiscoveryError, Lineage, discover
from gaggle.fleet import generate_fleet
from gaggle.forges.local import LocalForge
from gaggle.spec import load_migration
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from tests.conftest import DEMO_MIGRATION
from tests.fakes.bigquery_server import FakeBigQuery

USERS = "acme-prod.core.users_v1"
NOW = datetime.now(UTC)


def _forge(root: Path, repos: dict[str, dict[str, str]]) -> LocalForge:
    forge = LocalForge(root)
    for name, files in repos.items():
        for path, text in files.items():
            (root / name / path).parent.mkdir(parents=True, exist_ok=True)
            (root / name / path).write_text(text)
        forge.init_repo(name)
    return forge


REPOS = {
    "acme/Growth-DBT": {"models/users.sql": "select * from {{ source('core', 'users_v1') }}\n"},
    "acme/reports-sql": {"sql/a.sql": "SELECT country FROM core.users_v1\n", "README.md": "x\n"},
    "acme/unrelated": {"sql/b.sql": "SELECT 1 FROM core.users_v2\n"},
    "other/outside": {"sql/c.sql": "SELECT * FROM core.users_v1\n"},
}


def _reads(who: str, label: str | None = None) -> dict:
    job = {"user_email": who, "creation_time": NOW - timedelta(days=2)}
    job["referenced_tables"] = [USERS]
    if label:
        job["labels"] = {"gaggle-repo": label}
    return job


@pytest.fixture
def lineage_server():
    migration = load_migration(DEMO_MIGRATION)
    with FakeBigQuery(migration.catalog) as server:
        server.add_jobs(
            "acme-prod",
            "us",
            [
                _reads("etl@acme.com", "acme__growth-dbt"),  # also an explicit and a code hit
                _reads("finance@acme.com"),  # mapped to acme/finance-sql by principal
                _reads("nightly@acme.com", "acme__lineage-only"),  # no code hit anywhere
                _reads("analyst@acme.com"),  # claimed by no repo
            ],
        )
        yield server


def _lineage(server: FakeBigQuery, migration) -> Lineage:
    client = bigquery.Client(
        project="acme-prod",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": server.endpoint},
    )
    lineage = Lineage.for_migration(migration, client)
    lineage.principals = {"finance@acme.com": "acme/finance-sql"}
    return lineage


def test_explicit_search_and_lineage_merge_into_one_deduplicated_list(tmp_path, lineage_server):
    migration = load_migration(DEMO_MIGRATION)  # repos, github_search "org:acme users_v1"
    forge = _forge(tmp_path / "forge", REPOS)
    found = discover(
        migration,
        explicit=["acme/extra", "ACME/finance-sql"],
        forge=forge,
        lineage=_lineage(lineage_server, migration),
    )
    assert found.names() == [
        "acme/extra",
        "acme/finance-sql",
        "acme/growth-dbt",
        "acme/lineage-only",
        "acme/reports-sql",
    ]
    growth = found.get("ACME/GROWTH-DBT")
    assert growth.sources == ("explicit", "code-search", "lineage")
    assert growth.paths == ("models/users.sql",)
    assert (growth.principals, growth.jobs) == (("etl@acme.com",), 1)
    finance = found.get("acme/finance-sql")
    assert finance.sources == ("explicit", "lineage") and finance.readers[0].via == "principal"
    only = found.get("acme/lineage-only")
    assert only.sources == ("lineage",) and only.paths == () and only.last_read is not None
    assert found.get("acme/reports-sql").sources == ("code-search",)
    assert growth.ledger_fields() == {
        "discovered_by": "explicit,code-search,lineage",
        "lineage_principals": "etl@acme.com",
        "lineage_last_read": growth.readers[0].last_read,
    }
    assert [r.principal for r in found.unattributed] == ["analyst@acme.com"]
    assert found.notes == []


def test_a_local_forge_without_a_query_offers_every_repo(tmp_path, migration_copy):
    text = (migration_copy / "migration.yaml").read_text()
    text = text.replace('  github_search: "org:acme users_v1"\n', "").replace(
        "lineage: true", "lineage: false"
    )
    (migration_copy / "migration.yaml").write_text(text)
    migration = load_migration(migration_copy)
    forge = _forge(tmp_path / "forge", REPOS)
    found = discover(migration, forge=forge)
    assert {c.repo for c in found.repos if "forge" in c.sources} == {
        "acme/growth-dbt",
        "acme/reports-sql",
        "acme/unrelated",
        "other/outside",
    }
    assert found.get("acme/growth-dbt").repo == "acme/growth-dbt"  # explicit spelling first
    assert found.get("acme/growth-dbt").sources == ("explicit", "forge")
    assert discover(migration).names() == ["acme/finance-sql", "acme/growth-dbt"]


def test_local_search_on_the_demo_fleet_finds_every_repo_that_reads_the_old_table(tmp_path):
    fleet = generate_fleet(tmp_path, 12, seed=5)
    forge = LocalForge(tmp_path)
    for repo in fleet:
        forge.init_repo(repo.name)
    hits = forge.search_code("org:acme users_v1")
    assert {r.name for r in fleet if r.references_old_table} <= set(hits)
    for repo, paths in hits.items():
        for path in paths:
            assert "users_v1" in (tmp_path / repo / path).read_text().lower()
    sql_only = forge.search_code("users_v1 org:acme extension:sql")
    assert sql_only and all(p.endswith(".sql") for ps in sql_only.values() for p in ps)
    small = forge.search_code("users_v1 size:<400")
    assert all((tmp_path / r / p).stat().st_size < 400 for r, ps in small.items() for p in ps)
    assert forge.search_code("users_v1 org:nobody") == {}
    with pytest.raises(DiscoveryError, match="does not support"):
        forge.search_code("users_v1 stars:>10")
