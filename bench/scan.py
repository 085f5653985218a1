"""A whole-repo scan, with and without references to the old table.

The shape of a real consumer monorepo: ~2,000 SQL files and ~270 YAML files, in which
either no file names the old table (the common case for a migration's long tail: most
repos a search turns up only mention it) or one file in ten reads it. Files with no
spelling of an old table are skipped before parsing, so a repo without references
costs a read and a regex per file; the figures show by how much, next to sqlglot's
parse + qualify of the same files (the floor of any real rewrite).
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from bench.rewrite import MIGRATION

SQL_FILES = 2000
YAML_FILES = 268


def build_repo(root: Path, with_references: bool, seed: int = 11) -> Path:
    from gaggle.fleet import generate_fleet

    fleet = root / "fleet"
    if not fleet.exists():
        generate_fleet(fleet, 200, seed=3)
    sources = [p.read_text() for p in sorted(fleet.rglob("*.sql")) if "{{" not in p.read_text()]
    rng = random.Random(seed)
    repo = root / ("with-references" if with_references else "without-references")
    for index in range(SQL_FILES):
        text = rng.choice(sources)
        if not (with_references and index % 10 == 0):
            # another dataset's table, or a different table altogether
            text = text.replace("users_v1", "accounts_v3")
            if index % 7 == 0:  # the same table name in another dataset: not a reference
                text = text.replace("core.accounts_v3", "analytics.users_v1")
        path = repo / "sql" / f"team_{index % 40:02d}" / f"job_{index:04d}.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for index in range(YAML_FILES):
        path = repo / "jobs" / f"job_{index:04d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"description: daily job {index}; used to join to users_v1\n"
            f"query: sql/team_{index % 40:02d}/job_{index:04d}.sql\n"
            "paths:\n  - sql/acme-prod/analytics/users_v1/query.sql\n"
        )
    return repo


def _floor_seconds(repo: Path) -> float:
    """sqlglot parse + qualify of every SQL file: what any real rewrite must at least do."""
    import logging

    import sqlglot
    from gaggle.spec import load_migration
    from gaggle.sql import templates
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.schema import MappingSchema

    migration = load_migration(MIGRATION)
    schema = MappingSchema(migration.catalog.nested_mapping(), dialect="bigquery")
    texts = [p.read_text() for p in sorted(repo.rglob("*.sql"))]
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # scripts fall back to Command
    start = time.perf_counter()
    for text in texts:
        masked, _ = templates.mask(text)
        try:
            for statement in sqlglot.parse(masked, read="bigquery"):
                if statement is not None:
                    qualify(statement, schema=schema, dialect="bigquery",
                            validate_qualify_columns=False)  # fmt: skip
        except SqlglotError:
            pass
    return time.perf_counter() - start


def measure(repo: Path) -> dict:
    from gaggle.repo import rewrite_repo
    from gaggle.spec import load_migration

    migration = load_migration(MIGRATION)
    start = time.perf_counter()
    outcome = rewrite_repo(repo, migration, write=False)
    seconds = time.perf_counter() - start
    counts = outcome.summary_counts()
    return {
        "files": counts["files_scanned"],
        "seconds": seconds,
        "ms_per_file": seconds * 1000 / max(1, counts["files_scanned"]),
        "changed": counts.get("changed", 0),
        "flagged": counts.get("flagged", 0),
        "failed": counts.get("failed", 0),
        "floor_seconds": _floor_seconds(repo),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"whole-repo scan: {SQL_FILES} SQL + {YAML_FILES} YAML files")
        print(
            f"{'repo':<20}{'files':>7}{'s':>8}{'ms/file':>9}{'changed':>9}{'flagged':>9}"
            f"{'failed':>8}{'floor s':>9}"
        )
        for with_references in (False, True):
            row = measure(build_repo(root, with_references))
            name = "with references" if with_references else "without references"
            print(
                f"{name:<20}{row['files']:>7}{row['seconds']:>8.2f}{row['ms_per_file']:>9.2f}"
                f"{row['changed']:>9}{row['flagged']:>9}{row['failed']:>8}"
                f"{row['floor_seconds']:>9.2f}"
            )


if __name__ == "__main__":
    main()
