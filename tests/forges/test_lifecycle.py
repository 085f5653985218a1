"""A story on the local forge: run, review, merge, re-run, hand-migrated orphan closed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gaggle.fleet import generate_fleet
from gaggle.forges.local import LocalForge
from gaggle.pipeline import run_repo
from gaggle.spec import load_migration
from gaggle.validation.offline import OfflineValidator

from tests.conftest import DEMO_MIGRATION

GAGGLE = Path(sys.executable).parent / "gaggle"
MIGRATION = load_migration(DEMO_MIGRATION)
VALIDATOR = OfflineValidator(MIGRATION.catalog)


def _forge(tmp_path: Path, repos: int = 6) -> LocalForge:
    fleet = generate_fleet(tmp_path, repos, seed=4)
    forge = LocalForge(tmp_path)
    for repo in fleet:
        forge.init_repo(repo.name)
    return forge


def test_run_merge_rerun_story(tmp_path: Path):
    forge = _forge(tmp_path)
    runs = {repo: run_repo(forge, repo, MIGRATION, VALIDATOR) for repo in forge.repos()}
    proposed = [r for r in runs.values() if r.proposal]
    assert proposed and all(r.status == "created" for r in proposed)
    untouched = [r for r in runs.values() if r.status == "no-change-needed"]
    assert len(proposed) + len(untouched) == len(runs)

    chosen = proposed[0]
    body = forge.records(chosen.repo)[MIGRATION.pull_request.branch]["body"]
    assert MIGRATION.guide_url in body and "### Validation" in body and "### How to revert" in body

    result = subprocess.run(
        [str(GAGGLE), "local", "merge", chosen.repo, "--root", str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert forge.pull_request(chosen.repo, MIGRATION.pull_request.branch).state == "merged"

    again = {repo: run_repo(forge, repo, MIGRATION, VALIDATOR) for repo in forge.repos()}
    assert again[chosen.repo].status == "no-change-needed"  # merged: nothing left to do
    for repo, run in again.items():
        if repo != chosen.repo and runs[repo].proposal:
            assert run.status == "unchanged"  # no second PR, no new commit


def test_a_repo_migrated_by_hand_gets_its_pr_closed_with_a_reason(tmp_path: Path):
    forge = _forge(tmp_path)
    repo = next(r for r in forge.repos() if run_repo(forge, r, MIGRATION, VALIDATOR).proposal)
    branch = MIGRATION.pull_request.branch
    path = forge.path(repo)
    subprocess.run(["git", "merge", "-q", "--squash", branch], cwd=path, check=True)
    subprocess.run(
        ["git", "-c", "user.name=dev", "-c", "user.email=d@x", "commit", "-qm", "by hand"],
        cwd=path, check=True,
    )  # fmt: skip
    run = run_repo(forge, repo, MIGRATION, VALIDATOR)
    assert run.status == "closed-orphan"
    record = forge.records(repo)[branch]
    assert record["state"] == "closed" and "no longer reads" in record["comments"][-1]


def test_dry_run_opens_nothing(tmp_path: Path):
    forge = _forge(tmp_path, repos=3)
    result = subprocess.run(
        [str(GAGGLE), "run", "--migration", str(DEMO_MIGRATION), "--root", str(tmp_path), "--dry-run"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "dry-run" in result.stdout and "+++ b/" in result.stdout
    assert all(not forge.records(repo) for repo in forge.repos())


def test_demo_command_runs_the_migration_over_a_local_fleet(tmp_path: Path):
    result = subprocess.run(
        [str(GAGGLE), "demo", "--out", str(tmp_path), "--repos", "6",
         "--migrations", str(DEMO_MIGRATION.parent)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "CREATE OR REPLACE VIEW `acme-prod.core.users_v1`" in result.stdout
    assert "repos" in result.stdout and "created" in result.stdout
    forge = LocalForge(tmp_path)
    assert len(forge.repos()) == 6
    assert sum(bool(forge.records(r)) for r in forge.repos()) >= 4


def test_a_pr_with_manual_decisions_is_a_draft_unless_configured_otherwise(tmp_path: Path):
    from dataclasses import replace

    forge = _forge(tmp_path, repos=8)
    drafts = {}
    for repo in forge.repos():
        run = run_repo(forge, repo, MIGRATION, VALIDATOR)
        if run.proposal:
            decided = any(
                str(f.reason) == "manual-column" for o in run.outcome.files for f in o.result.flags
            )
            drafts[repo] = (decided, run.proposal.pull_request.draft)
    assert any(decided for decided, _ in drafts.values())
    assert all(decided == draft for decided, draft in drafts.values())
    settings = replace(MIGRATION.pull_request, draft_while_decisions=False)
    eager = replace(MIGRATION, pull_request=settings)
    for repo in drafts:
        run = run_repo(forge, repo, eager, VALIDATOR)
        assert run.proposal.pull_request.draft is False


def test_one_repo_failing_never_stops_the_others_and_is_in_the_ledger(tmp_path: Path):
    import shutil

    from gaggle.ledger import Ledger

    forge = _forge(tmp_path, repos=5)
    broken = forge.repos()[1]
    shutil.rmtree(forge.path(broken) / ".git" / "objects")  # reading it now fails
    result = subprocess.run(
        [str(GAGGLE), "run", "--migration", str(DEMO_MIGRATION), "--root", str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"{broken}" in result.stdout and "failed" in result.stdout
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    states = {s.repo: s for s in ledger.states(MIGRATION.id)}
    assert set(states) == set(forge.repos())
    assert states[broken].status == "failed" and states[broken].last_error
    others = [s for repo, s in states.items() if repo != broken]
    assert all(s.status in ("created", "no-change-needed") for s in others)
    assert all(s.pr_number for s in others if s.status == "created")
