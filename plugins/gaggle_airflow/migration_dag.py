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

import contextlib
import functools
import hashlib
import json
import logging
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
REPO_PATTERN = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"  # owner/name, as GitHub allows them
MAX_PRS = 5000
BACKENDS = {
    "offline": "offline: parse and type-check against the spec's catalog (no credentials)",
    "equivalence": "equivalence: offline, then run old and new side by side in DuckDB",
    "bigquery": "bigquery: BigQuery dry runs (the gaggle_bigquery connection)",
}
# Each mapped instance of the per-repo steps is labelled by its repo (set by `repo_step`):
# the grid, the task header and "Recent Failed Task Logs" then read acme/ops-jobs-019.
REPO_LABEL = "{{ repo_label }}"
# The task logger: its lines reach the task log in order with Airflow's own (print()'s
# stdout is collected apart and can land after the traceback).
log = logging.getLogger("airflow.task")


def migration_dag(
    migration_id: str,
    migrations: Path = MIGRATIONS,
    *,
    owner: str = "",
    on_failure_callback=None,
    on_task_failure_callback=None,
) -> DAG:
    """The DAG of one migration folder; a malformed spec raises SpecError (an import error).

    `owner`: who runs the migration, shown in the DAG list (default GAGGLE_DAG_OWNER, else
    data-platform). Failure notifications are off unless given, the Airflow way: a
    notifier (e.g. a provider's SlackNotifier) or a callable taking the context, called
    once per failed run (`on_failure_callback`) or once per failed task, so per repo and
    step (`on_task_failure_callback`).
    """
    folder = str(migrations / migration_id)
    migration = checked_spec(Path(folder))
    task_defaults = {
        "owner": owner or os.environ.get("GAGGLE_DAG_OWNER", "data-platform"),
        "retries": int(os.environ.get("GAGGLE_TASK_RETRIES", 2)),
        "retry_delay": timedelta(seconds=float(os.environ.get("GAGGLE_RETRY_SECONDS", 30))),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
    }
    if on_task_failure_callback is not None:
        task_defaults["on_failure_callback"] = on_task_failure_callback
    with DAG(
        dag_id=f"migrate_{migration['id']}",
        description=migration["title"],
        schedule=None,
        catchup=False,
        tags=["gaggle", "dataset-migration"],
        doc_md=dag_doc(migration),
        default_args=task_defaults,
        on_failure_callback=on_failure_callback,
        params=trigger_params(),
        render_template_as_native_obj=True,
        max_active_tasks=int(os.environ.get("GAGGLE_MAX_ACTIVE_TASKS", 32)),
    ) as dag:

        @task(pool=GITHUB_POOL, execution_timeout=timedelta(hours=2), doc_md=DISCOVER_DOC)
        def discover_consumers() -> list[str]:
            return _within_map_length(_discover(folder, get_current_context()["params"]))

        @task_group
        def per_repo(repo: str):
            # multiple_outputs=False: a `-> dict` task would also push each key as an XCom
            # of its own, one API round trip each, for values nothing reads.
            # map_index_template: each mapped instance reads as its repo in the grid, the
            # task header and the failed-task lists (the step sets `repo_label`).
            mapped = {"multiple_outputs": False, "map_index_template": REPO_LABEL}

            @task(pool=GITHUB_POOL, doc_md=STEP_DOCS["find_references"], **mapped)
            def find_references(repo: str) -> dict:
                with repo_step("find_references", repo, folder) as steps:
                    return steps().find_references(repo)

            @task(doc_md=STEP_DOCS["rewrite"], **mapped)
            def rewrite(found: dict) -> dict:
                with repo_step("rewrite", found["repo"], folder) as steps:
                    _skip_if_settled(found)
                    return steps().rewrite(found["repo"], found["base_sha"])

            @task(pool=BIGQUERY_POOL, doc_md=STEP_DOCS["validate"], **mapped)
            def validate(rewritten: dict) -> dict:
                with repo_step("validate", rewritten["repo"], folder) as steps:
                    _skip_if_settled(rewritten)
                    return steps().validate(rewritten["repo"], rewritten["base_sha"])

            @task(pool=GITHUB_POOL, doc_md=STEP_DOCS["open_pr"], **mapped)
            def open_pr(validated: dict) -> dict:
                context = get_current_context()
                params = context["params"]
                with repo_step("open_pr", validated["repo"], folder) as steps:
                    return steps().open_pr(
                        validated["repo"],
                        validated["base_sha"],
                        dry_run=params["dry_run"],
                        run_id=context["run_id"],
                        max_prs=params["max_prs"],
                    )

            @task.sensor(
                pool=GITHUB_POOL,
                mode="reschedule",  # between pokes the task holds no worker slot
                poke_interval=float(os.environ.get("GAGGLE_MERGE_POKE_SECONDS", 600)),
                timeout=merge_timeout(),
                exponential_backoff=True,
                soft_fail=True,  # still open at the timeout: skipped; the nightly sweep goes on
                doc_md=STEP_DOCS["await_merge"],
                map_index_template=REPO_LABEL,
            )
            def await_merge(opened: dict) -> PokeReturnValue:
                with repo_step("await_merge", opened["repo"], folder) as steps:
                    if opened["pr"] is None:
                        return PokeReturnValue(is_done=True, xcom_value=opened["status"])
                    state = steps().await_merge(opened["repo"])
                    if state == "open":
                        log.info(
                            "%s: PR #%s still open; next look in %s s, at most %s (then "
                            "Skipped: the nightly gaggle_status_sweep follows the PR)",
                            opened["repo"], opened["pr"], _poke_seconds(), _timeout_words(),
                        )  # fmt: skip
                    return PokeReturnValue(is_done=state != "open", xcom_value=state)

            return await_merge(open_pr(validate(rewrite(find_references(repo)))))

        @task(trigger_rule="all_done", multiple_outputs=False, doc_md=SUMMARY_DOC)
        def summary(repos: list[str]) -> dict:
            return _summarize(migration["id"], repos, get_current_context()["params"])

        repos = discover_consumers()
        per_repo.expand(repo=repos) >> summary(repos)
    return dag


def trigger_params() -> dict:
    """The trigger form: each field titled and explained; only the optional ones nullable."""
    return {
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Open no PR: each repo's diff goes to its open_pr task log and to the "
            "Migrations dashboard.",
        ),
        "repos": Param(
            None,
            type=["array", "null"],  # "null": optional, no red asterisk
            items={"type": "string", "pattern": REPO_PATTERN},
            uniqueItems=True,
            title="Only these repos",
            description="owner/name, one per line (e.g. acme/ops-jobs-019). Empty: every "
            "consumer discovered. A repo named here but not found among the consumers fails "
            "the run's summary, naming it.",
        ),
        "max_prs": Param(
            0,
            type="integer",
            minimum=0,
            maximum=MAX_PRS,
            title="At most this many new PRs",
            description=f"0 to {MAX_PRS}; 0: no cap. Repos past the cap end 'capped' and get "
            "their PR on a later run; existing PRs are always updated.",
        ),
        "backend": Param(
            "offline",
            # Airflow's dropdown always offers to clear the choice: cleared (null) means the
            # default, offline, so clearing can never break the run.
            type=["string", "null"],
            enum=[*BACKENDS, None],
            values_display={**BACKENDS, "null": "offline (the default)"},
            title="Validator",
            description="How each rewritten statement is checked before a PR opens.",
        ),
        "use_llm": Param(
            False,
            type="boolean",
            title="LLM fallback",
            description="Let Claude propose what the rules cannot rewrite (every proposal is "
            "verified). Needs the anthropic_default connection (API key in its password) or "
            "ANTHROPIC_API_KEY on the workers; without one, discover_consumers says so and "
            "the run goes on rules-only.",
        ),
    }


def dag_doc(migration: dict) -> str:
    """The DAG's page in the UI: what it does, its params, its steps, what the states mean."""
    return f"""\
# {migration["title"]}

Migrates every consumer repo of the deprecated tables onto their replacement: one
mapped group of tasks per repo, each instance labelled by its repo (`owner/name`).
Guide for the repo owners: <{migration["guide_url"]}>. Progress of every repo, its
diff and its decisions: the [Migrations dashboard](/plugin/gaggle) (**Browse >
Migrations**).

## Trigger parameters
- **Dry run**: no PR; each repo's diff goes to its `open_pr` log and the dashboard.
- **Only these repos**: `owner/name` per line; empty runs every consumer found. A repo
  named but not found fails `summary`, which names it.
- **At most this many new PRs**: 0 (no cap) to {MAX_PRS}; the rest end `capped`.
- **Validator**: offline (default), equivalence (DuckDB) or bigquery (dry runs, the
  `gaggle_bigquery` connection).
- **LLM fallback**: needs the `anthropic_default` connection or `ANTHROPIC_API_KEY`.

## Steps
1. `discover_consumers`: the spec's list, code search and lineage, merged.
2. Per repo (`per_repo`): `find_references` reads the default branch, `rewrite` edits
   exactly the references, `validate` checks every changed statement, `open_pr` opens
   or updates the one PR, `await_merge` watches it.
3. `summary`: every repo's outcome in a table, then the run fails if any repo failed.

## What the states mean
- **Skipped** in `rewrite`/`validate`/`open_pr`: nothing to change in that repo
  (no reference left, or its PR was closed as no longer needed).
- **Skipped** in `await_merge`: the PR was still open when the wait ended
  (`GAGGLE_MERGE_TIMEOUT_SECONDS`); the nightly `gaggle_status_sweep` follows it.
- **Failed**: the step raised; the first lines of its log name the repo, the step and
  the reason. Airflow retries it first; the ledger says `retrying` until the last try.
- **Up for retry**: that retry is pending.
- **decision** (dashboard): the PR is open and waits on a manual decision flagged in
  the files (a column with no equivalent); the PR body and the dashboard list them.
"""


DISCOVER_DOC = """Finds the consumer repos (the spec's list, code search, lineage) and hands
them to `per_repo`; with **Only these repos**, keeps those. Fails, saying what to raise,
when the repos outnumber `core.max_map_length`."""
STEP_DOCS = {
    "find_references": "Reads the repo's default branch once; no reference to the old "
    "tables: the repo is settled (`no-change-needed`) and its later steps are Skipped.",
    "rewrite": "Rewrites exactly the characters of each reference (comments, formatting, "
    "Jinja untouched); what it cannot do safely becomes a flag in the file.",
    "validate": "Checks every changed statement with the chosen validator; a failure "
    "blocks the PR and says file:line and why.",
    "open_pr": "Opens or updates the repo's one PR (a dry run only logs the diff); never "
    "a second PR, never reopens one a human closed.",
    "await_merge": "Watches the PR without holding a worker slot (reschedule mode). Skipped "
    "means the PR was still open when the wait ended; the nightly gaggle_status_sweep "
    "follows it from there.",
}
SUMMARY_DOC = """Every repo's outcome in this run as a table, and the progress counts. Fails
the run if a repo failed or a requested repo was not found (each named)."""


def merge_timeout() -> float:
    return float(os.environ.get("GAGGLE_MERGE_TIMEOUT_SECONDS", 60 * 60 * 24 * 60))


def _poke_seconds() -> float:
    return float(os.environ.get("GAGGLE_MERGE_POKE_SECONDS", 600))


def _timeout_words() -> str:
    seconds = merge_timeout()
    return f"{seconds / 86400:g} days" if seconds >= 86400 else f"{seconds:g} s"


@contextlib.contextmanager
def repo_step(step: str, repo: str, folder: str):
    """One step for one repo: the mapped instance labelled by the repo, and on failure
    one line naming repo, step and reason in the task log before Airflow's traceback.
    Yields a factory for the engine's steps, so even building them is covered."""
    context = get_current_context()
    context["repo_label"] = repo  # rendered by map_index_template
    ti = context["ti"]
    retrying = _will_retry(ti)
    log.info("%s: %s", repo, step)
    try:
        yield lambda: _steps(folder, retrying=retrying)
    except (AirflowSkipException, AirflowFailException):
        raise
    except Exception as err:
        then = (
            f"Airflow retries it (try {ti.try_number} of {ti.max_tries + 1})"
            if retrying
            else "no retry left: the repo is failed in the ledger"
        )
        log.error("%s failed in %s: %s; %s", repo, step, one_line(err), then)
        raise


def _will_retry(ti) -> bool:
    """Airflow runs this task again if it fails now (tries left)."""
    try:
        return int(ti.try_number) <= int(ti.max_tries)
    except (AttributeError, TypeError, ValueError):
        return False


def one_line(err: BaseException, limit: int = 300) -> str:
    text = " ".join(str(err).split()) or "(no message)"
    reason = f"{type(err).__name__}: {text}"
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


def _discover(folder: str, params: dict) -> list[str]:
    """The explicit list, code search and lineage, merged and deduplicated; new repos
    enter the ledger as not started, unattributed lineage readers as needing attention
    (nobody knows their repo yet)."""
    from gaggle.discovery import discover

    from gaggle_airflow.connections import forge, ledger, lineage_for

    requested = checked_repos(params.get("repos"))
    if params.get("use_llm"):
        _say_whether_the_llm_is_on()
    spec, book = _spec(folder), ledger()
    found = discover(spec, forge=forge(book.engine), lineage=lineage_for(spec))
    for note in found.notes:
        log.info("discovery: %s", note)
    wanted = {r.lower() for r in requested}
    consumers = [c for c in found.repos if not wanted or c.repo.lower() in wanted]
    missing = not_found(requested, [c.repo for c in consumers])
    if missing:
        log.warning(
            "%d requested repos are not among the consumers found (they do not exist, or "
            "no longer read the old tables): %s; summary will fail naming them",
            len(missing), ", ".join(missing),
        )  # fmt: skip
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
    log.info("%d consumer repos, %d unattributed readers", len(consumers), len(found.unattributed))
    return [c.repo for c in consumers]


def checked_repos(repos) -> list[str]:
    """The `repos` param as a list of owner/name; anything else fails the run naming every
    bad entry (the form's schema checks it too, but a run can be triggered without it)."""
    if repos in (None, ""):
        return []
    if not isinstance(repos, list):
        raise AirflowFailException(f"repos must be a list of owner/name, not {repos!r}")
    import re

    bad = [r for r in repos if not isinstance(r, str) or not re.match(REPO_PATTERN, r)]
    if bad:
        raise AirflowFailException(
            "repos: not owner/name: " + ", ".join(repr(r) for r in bad)
            + " (write each as owner/name, e.g. acme/ops-jobs-019)"
        )  # fmt: skip
    return repos


def not_found(requested: list[str], found: list[str]) -> list[str]:
    """The requested repos (as written) that are not among those found, case-insensitively."""
    have = {r.lower() for r in found}
    return [r for r in requested if r.lower() not in have]


def _say_whether_the_llm_is_on() -> None:
    from gaggle_airflow.connections import ANTHROPIC_CONN_ID, llm_settings

    if llm_settings(True).enabled:
        log.info("LLM fallback on (%s)", ANTHROPIC_CONN_ID)
    else:
        log.warning(
            "LLM fallback asked for, but OFF for this run: no %s connection with an API key "
            "in its password, and no ANTHROPIC_API_KEY on the workers. Add one (Admin > "
            "Connections) and trigger again; the run goes on with the rules only.",
            ANTHROPIC_CONN_ID,
        )


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


def _summarize(migration_id: str, repos: list[str], params: dict) -> dict:
    """Every repo's outcome in this run, whatever happened to the others; then fail naming
    every repo that failed and every requested repo that was not found."""
    from gaggle.progress import counts_of

    if repos is None:  # discover_consumers failed: its log says why
        raise AirflowFailException("no consumer list: discover_consumers failed")
    from gaggle_airflow.connections import ledger

    states = {s.repo: s for s in ledger().states(migration_id)}
    mine = [states[r] for r in repos if r in states]
    lines = [f"{'repo':<40}{'status':<20}{'PR':<8}last error"]
    for state in mine:
        pr = f"#{state.pr_number}" if state.pr_number else ""
        lines.append(f"{state.repo:<40}{state.status:<20}{pr:<8}{state.last_error[:100]}")
    log.info("outcome of %d repos:\n%s", len(mine), "\n".join(lines))
    counts = {k: v for k, v in counts_of(mine).items() if v}
    log.info("progress: %s", ", ".join(f"{k} {v}" for k, v in counts.items()) or "no repo")
    failed = [s.repo for s in mine if s.status == "failed"]
    missing = not_found(params.get("repos") or [], repos)
    problems = []
    if failed:  # the others went on; the run still says that some did not
        problems.append(f"{len(failed)} of {len(repos)} repos failed: {', '.join(failed[:20])}")
    if missing:
        problems.append(
            f"{len(missing)} requested repos not found among the consumers: " + ", ".join(missing)
        )
    if problems:
        raise AirflowFailException("; ".join(problems))
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


def _steps(folder: str, retrying: bool = False):
    """The engine's steps for this task: the spec, ledger, forge and validator it needs,
    with the task's run id and map index kept beside each state it writes. `retrying`:
    Airflow runs the task again if it fails, so a failure is recorded as `retrying`."""
    from gaggle.pipeline import Steps

    from gaggle_airflow.connections import forge, ledger, llm_settings

    context = get_current_context()
    params = context["params"]
    spec = _spec(folder)
    book = ledger()
    trace = {"dag_run_id": context["run_id"], "map_index": context["ti"].map_index}
    validator = _validator_for(folder, params["backend"] or "offline")
    return Steps(
        forge(book.engine), spec, book, validator, trace=trace, log=log.info,
        llm=llm_settings(params["use_llm"]), run_id=context["run_id"], retrying=retrying,
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
