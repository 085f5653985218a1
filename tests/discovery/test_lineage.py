"""BigQuery lineage through the real google-cloud-bigquery client against the local BigQuery,
which runs the JOBS query in DuckDB over an in-memory INFORMATION_SCHEMA.JOBS fixture."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import googleapiclient
import pytest
from gaggle.discovery import DiscoveryError, Lineage, label_value, repo_from_label
from gaggle.spec import load_migration
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from tests.conftest import DEMO_MIGRATION
from tests.fakes.bigquery_server import FakeBigQuery

MIGRATION = load_migration(DEMO_MIGRATION)
USERS = "acme-prod.core.users_v1"
EVENTS = "acme-prod.analytics.events_*"
ORDERS = "acme-prod.sales.orders"
NOW = datetime.now(UTC)
DISCOVERY = json.loads(
    (
        Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "bigquery.v2.json"
    ).read_text()
)["schemas"]


def _job(who: str, days_ago: float, tables: list[str], label: str | None = None, **extra):
    job = {"user_email": who, "creation_time": NOW - timedelta(days=days_ago)}
    job["referenced_tables"] = tables
    if label:
        job["labels"] = {"gaggle-repo": label, "team": "growth"}
    return {**job, **extra}


JOBS = [
    _job("etl-growth@acme-prod.iam.gserviceaccount.com", 1, [USERS], "acme__growth-dbt"),
    _job("etl-growth@acme-prod.iam.gserviceaccount.com", 3, [USERS, ORDERS], "acme__growth-dbt"),
    _job("finance@acme.com", 2, [USERS]),  # mapped by principal
    _job("finance@acme.com", 5, [ORDERS]),  # reads no old table
    _job("analyst@acme.com", 4, ["acme-prod.analytics.events_20250101"]),  # unattributed
    _job("old@acme.com", 45, [USERS]),  # outside a 30-day window
    _job("broken@acme.com", 1, [USERS], error_result={"reason": "invalidQuery", "message": "x"}),
    _job("scio@acme.com", 1, [USERS], label_value("acme/Scio.Pipelines")),  # acme__scio_pipelines
]


@pytest.fixture
def fake():
    with FakeBigQuery(MIGRATION.catalog) as server:
        server.add_jobs("acme-prod", "us", JOBS)
        yield server


def _client(server: FakeBigQuery) -> bigquery.Client:
    return bigquery.Client(
        project="acme-prod",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": server.endpoint},
    )


def _lineage(server: FakeBigQuery, **kwargs) -> Lineage:
    options = {"principals": {"Finance@acme.com": "acme/finance-sql"}, **kwargs}
    return Lineage(_client(server), [USERS, EVENTS], **options)


def test_readers_are_attributed_by_label_then_principal_and_the_rest_left_for_humans(fake):
    readers = {(r.principal, r.repo): r for r in _lineage(fake).readers()}
    growth = readers[("etl-growth@acme-prod.iam.gserviceaccount.com", "acme/growth-dbt")]
    assert (growth.jobs, growth.via, growth.tables) == (2, "label", (USERS,))
    assert abs(growth.last_read - (NOW - timedelta(days=1))) < timedelta(seconds=1)
    finance = readers[("finance@acme.com", "acme/finance-sql")]
    assert (finance.jobs, finance.via) == (1, "principal")  # the ORDERS-only job is not a read
    analyst = readers[("analyst@acme.com", None)]  # a shard of the wildcard table
    assert (analyst.jobs, analyst.tables) == (1, ("acme-prod.analytics.events_20250101",))
    assert readers[("scio@acme.com", "acme/scio_pipelines")].via == "label"
    assert ("old@acme.com", None) not in readers  # 45 days ago: outside the window
    assert not any(p == "broken@acme.com" for p, _ in readers)  # failed jobs read nothing


def test_the_window_is_a_parameter_and_readers_of_answers_the_sweep(fake):
    lineage = _lineage(fake)
    assert ("old@acme.com", None) in {(r.principal, r.repo) for r in lineage.readers(days=60)}
    assert [r.jobs for r in lineage.readers_of("Acme/Growth-DBT")] == [2]
    assert lineage.readers_of("acme/growth-dbt", days=2)[0].jobs == 1  # 3 days ago drops out
    assert lineage.readers_of("acme/never-read") == []
    assert [r.repo for r in lineage.readers_of("acme/Scio.Pipelines")] == ["acme/scio_pipelines"]


def test_every_old_table_of_a_multi_table_migration_is_read(fake):
    only_users = {r.principal for r in Lineage(_client(fake), [USERS]).readers()}
    both = {r.principal for r in _lineage(fake).readers()}
    assert "analyst@acme.com" not in only_users and "analyst@acme.com" in both
    [*_, request] = [r for r in fake.requests if "JOBS_BY_PROJECT" in r.get("query", "")]
    assert "`acme-prod`.`region-us`.INFORMATION_SCHEMA.JOBS_BY_PROJECT" in request["query"]
    params = {p["name"]: p for p in request["queryParameters"]}
    assert params["days"]["parameterValue"]["value"] == "30"
    assert [v["value"] for v in params["tables"]["parameterValue"]["arrayValues"]] == [USERS]
    assert params["prefix_0"]["parameterValue"]["value"] == "acme-prod.analytics.events_"


def test_settings_come_from_the_spec_and_a_missing_region_is_a_clear_error(fake, tmp_path):
    spec = MIGRATION.consumers.lineage_settings
    lineage = Lineage.for_migration(MIGRATION, _client(fake), spec)
    assert (lineage.projects, lineage.region, lineage.days) == (("acme-prod",), "us", 30)
    assert {r.repo for r in lineage.readers()} >= {"acme/growth-dbt", None}
    elsewhere = _lineage(fake, region="eu")
    with pytest.raises(DiscoveryError, match=r"region-eu.*roles/bigquery.resourceViewer"):
        elsewhere.readers()


def test_jobs_insert_and_get_query_results_speak_the_published_schema(fake):
    client = _client(fake)
    rows = list(
        client.query(
            "SELECT user_email, COUNT(*) AS jobs, MAX(creation_time) AS last, "
            "ARRAY_AGG(DISTINCT job_type) AS kinds "
            "FROM `acme-prod`.`region-us`.INFORMATION_SCHEMA.JOBS "
            "WHERE user_email = @who GROUP BY user_email",
            job_config=bigquery.QueryJobConfig(
                query_parameters=[bigquery.ScalarQueryParameter("who", "STRING", "old@acme.com")]
            ),
        ).result(page_size=1)
    )
    assert [(r["user_email"], r["jobs"], r["kinds"]) for r in rows] == [
        ("old@acme.com", 1, ["QUERY"])
    ]
    assert rows[0]["last"].tzinfo is not None
    _lineage(fake).readers()  # jobs.query
    routes = {(method, path.split("?")[0].split("/")[5]) for method, path, *_ in fake.exchanges}
    assert routes == {("POST", "jobs"), ("GET", "queries"), ("POST", "queries")}
    for _, _, status, body in fake.exchanges:
        assert status == 200, body
        kind = body["kind"]
        name = {
            "bigquery#job": "Job",
            "bigquery#queryResponse": "QueryResponse",
            "bigquery#getQueryResultsResponse": "GetQueryResultsResponse",
        }[kind]
        _conforms(body, name)


def _conforms(value, schema_name: str, where: str = "") -> None:
    """Every key of `value` is a property the discovery document names, recursively."""
    schema = DISCOVERY[schema_name]
    _walk(value, schema, where or schema_name)


def _walk(value, schema: dict, where: str) -> None:
    if "$ref" in schema:
        schema = DISCOVERY[schema["$ref"]]
    if isinstance(value, dict) and "properties" in schema:
        unknown = set(value) - set(schema["properties"]) - {"user_email"}
        assert not unknown, f"{where}: {sorted(unknown)} not in the discovery document"
        for key, item in value.items():
            if key in schema["properties"]:
                _walk(item, schema["properties"][key], f"{where}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _walk(item, schema["items"], f"{where}[{index}]")


def test_label_values_encode_repos_within_bigquerys_rules():
    assert label_value("Acme/growth.dbt") == "acme__growth_dbt"
    assert repo_from_label("acme__growth-dbt") == "acme/growth-dbt"
    assert repo_from_label("growth-dbt") is None and repo_from_label("__x") is None
