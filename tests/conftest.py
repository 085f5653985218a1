"""Shared fixtures: the demo migration, and a writable copy of it to break."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "include" / "migrations"
DEMO_MIGRATION = MIGRATIONS / "users_v2"


@pytest.fixture
def migration_copy(tmp_path: Path) -> Path:
    """A private copy of the demo migration folder that a test may edit."""
    target = tmp_path / "users_v2"
    shutil.copytree(DEMO_MIGRATION, target)
    return target


# Property tests explore new examples locally but replay a fixed sequence in CI, so a
# CI run is reproducible; a failure found locally is kept in .hypothesis/ and replayed.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
