"""GitHub at fleet scale, measured against the local GitHub server: REST calls and writes
per new PR, per re-run with nothing to change, per merge check and per open PR in the
nightly sweep (each against its goal), how close the shared pacer runs to GitHub's
content-creation limit without tripping it, and what that projects to for 1,800 repos.

The pipeline runs as the DAG runs it: one step per task, each with a fresh forge (as each
Airflow task builds its own), the ledger between them. "Counted" calls are the ones
GitHub counts against the rate limit: a 304 answer to a conditional request is not.
"""

from __future__ import annotations

import math
import sys
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLEET = 1800  # the fleet the projection is for
PRIMARY_PER_HOUR = 5000  # REST requests an hour per token (GitHub's published limit)
WRITES_PER_HOUR = 500  # content-creating requests an hour (secondary limit)
GOALS = {"new_pr": 7, "rerun": 2, "merge_check": 1, "sweep": 4}
FILES = {
    "sql/daily.sql": "SELECT user_id, country\nFROM `acme-prod.core.users_v1`\n",
    "sql/weekly.sql": "SELECT email FROM `acme-prod.core.users_v1` WHERE region = 'EU'\n",
    "README.md": "jobs\n",
}


@dataclass
class Cost:
    calls: float
    counted: float
    writes: float


def main(repos: int = 20) -> None:
    sys.path.insert(0, str(ROOT))
    figures = fleet_figures(repos)
    for name, label in (
        ("new_pr", "new PR (open_pr step)"),
        ("rerun", "re-run, nothing to change (every step)"),
        ("merge_check", "merge check (a later poke)"),
        ("sweep", f"sweep, per open PR ({repos} open)"),
    ):
        cost = figures[name]
        verdict = "ok" if cost.calls <= GOALS[name] else "OVER"
        print(
            f"github {label}: {cost.calls:.1f} calls ({cost.counted:.1f} counted against the "
            f"rate limit), {cost.writes:.1f} writes; goal: at most {GOALS[name]} calls [{verdict}]"
        )
    again = figures["rerun_again"]
    print(
        f"github second re-run, nothing to change: {again.calls:.1f} calls ({again.counted:.1f} "
        "counted: unchanged answers are 304s)"
    )
    first = figures["first_run"]
    print(
        f"github first run, every step: {first.calls:.1f} calls, {first.writes:.1f} writes per "
        f"repo with a change"
    )
    project(figures)
    pacing()


def fleet_figures(repos: int) -> dict[str, Cost]:
    """Each figure is a per-repo (or per-PR) mean over `repos` repos, counted by the server."""
    import sqlalchemy as sa
    from gaggle.forges.github import GitHubForge
    from gaggle.forges.pacing import Limits, SqlPacer
    from gaggle.ledger import Ledger
    from gaggle.pipeline import Steps
    from gaggle.spec import load_migration
    from gaggle.sweep import sweep_migration
    from gaggle.validation.offline import OfflineValidator
    from github import Auth

    from tests.conftest import DEMO_MIGRATION
    from tests.fakes.github_server import FakeGitHub

    migration = load_migration(DEMO_MIGRATION)
    validator = OfflineValidator(migration.catalog)
    figures: dict[str, Cost] = {}
    with FakeGitHub() as server, tempfile.TemporaryDirectory() as tmp:
        engine = sa.create_engine(f"sqlite:///{tmp}/ledger.db")
        ledger = Ledger(engine)
        ledger.migrate()
        limits = Limits()  # GitHub's published limits, in simulated time

        def steps() -> Steps:
            pacer = SqlPacer(engine, limits=limits, clock=server.now, sleep=server.advance)
            forge = GitHubForge(Auth.Token("t"), server.endpoint, pacer, seconds_between_requests=0)
            return Steps(forge, migration, ledger, validator, log=lambda _: None)

        names = [f"acme/repo-{i:04d}" for i in range(repos)]
        for name in names:
            server.add_repo(name, FILES)

        def measure(work) -> Cost:
            calls, counted, writes = len(server.calls), server.counted, server.content_creating
            for name in names:
                work(name)
            return Cost(
                (len(server.calls) - calls) / repos,
                (server.counted - counted) / repos,
                (server.content_creating - writes) / repos,
            )

        shas: dict[str, str] = {}

        def until_validated(name: str) -> None:
            shas[name] = steps().find_references(name)["base_sha"]
            steps().rewrite(name, shas[name])
            steps().validate(name, shas[name])

        reads = measure(until_validated)
        opened = measure(lambda name: steps().open_pr(name, shas[name]))
        first_poke = measure(lambda name: steps().await_merge(name))
        figures["new_pr"] = opened
        figures["first_run"] = Cost(
            reads.calls + opened.calls + first_poke.calls,
            reads.counted + opened.counted + first_poke.counted,
            opened.writes,
        )

        def rerun(name: str) -> None:
            found = steps().find_references(name)
            sha = found["base_sha"]
            steps().rewrite(name, sha)
            steps().validate(name, sha)
            if steps().open_pr(name, sha)["pr"] is not None:
                steps().await_merge(name)

        figures["rerun"] = measure(rerun)
        figures["rerun_again"] = measure(rerun)  # every ETag kept: the steady state
        stale = timedelta(hours=1)  # later pokes: open_pr's reading is no longer fresh
        server.advance(stale.total_seconds())
        ledger.clock = lambda: server_clock(server)
        measure(lambda name: steps().await_merge(name))  # the first later poke keeps ETags
        figures["merge_check"] = measure(lambda name: steps().await_merge(name))
        sweep_forge = steps().forge
        sweep_migration(sweep_forge, migration, ledger)  # a first sweep keeps the ETags
        calls, counted = len(server.calls), server.counted
        sweep_migration(sweep_forge, migration, ledger)
        figures["sweep"] = Cost(
            (len(server.calls) - calls) / repos, (server.counted - counted) / repos, 0.0
        )
    return figures


def server_clock(server):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(server.now(), UTC)


def project(figures: dict[str, Cost]) -> None:
    """Hours for the fleet: the tighter of the primary budget (calls) and the secondary
    one (writes), for one token or App installation."""
    first = figures["first_run"]
    calls, writes = first.counted * FLEET, first.writes * FLEET
    hours = max(calls / PRIMARY_PER_HOUR, writes / WRITES_PER_HOUR)
    print(
        f"projection for {FLEET:,} repos, all needing a change: {calls:,.0f} counted calls and "
        f"{writes:,.0f} writes; at {PRIMARY_PER_HOUR:,} calls/h and {WRITES_PER_HOUR} writes/h "
        f"that is {hours:.1f} h (writes bind: {writes / WRITES_PER_HOUR:.1f} h)"
    )
    rerun = figures["rerun"].calls * FLEET
    sweep = figures["sweep"]
    print(
        f"projection: a no-change re-run {rerun:,.0f} calls ({rerun / PRIMARY_PER_HOUR:.2f} h of "
        f"budget); a nightly sweep {sweep.calls * FLEET:,.0f} calls, "
        f"{sweep.counted * FLEET:,.0f} counted ({sweep.counted * FLEET / PRIMARY_PER_HOUR:.2f} h); "
        f"one round of merge checks {figures['merge_check'].calls * FLEET:,.0f} calls, "
        f"{figures['merge_check'].counted * FLEET:,.0f} counted"
    )


def pacing(repos: int = 120) -> None:
    """How close the shared pacer runs to the content-creation limit without tripping it."""
    import sqlalchemy as sa
    from gaggle.forges.base import FileChange, Proposal
    from gaggle.forges.github import GitHubForge
    from gaggle.forges.pacing import Limits, SqlPacer
    from github import Auth

    from tests.fakes.github_server import FakeGitHub

    limits = Limits(per_minute=80, per_hour=500)
    with (
        FakeGitHub(writes_per_minute=80, writes_per_hour=500) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        names = [f"acme/repo-{i:04d}" for i in range(repos)]
        for name in names:
            server.add_repo(name, {"sql/a.sql": "SELECT country FROM core.users_v1\n"})
        pacer = SqlPacer(
            sa.create_engine(f"sqlite:///{tmp}/ledger.db"),
            limits=limits,
            clock=server.now,
            sleep=server.advance,  # simulated time: an hour of pacing runs in seconds
        )
        stamps: list[float] = []
        original = pacer.acquire

        def acquire() -> None:
            original()
            stamps.append(server.now())

        pacer.acquire = acquire
        forge = GitHubForge(Auth.Token("t"), server.endpoint, pacer, seconds_between_requests=0)
        for name in names:
            branch, sha = forge.default_branch(name)
            forge.read_files(name, sha)
            forge.propose(
                Proposal(name, "users_v2", "data-migration/users-v2", "t", "b",
                         (FileChange("sql/a.sql", "SELECT 1\n"),), ("dataset-migration",),
                         base_branch=branch, base_sha=sha)
            )  # fmt: skip
        peak_minute = max(sum(1 for t in stamps[i:] if t < s + 60) for i, s in enumerate(stamps))
        peak_hour = max(sum(1 for t in stamps[i:] if t < s + 3600) for i, s in enumerate(stamps))
        span = (stamps[-1] - stamps[0]) / 60 if len(stamps) > 1 else 0
    print(
        f"pacing: peak {peak_minute} writes in a minute (limit {limits.per_minute}), "
        f"{peak_hour} in an hour (limit {limits.per_hour}), {len(stamps)} writes over "
        f"{span:.0f} simulated minutes ({math.ceil(len(stamps) / limits.per_hour)} h of budget), "
        f"{server.secondary_limit_hits} secondary-limit answers"
    )


if __name__ == "__main__":
    main()
