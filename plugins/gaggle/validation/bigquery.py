"""The BigQuery validator: dry-run query jobs through google-cloud-bigquery.

A dry run compiles the query against the real tables, costs nothing and returns the
output schema, the tables read and the bytes it would process. Each is a network
round trip, so many queries run concurrently with a bound (`analyze_many`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from google.api_core import exceptions as google_errors
from google.cloud import bigquery

from gaggle.schema import STANDARD_TYPES
from gaggle.validation.analysis import Analysis, Column, QueryError
from gaggle.validation.parameters import PLACEHOLDER_VALUES, parameter_types

_POSITION = re.compile(r"\[(\d+):(\d+)\]\s*$")
DEFAULT_CONCURRENCY = 8


class BigQueryValidator:
    name = "bigquery"

    def __init__(
        self,
        client: bigquery.Client,
        location: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.client = client
        self.location = location
        self.concurrency = concurrency

    @classmethod
    def from_settings(
        cls,
        project: str | None,
        location: str | None = None,
        endpoint: str | None = None,
        credentials=None,
    ) -> BigQueryValidator:
        """A client from explicit settings, else application default credentials."""
        options = {"api_endpoint": endpoint} if endpoint else None
        client = bigquery.Client(
            project=project, location=location, credentials=credentials, client_options=options
        )
        return cls(client, location)

    def analyze(self, sql: str) -> Analysis:
        config = bigquery.QueryJobConfig(
            dry_run=True, use_query_cache=False, query_parameters=query_parameters(sql)
        )
        try:
            job = self.client.query(sql, job_config=config, location=self.location)
        except google_errors.BadRequest as err:
            return Analysis(error=_error(err))
        except google_errors.GoogleAPICallError as err:
            return Analysis(error=QueryError(f"BigQuery refused the dry run: {err.message}"))
        tables = tuple(
            sorted(f"{t.project}.{t.dataset_id}.{t.table_id}" for t in job.referenced_tables or [])
        )
        columns = tuple(_column(f) for f in job.schema) if job.schema else None
        return Analysis(columns, tables, (), job.total_bytes_processed)

    def analyze_many(self, queries: Sequence[str]) -> list[Analysis]:
        """Dry-run many queries, at most `concurrency` in flight, results in input order."""
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            return list(pool.map(self.analyze, queries))


def query_parameters(sql: str) -> list[bigquery.ScalarQueryParameter]:
    """A typed placeholder for each `@name` parameter, since a dry run needs them declared
    (types inferred as in `gaggle.validation.parameters`)."""
    return [
        bigquery.ScalarQueryParameter(name, found.kind, PLACEHOLDER_VALUES[found.kind])
        for name, found in parameter_types(sql).items()
    ]


def _column(field: bigquery.SchemaField) -> Column:
    kind = STANDARD_TYPES.get(field.field_type.upper(), field.field_type.upper())
    return Column(
        field.name, kind, field.mode or "NULLABLE", tuple(_column(f) for f in field.fields)
    )


def _error(err: google_errors.BadRequest) -> QueryError:
    """BigQuery ends a query error with `[line:column]`; keep both."""
    message = err.errors[0].get("message", err.message) if err.errors else err.message
    match = _POSITION.search(message)
    if match:
        return QueryError(message, int(match.group(1)), int(match.group(2)))
    return QueryError(message)
