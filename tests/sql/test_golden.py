"""Golden before/after cases: each folder under tests/golden is one titled specification."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from gaggle.spec import load_migration
from gaggle.sql import FlagReason
from gaggle.sql.branches import TemplatedRewriter
from gaggle.validation.analysis import judge
from gaggle.validation.equivalence import Outcome, check_equivalence
from gaggle.validation.offline import OfflineValidator
from ruamel.yaml import YAML

from tests.conftest import DEMO_MIGRATION, ROOT

GOLDEN = ROOT / "tests" / "golden"
CASES = (
    sorted(p for p in GOLDEN.iterdir() if (p / "before.sql").is_file()) if GOLDEN.is_dir() else []
)
MIGRATION = load_migration(DEMO_MIGRATION)
ENGINE = TemplatedRewriter(MIGRATION)  # every Jinja branch; flags commented in the file


def _case(folder: Path) -> dict:
    return YAML(typ="safe").load((folder / "case.yaml").read_text()) or {}


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("folder", CASES, ids=[c.name for c in CASES])
def test_golden_rewrite(folder: Path):
    spec = _case(folder)
    assert spec.get("title"), f"{folder.name}: every case has a title"
    result = ENGINE.rewrite(_read(folder / "before.sql"))
    assert result.text == _read(folder / "after.sql")
    expected = Counter((flag["line"], flag["reason"]) for flag in spec.get("flags") or [])
    got = Counter((flag.line, str(flag.reason)) for flag in result.flags)
    assert got == expected


@pytest.mark.parametrize("folder", CASES, ids=[c.name for c in CASES])
def test_golden_after_is_a_fixed_point(folder: Path):
    after = _read(folder / "after.sql")
    assert ENGINE.rewrite(after).text == after


@pytest.mark.parametrize("folder", CASES, ids=[c.name for c in CASES])
def test_golden_before_and_after_return_the_same_rows(folder: Path):
    spec = _case(folder)
    flags = {flag["reason"] for flag in spec.get("flags") or []}
    if spec.get("semantic") is False:
        pytest.skip("marked not runnable in DuckDB (scripting, DML or temp functions)")
    if flags & {str(FlagReason.MANUAL_COLUMN), str(FlagReason.UNPARSEABLE)}:
        pytest.skip("a human decides the flagged references; nothing to compare")
    before, after = _read(folder / "before.sql"), _read(folder / "after.sql")
    if before == after:
        pytest.skip("no reference: nothing to compare")
    verdict = check_equivalence(before, after, MIGRATION)
    if verdict.outcome == Outcome.NOT_CHECKABLE:
        pytest.skip(f"DuckDB cannot run it: {verdict.detail[:200]}")
    assert verdict.outcome == Outcome.EQUAL, verdict.detail
    # Case-insensitively: DuckDB names an unaliased column by the table's spelling, BigQuery
    # by the query's (`SELECT City` is City there); the golden text pins the spelling.
    assert [n.lower() for n in verdict.names_after] == [n.lower() for n in verdict.names_before], (
        "same column names in the same order"
    )


def test_there_are_at_least_80_golden_cases():
    assert len(CASES) >= 80


OFFLINE = OfflineValidator(MIGRATION.catalog)


@pytest.mark.parametrize("folder", CASES, ids=[c.name for c in CASES])
def test_golden_after_keeps_the_output_schema(folder: Path):
    """The offline validator's proof on every case: same output column names, order, types
    and STRUCT fields, stars expanded from the schemas (runs where DuckDB cannot, e.g. for
    `struct.*` and DML)."""
    spec = _case(folder)
    if spec.get("flags"):
        pytest.skip("flagged references are a human's to finish")
    before, after = _read(folder / "before.sql"), _read(folder / "after.sql")
    if before == after:
        pytest.skip("no reference: nothing to compare")
    verdict = judge(
        OFFLINE.analyze(before), OFFLINE.analyze(after), [p.old for p in MIGRATION.tables]
    )
    assert verdict.ok, verdict.problems
