"""The ledger: the state of every (migration, repo) and the history behind burndown charts.

SQLAlchemy over SQLite (one machine, the embedded default) or Postgres (deployed).
Every write is one transaction that upserts the current state and appends an event,
so parallel workers lose nothing and the history always matches the state. The
schema is versioned: `Ledger.migrate()` applies the numbered steps not yet applied,
and is safe to run from several processes at once.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from gaggle.errors import GaggleError

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
    # schema step 2
    sa.Column("discovered_by", sa.String(100), nullable=False, default=""),
    sa.Column("base_sha", sa.String(64), nullable=False, default=""),
    sa.Column("details", sa.Text, nullable=False, default="{}"),
    sa.Column("dag_run_id", sa.String(250), nullable=False, default=""),
    sa.Column("map_index", sa.Integer),
    sa.Column("pr_updated_at", sa.DateTime(timezone=True)),
    sa.Column("attention", sa.String(200), nullable=False, default=""),
    sa.Column("last_nudged_at", sa.DateTime(timezone=True)),
    sa.Column("references_left", sa.Integer),
    sa.Column("rescanned_at", sa.DateTime(timezone=True)),
    sa.Column("lineage_last_read", sa.DateTime(timezone=True)),
    sa.Column("lineage_principals", sa.Text, nullable=False, default=""),
    sa.Column("verified_at", sa.DateTime(timezone=True)),
    sa.Column("llm_input_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("llm_output_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("llm_cost_usd", sa.Float, nullable=False, default=0.0),
    sa.Column("llm_changes", sa.Integer, nullable=False, default=0),
    # schema step 4: the branch head gaggle itself last wrote (never force-move another)
    sa.Column("branch_sha", sa.String(64), nullable=False, default=""),
)
V1_STATE_COLUMNS = 15  # the first 15 columns above are schema step 1
V2_STATE_COLUMNS = 32  # the first 32 columns (to llm_changes) are schema steps 1 and 2

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

SNAPSHOTS = sa.Table(
    "gaggle_snapshots",
    METADATA,
    sa.Column("migration_id", sa.String(200), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("bucket", sa.String(30), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

WORK = sa.Table(  # intermediate results handed from one task to the next, never via XCom
    "gaggle_work",
    METADATA,
    sa.Column("migration_id", sa.String(200), primary_key=True),
    sa.Column("repo", sa.String(400), primary_key=True),
    sa.Column("kind", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

RUN_BUDGET = sa.Table(  # new PRs granted per DAG run, so max_prs holds under parallel tasks
    "gaggle_run_budget",
    METADATA,
    sa.Column("migration_id", sa.String(200), primary_key=True),
    sa.Column("run_id", sa.String(250), primary_key=True),
    sa.Column("used", sa.Integer, nullable=False),
)

RUN_GRANTS = sa.Table(
    "gaggle_run_grants",
    METADATA,
    sa.Column("migration_id", sa.String(200), primary_key=True),
    sa.Column("run_id", sa.String(250), primary_key=True),
    sa.Column("repo", sa.String(400), primary_key=True),
)

LLM_CACHE = sa.Table(  # schema step 3: LLM answers by content hash, so a re-run pays nothing twice
    "gaggle_llm_cache",
    METADATA,
    sa.Column("key", sa.String(64), primary_key=True),  # sha256 of model + full request
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("response", sa.Text, nullable=False),  # JSON: text, stop_reason, usage, id
    sa.Column("input_tokens", sa.Integer, nullable=False),
    sa.Column("output_tokens", sa.Integer, nullable=False),
    sa.Column("cost_micro_usd", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

LLM_BUDGET = sa.Table(  # schema step 3: LLM spending per DAG run, shared by parallel workers
    "gaggle_llm_budget",
    METADATA,
    sa.Column("migration_id", sa.String(200), primary_key=True),
    sa.Column("run_id", sa.String(250), primary_key=True),
    sa.Column("spent_micro_usd", sa.BigInteger, nullable=False),  # settled plus reserved
    sa.Column("calls", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

STATE_FIELDS = {
    c.name for c in REPO_STATE.columns if c.name not in ("migration_id", "repo", "created_at")
}


def _v1(conn: sa.Connection) -> None:
    frozen = sa.MetaData()
    sa.Table(
        REPO_STATE.name, frozen, *[c._copy() for c in list(REPO_STATE.columns)[:V1_STATE_COLUMNS]]
    ).create(conn, checkfirst=True)
    EVENTS.create(conn, checkfirst=True)


def _v2(conn: sa.Connection) -> None:
    """Discovery, PR activity, sweep verification, LLM cost; snapshots, work, run budget."""
    present = {c["name"] for c in sa.inspect(conn).get_columns(REPO_STATE.name)}
    for column in list(REPO_STATE.columns)[V1_STATE_COLUMNS:V2_STATE_COLUMNS]:
        if column.name not in present:
            conn.execute(sa.text(_add_column_ddl(conn, column)))
    for table in (SNAPSHOTS, WORK, RUN_BUDGET, RUN_GRANTS):
        table.create(conn, checkfirst=True)


def _add_column_ddl(conn: sa.Connection, column: sa.Column) -> str:
    kind = column.type.compile(dialect=conn.dialect)
    ddl = f"ALTER TABLE {column.table.name} ADD COLUMN {column.name} {kind}"
    if column.default is not None:
        default = column.default.arg
        literal = f"'{default}'" if isinstance(default, str) else repr(default)
        ddl += f" NOT NULL DEFAULT {literal}"
    return ddl


def _v3(conn: sa.Connection) -> None:
    """The LLM fallback: its answer cache and its per-run budget."""
    for table in (LLM_CACHE, LLM_BUDGET):
        table.create(conn, checkfirst=True)


def _v4(conn: sa.Connection) -> None:
    """The branch head gaggle wrote: how a re-run tells its own commit from a person's."""
    present = {c["name"] for c in sa.inspect(conn).get_columns(REPO_STATE.name)}
    for column in list(REPO_STATE.columns)[V2_STATE_COLUMNS:]:
        if column.name not in present:
            conn.execute(sa.text(_add_column_ddl(conn, column)))


# Numbered schema steps; add a function to change the schema, never edit an applied one.
STEPS: list[Callable[[sa.Connection], None]] = [_v1, _v2, _v3, _v4]


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
    discovered_by: str
    base_sha: str
    details: str  # JSON: see gaggle.pipeline.details_of
    dag_run_id: str
    map_index: int | None
    pr_updated_at: datetime | None
    attention: str
    last_nudged_at: datetime | None
    references_left: int | None
    rescanned_at: datetime | None
    lineage_last_read: datetime | None
    lineage_principals: str
    verified_at: datetime | None
    llm_input_tokens: int
    llm_output_tokens: int
    llm_cost_usd: float
    llm_changes: int
    branch_sha: str


class LedgerError(GaggleError):
    """The ledger database cannot be used as it is (a corrupt or foreign file)."""


# What SQLite says of a file that is not (or no longer) a database.
_CORRUPT = ("file is not a database", "database disk image is malformed")


def _corrupt_ledger(context) -> None:
    """A corrupt ledger is one line naming it and what to do, not a driver traceback."""
    problem = str(context.original_exception)
    if context.engine is not None and any(text in problem for text in _CORRUPT):
        url = context.engine.url
        raise LedgerError(
            f"the ledger {url.database or url.render_as_string(True)} is not a valid database "
            f"({problem}): restore it from a backup, or move it aside to start a new one "
            "(gaggle creates it again; PR states are re-read from the forge on the next run "
            "and sweep)"
        ) from context.original_exception


class Ledger:
    def __init__(self, url_or_engine: str | sa.Engine, clock: Callable[[], datetime] | None = None):
        self.engine = (
            sa.create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        )
        self.clock = clock or (lambda: datetime.now(UTC))
        if not sa.event.contains(self.engine, "handle_error", _corrupt_ledger):
            sa.event.listen(self.engine, "handle_error", _corrupt_ledger)

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
        """Upsert the repo's state and append an event, in one transaction. Any status but
        `failed` ends an earlier failure: its error is cleared unless `last_error` is given
        (a task that failed, then succeeded on its retry, shows no stale error)."""
        unknown = set(fields) - STATE_FIELDS
        if unknown:
            raise ValueError(f"unknown ledger fields: {', '.join(sorted(unknown))}")
        if status != "failed":
            fields.setdefault("last_error", "")
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
        return _state(row) if row else None

    def states(self, migration_id: str) -> list[RepoState]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(REPO_STATE)
                .where(REPO_STATE.c.migration_id == migration_id)
                .order_by(REPO_STATE.c.repo)
            ).all()
        return [_state(row) for row in rows]

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
        return [
            {**row._mapping, "at": _aware(row.at), "detail": json.loads(row.detail)} for row in rows
        ]

    def migrations(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(REPO_STATE.c.migration_id).distinct()).all()
        return sorted(row[0] for row in rows)

    def write_snapshot(self, migration_id: str, day: date, counts: dict[str, int]) -> None:
        """The day's progress counts; written again the same day, the last write wins."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(SNAPSHOTS).where(
                    SNAPSHOTS.c.migration_id == migration_id, SNAPSHOTS.c.day == day
                )
            )
            if counts:
                conn.execute(
                    sa.insert(SNAPSHOTS),
                    [
                        {"migration_id": migration_id, "day": day, "bucket": b, "count": n}
                        for b, n in sorted(counts.items())
                    ],
                )

    def snapshots(self, migration_id: str) -> dict[date, dict[str, int]]:
        """Day -> progress bucket -> count, oldest day first: the burndown's data."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(SNAPSHOTS.c.day, SNAPSHOTS.c.bucket, SNAPSHOTS.c.count)
                .where(SNAPSHOTS.c.migration_id == migration_id)
                .order_by(SNAPSHOTS.c.day, SNAPSHOTS.c.bucket)
            ).all()
        found: dict[date, dict[str, int]] = {}
        for day, bucket, count in rows:
            found.setdefault(day, {})[bucket] = count
        return found

    def put_work(self, migration_id: str, repo: str, kind: str, key: str, content: bytes) -> None:
        """Keep one step's result for the next step (zlib-compressed; the latest per kind)."""
        values = {"key": key, "content": zlib.compress(content), "updated_at": self.clock()}
        module = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = module.insert(WORK).values(
            migration_id=migration_id, repo=repo, kind=kind, **values
        )
        statement = statement.on_conflict_do_update(
            index_elements=[WORK.c.migration_id, WORK.c.repo, WORK.c.kind], set_=values
        )
        with self.engine.begin() as conn:
            conn.execute(statement)

    def get_work(self, migration_id: str, repo: str, kind: str, key: str) -> bytes | None:
        """The kept result, only if it was made for this key (e.g. the same commit)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(WORK.c.key, WORK.c.content).where(
                    WORK.c.migration_id == migration_id, WORK.c.repo == repo, WORK.c.kind == kind
                )
            ).first()
        return zlib.decompress(row.content) if row and row.key == key else None

    def grant_new_pr(self, migration_id: str, run_id: str, repo: str, cap: int) -> bool:
        """May this run open a new PR in this repo? At most `cap` grants per run, exactly,
        however many workers ask at once; asking again for the same repo is free."""
        grant = {"migration_id": migration_id, "run_id": run_id, "repo": repo}
        budget = (RUN_BUDGET.c.migration_id == migration_id) & (RUN_BUDGET.c.run_id == run_id)
        module = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        with self.engine.begin() as conn:
            held = conn.execute(
                sa.select(RUN_GRANTS.c.repo).where(
                    *(RUN_GRANTS.c[k] == v for k, v in grant.items())
                )
            ).first()
            if held:
                return True
            conn.execute(
                module.insert(RUN_BUDGET)
                .values(migration_id=migration_id, run_id=run_id, used=0)
                .on_conflict_do_nothing()
            )
            # One conditional UPDATE: the row lock makes concurrent askers queue and re-check.
            taken = conn.execute(
                sa.update(RUN_BUDGET)
                .where(budget & (RUN_BUDGET.c.used < cap))
                .values(used=RUN_BUDGET.c.used + 1)
            ).rowcount
            if taken:
                conn.execute(sa.insert(RUN_GRANTS).values(**grant))
            return bool(taken)

    # ------------------------------------------------------------------ the LLM fallback

    def llm_cached(self, key: str) -> dict | None:
        """A cached LLM answer: {"response": {...}, "input_tokens", "output_tokens", "cost_usd"}."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(LLM_CACHE).where(LLM_CACHE.c.key == key)).first()
        if row is None:
            return None
        return {
            "model": row.model,
            "response": json.loads(row.response),
            "input_tokens": row.input_tokens,
            "output_tokens": row.output_tokens,
            "cost_usd": row.cost_micro_usd / 1_000_000,
        }

    def llm_cache_put(
        self,
        key: str,
        model: str,
        response: dict,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float,
    ) -> None:
        """Keep an answer; a second writer of the same key changes nothing (same request)."""
        module = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = (
            module.insert(LLM_CACHE)
            .values(
                key=key,
                model=model,
                response=json.dumps(response, sort_keys=True),
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_micro_usd=_micro(cost_usd),
                created_at=self.clock(),
            )
            .on_conflict_do_nothing()
        )
        with self.engine.begin() as conn:
            conn.execute(statement)

    def llm_reserve(
        self, migration_id: str, run_id: str, amount_usd: float, limit_usd: float
    ) -> bool:
        """Reserve `amount_usd` of the run's LLM budget before a call: True if it fits under
        `limit_usd`, exactly, however many workers ask at once (one conditional UPDATE)."""
        module = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        budget = (LLM_BUDGET.c.migration_id == migration_id) & (LLM_BUDGET.c.run_id == run_id)
        amount, limit = _micro(amount_usd), _micro(limit_usd)
        with self.engine.begin() as conn:
            conn.execute(
                module.insert(LLM_BUDGET)
                .values(
                    migration_id=migration_id,
                    run_id=run_id,
                    spent_micro_usd=0,
                    calls=0,
                    updated_at=self.clock(),
                )
                .on_conflict_do_nothing()
            )
            taken = conn.execute(
                sa.update(LLM_BUDGET)
                .where(budget & (LLM_BUDGET.c.spent_micro_usd + amount <= limit))
                .values(
                    spent_micro_usd=LLM_BUDGET.c.spent_micro_usd + amount,
                    updated_at=self.clock(),
                )
            ).rowcount
        return bool(taken)

    def llm_settle(
        self, migration_id: str, run_id: str, reserved_usd: float, actual_usd: float, called: bool
    ) -> None:
        """Replace a reservation by what the call really cost (0 when it was not made)."""
        budget = (LLM_BUDGET.c.migration_id == migration_id) & (LLM_BUDGET.c.run_id == run_id)
        delta = _micro(actual_usd) - _micro(reserved_usd)
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(LLM_BUDGET)
                .where(budget)
                .values(
                    spent_micro_usd=LLM_BUDGET.c.spent_micro_usd + delta,
                    calls=LLM_BUDGET.c.calls + (1 if called else 0),
                    updated_at=self.clock(),
                )
            )

    def llm_spent(self, migration_id: str, run_id: str) -> tuple[float, int]:
        """The run's LLM spending so far (USD, reservations in flight included) and its calls."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(LLM_BUDGET.c.spent_micro_usd, LLM_BUDGET.c.calls).where(
                    LLM_BUDGET.c.migration_id == migration_id, LLM_BUDGET.c.run_id == run_id
                )
            ).first()
        return (row.spent_micro_usd / 1_000_000, row.calls) if row else (0.0, 0)


def _micro(usd: float) -> int:
    """Money as whole micro-dollars, so budget arithmetic in the database is exact."""
    return round(usd * 1_000_000)


def _aware(value):
    """SQLite hands back naive datetimes; every time in the ledger is UTC."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _state(row) -> RepoState:
    return RepoState(**{k: _aware(v) for k, v in row._mapping.items()})


def _with_defaults(values: dict) -> dict:
    defaults = {
        c.name: c.default.arg
        for c in REPO_STATE.columns
        if c.default is not None and not callable(c.default.arg)
    }
    return {**defaults, **values}
