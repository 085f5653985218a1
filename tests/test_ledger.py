"""The ledger keeps every (migration, repo) state and its history, on SQLite and Postgres,
with versioned schema steps and no lost writes under parallel workers."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
import sqlalchemy as sa
from gaggle.ledger import STEPS, Ledger

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _postgres_url() -> str:
    try:
        engine = sa.create_engine(POSTGRES)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as err:
        if os.environ.get("GAGGLE_REQUIRE_SERVICES") == "1":
            raise AssertionError(f"PostgreSQL at 127.0.0.1:5432 is required: {err}") from err
        pytest.skip(
            "PostgreSQL at 127.0.0.1:5432 is not reachable (GAGGLE_REQUIRE_SERVICES=1 fails)"
        )
    return POSTGRES


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request, tmp_path) -> Ledger:
    url = f"sqlite:///{tmp_path / 'ledger.db'}" if request.param == "sqlite" else _postgres_url()
    ledger = Ledger(url)
    ledger.migrate()
    return ledger


def test_schema_steps_are_applied_once(ledger: Ledger):
    assert ledger.version() == len(STEPS)
    assert ledger.migrate() == len(STEPS)  # a second run applies nothing


def test_record_upserts_the_state_and_appends_history(ledger: Ledger):
    migration = f"m_{uuid.uuid4().hex[:8]}"
    ledger.record(migration, "acme/a", "rewritten", files_changed=3, frameworks="dbt")
    ledger.record(migration, "acme/a", "pr-open", {"pr": 7}, pr_number=7, pr_url="https://x/7")
    state = ledger.get(migration, "acme/a")
    assert (state.status, state.files_changed, state.frameworks, state.pr_number) == (
        "pr-open", 3, "dbt", 7,
    )  # fmt: skip
    assert state.created_at <= state.updated_at
    assert [e["status"] for e in ledger.events(migration, "acme/a")] == ["rewritten", "pr-open"]
    assert ledger.events(migration)[1]["detail"] == {"pr": 7}
    ledger.record(migration, "acme/b", "no-change-needed")
    assert ledger.counts(migration) == {"pr-open": 1, "no-change-needed": 1}


def test_unknown_fields_are_refused(ledger: Ledger):
    with pytest.raises(ValueError, match="unknown ledger fields: color"):
        ledger.record("m", "acme/a", "x", color="red")


def test_parallel_writers_lose_nothing_on_postgres():
    url = _postgres_url()
    Ledger(url).migrate()
    migration = f"m_{uuid.uuid4().hex[:8]}"
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        ledger = Ledger(url)
        try:
            for step in range(25):
                ledger.record(migration, f"acme/repo-{step % 5}", f"s{number}", {"n": number})
        except BaseException as err:  # surfaced below
            errors.append(err)
        finally:
            ledger.engine.dispose()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    ledger = Ledger(url)
    assert len(ledger.events(migration)) == 6 * 25
    assert len(ledger.states(migration)) == 5
    last = {}
    for event in ledger.events(migration):
        last[event["repo"]] = event["status"]
    assert {s.repo: s.status for s in ledger.states(migration)} == last  # state == last event
