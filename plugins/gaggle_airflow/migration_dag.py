"""The `migrate_<id>` DAG: discover the consumer repos, then one mapped task group per repo.

Each DAG file under dags/ builds one migration's DAG with `migration_dag(<id>)`, so a
malformed spec is an import error of its own file and never hides the other
migrations. Parsing loads only the spec (no network, no engine work).

Per repo: find_references -> rewrite -> validate -> open_pr -> await_merge, each a task
calling one step of `gaggle.pipeline.Steps`. XCom carries a small dict per step; the
work itself passes through the ledger. A repo with nothing to change skips its later
tasks; a failing repo fails only its own tasks; `summary` always runs and lists every
repo's outcome. Waiting for a merge is a reschedule-mode sensor: between pokes it holds
no worker slot, so 1,800 repos can wait for weeks. GitHub and BigQuery calls run in
the pools `gaggle_github` and `gaggle_bigquery` (include/airflow/pools.json).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG, Param, PokeReturnValue, get_current_context, task, task_group
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from gaggle.spec import load_migration

MIGRATIONS = Path(
    os.environ.get("GAGGLE_MIGRATIONS", Path(__file__).parents[2] / "include" / "migrations")
)
GITHUB_POOL = "gaggle_github"
BIGQUERY_POOL = "gaggle_bigquery"
SETTLED = ("no-change-needed", "closed-orphan")  # = gaggle.pipeline.SETTLED, not imported
# here: parsing must not import the engine's heavy modules


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
            "retries": int(os.environ.get("GAGGLE_TASK_RETRIES", 2)),
            "retry_delay": timedelta(seconds=float(os.environ.get("GAGGLE_RETRY_SECONDS", 30))),
            "retry_exponential_backoff": True,
            "max_retry_delay": timedelta(minutes=30),
        },
        params={
            "dry_run": Param(
                False, type="boolean", description="open no PR; diffs go to the logs and ledger"
            ),
            "repos": Param(
                [], type="array", description="only these owner/name repos (empty: all found)"
            ),
            "max_prs": Param(
                0, type="integer", minimum=0, description="at most this many new PRs (0: no cap)"
            ),
            "backend": Param(
                "offline",
                enum=["offline", "equivalence", "bigquery"],
                description="validator: offline, DuckDB equivalence, or BigQuery dry runs",
            ),
            "use_llm": Param(
                False, type="boolean", description="let the LLM fallback try what rules cannot"
            ),
        },
        render_template_as_native_obj=True,
        max_active_tasks=int(os.environ.get("GAGGLE_MAX_ACTIVE_TASKS", 32)),
    ) as dag:

        @task(pool=GITHUB_POOL)
        def discover_consumers() -> list[str]:
            """Every consumer repo, deduplicated; new ones enter the ledger as not started."""
            from gaggle_airflow.connections import forge, ledger

            params = get_current_context()["params"]
            book = ledger()
            found = set(forge(book.engine).repos()) | set(migration.consumers.repos)
            wanted = set(params["repos"])
            repos = sorted(found & wanted if wanted else found)
            known = {state.repo for state in book.states(migration.id)}
            for repo in repos:
                if repo not in known:
                    book.record(migration.id, repo, "discovered", discovered_by="forge")
            print(f"{len(repos)} consumer repos")
            return repos

        @task_group
        def per_repo(repo: str):
            @task(pool=GITHUB_POOL)
            def find_references(repo: str) -> dict:
                return _steps(folder).find_references(repo)

            @task
            def rewrite(found: dict) -> dict:
                _skip_if_settled(found)
                return _steps(folder).rewrite(found["repo"], found["base_sha"])

            @task(pool=BIGQUERY_POOL)
            def validate(rewritten: dict) -> dict:
                _skip_if_settled(rewritten)
                return _steps(folder).validate(rewritten["repo"], rewritten["base_sha"])

            @task(pool=GITHUB_POOL)
            def open_pr(validated: dict) -> dict:
                params = get_current_context()["params"]
                return _steps(folder).open_pr(
                    validated["repo"],
                    validated["base_sha"],
                    dry_run=params["dry_run"],
                    run_id=get_current_context()["run_id"],
                    max_prs=params["max_prs"],
                )

            @task.sensor(
                pool=GITHUB_POOL,
                mode="reschedule",  # between pokes the task holds no worker slot
                poke_interval=float(os.environ.get("GAGGLE_MERGE_POKE_SECONDS", 600)),
                timeout=float(os.environ.get("GAGGLE_MERGE_TIMEOUT_SECONDS", 60 * 60 * 24 * 60)),
                exponential_backoff=True,
                soft_fail=True,  # still open at the timeout: skipped; the nightly sweep goes on
            )
            def await_merge(opened: dict) -> PokeReturnValue:
                if opened["pr"] is None:
                    return PokeReturnValue(is_done=True, xcom_value=opened["status"])
                state = _steps(folder).await_merge(opened["repo"])
                return PokeReturnValue(is_done=state != "open", xcom_value=state)

            return await_merge(open_pr(validate(rewrite(find_references(repo)))))

        @task(trigger_rule="all_done")
        def summary(repos: list[str]) -> dict:
            """Every repo's outcome in this run, whatever happened to the others."""
            from gaggle.progress import counts_of

            from gaggle_airflow.connections import ledger

            states = {s.repo: s for s in ledger().states(migration.id)}
            mine = [states[r] for r in repos if r in states]
            print(f"{'repo':<40}{'status':<20}{'PR':<8}last error")
            for state in mine:
                pr = f"#{state.pr_number}" if state.pr_number else ""
                print(f"{state.repo:<40}{state.status:<20}{pr:<8}{state.last_error[:100]}")
            counts = {k: v for k, v in counts_of(mine).items() if v}
            print("progress:", ", ".join(f"{k} {v}" for k, v in counts.items()))
            failed = [s.repo for s in mine if s.status == "failed"]
            if failed:  # the others went on; the run still says that some did not
                raise AirflowFailException(
                    f"{len(failed)} of {len(repos)} repos failed: {', '.join(failed[:20])}"
                )
            return counts

        repos = discover_consumers()
        per_repo.expand(repo=repos) >> summary(repos)
    return dag


def _skip_if_settled(previous: dict) -> None:
    if previous["status"] in SETTLED:
        raise AirflowSkipException(f"{previous['repo']}: {previous['status']}")


def _steps(folder: str):
    """The engine's steps for this task: the spec, ledger, forge and validator it needs,
    with the task's run id and map index kept beside each state it writes."""
    from gaggle.pipeline import Steps

    from gaggle_airflow.connections import forge, ledger

    context = get_current_context()
    spec = load_migration(folder)
    book = ledger()
    trace = {"dag_run_id": context["run_id"], "map_index": context["ti"].map_index}
    validator = _validator(spec, context["params"]["backend"])
    return Steps(forge(book.engine), spec, book, validator, trace=trace)


def _validator(spec, backend: str):
    from gaggle.validation.offline import OfflineValidator
    from gaggle.validation.repo import EquivalenceValidator

    if backend == "bigquery":
        from gaggle_airflow.connections import bigquery_validator

        return bigquery_validator()
    offline = OfflineValidator(spec.catalog)
    return EquivalenceValidator(spec, offline) if backend == "equivalence" else offline
