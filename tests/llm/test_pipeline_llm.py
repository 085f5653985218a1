"""The LLM fallback inside the pipeline: the accepted change reaches the PR (named as the
LLM's), the ledger records tokens and cost, and a re-run pays nothing twice."""

from __future__ import annotations

from pathlib import Path

from gaggle.forges.local import LocalForge
from gaggle.pipeline import Steps
from gaggle.validation.offline import OfflineValidator

from tests.llm.conftest import (
    ACTIVE_USERS,
    ACTIVE_USERS_MIGRATED,
    MIGRATION,
    answer,
    make_repo,
    migrated,
)

REPO = "acme/active-users"


def test_an_accepted_llm_change_is_proposed_named_and_costed_and_a_rerun_pays_nothing(
    tmp_path: Path, server, settings, ledger
):
    make_repo(tmp_path / "forge" / REPO, {"sql/active_users.sql": ACTIVE_USERS})
    forge = LocalForge(tmp_path / "forge")
    forge.init_repo(REPO)
    server.add(answer(ACTIVE_USERS, ACTIVE_USERS_MIGRATED))
    steps = Steps(
        forge, MIGRATION, ledger, OfflineValidator(MIGRATION.catalog), log=lambda _: None,
        llm=settings, run_id="run-1",
    )  # fmt: skip

    run = steps.run(REPO)

    assert run.status == "created" and len(server.requests) == 1
    record = forge.records(REPO)[MIGRATION.pull_request.branch]
    branch_file = forge.read_files(REPO, forge.pull_request(REPO, record["branch"]).head_sha)
    assert branch_file["sql/active_users.sql"] == migrated(ACTIVE_USERS, ACTIVE_USERS_MIGRATED)
    assert "LLM" in record["body"] and "sql/active_users.sql" in record["body"]
    state = ledger.get(MIGRATION.id, REPO)
    assert state.llm_changes == 4 and state.llm_input_tokens > 0 and state.llm_cost_usd > 0

    again = Steps(
        forge, MIGRATION, ledger, OfflineValidator(MIGRATION.catalog), log=lambda _: None,
        llm=settings, run_id="run-2",
    ).run(REPO)  # fmt: skip
    assert again.status == "unchanged" and len(server.requests) == 1  # the cached answer
