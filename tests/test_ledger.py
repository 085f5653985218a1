"""The ledger keeps every (migration, repo) state and its history, on SQLite and Postgres,
with versioned schema steps and no lost writes under parallel workers."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa
from gaggle.ledger import STEPS, Ledger


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request, tmp_path) -> Ledger:
    url = (
        f"sqlite:///{tmp_path / 'ledger.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
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


def test_a_later_success_clears_the_error_of_an_earlier_attempt(ledger: Ledger):
    ledger.record("m", "acme/a", "failed", last_error="open_pr: GithubException: 502")
    ledger.record("m", "acme/a", "created", pr_number=7, branch_sha="a" * 40)
    state = ledger.get("m", "acme/a")
    assert (state.status, state.last_error, state.branch_sha) == ("created", "", "a" * 40)
    ledger.record("m", "acme/a", "validation-failed", last_error="a.sql:1: schema changed")
    assert ledger.get("m", "acme/a").last_error == "a.sql:1: schema changed"  # given: kept


def test_unknown_fields_are_refused(ledger: Ledger):
    with pytest.raises(ValueError, match="unknown ledger fields: color"):
        ledger.record("m", "acme/a", "x", color="red")


def test_parallel_writers_lose_nothing_on_postgres(postgres_url: str):
    url = postgres_url
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


def test_a_v1_ledger_upgrades_in_place_and_keeps_its_rows(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'old.db'}")
    with ledger.engine.begin() as conn:  # a ledger as schema step 1 left it
        from gaggle.ledger import SCHEMA_VERSION

        SCHEMA_VERSION.create(conn)
        STEPS[0](conn)
        conn.execute(sa.insert(SCHEMA_VERSION).values(version=1, applied_at=ledger.clock()))
        conn.execute(
            sa.text(
                "INSERT INTO gaggle_repo_state (migration_id, repo, status, frameworks, branch,"
                " pr_url, pr_state, ci_state, review_state, files_changed, manual_decisions,"
                " last_error, created_at, updated_at) VALUES ('m', 'acme/a', 'created', 'dbt',"
                " 'b', 'u', 'open', 'none', 'none', 2, 1, '', '2026-01-01', '2026-01-02')"
            )
        )
    assert ledger.migrate() == len(STEPS)
    state = ledger.get("m", "acme/a")
    assert (state.status, state.files_changed, state.attention, state.llm_cost_usd) == (
        "created", 2, "", 0.0,
    )  # fmt: skip
    assert state.created_at.tzinfo is not None  # naive SQLite times come back as UTC
    ledger.record("m", "acme/a", "created", attention="closed-unmerged", llm_changes=1)
    assert ledger.get("m", "acme/a").attention == "closed-unmerged"


def test_snapshots_keep_one_set_of_counts_per_day(ledger: Ledger):
    from datetime import date

    migration = f"m_{uuid.uuid4().hex[:8]}"
    ledger.write_snapshot(migration, date(2026, 11, 1), {"open": 5, "done": 1})
    ledger.write_snapshot(migration, date(2026, 11, 1), {"open": 4, "done": 2})  # rerun same day
    ledger.write_snapshot(migration, date(2026, 11, 2), {"open": 1, "done": 5})
    assert ledger.snapshots(migration) == {
        date(2026, 11, 1): {"done": 2, "open": 4},
        date(2026, 11, 2): {"done": 5, "open": 1},
    }


def test_work_is_handed_over_only_for_the_key_it_was_made_for(ledger: Ledger):
    migration = f"m_{uuid.uuid4().hex[:8]}"
    ledger.put_work(migration, "acme/a", "snapshot", "sha1", b"x" * 10_000)
    assert ledger.get_work(migration, "acme/a", "snapshot", "sha1") == b"x" * 10_000
    assert ledger.get_work(migration, "acme/a", "snapshot", "sha2") is None
    ledger.put_work(migration, "acme/a", "snapshot", "sha2", b"y")
    assert ledger.get_work(migration, "acme/a", "snapshot", "sha2") == b"y"
    assert ledger.get_work(migration, "acme/a", "snapshot", "sha1") is None


def test_new_pr_grants_are_exact_under_parallel_askers(ledger: Ledger):
    migration, run = f"m_{uuid.uuid4().hex[:8]}", "manual__1"
    url = ledger.engine.url.render_as_string(hide_password=False)
    granted: list[str] = []
    errors: list[BaseException] = []

    def ask(number: int) -> None:
        mine = Ledger(url)
        try:
            for step in range(5):
                repo = f"acme/r{number}-{step}"
                if mine.grant_new_pr(migration, run, repo, cap=7):
                    granted.append(repo)
        except BaseException as err:
            errors.append(err)
        finally:
            mine.engine.dispose()

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(granted) == 7
    assert ledger.grant_new_pr(migration, run, granted[0], cap=7)  # asking again is free
    assert not ledger.grant_new_pr(migration, run, "acme/late", cap=7)
    assert ledger.grant_new_pr(migration, "manual__2", "acme/late", cap=7)  # a new run, new cap
