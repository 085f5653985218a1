"""One budget of content-creating GitHub requests for the whole campaign.

GitHub's secondary limits count per account across every client, so the budget lives
in a database shared by every task, worker and machine (the ledger's: SQLite on one
machine, Postgres when distributed), not in process memory. A write waits until the
minute and hour budgets allow it and a minimum spacing has passed; a secondary-limit
answer pauses every writer until it lifts.
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
    sa.Column("minute_start", sa.Float, nullable=False, default=0.0),
    sa.Column("minute_count", sa.Integer, nullable=False, default=0),
    sa.Column("hour_start", sa.Float, nullable=False, default=0.0),
    sa.Column("hour_count", sa.Integer, nullable=False, default=0),
    sa.Column("last_write", sa.Float, nullable=False, default=0.0),
    sa.Column("paused_until", sa.Float, nullable=False, default=0.0),
)


@dataclass(frozen=True)
class Limits:
    per_minute: int = 80  # GitHub's published secondary limit for content creation
    per_hour: int = 500

    @property
    def spacing(self) -> float:
        """Seconds between writes so a minute's budget is spread, not burst."""
        return 60.0 / self.per_minute


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
        self.waited = 0.0
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
            self.waited += wait
            self.sleep(wait)

    def try_acquire(self) -> float:
        """Take one slot now (0.0), or say how many seconds until one frees; never blocks."""
        while True:
            wait = self._try_take()
            if wait != 0.001:  # 0.001: lost a race with another writer, look again
                return wait

    def pause(self, seconds: float) -> None:
        """A secondary-limit answer: every writer of this scope waits this long."""
        until = self.clock() + max(seconds, 1.0)
        with self.engine.begin() as conn:
            self._row(conn)
            conn.execute(
                sa.update(BUDGET)
                .where(BUDGET.c.scope == self.scope)
                .values(paused_until=sa.func.max(BUDGET.c.paused_until, until))
                if self.engine.dialect.name == "sqlite"
                else sa.update(BUDGET)
                .where(BUDGET.c.scope == self.scope)
                .values(paused_until=sa.func.greatest(BUDGET.c.paused_until, until))
            )

    def _try_take(self) -> float:
        """Take one write from the budget (0.0) or say how long to wait."""
        with self.engine.begin() as conn:
            row = self._row(conn)
            now = self.clock()
            minute_start, minute_count = row.minute_start, row.minute_count
            hour_start, hour_count = row.hour_start, row.hour_count
            if now - minute_start >= 60:
                minute_start, minute_count = now, 0
            if now - hour_start >= 3600:
                hour_start, hour_count = now, 0
            waits = [
                row.paused_until - now,
                row.last_write + self.limits.spacing - now,
                minute_start + 60 - now if minute_count >= self.limits.per_minute else 0,
                hour_start + 3600 - now if hour_count >= self.limits.per_hour else 0,
            ]
            wait = max(waits)
            if wait > 0:
                return wait
            # Compare-and-swap: if another writer took a slot since the read, try again.
            taken = conn.execute(
                sa.update(BUDGET)
                .where(
                    BUDGET.c.scope == self.scope,
                    BUDGET.c.last_write == row.last_write,
                    BUDGET.c.minute_count == row.minute_count,
                    BUDGET.c.hour_count == row.hour_count,
                )
                .values(
                    minute_start=minute_start,
                    minute_count=minute_count + 1,
                    hour_start=hour_start,
                    hour_count=hour_count + 1,
                    last_write=now,
                )
            )
            return 0.0 if taken.rowcount == 1 else 0.001

    def _row(self, conn: sa.Connection):
        query = sa.select(BUDGET).where(BUDGET.c.scope == self.scope)
        row = conn.execute(query).first()
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(BUDGET).values(scope=self.scope))
            except sa.exc.IntegrityError:
                pass  # another writer created it first
            row = conn.execute(query).first()
        return row
