"""One budget of content-creating GitHub requests for the whole campaign.

GitHub's secondary limits count per account across every client, so the budget lives
in a database shared by every task, worker and machine (the ledger's: SQLite on one
machine, Postgres when distributed), not in process memory. A write waits until the
minute and hour budgets allow it and a minimum spacing has passed; any rate-limit
answer (to a read or a write, of any worker) pauses every reader and writer until it
lifts.

The same machinery paces code search, which GitHub limits separately (10 requests a
minute): `code_search_pacer` is a SqlPacer with its own scope and `CODE_SEARCH` limits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

METADATA = sa.MetaData()
BUDGET = sa.Table(
    "gaggle_write_budget",
    METADATA,
    sa.Column("scope", sa.String(200), primary_key=True),
    sa.Column("paused_until", sa.Float, nullable=False, default=0.0),
)
# One row per write in the last hour: sliding windows, as GitHub counts them.
WRITES = sa.Table(
    "gaggle_write_log",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scope", sa.String(200), nullable=False, index=True),
    sa.Column("at", sa.Float, nullable=False),
)
MARGIN = 1.02  # stay this far inside the published limits: clocks and windows differ


@dataclass(frozen=True)
class Limits:
    per_minute: int = 80  # GitHub's published secondary limit for content creation
    per_hour: int = 500

    @property
    def spacing(self) -> float:
        """Seconds between writes so a minute's budget is spread, not burst."""
        return 60.0 / self.per_minute * MARGIN


CODE_SEARCH = Limits(per_minute=10, per_hour=600)  # GET /search/code, authenticated


def code_search_pacer(
    engine: sa.Engine | None = None,
    host: str = "github.com",
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> SqlPacer:
    """The code search budget (10 requests a minute per account), shared through `engine`.

    Give the ledger's engine so every worker searching with the same account draws on one
    budget; without one the budget lives in an in-memory SQLite database (this process only).
    """
    if engine is None:
        engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
    return SqlPacer(engine, f"{host}:code-search", CODE_SEARCH, clock, sleep)


class SqlPacer:
    """A write budget kept in a SQL database, safe across processes and machines."""

    def __init__(
        self,
        engine: sa.Engine,
        scope: str = "github.com",
        limits: Limits | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.scope = scope
        self.limits = limits or Limits()
        self.clock = clock
        self.sleep = sleep
        try:
            METADATA.create_all(engine, checkfirst=True)
        except (sa.exc.IntegrityError, sa.exc.ProgrammingError):
            # Another writer created the table at the same moment; it exists now.
            METADATA.create_all(engine, checkfirst=True)

    def acquire(self) -> None:
        """Block until one content-creating request may be sent, then count it."""
        while True:
            wait = self._try_take()
            if wait <= 0:
                return
            self.sleep(wait)

    def try_acquire(self) -> float:
        """Take one slot now (0.0), or say how many seconds until one frees; never blocks."""
        while True:
            wait = self._try_take()
            if wait != 0.001:  # 0.001: lost a race with another writer, look again
                return wait

    def wait_unpaused(self) -> None:
        """Block while the budget is paused (a read takes no slot, but waits out a limit)."""
        while True:
            with self.engine.begin() as conn:
                wait = self._paused_until(conn) - self.clock()
            if wait <= 0:
                return
            self.sleep(wait)

    def paused_until(self) -> float:
        """When the last rate-limit pause lifts (clock seconds; 0.0: never paused)."""
        with self.engine.begin() as conn:
            return self._paused_until(conn)

    def pause(self, seconds: float) -> None:
        """A secondary-limit answer: every writer of this scope waits this long."""
        until = self.clock() + max(seconds, 1.0)
        with self.engine.begin() as conn:
            paused = self._paused_until(conn)
            conn.execute(
                sa.update(BUDGET)
                .where(BUDGET.c.scope == self.scope)
                .values(paused_until=max(paused, until))
            )

    def _try_take(self) -> float:
        """Take one write from the budget (0.0) or say how long to wait."""
        now = self.clock()
        with self.engine.begin() as conn:
            wait = self._wait(conn, now)
            if wait > 0:
                return wait
            mine = conn.execute(
                sa.insert(WRITES).values(scope=self.scope, at=now).returning(WRITES.c.id)
            ).scalar_one()
        # Optimistic: if writers raced past the limits, the later ones give their slot back.
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.select(WRITES.c.id, WRITES.c.at)
                .where(WRITES.c.scope == self.scope, WRITES.c.at > now - 3600)
                .order_by(WRITES.c.at, WRITES.c.id)
            ).all()
            ids = [r.id for r in rows]
            in_minute = [r.id for r in rows if r.at > now - 60]
            too_close = [
                r.id for r in rows if abs(r.at - now) < self.limits.spacing and r.id < mine
            ]
            over = (
                ids.index(mine) >= self.limits.per_hour
                or in_minute.index(mine) >= self.limits.per_minute
                or too_close
            )
            if over:
                conn.execute(sa.delete(WRITES).where(WRITES.c.id == mine))
                return 0.001
            conn.execute(
                sa.delete(WRITES).where(WRITES.c.scope == self.scope, WRITES.c.at < now - 3600)
            )
        return 0.0

    def _wait(self, conn: sa.Connection, now: float) -> float:
        paused = self._paused_until(conn)
        times = (
            conn.execute(
                sa.select(WRITES.c.at)
                .where(WRITES.c.scope == self.scope, WRITES.c.at > now - 3600)
                .order_by(WRITES.c.at)
            )
            .scalars()
            .all()
        )
        minute = [t for t in times if t > now - 60]
        waits = [paused - now]
        if times:
            waits.append(times[-1] + self.limits.spacing - now)
        if len(minute) >= self.limits.per_minute:
            waits.append(minute[len(minute) - self.limits.per_minute] + 60 * MARGIN - now)
        if len(times) >= self.limits.per_hour:
            waits.append(times[len(times) - self.limits.per_hour] + 3600 * MARGIN - now)
        return max(waits)

    def _paused_until(self, conn: sa.Connection) -> float:
        row = conn.execute(sa.select(BUDGET).where(BUDGET.c.scope == self.scope)).first()
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(BUDGET).values(scope=self.scope, paused_until=0.0))
            except sa.exc.IntegrityError:
                pass  # another writer created it first
            return 0.0
        return row.paused_until
