"""A ledger filled by really running the engine over the demo fleet on the local forge,
then walking a few PRs through their life (merged, verified, closed by a human), one repo
that fails for real, one dry run, and ten days of snapshots. What every repo should show
is worked out here from what was done to it, independently of gaggle.progress."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from gaggle.fleet import generate_fleet
from gaggle.forges.local import LocalForge
from gaggle.ledger import Ledger
from gaggle.pipeline import RepoRun, run_repo
from gaggle.spec import load_migration
from gaggle.sql.report import DECISIONS
from gaggle.validation.offline import OfflineValidator
from gaggle.validation.repo import EquivalenceValidator

from tests.conftest import DEMO_MIGRATION

RUN_ID = "manual__2026-11-01T08:00:00+00:00"
MISSING_REPO = "acme/vanished-repo"  # discovered, then gone from the forge: a real failure
EQUIVALENCE_REPO = "acme/support-bq-002"  # validated in DuckDB too: evidence to show


@dataclass
class Demo:
    url: str
    migration_id: str
    guide_url: str
    expected: dict[str, str] = field(default_factory=dict)  # repo -> bucket
    runs: dict[str, RepoRun] = field(default_factory=dict)
    map_index: dict[str, int] = field(default_factory=dict)
    snapshot_days: list[date] = field(default_factory=list)

    def count(self, bucket: str) -> int:
        return sum(1 for b in self.expected.values() if b == bucket)

    def decisions(self, repo: str) -> list[dict]:
        outcome = self.runs[repo].outcome
        if outcome is None:
            return []
        return [
            {"path": f.path, "line": flag.line, "reason": str(flag.reason)}
            for f in outcome.files
            for flag in f.result.flags
            if str(flag.reason) in DECISIONS
        ]


def details_of(run: RepoRun, backend: str, guide_url: str) -> dict:
    """The `details` JSON the pipeline records for a repo (shape agreed for the ledger)."""
    return {
        "rewrite": run.outcome.to_dict() if run.outcome else {},
        "validation": {"backend": backend, "statements": [s.to_dict() for s in run.validations]},
        "diff": run.diff,
        "guide_url": guide_url,
    }


def build_demo(folder: Path, url: str, repos: int = 12, seed: int = 7) -> Demo:
    spec = load_migration(DEMO_MIGRATION)
    forge = LocalForge(folder / "forge")
    fleet = generate_fleet(folder / "forge", repos, seed=seed)
    for repo in fleet:
        forge.init_repo(repo.name)
    ledger = Ledger(url)
    ledger.migrate()
    demo = Demo(url, spec.id, spec.guide_url)
    offline = OfflineValidator(spec.catalog)
    names = [r.name for r in fleet]
    dry = names[-1]
    for index, name in enumerate([*names, MISSING_REPO]):
        demo.map_index[name] = index
        equivalence = name == EQUIVALENCE_REPO
        validator = EquivalenceValidator(spec, offline) if equivalence else offline
        try:
            run = run_repo(forge, name, spec, validator, dry_run=name == dry, ledger=ledger)
        except Exception:  # recorded as failed by the pipeline itself
            ledger.record(spec.id, name, "failed", dag_run_id=RUN_ID, map_index=index,
                          last_error=ledger.get(spec.id, name).last_error)  # fmt: skip
            demo.expected[name] = "failed"
            continue
        demo.runs[name] = run
        state = ledger.get(spec.id, name)
        extra = {"dag_run_id": RUN_ID, "map_index": index}  # what the DAG's tasks add
        if state.details in ("", "{}"):  # a pipeline that does not record details yet
            backend = "equivalence" if equivalence else "offline"
            extra["details"] = json.dumps(details_of(run, backend, spec.guide_url))
        ledger.record(spec.id, name, state.status, {"status": state.status}, **extra)
        pull = run.proposal.pull_request if run.proposal else None
        if pull is None:
            demo.expected[name] = (
                "no-change-needed" if run.status == "no-change-needed" else ("not-started")
            )
        else:
            decisions = sum(1 for f in run.outcome.files for g in f.result.flags
                            if str(g.reason) in DECISIONS)  # fmt: skip
            demo.expected[name] = "decision" if decisions else "open"
    opened = [n for n, b in demo.expected.items() if b in ("open", "decision")]
    merged, verified, closed, reviewed = opened[0], opened[1], opened[2], opened[3]
    for name in (merged, verified):  # a reviewer merges; await_merge records it
        forge.merge(name, demo.runs[name].proposal.pull_request.number)
        ledger.record(spec.id, name, "pr-merged", pr_state="merged")
        demo.expected[name] = "merged"
    now = datetime.now(UTC)
    ledger.record(spec.id, verified, "verified", verified_at=now, references_left=0)  # the sweep
    demo.expected[verified] = "done"
    forge.close(closed, demo.runs[closed].proposal.pull_request.number, "Not now.")
    ledger.record(spec.id, closed, "pr-closed", pr_state="closed", attention="closed unmerged")
    demo.expected[closed] = "attention"
    ledger.record(
        spec.id, reviewed, "created", ci_state="failure", review_state="changes_requested"
    )
    _snapshots(ledger, demo, days=10)
    return demo


def _snapshots(ledger: Ledger, demo: Demo, days: int) -> None:
    """Ten days of progress ending at today's state: repo k reaches its bucket on day
    (k+1)*(days-1)/n, and a PR that ends merged, done or closed was open two days first."""
    repos = sorted(demo.expected)
    today = date.today()
    for d in range(days):
        counts: dict[str, int] = {}
        for k, repo in enumerate(repos):
            arrives = -(-(k + 1) * (days - 1) // len(repos))
            final = demo.expected[repo]
            if d >= arrives:
                bucket = final
            elif d >= arrives - 2 and final in ("done", "merged", "attention"):
                bucket = "open"
            else:
                bucket = "not-started"
            counts[bucket] = counts.get(bucket, 0) + 1
        day = today - timedelta(days=days - 1 - d)
        ledger.write_snapshot(demo.migration_id, day, counts)
        demo.snapshot_days.append(day)
