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


POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


@pytest.fixture(scope="session")
def postgres_url():
    """A database of this test session's own on the machine's PostgreSQL, dropped after: the
    server outlives the run (and is shared with other checkouts), so a ledger left there by
    another branch's schema steps must not decide this run's outcome."""
    import uuid

    import sqlalchemy as sa

    admin = sa.create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    name = f"gaggle_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as err:
        admin.dispose()
        if os.environ.get("GAGGLE_REQUIRE_SERVICES") == "1":
            raise AssertionError(f"PostgreSQL at 127.0.0.1:5432 is required: {err}") from err
        pytest.skip(
            "PostgreSQL at 127.0.0.1:5432 is not reachable (GAGGLE_REQUIRE_SERVICES=1 fails)"
        )
    yield f"{POSTGRES_SERVER}/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
