"""The nightly sweep on the local forge: PR states refreshed, merged repos verified by a
re-scan (and lineage), a revert reopens, idle PRs nudged once per interval, closed
ones marked for attention, the day's snapshot and the reports written."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from gaggle.fleet import generate_fleet
from gaggle.forges.local import LocalForge
from gaggle.ledger import Ledger
from gaggle.pipeline import run_repo
from gaggle.progress import bucket_of
from gaggle.spec import load_migration
from gaggle.status_report import Status, status_markdown, status_table, write_reports
from gaggle.sweep import SweepSettings, sweep_migration
from gaggle.validation.offline import OfflineValidator

from tests.conftest import DEMO_MIGRATION

MIGRATION = load_migration(DEMO_MIGRATION)
BRANCH = MIGRATION.pull_request.branch


@pytest.fixture
def campaign(tmp_path: Path):
    """Six repos run once: PRs open everywhere a change is needed."""
    forge = LocalForge(tmp_path / "forge")
    for repo in generate_fleet(tmp_path / "forge", 6, seed=4):
        forge.init_repo(repo.name)
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.migrate()
    validator = OfflineValidator(MIGRATION.catalog)
    runs = [run_repo(forge, r, MIGRATION, validator, ledger=ledger) for r in forge.repos()]
    with_pr = [run.repo for run in runs if run.proposal]
    assert len(with_pr) >= 4
    return forge, ledger, with_pr


def _commit(forge: LocalForge, repo: str, path: str, text: str) -> None:
    root = forge.path(repo)
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(text)
    env = {"GIT_AUTHOR_NAME": "dev", "GIT_AUTHOR_EMAIL": "d@x", "GIT_COMMITTER_NAME": "dev"}
    subprocess.run(["git", "add", path], cwd=root, check=True)
    subprocess.run(
        ["git", "commit", "-qm", "new query"], cwd=root, check=True,
        env={**env, "GIT_COMMITTER_EMAIL": "d@x", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def test_merged_is_done_only_after_the_rescan_and_a_new_reference_reopens(campaign):
    forge, ledger, with_pr = campaign
    merged, closed = with_pr[0], with_pr[1]
    forge.merge(merged, forge.pull_request(merged, BRANCH).number)
    forge.close(closed, forge.pull_request(closed, BRANCH).number, "not this quarter")
    assert bucket_of(ledger.get(MIGRATION.id, merged)) in ("open", "decision")  # not looked yet

    result = sweep_migration(forge, MIGRATION, ledger)
    assert result.verified == [merged]
    done = ledger.get(MIGRATION.id, merged)
    assert (bucket_of(done), done.pr_state, done.references_left) == ("done", "merged", 0)
    assert bucket_of(ledger.get(MIGRATION.id, closed)) == "attention"
    assert ledger.get(MIGRATION.id, closed).attention == "closed without merging"
    assert result.counts["done"] == 1 and result.counts["attention"] == 1

    _commit(forge, merged, "sql/late.sql", "select user_id from `acme-prod.core.users_v1`\n")
    again = sweep_migration(forge, MIGRATION, ledger)
    assert again.reopened == [merged]
    state = ledger.get(MIGRATION.id, merged)
    assert bucket_of(state) == "attention" and state.verified_at is None
    assert "sql/late.sql" in state.attention and state.references_left == 1


def test_a_recent_lineage_reader_keeps_a_merged_repo_from_done(campaign):
    forge, ledger, with_pr = campaign
    repo = with_pr[0]
    forge.merge(repo, forge.pull_request(repo, BRANCH).number)
    asked = []

    def lineage(name: str, days: int) -> list[str]:
        asked.append((name, days))
        return ["etl@acme.iam.gserviceaccount.com (last read 2026-11-20)"] if name == repo else []

    sweep_migration(forge, MIGRATION, ledger, SweepSettings(lineage_days=30), lineage=lineage)
    assert asked == [(repo, 30)]
    state = ledger.get(MIGRATION.id, repo)
    assert bucket_of(state) == "attention" and "etl@acme" in state.attention


def test_idle_prs_get_one_polite_nudge_per_interval(campaign):
    forge, ledger, with_pr = campaign
    settings = SweepSettings(nudge_after_days=5, nudge_every_days=7)
    now = datetime.now(UTC)
    assert sweep_migration(forge, MIGRATION, ledger, settings, now=now).nudged == []  # fresh PRs
    later = now + timedelta(days=6)
    assert sorted(sweep_migration(forge, MIGRATION, ledger, settings, now=later).nudged) == sorted(
        with_pr
    )
    # The next night: the nudge itself was activity, and the interval has not passed.
    assert (
        sweep_migration(forge, MIGRATION, ledger, settings, now=later + timedelta(1)).nudged == []
    )
    comments = forge.records(with_pr[0])[BRANCH]["comments"]
    assert len(comments) == 1 and MIGRATION.guide_url in comments[0] and "Hello" in comments[0]
    # Two intervals on, still idle: one more nudge.
    much_later = later + timedelta(days=14)
    assert len(sweep_migration(forge, MIGRATION, ledger, settings, now=much_later).nudged) == len(
        with_pr
    )
    assert len(forge.records(with_pr[0])[BRANCH]["comments"]) == 2


def test_snapshots_and_reports_tell_the_same_story(campaign, tmp_path):
    forge, ledger, with_pr = campaign
    forge.merge(with_pr[0], forge.pull_request(with_pr[0], BRANCH).number)
    day1 = datetime(2026, 11, 20, 2, tzinfo=UTC)
    sweep_migration(forge, MIGRATION, ledger, now=day1)
    forge.merge(with_pr[1], forge.pull_request(with_pr[1], BRANCH).number)
    day2 = day1 + timedelta(days=1)
    result = sweep_migration(forge, MIGRATION, ledger, now=day2)
    snapshots = ledger.snapshots(MIGRATION.id)
    assert [snapshots[d.date()]["done"] for d in (day1, day2)] == [1, 2]
    assert snapshots[day2.date()] == result.counts

    status = Status.read(MIGRATION, ledger, day2)
    paths = write_reports(status, tmp_path / "reports")
    assert sorted(p.name for p in paths) == ["status-2026-11-21.md", "status.html", "status.md"]
    markdown = (tmp_path / "reports" / "status.md").read_text()
    assert markdown == status_markdown(status)
    total = len(ledger.states(MIGRATION.id)) - result.counts["no-change-needed"]
    assert f"**2 of {total} consumers done**" in markdown
    assert "| 2026-11-20 |" in markdown and "| 2026-11-21 |" in markdown

    links = []

    class Links(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "a":
                links.append(dict(attrs)["href"])

    Links().feed((tmp_path / "reports" / "status.html").read_text())
    open_pr = ledger.get(MIGRATION.id, with_pr[2])
    assert open_pr.pr_url in links and MIGRATION.guide_url in links
    table = status_table(status)
    assert with_pr[0] in table and "done: 2" in table


def test_lineage_from_bigquery_jobs_keeps_a_repo_read_lately_from_done(campaign):
    from gaggle.discovery import Lineage, label_value
    from gaggle.sweep import lineage_check
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    from tests.fakes.bigquery_server import FakeBigQuery

    forge, ledger, with_pr = campaign
    still_read, clean = with_pr[0], with_pr[1]
    for repo in (still_read, clean):
        forge.merge(repo, forge.pull_request(repo, BRANCH).number)
    now = datetime.now(UTC)
    jobs = [
        {"user_email": "etl@acme.iam.gserviceaccount.com", "creation_time": now - timedelta(2),
         "referenced_tables": ["acme-prod.core.users_v1"],
         "labels": {"gaggle-repo": label_value(still_read)}},
        {"user_email": "etl@acme.iam.gserviceaccount.com", "creation_time": now - timedelta(40),
         "referenced_tables": ["acme-prod.core.users_v1"],
         "labels": {"gaggle-repo": label_value(clean)}},  # before the window
    ]  # fmt: skip
    with FakeBigQuery(MIGRATION.catalog) as server:
        server.add_jobs("acme-prod", "us", jobs)
        client = bigquery.Client(
            project="acme-prod", credentials=AnonymousCredentials(),
            client_options={"api_endpoint": server.endpoint},
        )  # fmt: skip
        check = lineage_check(Lineage.for_migration(MIGRATION, client), days=14)
        sweep_migration(forge, MIGRATION, ledger, SweepSettings(lineage_days=14), lineage=check)
    assert bucket_of(ledger.get(MIGRATION.id, clean)) == "done"
    state = ledger.get(MIGRATION.id, still_read)
    assert bucket_of(state) == "attention" and "etl@acme.iam.gserviceaccount.com (1 jobs" in (
        state.attention
    )


def test_a_reopened_repo_gets_a_follow_up_pr_and_is_done_once_that_merges(campaign):
    forge, ledger, with_pr = campaign
    repo = with_pr[0]
    forge.merge(repo, forge.pull_request(repo, BRANCH).number)
    sweep_migration(forge, MIGRATION, ledger)
    _commit(forge, repo, "sql/late.sql", "select user_id from `acme-prod.core.users_v1`\n")
    sweep_migration(forge, MIGRATION, ledger)
    assert bucket_of(ledger.get(MIGRATION.id, repo)) == "attention"

    run = run_repo(forge, repo, MIGRATION, OfflineValidator(MIGRATION.catalog), ledger=ledger)
    assert run.status == "created"
    state = ledger.get(MIGRATION.id, repo)
    assert state.branch == f"{BRANCH}-2" and bucket_of(state) in ("open", "decision")
    records = forge.records(repo)
    assert records[BRANCH]["state"] == "merged" and records[f"{BRANCH}-2"]["state"] == "open"
    assert records[f"{BRANCH}-2"]["title"].endswith("(follow-up)")
    again = run_repo(forge, repo, MIGRATION, OfflineValidator(MIGRATION.catalog), ledger=ledger)
    assert again.status == "unchanged" and len(forge.records(repo)) == 2  # no third PR

    forge.merge(repo, records[f"{BRANCH}-2"]["number"])
    sweep_migration(forge, MIGRATION, ledger)
    assert bucket_of(ledger.get(MIGRATION.id, repo)) == "done"


def test_one_repo_failing_is_recorded_and_the_sweep_goes_on(campaign):
    """Issue 18 item 3: a repo whose step raises (here its default branch cannot be read)
    is recorded for that repo; every repo after it is still swept."""
    forge, ledger, with_pr = campaign
    broken, healthy = sorted(with_pr)[:2]
    for repo in (broken, healthy):
        forge.merge(repo, forge.pull_request(repo, BRANCH).number)
    subprocess.run(
        ["git", "symbolic-ref", "HEAD", "refs/heads/gone"], cwd=forge.path(broken), check=True
    )
    result = sweep_migration(forge, MIGRATION, ledger, now=datetime.now(UTC))
    assert result.failed == [broken]
    assert healthy in result.verified and ledger.get(MIGRATION.id, healthy).status == "done"
    state = ledger.get(MIGRATION.id, broken)
    assert state.last_error.startswith("sweep: LocalForgeError") and state.attention
    assert state.status != "done"
    assert result.counts  # the day's snapshot was still written
