"""Validation: offline cost against sqlglot's parse + qualify floor, dry runs sequential
against bounded-concurrent (the real client against the local BigQuery server with a
simulated round trip), and the dbt renderer's cost per model."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIGRATION = ROOT / "include" / "migrations" / "users_v2"


def _queries(count: int) -> list[str]:
    from gaggle.fleet import generate_fleet

    with tempfile.TemporaryDirectory() as tmp:
        generate_fleet(Path(tmp), 400, seed=9)
        texts = [p.read_text() for p in sorted(Path(tmp).rglob("*.sql"))]
    singles = [t for t in texts if "{{" not in t and ";" not in t.strip().rstrip(";")]
    return singles[:count]


def _median_ms(function, items) -> float:
    times = []
    for item in items:
        began = time.perf_counter()
        function(item)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def offline_against_floor(queries: list[str]) -> None:
    import sqlglot
    from gaggle.spec import load_migration
    from gaggle.validation.offline import OfflineValidator
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.schema import MappingSchema

    migration = load_migration(MIGRATION)
    validator = OfflineValidator(migration.catalog)
    schema = MappingSchema(migration.catalog.nested_mapping(), dialect="bigquery")

    def floor(sql: str) -> None:
        try:
            for statement in sqlglot.parse(sql, read="bigquery"):
                if statement is not None:
                    qualify(
                        statement, schema=schema, dialect="bigquery", validate_qualify_columns=False
                    )
        except SqlglotError:
            pass

    floor_ms = _median_ms(floor, queries)
    offline_ms = _median_ms(validator.analyze, queries)
    print(
        f"offline validation: {offline_ms:.2f} ms/query median vs parse+qualify floor "
        f"{floor_ms:.2f} ms ({offline_ms / floor_ms:.2f}x, goal <= 2x) over {len(queries)} queries"
    )


def dry_runs(queries: list[str]) -> None:
    from gaggle.spec import load_migration
    from gaggle.validation.bigquery import BigQueryValidator
    from google.auth.credentials import AnonymousCredentials

    sys.path.insert(0, str(ROOT))
    from tests.fakes.bigquery_server import FakeBigQuery

    migration = load_migration(MIGRATION)
    batch = queries[:40]
    with FakeBigQuery(migration.catalog, latency_s=0.05) as server:
        validator = BigQueryValidator.from_settings(
            "acme-prod", endpoint=server.endpoint, credentials=AnonymousCredentials()
        )
        figures = []
        for concurrency in (1, 8):
            validator.concurrency = concurrency
            began = time.perf_counter()
            validator.analyze_many(batch)
            figures.append((concurrency, time.perf_counter() - began, server.max_in_flight))
    for concurrency, seconds, peak in figures:
        print(
            f"dry runs, {len(batch)} queries, 50 ms simulated round trip, concurrency "
            f"{concurrency}: {seconds:.2f} s ({len(batch) / seconds:.0f} queries/s, peak in flight {peak})"
        )


def dbt_renderer() -> None:
    from gaggle.frameworks.dbt import DbtFramework
    from gaggle.frameworks.dbt_compile import DbtRenderer, DbtTarget
    from gaggle.repo import collect_files
    from gaggle.spec import load_migration
    from gaggle.sql import SqlRewriter

    project_dir = ROOT / "tests" / "fixtures" / "repos" / "dbt" / "before"
    files, _ = collect_files(project_dir)
    session = DbtFramework().open(project_dir, SqlRewriter(load_migration(MIGRATION)), files)
    renderer = DbtRenderer(session.projects[0], DbtTarget("acme-prod", "dbt"))
    models = [f for f in files if session.kind_of(f) == "dbt-model"] * 50
    ms = _median_ms(lambda f: renderer.compile(Path(f.relative).stem, f.text), models)
    print(f"dbt renderer: {ms:.2f} ms per model (median of {len(models)} compiles)")


def main() -> None:
    queries = _queries(400)
    offline_against_floor(queries)
    dry_runs(queries)
    dbt_renderer()
