"""The engine over a whole generated fleet: never breaks a file, converges, keeps results."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from gaggle.fleet import generate_fleet
from gaggle.spec import load_migration
from gaggle.sql import FlagReason, SqlRewriter
from gaggle.validation.equivalence import Outcome, check_equivalence
from sqlglot.dialects.bigquery import BigQuery
from sqlglot.tokens import TokenType

from tests.conftest import DEMO_MIGRATION

FATAL = {FlagReason.UNPARSEABLE, FlagReason.INTERNAL_ERROR, FlagReason.UNRESOLVED_REFERENCE}


@pytest.fixture(scope="module")
def fleet_sql(tmp_path_factory) -> list[tuple[Path, str]]:
    out = tmp_path_factory.mktemp("fleet")
    generate_fleet(out, 60, seed=11)
    files = sorted(out.rglob("*.sql"))
    return [(path, path.read_text()) for path in files]


@pytest.fixture(scope="module")
def engine() -> SqlRewriter:
    return SqlRewriter(load_migration(DEMO_MIGRATION))


def _old_table_tokens(text: str) -> list[str]:
    """Identifiers still naming users_v1 outside comments and strings (aliases excepted)."""
    tokens = BigQuery().tokenize(text)
    found = []
    for index, token in enumerate(tokens):
        if token.token_type not in (TokenType.VAR, TokenType.IDENTIFIER):
            continue
        if not token.text.lower().endswith("users_v1"):
            continue
        previous = tokens[index - 1] if index else None
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        is_alias_use = (following is not None and following.token_type == TokenType.DOT) or (
            previous is not None
            and previous.token_type in (TokenType.ALIAS, TokenType.VAR, TokenType.IDENTIFIER)
        )
        if not is_alias_use:
            found.append(token.text)
    return found


def test_every_fleet_file_is_rewritten_without_a_fatal_flag(fleet_sql, engine):
    reasons: Counter = Counter()
    for path, text in fleet_sql:
        result = engine.rewrite(text)
        fatal = [f for f in result.flags if f.reason in FATAL]
        assert not fatal, f"{path}: {fatal}"
        reasons.update(f.reason for f in result.flags)
        if "users_v1" in text and result.changed:
            assert not _old_table_tokens(result.text), path
    assert reasons[FlagReason.MANUAL_COLUMN] > 0  # the fleet does use manual columns


def test_rewriting_the_fleet_twice_changes_nothing_more(fleet_sql, engine):
    for path, text in fleet_sql:
        once = engine.rewrite(text).text
        assert engine.rewrite(once).text == once, path


def test_rewritten_fleet_queries_return_the_same_rows(fleet_sql, engine):
    migration = load_migration(DEMO_MIGRATION)
    outcomes: Counter = Counter()
    seen = set()
    for path, text in fleet_sql:
        if text in seen:
            continue
        seen.add(text)
        result = engine.rewrite(text)
        if not result.changed or any(f.reason == FlagReason.MANUAL_COLUMN for f in result.flags):
            continue
        verdict = check_equivalence(text, result.text, migration)
        assert verdict.outcome != Outcome.DIFFERENT, f"{path}: {verdict.detail}"
        outcomes[verdict.outcome] += 1
    assert outcomes[Outcome.EQUAL] >= 20, outcomes
