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

import functools
import hashlib
import json
import os
from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG, Param, PokeReturnValue, get_current_context, task, task_group
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

MIGRATIONS = Path(
    os.environ.get("GAGGLE_MIGRATIONS", Path(__file__).parents[2] / "include" / "migrations")
)
GITHUB_POOL = "gaggle_github"
BIGQUERY_POOL = "gaggle_bigquery"
SETTLED = ("no-change-needed", "closed-orphan", "unreadable")  # = gaggle.pipeline.SETTLED, not
# imported here: parsing must not import the engine's heavy modules


def migration_dag(migration_id: str, migrations: Path = MIGRATIONS) -> DAG:
    """The DAG of one migration folder; a malformed spec raises SpecError (an import error)."""
    folder = str(migrations / migration_id)
    migration = checked_spec(Path(folder))
    with DAG(
        dag_id=f"migrate_{migration['id']}",
        description=migration["title"],
        schedule=None,
        catchup=False,
        tags=["gaggle", "dataset-migration"],
        doc_md=f"{migration['title']}\n\nGuide: {migration['guide_url']}",
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
                False,
                type="boolean",
                description="let the LLM fallback (anthropic_default connection) try what rules "
                "cannot; every proposal is verified",
            ),
        },
        render_template_as_native_obj=True,
        max_active_tasks=int(os.environ.get("GAGGLE_MAX_ACTIVE_TASKS", 32)),
    ) as dag:

        @task(pool=GITHUB_POOL, execution_timeout=timedelta(hours=2))
        def discover_consumers() -> list[str]:
            return _within_map_length(_discover(folder, get_current_context()["params"]))

        @task_group
        def per_repo(repo: str):
            # multiple_outputs=False: a `-> dict` task would also push each key as an XCom
            # of its own, one API round trip each, for values nothing reads.
            @task(pool=GITHUB_POOL, multiple_outputs=False)
            def find_references(repo: str) -> dict:
                return _steps(folder).find_references(repo)

            @task(multiple_outputs=False)
            def rewrite(found: dict) -> dict:
                _skip_if_settled(found)
                return _steps(folder).rewrite(found["repo"], found["base_sha"])

            @task(pool=BIGQUERY_POOL, multiple_outputs=False)
            def validate(rewritten: dict) -> dict:
                _skip_if_settled(rewritten)
                return _steps(folder).validate(rewritten["repo"], rewritten["base_sha"])

            @task(pool=GITHUB_POOL, multiple_outputs=False)
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

        @task(trigger_rule="all_done", multiple_outputs=False)
        def summary(repos: list[str]) -> dict:
            return _summarize(migration["id"], repos)

        repos = discover_consumers()
        per_repo.expand(repo=repos) >> summary(repos)
    return dag


def _discover(folder: str, params: dict) -> list[str]:
    """The explicit list, code search and lineage, merged and deduplicated; new repos
    enter the ledger as not started, unattributed lineage readers as needing attention
    (nobody knows their repo yet)."""
    from gaggle.discovery import discover

    from gaggle_airflow.connections import forge, ledger, lineage_for

    spec, book = _spec(folder), ledger()
    found = discover(spec, forge=forge(book.engine), lineage=lineage_for(spec))
    for note in found.notes:
        print("discovery:", note)
    wanted = {r.lower() for r in params["repos"]}
    consumers = [c for c in found.repos if not wanted or c.repo.lower() in wanted]
    known = {state.repo for state in book.states(spec.id)}
    for consumer in consumers:
        if consumer.repo not in known:
            book.record(spec.id, consumer.repo, "discovered", **consumer.ledger_fields())
    for reader in found.unattributed:
        book.record(
            spec.id,
            f"principal:{reader.principal}",
            "unattributed",
            {"jobs": reader.jobs},
            discovered_by="lineage",
            lineage_principals=reader.principal,
            lineage_last_read=reader.last_read,
            attention="reads the old tables; no repo is known for this principal",
        )
    print(f"{len(consumers)} consumer repos, {len(found.unattributed)} unattributed readers")
    return [c.repo for c in consumers]


def _within_map_length(repos: list[str]) -> list[str]:
    """More repos than Airflow maps fails the run at the hand-over with a bare 'too large to
    map'; say what to raise instead (the api-server enforces its own setting)."""
    from airflow.sdk.configuration import conf

    limit = conf.getint("core", "max_map_length", fallback=1024)
    if len(repos) > limit:
        raise AirflowFailException(
            f"{len(repos)} consumer repos, but Airflow maps at most {limit} "
            f"(core.max_map_length): set AIRFLOW__CORE__MAX_MAP_LENGTH above {len(repos)} on "
            "the api-server, scheduler and workers, or run subsets with the repos parameter"
        )
    return repos


def _summarize(migration_id: str, repos: list[str]) -> dict:
    """Every repo's outcome in this run, whatever happened to the others."""
    from gaggle.progress import counts_of

    if repos is None:  # discover_consumers failed: its log says why
        raise AirflowFailException("no consumer list: discover_consumers failed")
    from gaggle_airflow.connections import ledger

    states = {s.repo: s for s in ledger().states(migration_id)}
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


def checked_spec(folder: Path) -> dict:
    """The spec's id, title and guide, validated in full once per content: the DAG
    processor re-parses every file every few seconds, so later parses hash the folder
    and read the verdict instead of re-validating (a malformed spec is never cached)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    cache = _cache_dir() / f"spec-{digest.hexdigest()[:32]}.json"
    try:
        return json.loads(cache.read_text())
    except (OSError, ValueError):
        pass
    from gaggle.spec import load_migration

    migration = load_migration(folder)  # raises SpecError: the DAG file's import error
    header = {"id": migration.id, "title": migration.title, "guide_url": migration.guide_url}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(header))
        os.replace(temporary, cache)
    except OSError:
        pass  # a read-only home only costs the next parse its validation
    return header


def _cache_dir() -> Path:
    home = Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))
    return Path(os.environ.get("GAGGLE_CACHE_DIR", home / ".gaggle-cache"))


@functools.lru_cache(maxsize=64)
def _spec_at(folder: str, digest: str):
    from gaggle.spec import load_migration

    return load_migration(folder)


def _spec(folder: str):
    """The full spec for a task, loaded once per process per content (tasks of one
    process, e.g. under dag.test() or a Celery worker's pool, share it)."""
    stamp = "".join(
        f"{p}:{p.stat().st_mtime_ns}:{p.stat().st_size}"
        for p in sorted(Path(folder).rglob("*"))
        if p.is_file()
    )
    return _spec_at(folder, stamp)


def _skip_if_settled(previous: dict) -> None:
    if previous["status"] in SETTLED:
        raise AirflowSkipException(f"{previous['repo']}: {previous['status']}")


def _steps(folder: str):
    """The engine's steps for this task: the spec, ledger, forge and validator it needs,
    with the task's run id and map index kept beside each state it writes."""
    from gaggle.pipeline import Steps

    from gaggle_airflow.connections import forge, ledger, llm_settings

    context = get_current_context()
    params = context["params"]
    spec = _spec(folder)
    book = ledger()
    trace = {"dag_run_id": context["run_id"], "map_index": context["ti"].map_index}
    validator = _validator_for(folder, params["backend"])
    return Steps(
        forge(book.engine), spec, book, validator, trace=trace,
        llm=llm_settings(params["use_llm"]), run_id=context["run_id"],
    )  # fmt: skip


@functools.lru_cache(maxsize=16)
def _validator_for(folder: str, backend: str):
    return _validator(_spec(folder), backend)


def _validator(spec, backend: str):
    from gaggle.validation.offline import OfflineValidator
    from gaggle.validation.repo import EquivalenceValidator

    if backend == "bigquery":
        from gaggle_airflow.connections import bigquery_validator

        return bigquery_validator()
    offline = OfflineValidator(spec.catalog)
    return EquivalenceValidator(spec, offline) if backend == "equivalence" else offline
