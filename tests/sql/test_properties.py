"""Properties of every rewrite: idempotent, edits only resolved spans, no-op without references."""

from __future__ import annotations

import pytest
from gaggle.spec import load_migration
from gaggle.sql import SqlRewriter
from gaggle.validation.equivalence import Outcome, check_equivalence
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import DEMO_MIGRATION

MIGRATION = load_migration(DEMO_MIGRATION)
ENGINE = SqlRewriter(MIGRATION)
COLUMNS = [
    "user_id", "email", "full_name", "country", "region", "city", "language", "signup_ms",
    "created_date", "last_login", "is_active", "plan", "mrr_usd", "device", "device.os",
    "device.model", "referral_code", "lifetime_orders", "ltv_usd", "updated_at",
]  # fmt: skip
TABLES = [
    "`acme-prod.core.users_v1`",
    "core.users_v1",
    "`acme-prod`.core.users_v1",
    "`core.users_v1`",
]
COMMENTS = ["", "-- users_v1 report\n", "/* reads users_v1 */ ", "# legacy users_v1 job\n"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def user_queries(draw) -> str:
    """A SELECT over users_v1 in varied spellings, aliases, layouts and clauses."""
    table = draw(st.sampled_from(TABLES))
    alias = draw(st.sampled_from(["", " u", " AS u"]))
    qualifier = "u." if alias else draw(st.sampled_from(["", ""]))
    columns = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=6, unique=True))
    projections = [
        qualifier + column + draw(st.sampled_from(["", f" AS out_{i}", f"  as   o{i}"]))
        for i, column in enumerate(columns)
    ]
    separator = draw(st.sampled_from([", ", ",\n  ", "\n  , ", ",\t"]))
    where = draw(
        st.sampled_from(
            [
                "",
                f"\nWHERE {qualifier}signup_ms > 0",
                f"\nwhere {qualifier}is_active",
                f"\nWHERE {qualifier}country IN ('DE', 'users_v1')  -- users_v1 literal",
                f"\nWHERE {qualifier}mrr_usd * 12 > 100 AND {qualifier}device.os = 'ios'",
            ]
        )
    )
    order = draw(st.sampled_from(["", f"\nORDER BY {qualifier}user_id", "\norder by 1"]))
    comment = draw(st.sampled_from(COMMENTS))
    return f"{comment}SELECT {separator.join(projections)}\nFROM {table}{alias}{where}{order}\n"


@st.composite
def unrelated_queries(draw) -> str:
    """Queries that never read users_v1, though their text mentions it and shares its column names."""
    comment = draw(st.sampled_from(COMMENTS))
    column = draw(st.sampled_from(["country", "status", "user_id", "amount_usd"]))
    literal = draw(st.sampled_from(["'users_v1'", "'core.users_v1'", "'x'"]))
    table = draw(
        st.sampled_from(["`acme-prod.sales.orders`", "sales.orders o", "reporting.users_v2"])
    )
    return f"{comment}SELECT {column}, {literal} AS src\nFROM {table}\nWHERE {column} IS NOT NULL\n"


@SETTINGS
@given(user_queries())
def test_rewriting_twice_changes_nothing_more(query: str):
    once = ENGINE.rewrite(query)
    assert ENGINE.rewrite(once.text).text == once.text


@SETTINGS
@given(user_queries())
def test_bytes_outside_the_edited_spans_are_identical(query: str):
    result = ENGINE.rewrite(query)
    assert result.changes, "every generated query reads users_v1"
    rebuilt, cursor = [], 0
    for change in sorted(result.changes, key=lambda c: c.start):
        assert change.start >= cursor, "changes never overlap"
        assert query[change.start : change.end] == change.before
        rebuilt += [query[cursor : change.start], change.after]
        cursor = change.end
    rebuilt.append(query[cursor:])
    assert "".join(rebuilt) == result.text
    assert all("users_v1" not in c.before or c.rule == "table" for c in result.changes)


@SETTINGS
@given(unrelated_queries())
def test_a_query_without_references_comes_back_identical(query: str):
    result = ENGINE.rewrite(query)
    assert result.text == query
    assert not result.changes and not result.flags


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(user_queries())
def test_rewritten_query_returns_the_same_rows(query: str):
    result = ENGINE.rewrite(query)
    verdict = check_equivalence(query, result.text, MIGRATION)
    assert verdict.outcome != Outcome.DIFFERENT, verdict.detail
    if verdict.outcome == Outcome.NOT_CHECKABLE:  # only when the filters leave no row
        assert verdict.detail.startswith("no rows on the synthetic data")


@pytest.mark.parametrize(
    "garbage", ["SELECT FROM WHERE users_v1", "SELECT (u.country FROM core.users_v1 u"]
)
def test_unparseable_sql_is_returned_untouched_with_its_location(garbage: str):
    result = ENGINE.rewrite(garbage)
    assert result.text == garbage
    assert [f.reason for f in result.flags] == ["unparseable"]
    assert result.flags[0].line == 1 and result.flags[0].column > 1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(user_queries(), st.integers(min_value=1, max_value=400))
def test_a_truncated_file_is_never_corrupted(query: str, cut: int):
    text = query[: min(cut, len(query))]
    result = ENGINE.rewrite(text)
    assert "internal-error" not in {str(f.reason) for f in result.flags}
    if any(str(f.reason) == "unparseable" for f in result.flags):
        assert result.text == text
