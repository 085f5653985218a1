"""A local HTTP server that speaks BigQuery v2's REST protocol for dry-run query jobs.

Responses follow the Job resource of the official discovery document (shipped in
google-api-python-client): jobReference, status, statistics.query with schema,
totalBytesProcessed, referencedTables and statementType. Errors are what BigQuery
returns: HTTP 400, reason `invalidQuery`, a message ending in `[line:column]`.
Validity is decided by sqlglot against the migration's schema catalog.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sqlglot
from gaggle.schema import Catalog
from gaggle.validation.analysis import Column
from gaggle.validation.offline import OfflineValidator

_JOBS = re.compile(r"^/bigquery/v2/projects/(?P<project>[^/]+)/jobs$")
_LEGACY = {"INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN", "STRUCT": "RECORD"}


class FakeBigQuery:
    """Start with `with FakeBigQuery(catalog) as server:`; `server.endpoint` is the base URL."""

    def __init__(self, catalog: Catalog, latency_s: float = 0.0) -> None:
        self.validator = OfflineValidator(catalog)
        self.catalog = catalog
        self.latency_s = latency_s
        self.requests: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeBigQuery:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                match = _JOBS.match(self.path.split("?", 1)[0])
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if match is None:
                    self._send(404, _error(404, "notFound", f"Not found: {self.path}"))
                    return
                status, payload = fake.dry_run(match["project"], body)
                self._send(status, payload)

            def _send(self, status: int, payload: dict) -> None:
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

    def _answer(self, project: str, body: dict) -> tuple[int, dict]:
        configuration = body.get("configuration", {})
        query = configuration.get("query", {}).get("query", "")
        if not configuration.get("dryRun"):
            return 400, _error(400, "invalid", "This fake only answers dry runs.")
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
