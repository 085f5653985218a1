"""The ledger: the state of every (migration, repo) and the history behind burndown charts.

SQLAlchemy over SQLite (one machine, the embedded default) or Postgres (deployed).
Every write is one transaction that upserts the current state and appends an event,
so parallel workers lose nothing and the history always matches the state. The
schema is versioned: `Ledger.migrate()` applies the numbered steps not yet applied,
and is safe to run from several processes at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

METADATA = sa.MetaData()

SCHEMA_VERSION = sa.Table(
    "gaggle_schema_version",
    METADATA,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)

REPO_STATE = sa.Table(
    "gaggle_repo_state",
    METADATA,
    sa.Column("migration_id", sa.String(200), primary_key=True),
    sa.Column("repo", sa.String(400), primary_key=True),
    sa.Column("status", sa.String(40), nullable=False),
    sa.Column("frameworks", sa.String(200), nullable=False, default=""),
    sa.Column("branch", sa.String(400), nullable=False, default=""),
    sa.Column("pr_number", sa.Integer),
    sa.Column("pr_url", sa.String(1000), nullable=False, default=""),
    sa.Column("pr_state", sa.String(20), nullable=False, default=""),
    sa.Column("ci_state", sa.String(20), nullable=False, default=""),
    sa.Column("review_state", sa.String(30), nullable=False, default=""),
    sa.Column("files_changed", sa.Integer, nullable=False, default=0),
    sa.Column("manual_decisions", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

EVENTS = sa.Table(
    "gaggle_events",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("migration_id", sa.String(200), nullable=False, index=True),
    sa.Column("repo", sa.String(400), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("status", sa.String(40), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default="{}"),
)

STATE_FIELDS = {
    c.name for c in REPO_STATE.columns if c.name not in ("migration_id", "repo", "created_at")
}


def _v1(conn: sa.Connection) -> None:
    for table in (REPO_STATE, EVENTS):
        table.create(conn, checkfirst=True)


# Numbered schema steps; add a function to change the schema, never edit an applied one.
STEPS: list[Callable[[sa.Connection], None]] = [_v1]


@dataclass(frozen=True)
class RepoState:
    migration_id: str
    repo: str
    status: str
    frameworks: str
    branch: str
    pr_number: int | None
    pr_url: str
    pr_state: str
    ci_state: str
    review_state: str
    files_changed: int
    manual_decisions: int
    last_error: str
    created_at: datetime
    updated_at: datetime


class Ledger:
    def __init__(self, url_or_engine: str | sa.Engine, clock: Callable[[], datetime] | None = None):
        self.engine = (
            sa.create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        )
        self.clock = clock or (lambda: datetime.now(UTC))

    def migrate(self) -> int:
        """Apply the schema steps not applied yet; the schema version after."""
        with self.engine.begin() as conn:
            SCHEMA_VERSION.create(conn, checkfirst=True)
        for number, step in enumerate(STEPS, 1):
            try:
                with self.engine.begin() as conn:
                    applied = conn.execute(
                        sa.select(SCHEMA_VERSION.c.version).where(
                            SCHEMA_VERSION.c.version == number
                        )
                    ).first()
                    if applied:
                        continue
                    step(conn)
                    conn.execute(
                        sa.insert(SCHEMA_VERSION).values(version=number, applied_at=self.clock())
                    )
            except (sa.exc.IntegrityError, sa.exc.ProgrammingError, sa.exc.OperationalError):
                # Another process applied this step at the same moment; check it did.
                with self.engine.connect() as conn:
                    if not conn.execute(
                        sa.select(SCHEMA_VERSION.c.version).where(
                            SCHEMA_VERSION.c.version == number
                        )
                    ).first():
                        raise
        return self.version()

    def version(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(SCHEMA_VERSION.c.version))).scalar() or 0

    def record(
        self, migration_id: str, repo: str, status: str, detail: dict | None = None, **fields
    ) -> None:
        """Upsert the repo's state and append an event, in one transaction."""
        unknown = set(fields) - STATE_FIELDS
        if unknown:
            raise ValueError(f"unknown ledger fields: {', '.join(sorted(unknown))}")
        now = self.clock()
        values = {"status": status, "updated_at": now, **fields}
        insert_values = {"migration_id": migration_id, "repo": repo, "created_at": now, **values}
        dialect = self.engine.dialect.name
        module = postgresql if dialect == "postgresql" else sqlite
        statement = module.insert(REPO_STATE).values(**_with_defaults(insert_values))
        statement = statement.on_conflict_do_update(
            index_elements=[REPO_STATE.c.migration_id, REPO_STATE.c.repo], set_=values
        )
        with self.engine.begin() as conn:
            conn.execute(statement)
            conn.execute(
                sa.insert(EVENTS).values(
                    migration_id=migration_id,
                    repo=repo,
                    at=now,
                    status=status,
                    detail=json.dumps(detail or {}, sort_keys=True, default=str),
                )
            )

    def get(self, migration_id: str, repo: str) -> RepoState | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(REPO_STATE).where(
                    REPO_STATE.c.migration_id == migration_id, REPO_STATE.c.repo == repo
                )
            ).first()
        return RepoState(**row._mapping) if row else None

    def states(self, migration_id: str) -> list[RepoState]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(REPO_STATE)
                .where(REPO_STATE.c.migration_id == migration_id)
                .order_by(REPO_STATE.c.repo)
            ).all()
        return [RepoState(**row._mapping) for row in rows]

    def counts(self, migration_id: str) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(REPO_STATE.c.status, sa.func.count())
                .where(REPO_STATE.c.migration_id == migration_id)
                .group_by(REPO_STATE.c.status)
            ).all()
        return {status: count for status, count in rows}

    def events(self, migration_id: str, repo: str | None = None) -> list[dict]:
        query = sa.select(EVENTS).where(EVENTS.c.migration_id == migration_id)
        if repo is not None:
            query = query.where(EVENTS.c.repo == repo)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(EVENTS.c.id)).all()
        return [{**row._mapping, "detail": json.loads(row.detail)} for row in rows]


def _with_defaults(values: dict) -> dict:
    defaults = {
        c.name: c.default.arg
        for c in REPO_STATE.columns
        if c.default is not None and not callable(c.default.arg)
    }
    return {**defaults, **values}
