"""The demo fleet, every framework, end to end: nothing fails, nothing is left unhandled."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gaggle.fleet import generate_fleet
from gaggle.repo import rewrite_repo
from gaggle.spec import load_migration
from gaggle.sql import FlagReason

from tests.conftest import DEMO_MIGRATION

MIGRATION = load_migration(DEMO_MIGRATION)
_COMMENTS = {
    ".sql": re.compile(r"--[^\n]*|#[^\n]*|/\*.*?\*/|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.S),
    ".scala": re.compile(r"//[^\n]*|/\*.*?\*/|--[^\n]*|#[^\n]*", re.S),
    ".yml": re.compile(r"#[^\n]*"),
    ".yaml": re.compile(r"#[^\n]*"),
}


def _code_mentions(path: Path) -> bool:
    """Whether users_v1 is still named in code (comments, SQL strings and aliases aside)."""
    text = path.read_text()
    text = _COMMENTS.get(path.suffix, re.compile(r"(?!)")).sub("", text)
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
    names = re.findall(r"[\w`.:\-]*users_v1\b", text)
    # Dataset-qualified only: a bare users_v1 is an alias here (the engine flags a bare table).
    return any(re.search(r"core[.:`]*users_v1$", n) for n in names)


@pytest.fixture(scope="module")
def rewritten_fleet(tmp_path_factory) -> list[tuple[Path, object]]:
    root = tmp_path_factory.mktemp("fleet")
    repos = generate_fleet(root, 40, seed=23)
    return [(repo.path, rewrite_repo(repo.path, MIGRATION, write=True)) for repo in repos]


def test_every_framework_is_detected_in_the_fleet(rewritten_fleet):
    seen = {name for _, outcome in rewritten_fleet for name in outcome.frameworks}
    assert seen == {"sql", "dbt", "scio"}


def test_no_file_of_the_fleet_fails(rewritten_fleet):
    fatal = {FlagReason.UNPARSEABLE, FlagReason.INTERNAL_ERROR}
    for repo, outcome in rewritten_fleet:
        for file in outcome.files:
            assert not [f for f in file.result.flags if f.reason in fatal], (repo, file.path)


def test_every_remaining_mention_of_the_old_table_is_flagged(rewritten_fleet):
    for repo, outcome in rewritten_fleet:
        flagged = {f.path for f in outcome.files if f.result.flags}
        for path in sorted(repo.rglob("*")):
            if path.suffix in _COMMENTS and path.is_file() and _code_mentions(path):
                relative = path.relative_to(repo).as_posix()
                assert relative in flagged, f"{repo.name}/{relative} still names users_v1"


def test_rewriting_the_fleet_again_changes_nothing(rewritten_fleet):
    for repo, _ in rewritten_fleet:
        again = rewrite_repo(repo, MIGRATION, write=False)
        assert not [f.path for f in again.files if f.result.changed], repo.name
