"""GitHub answers kept with their ETags, so the next read of the same URL is a conditional
request: GitHub answers 304 Not Modified when nothing changed, and a 304 does not count
against the rate limit. Merge checks and the nightly sweep re-read the same PRs, checks
and reviews day after day; most of them have not changed.

The cache lives where the write budget lives (the ledger's database), so every task,
worker and machine shares it; a process-local one serves when there is no database.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from typing import Any, Protocol

import sqlalchemy as sa

METADATA = sa.MetaData()
ANSWERS = sa.Table(
    "gaggle_http_cache",
    METADATA,
    sa.Column("key", sa.String(64), primary_key=True),  # sha256 of the URL and parameters
    sa.Column("etag", sa.String(200), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),  # zlib-compressed JSON
    sa.Column("stored_at", sa.Float, nullable=False, index=True),
)
KEEP_SECONDS = 30 * 86400  # an answer not re-read for a month is dropped
PRUNE_EVERY = 500  # stores between two prunes


class HttpCache(Protocol):
    def get(self, url: str) -> tuple[str, Any] | None:
        """(etag, body) of the last answer to this URL, or None."""

    def put(self, url: str, etag: str, body: Any) -> None:
        """Keep an answer and its ETag."""


class MemoryHttpCache:
    """This process only (a CLI run without a database, the tests)."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[str, Any]] = {}

    def get(self, url: str) -> tuple[str, Any] | None:
        return self.answers.get(url)

    def put(self, url: str, etag: str, body: Any) -> None:
        self.answers[url] = (etag, body)


class SqlHttpCache:
    """Shared through a SQL database (the ledger's), safe across processes and machines."""

    def __init__(self, engine: sa.Engine, clock=time.time) -> None:
        self.engine = engine
        self.clock = clock
        self.stores = 0
        try:
            METADATA.create_all(engine, checkfirst=True)
        except (sa.exc.IntegrityError, sa.exc.ProgrammingError):
            METADATA.create_all(engine, checkfirst=True)  # created at the same moment

    def get(self, url: str) -> tuple[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(ANSWERS.c.etag, ANSWERS.c.body).where(ANSWERS.c.key == _key(url))
            ).first()
        return (row.etag, json.loads(zlib.decompress(row.body))) if row else None

    def put(self, url: str, etag: str, body: Any) -> None:
        values = {
            "etag": etag,
            "body": zlib.compress(json.dumps(body).encode()),
            "stored_at": self.clock(),
        }
        key = _key(url)
        with self.engine.begin() as conn:
            updated = conn.execute(
                sa.update(ANSWERS).where(ANSWERS.c.key == key).values(**values)
            ).rowcount
            if not updated:
                try:
                    with conn.begin_nested():
                        conn.execute(sa.insert(ANSWERS).values(key=key, **values))
                except sa.exc.IntegrityError:
                    pass  # another worker stored the same answer first
            self.stores += 1
            if self.stores % PRUNE_EVERY == 0:
                conn.execute(
                    sa.delete(ANSWERS).where(ANSWERS.c.stored_at < self.clock() - KEEP_SECONDS)
                )


def _key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()
