"""Shared fixtures: the demo migration, and a writable copy of it to break."""

from __future__ import annotations

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
