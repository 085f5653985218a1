"""The ledger's LLM budget and cache: exact under parallel workers, shared across processes."""

from __future__ import annotations

import threading
from pathlib import Path

from gaggle.ledger import STEPS, Ledger


def test_schema_step_3_adds_the_llm_tables(tmp_path: Path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    assert ledger.migrate() == len(STEPS) >= 3  # step 3 holds the LLM tables
    assert ledger.llm_spent("m", "r") == (0.0, 0)
    assert ledger.llm_cached("nope") is None


def test_parallel_reservations_never_exceed_the_budget(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'l.db'}"
    Ledger(url).migrate()
    granted: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        ledger = Ledger(url)  # one engine per worker, like separate Airflow tasks
        for _ in range(5):
            ok = ledger.llm_reserve("users_v2", "run-1", 0.01, 0.1)
            with lock:
                granted.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted.count(True) == 10  # exactly $0.10 of $0.01 reservations
    assert Ledger(url).llm_spent("users_v2", "run-1")[0] == 0.1
    assert Ledger(url).llm_reserve("users_v2", "run-2", 0.01, 0.1)  # another run, its own budget


def test_settling_replaces_the_reservation_by_the_real_cost(tmp_path: Path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    ledger.migrate()
    assert ledger.llm_reserve("m", "r", 0.5, 1.0)
    ledger.llm_settle("m", "r", 0.5, 0.123456, called=True)
    assert ledger.llm_spent("m", "r") == (0.123456, 1)
    assert ledger.llm_reserve("m", "r", 0.5, 1.0)
    ledger.llm_settle("m", "r", 0.5, 0.0, called=False)  # the call failed: nothing spent
    assert ledger.llm_spent("m", "r") == (0.123456, 1)


def test_cache_keeps_the_first_answer_for_a_key(tmp_path: Path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    ledger.migrate()
    response = {"text": "a", "stop_reason": "end_turn", "usage": {"input_tokens": 3}}
    ledger.llm_cache_put("k", "claude-x", response, 3, 4, 0.25)
    ledger.llm_cache_put("k", "claude-x", {**response, "text": "b"}, 9, 9, 9.0)
    assert ledger.llm_cached("k") == {
        "model": "claude-x",
        "response": response,
        "input_tokens": 3,
        "output_tokens": 4,
        "cost_usd": 0.25,
    }
