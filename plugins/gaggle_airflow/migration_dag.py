"""The `migrate_<id>` DAG: discover the consumer repos, then one mapped task group per repo.

Each DAG file under dags/ builds one migration's DAG with `migration_dag(<id>)`, so a
malformed spec is an import error of its own file and never hides the other
migrations. Parsing loads only the spec (no network). Tasks call the engine; XCom
carries repo names and small status dicts, the ledger holds the state.

This first version runs the whole pipeline for a repo in one task (`migrate_repo`,
idempotent) and waits for the merge in reschedule mode, so waiting holds no worker
slot. Forge: the local forge under GAGGLE_FORGE_ROOT (default: AIRFLOW_HOME/forge).
Ledger: the `gaggle_ledger` connection, else SQLite under AIRFLOW_HOME.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG, BaseHook, Param, PokeReturnValue, get_current_context, task, task_group
from gaggle.spec import load_migration

MIGRATIONS = Path(
    os.environ.get("GAGGLE_MIGRATIONS", Path(__file__).parents[2] / "include" / "migrations")
)
LEDGER_CONN_ID = "gaggle_ledger"


def migration_dag(migration_id: str, migrations: Path = MIGRATIONS) -> DAG:
    """The DAG of one migration folder; a malformed spec raises SpecError (an import error)."""
    migration = load_migration(migrations / migration_id)
    folder = str(migrations / migration_id)
    with DAG(
        dag_id=f"migrate_{migration.id}",
        description=migration.title,
        schedule=None,
        catchup=False,
        tags=["gaggle", "dataset-migration"],
        doc_md=f"{migration.title}\n\nGuide: {migration.guide_url}",
        default_args={
            "retries": 2,
            "retry_delay": timedelta(seconds=30),
            "retry_exponential_backoff": True,
        },
        params={
            "dry_run": Param(False, type="boolean", description="no PRs; diffs go to the logs"),
            "repos": Param(
                [], type="array", description="only these owner/name repos (empty: all)"
            ),
            "max_prs": Param(
                0, type="integer", minimum=0, description="at most this many new PRs (0: no cap)"
            ),
            "backend": Param("offline", enum=["offline", "equivalence"], description="validator"),
            "use_llm": Param(
                False, type="boolean", description="allow the LLM fallback (not built yet)"
            ),
        },
        render_template_as_native_obj=True,
    ) as dag:

        @task
        def discover_consumers() -> list[str]:
            params = get_current_context()["params"]
            found = set(_forge().repos())
            wanted = set(params["repos"]) or found
            return sorted(found & wanted)

        @task_group
        def per_repo(repo: str):
            @task(max_active_tis_per_dagrun=16)
            def migrate_repo(repo: str) -> dict:
                from gaggle.pipeline import run_repo

                params = get_current_context()["params"]
                spec = load_migration(folder)
                ledger = _ledger()
                capped = 0 < params["max_prs"] <= ledger.counts(spec.id).get("created", 0)
                result = run_repo(
                    _forge(), repo, spec, _validator(spec, params["backend"]),
                    dry_run=params["dry_run"] or capped, ledger=ledger,
                )  # fmt: skip
                if result.diff and params["dry_run"]:
                    print(result.diff)
                pr = result.proposal.pull_request if result.proposal else None
                return {"repo": repo, "status": result.status, "pr": pr.number if pr else None}

            @task.sensor(
                mode="reschedule",  # between pokes the task holds no worker slot
                poke_interval=float(os.environ.get("GAGGLE_MERGE_POKE_SECONDS", 600)),
                timeout=float(os.environ.get("GAGGLE_MERGE_TIMEOUT_SECONDS", 60 * 60 * 24 * 60)),
                soft_fail=True,  # still open at the timeout: skipped; the nightly sweep goes on
            )
            def await_merge(outcome: dict) -> PokeReturnValue:
                if outcome["pr"] is None:
                    return PokeReturnValue(is_done=True, xcom_value=outcome["status"])
                spec = load_migration(folder)
                pull = _forge().pull_request(outcome["repo"], spec.pull_request.branch)
                done = pull is None or pull.state in ("merged", "closed")
                if pull is not None:
                    _ledger().record(
                        spec.id, outcome["repo"], f"pr-{pull.state}", pr_state=pull.state
                    )
                return PokeReturnValue(is_done=done, xcom_value=pull.state if pull else "gone")

            return await_merge(migrate_repo(repo))

        @task(trigger_rule="all_done")
        def summary() -> dict:
            counts = _ledger().counts(migration.id)
            for status, count in sorted(counts.items()):
                print(f"{status:<20}{count:>6}")
            return counts

        per_repo.expand(repo=discover_consumers()) >> summary()
    return dag


def _home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))


def _forge():
    from gaggle.forges.local import LocalForge

    return LocalForge(Path(os.environ.get("GAGGLE_FORGE_ROOT", _home() / "forge")))


def _ledger():
    from gaggle.ledger import Ledger

    try:
        url = BaseHook.get_connection(LEDGER_CONN_ID).get_uri()
    except Exception:
        url = f"sqlite:///{_home() / 'gaggle_ledger.db'}"
    ledger = Ledger(url)
    ledger.migrate()
    return ledger


def _validator(spec, backend: str):
    from gaggle.validation.offline import OfflineValidator
    from gaggle.validation.repo import EquivalenceValidator

    offline = OfflineValidator(spec.catalog)
    return EquivalenceValidator(spec, offline) if backend == "equivalence" else offline
