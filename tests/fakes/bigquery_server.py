"""A local HTTP server that speaks BigQuery v2's REST protocol for query jobs.

Dry runs (jobs.insert with `dryRun`) are judged by sqlglot against the migration's schema
catalog. Real queries run over in-memory `INFORMATION_SCHEMA.JOBS` fixtures (`add_jobs`):
the BigQuery SQL is transpiled to DuckDB by sqlglot, its named `@parameters` bound, and
executed in DuckDB; results come back in the REST wire format the client reads (schema,
rows as `f`/`v` cells, timestamps as int64 microseconds when `useInt64Timestamp`), through
jobs.query (`POST .../queries`), or jobs.insert then jobs.get and jobs.getQueryResults
(`GET .../queries/<jobId>`, paged by maxResults/pageToken).

Responses follow the official discovery document (shipped in google-api-python-client):
Job, QueryResponse and GetQueryResultsResponse. Errors are what BigQuery returns: HTTP
400, reason `invalidQuery`, a message ending in `[line:column]`; 404 `notFound` for an
unknown table or job.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.parse
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler

import duckdb
import sqlglot
from gaggle.schema import Catalog
from gaggle.validation.analysis import Column
from gaggle.validation.offline import OfflineValidator
from sqlglot import exp

from tests.fakes.serving import LoopbackServer

_JOBS = re.compile(r"^/bigquery/v2/projects/(?P<project>[^/]+)/jobs$")
_QUERIES = re.compile(r"^/bigquery/v2/projects/(?P<project>[^/]+)/queries$")
_GET = re.compile(
    r"^/bigquery/v2/projects/(?P<project>[^/]+)/(?P<kind>jobs|queries)/(?P<job>[^/]+)$"
)
_JOB_VIEWS = {"JOBS", "JOBS_BY_PROJECT"}
# INFORMATION_SCHEMA.JOBS columns the fixtures hold (a subset of BigQuery's), DuckDB types.
JOB_COLUMNS = {
    "creation_time": "TIMESTAMPTZ",
    "project_id": "VARCHAR",
    "user_email": "VARCHAR",
    "job_id": "VARCHAR",
    "job_type": "VARCHAR",
    "statement_type": "VARCHAR",
    "state": "VARCHAR",
    "query": "VARCHAR",
    "error_result": "STRUCT(reason VARCHAR, location VARCHAR, debug_info VARCHAR, message VARCHAR)",
    "labels": "STRUCT(key VARCHAR, value VARCHAR)[]",
    "referenced_tables": "STRUCT(project_id VARCHAR, dataset_id VARCHAR, table_id VARCHAR)[]",
}
_JSON_SHAPES = {
    "error_result": '{"reason": "VARCHAR", "location": "VARCHAR", "debug_info": "VARCHAR", '
    '"message": "VARCHAR"}',
    "labels": '[{"key": "VARCHAR", "value": "VARCHAR"}]',
    "referenced_tables": '[{"project_id": "VARCHAR", "dataset_id": "VARCHAR", '
    '"table_id": "VARCHAR"}]',
}
_BQ_TYPES = {  # DuckDB result type -> BigQuery legacy type name
    "VARCHAR": "STRING",
    "BIGINT": "INTEGER",
    "INTEGER": "INTEGER",
    "HUGEINT": "INTEGER",
    "SMALLINT": "INTEGER",
    "DOUBLE": "FLOAT",
    "FLOAT": "FLOAT",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "TIMESTAMP": "DATETIME",
}
_LEGACY = {"INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN", "STRUCT": "RECORD"}


class FakeBigQuery(LoopbackServer):
    """Start with `with FakeBigQuery(catalog) as server:`; `server.endpoint` is the base URL."""

    def __init__(self, catalog: Catalog, latency_s: float = 0.0) -> None:
        self.validator = OfflineValidator(catalog)
        self.catalog = catalog
        self.latency_s = latency_s
        self.requests: list[dict] = []
        self.exchanges: list[tuple[str, str, int, dict]] = []  # (method, path, status, body)
        self.job_views: dict[tuple[str, str], list[dict]] = {}  # (project, region) -> jobs
        self.results: dict[str, dict] = {}  # job id -> the finished query job and its rows
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._serve(self._handler())

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                path = self.path.split("?", 1)[0]
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                insert, query = _JOBS.match(path), _QUERIES.match(path)
                if insert is not None and body.get("configuration", {}).get("dryRun"):
                    status, payload = fake.dry_run(insert["project"], body)
                elif insert is not None:
                    status, payload = fake.insert_job(insert["project"], body)
                elif query is not None:
                    status, payload = fake.jobs_query(query["project"], body)
                else:
                    status, payload = 404, _error(404, "notFound", f"Not found: {self.path}")
                self._send(status, payload, "POST")

            def do_GET(self) -> None:
                split = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(split.query))
                match = _GET.match(split.path)
                if match is None:
                    status, payload = 404, _error(404, "notFound", f"Not found: {self.path}")
                elif match["kind"] == "jobs":
                    status, payload = fake.get_job(match["project"], match["job"])
                else:
                    status, payload = fake.get_query_results(match["project"], match["job"], params)
                self._send(status, payload, "GET")

            def _send(self, status: int, payload: dict, method: str = "POST") -> None:
                with fake._lock:
                    fake.exchanges.append((method, self.path, status, payload))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def dry_run(self, project: str, body: dict) -> tuple[int, dict]:
        with self._lock:
            self.requests.append(body)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency_s:
                time.sleep(self.latency_s)
            return self._answer(project, body)
        finally:
            with self._lock:
                self.in_flight -= 1

    # --- real queries over INFORMATION_SCHEMA.JOBS fixtures ---------------------------------

    def add_jobs(self, project: str, region: str, jobs: list[dict]) -> None:
        """Jobs that `project`.`region-<region>`.INFORMATION_SCHEMA.JOBS[_BY_PROJECT] lists.

        Each job is a dict of JOB_COLUMNS: `labels` as {key: value}, `referenced_tables` as
        ["project.dataset.table"], `error_result` as a dict or None; `project_id`,
        `job_type` (QUERY), `state` (DONE) and `job_id` default sensibly.
        """
        rows = []
        for job in jobs:
            row = {
                "project_id": project,
                "job_id": f"job_{uuid.uuid4().hex[:12]}",
                "job_type": "QUERY",
                "statement_type": "SELECT",
                "state": "DONE",
                "query": "",
                "error_result": None,
                **job,
            }
            row["labels"] = [{"key": k, "value": v} for k, v in (job.get("labels") or {}).items()]
            row["referenced_tables"] = [
                dict(zip(("project_id", "dataset_id", "table_id"), name.split("."), strict=True))
                for name in job.get("referenced_tables", [])
            ]
            rows.append(row)
        with self._lock:
            self.job_views.setdefault((project, region.lower()), []).extend(rows)

    def jobs_query(self, project: str, body: dict) -> tuple[int, dict]:
        """jobs.query: run and answer a QueryResponse with the first page of rows."""
        with self._lock:
            self.requests.append(body)
        status, job = self._run(project, body.get("query", ""), body, body.get("location"))
        if status != 200:
            return status, job
        page = self._page(job, body.get("maxResults"), None, _int64(body))
        return 200, {"kind": "bigquery#queryResponse", **page, "jobComplete": True}

    def insert_job(self, project: str, body: dict) -> tuple[int, dict]:
        """jobs.insert of a query job that is not a dry run: run it, answer the Job (DONE)."""
        with self._lock:
            self.requests.append(body)
        configuration = body.get("configuration", {})
        query = configuration.get("query", {})
        reference = body.get("jobReference") or {}
        status, job = self._run(project, query.get("query", ""), query, reference.get("location"))
        if status != 200:
            return status, job
        if reference.get("jobId"):
            with self._lock:
                self.results[reference["jobId"]] = self.results.pop(job["jobId"])
                job["jobId"] = reference["jobId"]
        return 200, self._job_resource(job, configuration)

    def get_job(self, project: str, job_id: str) -> tuple[int, dict]:
        job = self.results.get(job_id)
        if job is None or job["project"] != project:
            return 404, _error(404, "notFound", f"Not found: Job {project}:{job_id}")
        return 200, self._job_resource(job, job["configuration"])

    def get_query_results(self, project: str, job_id: str, params: dict) -> tuple[int, dict]:
        """jobs.getQueryResults: one page (maxResults, pageToken = the next row's index)."""
        job = self.results.get(job_id)
        if job is None or job["project"] != project:
            return 404, _error(404, "notFound", f"Not found: Job {project}:{job_id}")
        int64 = params.get("formatOptions.useInt64Timestamp", "").lower() == "true"
        page = self._page(job, params.get("maxResults"), params.get("pageToken"), int64)
        return 200, {"kind": "bigquery#getQueryResultsResponse", **page, "jobComplete": True}

    def _run(self, project: str, query: str, options: dict, location: str | None) -> tuple:
        """Execute a GoogleSQL query over the JOBS fixtures in DuckDB; store the result."""
        if options.get("useLegacySql"):
            return 400, _error(400, "invalidQuery", "This fake runs GoogleSQL only.")
        try:
            tree = sqlglot.parse_one(query, read="bigquery")
        except sqlglot.errors.ParseError as err:
            first = err.errors[0] if err.errors else {}
            where = f" at [{first.get('line', 1)}:{first.get('col', 1)}]"
            return 400, _error(
                400, "invalidQuery", f"Syntax error: {first.get('description')}{where}"
            )
        views = {}
        for table in list(tree.find_all(exp.Table)):
            found = self._job_view(project, table)
            if found is None:
                continue
            if isinstance(found, tuple):  # an error answer
                return found
            alias = f"jobs_{len(views)}"
            views[alias] = found
            replacement = exp.to_table(alias)
            name = table.args.get("alias") or exp.TableAlias(
                this=exp.to_identifier(table.name.split(".")[-1])
            )
            replacement.set("alias", name)
            table.replace(replacement)
        parameters = {p["name"]: _parameter(p) for p in options.get("queryParameters", [])}
        try:
            columns, rows = _execute(tree.sql("duckdb"), views, parameters)
        except duckdb.Error as err:
            return 400, _error(400, "invalidQuery", f"{err} at [1:1]")
        job_id = f"job_{uuid.uuid4().hex}"
        regions = {k[1] for k in self.job_views} if views else {"us"}
        job = {
            "project": project,
            "jobId": job_id,
            "location": location or next(iter(sorted(regions))).upper(),
            "query": query,
            "configuration": {"jobType": "QUERY", "query": options},
            "schema": {"fields": columns},
            "rows": rows,
        }
        with self._lock:
            self.results[job_id] = job
        return 200, job

    def _job_view(self, project: str, table: exp.Table):
        """The fixture rows an INFORMATION_SCHEMA.JOBS reference reads, None for another
        table, or a 404 answer for a view or region this fake does not hold."""
        parts = [table.catalog, table.db, *table.name.split(".")]
        upper = [part.upper() for part in parts]
        if "INFORMATION_SCHEMA" not in upper:
            return None
        view = upper[-1]
        region = next((p.lower() for p in parts if p.lower().startswith("region-")), "region-us")
        owner = next((p for p in parts[:2] if p and not p.lower().startswith("region-")), project)
        rows = self.job_views.get((owner, region.removeprefix("region-")))
        if view not in _JOB_VIEWS or rows is None:
            shown = f"{owner}:{region}.INFORMATION_SCHEMA.{view}"
            return 404, _error(404, "notFound", f"Not found: Table {shown} was not found")
        return rows

    def _page(self, job: dict, max_results, token, int64: bool) -> dict:
        start = int(token or 0)
        stop = len(job["rows"]) if max_results is None else start + int(max_results)
        cells = [_row(job["schema"]["fields"], row, int64) for row in job["rows"][start:stop]]
        page = {
            "schema": job["schema"],
            "jobReference": self._reference(job),
            "totalRows": str(len(job["rows"])),
            "totalBytesProcessed": "0",
            "cacheHit": False,
        }
        if cells:
            page["rows"] = cells
        if stop < len(job["rows"]):
            page["pageToken"] = str(stop)
        return page

    def _reference(self, job: dict) -> dict:
        return {"projectId": job["project"], "jobId": job["jobId"], "location": job["location"]}

    def _job_resource(self, job: dict, configuration: dict) -> dict:
        now = str(int(time.time() * 1000))
        return {
            "kind": "bigquery#job",
            "id": f"{job['project']}:{job['location']}.{job['jobId']}",
            "jobReference": self._reference(job),
            "configuration": configuration,
            "status": {"state": "DONE"},
            "statistics": {
                "creationTime": now,
                "startTime": now,
                "endTime": now,
                "totalBytesProcessed": "0",
                "query": {
                    "totalBytesProcessed": "0",
                    "totalBytesBilled": "0",
                    "cacheHit": False,
                    "statementType": "SELECT",
                    "schema": job["schema"],
                },
            },
            "user_email": "gaggle-tests@example.com",
        }

    def _answer(self, project: str, body: dict) -> tuple[int, dict]:
        configuration = body.get("configuration", {})
        query = configuration.get("query", {}).get("query", "")
        analysis = self.validator.analyze(query)
        if analysis.error is not None:
            where = (
                f" at [{analysis.error.line}:{analysis.error.column}]"
                if analysis.error.line
                else ""
            )
            return 400, _error(400, "invalidQuery", f"{analysis.error.message}{where}")
        if analysis.unknown_tables:
            name = analysis.unknown_tables[0].replace(".", ":", 1)
            return 404, _error(
                404, "notFound", f"Not found: Table {name} was not found in location US"
            )
        reference = body.get("jobReference") or {}
        job_id = reference.get("jobId") or str(uuid.uuid4())
        total = str(self._bytes(query, analysis.tables))
        statistics = {
            "creationTime": str(int(time.time() * 1000)),
            "totalBytesProcessed": total,
            "query": {
                "totalBytesProcessed": total,
                "totalBytesBilled": "0",
                "cacheHit": False,
                "statementType": _statement_type(query),
                "referencedTables": [_table_reference(t) for t in analysis.tables],
                "schema": {"fields": [_field(c) for c in analysis.columns or ()]},
            },
        }
        job = {
            "kind": "bigquery#job",
            "id": f"{project}:US.{job_id}",
            "jobReference": {"projectId": project, "jobId": job_id, "location": "US"},
            "configuration": configuration,
            "status": {"state": "DONE"},
            "statistics": statistics,
            "user_email": "gaggle-tests@example.com",
        }
        return 200, job

    def _bytes(self, query: str, tables: tuple[str, ...]) -> int:
        """1 kB per column of a read table that the query names: deterministic, proportional."""
        words = {w.lower() for w in re.findall(r"[A-Za-z_]\w*", query)}
        total = 0
        for name, schema in self.catalog.tables.items():
            if str(name) in tables:
                total += 1000 * sum(1 for f in schema.fields if f.name.lower() in words)
        return total


def _field(column: Column) -> dict:
    field = {
        "name": column.name,
        "type": _LEGACY.get(column.type, column.type),
        "mode": column.mode,
    }
    if column.fields:
        field["fields"] = [_field(c) for c in column.fields]
    return field


def _table_reference(name: str) -> dict:
    project, dataset, table = name.split(".")
    return {"projectId": project, "datasetId": dataset, "tableId": table}


def _statement_type(query: str) -> str:
    try:
        statement = sqlglot.parse_one(query, read="bigquery")
    except sqlglot.errors.SqlglotError:
        return "SCRIPT"
    return {"Insert": "INSERT", "Merge": "MERGE", "Create": "CREATE_TABLE_AS_SELECT"}.get(
        type(statement).__name__, "SELECT"
    )


def _error(code: int, reason: str, message: str) -> dict:
    status = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND"}.get(code, "UNKNOWN")
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [
                {
                    "message": message,
                    "domain": "global",
                    "reason": reason,
                    "location": "q",
                    "locationType": "parameter",
                }
            ],
            "status": status,
        }
    }


def _execute(sql: str, views: dict[str, list[dict]], parameters: dict) -> tuple[list, list]:
    """Run DuckDB SQL over the job fixtures: (BigQuery schema fields, rows as tuples)."""
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        con.execute("SET TimeZone = 'UTC'")
        for alias, jobs in views.items():
            columns = ", ".join(f"{name} {kind}" for name, kind in JOB_COLUMNS.items())
            con.execute(f"CREATE TABLE {alias} ({columns})")
            values = ", ".join(
                f"from_json(?::JSON, '{_JSON_SHAPES[name]}')" if name in _JSON_SHAPES else "?"
                for name in JOB_COLUMNS
            )
            for job in jobs:
                con.execute(
                    f"INSERT INTO {alias} SELECT {values}",
                    [
                        json.dumps(job.get(name)) if name in _JSON_SHAPES else job.get(name)
                        for name in JOB_COLUMNS
                    ],
                )
        used = {k: v for k, v in parameters.items() if f"${k}" in sql}
        result = con.execute(sql, used)
        fields = [_schema_field(name, str(kind)) for name, kind, *_ in result.description]
        return fields, result.fetchall()
    finally:
        con.close()


def _schema_field(name: str, kind: str) -> dict:
    repeated = kind.endswith("[]")
    base = kind.removesuffix("[]")
    if base not in _BQ_TYPES:
        raise duckdb.Error(f"the fake cannot return a {kind} column ({name})")
    return {"name": name, "type": _BQ_TYPES[base], "mode": "REPEATED" if repeated else "NULLABLE"}


def _cell(field: dict, value, int64: bool):
    if value is None:
        return None
    if field["mode"] == "REPEATED":
        scalar = {**field, "mode": "NULLABLE"}
        return [{"v": _cell(scalar, item, int64)} for item in value]
    if isinstance(value, datetime) and field["type"] == "TIMESTAMP":
        micros = int(value.astimezone(UTC).timestamp() * 1_000_000)
        return str(micros) if int64 else f"{micros / 1_000_000:.6f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)


def _row(fields: list[dict], row: tuple, int64: bool) -> dict:
    return {"f": [{"v": _cell(f, v, int64)} for f, v in zip(fields, row, strict=True)]}


def _int64(body: dict) -> bool:
    return bool(body.get("formatOptions", {}).get("useInt64Timestamp"))


def _parameter(parameter: dict):
    """A query parameter from the REST form to a Python value DuckDB binds."""
    kind = parameter["parameterType"]
    value = parameter.get("parameterValue", {})
    if kind["type"] == "ARRAY":
        item = {"parameterType": kind["arrayType"]}
        return [_parameter({**item, "parameterValue": v}) for v in value.get("arrayValues", [])]
    raw = value.get("value")
    if raw is None:
        return None
    return {
        "INT64": int,
        "FLOAT64": float,
        "NUMERIC": Decimal,
        "BOOL": lambda v: v.lower() == "true",
        "DATE": date.fromisoformat,
        "TIMESTAMP": lambda v: datetime.fromisoformat(v.replace(" ", "T")),
    }.get(kind["type"], str)(raw)
