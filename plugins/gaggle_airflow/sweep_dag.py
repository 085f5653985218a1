"""`gaggle_status_sweep`: every night, for every migration, refresh each PR from its forge,
verify merged repos, nudge idle PRs, snapshot the day's progress and write the status
reports (Markdown and HTML under GAGGLE_REPORTS_DIR, default AIRFLOW_HOME/gaggle_reports).

One mapped task per migration, so a broken spec or an unreachable forge stops only its
own migration's sweep. Parsing reads no spec: the folders are listed when the run starts.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, Param, get_current_context, task

from gaggle_airflow.migration_dag import GITHUB_POOL, MIGRATIONS

log = logging.getLogger("airflow.task")  # in order with Airflow's own lines, unlike print()
SWEEP_DOC = """\
# Nightly status of every migration

For each migration folder (one mapped `sweep` task each, labelled by the migration id):
refresh every PR from its forge, verify merged repos (a re-scan of the default branch
finds no reference left; with lineage on, no recent job reads the old tables), nudge PRs
idle for **nudge_after_days**, write the day's progress snapshot (the dashboard's
burndown) and the status reports (`status.md`, `status.html` under `GAGGLE_REPORTS_DIR`).

- A repo is **done** only once verified here; **merged** means merged, not verified yet.
- One migration's broken spec or unreachable forge fails its own `sweep` task only.
- Progress of every repo: the [Migrations dashboard](/plugin/gaggle) (**Browse >
  Migrations**).
"""


def status_sweep_dag(migrations: Path = MIGRATIONS) -> DAG:
    with DAG(
        dag_id="gaggle_status_sweep",
        description="Nightly: PR states, verification, nudges, progress snapshots, reports",
        schedule=os.environ.get("GAGGLE_SWEEP_SCHEDULE", "@daily"),
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        tags=["gaggle"],
        doc_md=SWEEP_DOC,
        default_args={
            "owner": os.environ.get("GAGGLE_DAG_OWNER", "data-platform"),
            "retries": int(os.environ.get("GAGGLE_TASK_RETRIES", 2)),
            "retry_delay": timedelta(seconds=float(os.environ.get("GAGGLE_RETRY_SECONDS", 60))),
            "retry_exponential_backoff": True,
        },
        params={
            "nudge_after_days": Param(
                7,
                type="integer",
                minimum=1,
                maximum=365,
                title="Nudge after (days)",
                description="Comment on a PR idle this many days (1 to 365).",
            ),
            "nudge_every_days": Param(
                7,
                type="integer",
                minimum=1,
                maximum=365,
                title="Nudge again every (days)",
                description="At most one nudge per PR in this many days (1 to 365).",
            ),
            "lineage_days": Param(
                14,
                type="integer",
                minimum=1,
                maximum=365,
                title="Lineage window (days)",
                description="A job reading the old tables this recently keeps a repo from "
                "done (lineage on in the spec and the gaggle_bigquery connection).",
            ),
        },
    ) as dag:

        @task(doc_md="The migration folders (each with a migration.yaml), read at run time.")
        def list_migrations() -> list[str]:
            return sorted(p.name for p in migrations.iterdir() if (p / "migration.yaml").is_file())

        @task(
            pool=GITHUB_POOL,
            multiple_outputs=False,  # one XCom, not one per key
            map_index_template="{{ migration_id }}",
            doc_md="One migration: PR states, verification, nudges, snapshot, reports.",
        )
        def sweep(migration_id: str) -> dict:
            get_current_context()["migration_id"] = migration_id  # the mapped label
            from gaggle.spec import load_migration
            from gaggle.status_report import Status, status_table, write_reports
            from gaggle.sweep import SweepSettings, lineage_check, sweep_migration

            from gaggle_airflow.connections import airflow_home, forge, ledger, lineage_for

            params = get_current_context()["params"]
            migration = load_migration(migrations / migration_id)
            book = ledger()
            settings = SweepSettings(
                params["nudge_after_days"], params["nudge_every_days"], params["lineage_days"]
            )
            lineage = lineage_for(migration)
            check = lineage_check(lineage, settings.lineage_days) if lineage else None
            result = sweep_migration(forge(book.engine), migration, book, settings, lineage=check)
            status = Status.read(migration, book, datetime.now(UTC))
            folder = Path(os.environ.get("GAGGLE_REPORTS_DIR", airflow_home() / "gaggle_reports"))
            for path in write_reports(status, folder / migration.id):
                log.info("wrote %s", path)
            log.info("status of %s:\n%s", migration_id, status_table(status))
            return {"migration": migration_id, **result.counts, "nudged": len(result.nudged)}

        sweep.expand(migration_id=list_migrations())
    return dag
