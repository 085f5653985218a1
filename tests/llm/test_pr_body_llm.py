"""The PR body names every line the LLM wrote, what it left for a human, and what it cost."""

from __future__ import annotations

from dataclasses import replace

from gaggle.llm import resolve_with_llm
from gaggle.reports import pr_body
from gaggle.validation.offline import OfflineValidator
from gaggle.validation.repo import validate_repo

from tests.fakes.anthropic_server import Reply
from tests.llm.conftest import (
    ACTIVE_USERS,
    ACTIVE_USERS_MIGRATED,
    MIGRATION,
    SIGNUPS_HISTORY,
    answer,
    make_repo,
    rewrite,
)

OFFLINE = OfflineValidator(MIGRATION.catalog)


def link(path: str, line: int) -> str:
    return f"https://forge/blob/branch/{path}#L{line}"


def test_pr_body_names_llm_lines_leftovers_and_cost(tmp_path, server, settings, ledger):
    root = make_repo(
        tmp_path / "repo",
        {"sql/active_users.sql": ACTIVE_USERS, "sql/signups_history.sql": SIGNUPS_HISTORY},
    )
    outcome = rewrite(root)
    server.add(
        Reply(answer(ACTIVE_USERS, ACTIVE_USERS_MIGRATED), 2000, 150),
        Reply("I would rather not.", 1000, 10),
    )
    once = replace(settings, max_attempts=1)
    report = resolve_with_llm(outcome, MIGRATION, OFFLINE, once, ledger, "run-1", "acme/growth-sql")
    validations = validate_repo(root, MIGRATION, OFFLINE, outcome=outcome)

    body = pr_body(MIGRATION, outcome, validations, link, "offline", llm=report)

    assert "### Lines written by an LLM: review these twice" in body
    assert "`claude-test-model` proposed them" in body
    for line in (4, 5, 6, 7):
        assert f"- [`sql/active_users.sql:{line}`]({link('sql/active_users.sql', line)}): `" in body
    assert ": `subscription.plan AS plan,`" in body
    assert ": `` FROM `acme-prod.{{ params.dataset | default('core') }}.users_v2` ``" in body
    assert "passes the `offline` validation" in body
    assert "The LLM fallback left these files for a human:" in body
    assert (
        "- `sql/signups_history.sql` (rejected): the answer must hold exactly one fenced 'json block; it holds none"
        in body
    )
    assert (
        "2 requests to `claude-test-model`; 3,000 input and 160 output tokens, $0.0038 ($0.0038 paid in this run)"
        in body
    )
    # The file the LLM could not finish is still listed as left unchanged, saying why.
    assert "`sql/signups_history.sql:3` (unparseable)" in body
    assert "the LLM's proposals were rejected (1 attempt)" in body


def test_pr_body_without_llm_report_is_unchanged(tmp_path):
    root = make_repo(tmp_path / "repo", {"sql/active_users.sql": ACTIVE_USERS})
    outcome = rewrite(root)
    body = pr_body(MIGRATION, outcome, [], link)
    assert body == pr_body(MIGRATION, outcome, [], link, "offline", llm=None)
    assert "LLM" not in body
