"""The shared write budget keeps every writer under GitHub's secondary limits."""

from __future__ import annotations

import itertools
import os
import threading
import uuid

import pytest
import sqlalchemy as sa
from gaggle.forges.pacing import Limits, SqlPacer

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class FakeClock:
    """Simulated time: sleeping advances it, so an hour of pacing runs in milliseconds."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.lock = threading.Lock()

    def time(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def _writes_within_limits(stamps: list[float], limits: Limits) -> None:
    stamps = sorted(stamps)
    for i, start in enumerate(stamps):
        in_minute = sum(1 for t in stamps[i:] if t < start + 60)
        in_hour = sum(1 for t in stamps[i:] if t < start + 3600)
        assert in_minute <= limits.per_minute
        assert in_hour <= limits.per_hour
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= limits.spacing - 1e-6


def test_writes_are_spread_and_capped_per_minute_and_hour(tmp_path):
    clock = FakeClock()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    limits = Limits(per_minute=80, per_hour=500)
    pacer = SqlPacer(engine, limits=limits, clock=clock.time, sleep=clock.sleep)
    stamps = []
    for _ in range(600):
        pacer.acquire()
        stamps.append(clock.time())
    _writes_within_limits(stamps, limits)
    # The hour cap, not the minute cap, governs 600 writes: the 501st waits for the next hour.
    assert stamps[500] - stamps[0] >= 3600
    assert stamps[499] - stamps[0] < 500 * limits.spacing + 1


def test_a_secondary_limit_pauses_every_writer(tmp_path):
    clock = FakeClock()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    first = SqlPacer(engine, clock=clock.time, sleep=clock.sleep)
    second = SqlPacer(engine, clock=clock.time, sleep=clock.sleep)
    first.acquire()
    hit_at = clock.time()
    first.pause(120)
    second.acquire()
    assert clock.time() >= hit_at + 120


def _postgres_engine() -> sa.Engine | None:
    try:
        engine = sa.create_engine(POSTGRES)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return engine
    except Exception as err:
        if os.environ.get("GAGGLE_REQUIRE_SERVICES") == "1":
            raise AssertionError(f"PostgreSQL at 127.0.0.1:5432 is required: {err}") from err
        return None


def test_writers_in_parallel_share_one_budget_in_postgres():
    engine = _postgres_engine()
    if engine is None:
        pytest.skip(
            "PostgreSQL at 127.0.0.1:5432 is not reachable (set GAGGLE_REQUIRE_SERVICES=1 to fail)"
        )
    clock = FakeClock()
    limits = Limits(per_minute=80, per_hour=500)
    scope = f"test-{uuid.uuid4()}"
    stamps: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer() -> None:
        engine = sa.create_engine(POSTGRES)
        try:
            pacer = SqlPacer(engine, scope=scope, limits=limits,
                             clock=clock.time, sleep=lambda s: clock.sleep(min(s, 0.75)))  # fmt: skip
            for _ in range(40):
                pacer.acquire()
                with lock:
                    stamps.append(clock.time())
        except BaseException as err:  # surfaced below: a thread's failure fails the test
            errors.append(err)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=writer) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(stamps) == 200
    stamps.sort()
    for i, start in enumerate(stamps):
        assert sum(1 for t in stamps[i:] if t < start + 60) <= limits.per_minute
