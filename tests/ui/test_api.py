"""The dashboard's JSON API over a ledger the engine filled: the numbers are what was done
to each repo, filters and sorts select what they say, and nobody anonymous reads any of it."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from gaggle.progress import BUCKETS

from tests.ui.conftest import client_for
from tests.ui.demo import EQUIVALENCE_REPO, MISSING_REPO, RUN_ID

API = "/api/migrations"


def test_the_overview_counts_each_bucket_as_the_engine_and_reviewers_left_it(client, demo):
    [migration] = client.get(API).json()["migrations"]
    assert migration["id"] == "users_v2" and migration["dag_id"] == "migrate_users_v2"
    assert migration["counts"] == {b: demo.count(b) for b in BUCKETS}
    assert all(migration["counts"][b] >= 1 for b in BUCKETS)  # the demo reaches every bucket
    assert migration["total"] == len(demo.expected) == 13
    finished = demo.count("done") + demo.count("no-change-needed")
    assert migration["remaining"] == migration["total"] - finished
    assert migration["guide_url"] == demo.guide_url


def test_a_migration_carries_its_daily_snapshots_for_the_burndown(client, demo):
    migration = client.get(f"{API}/users_v2").json()
    days = [s["day"] for s in migration["snapshots"]]
    assert days == [d.isoformat() for d in demo.snapshot_days]
    counts = [s["counts"] for s in migration["snapshots"]]
    assert all(sum(c.values()) == migration["total"] for c in counts)
    assert counts[0]["not-started"] > counts[-1]["not-started"]
    assert counts[-1] == migration["counts"]  # the last snapshot is today's state


def _repos(client, query: str = "") -> dict:
    response = client.get(f"{API}/users_v2/repos?{query}")
    assert response.status_code == 200, response.text
    return response.json()


def test_filtering_by_bucket_returns_exactly_the_repos_in_it(client, demo):
    for bucket in BUCKETS:
        found = [r["repo"] for r in _repos(client, f"bucket={bucket}")["repos"]]
        assert found == sorted(r for r, b in demo.expected.items() if b == bucket), bucket
    both = _repos(client, "bucket=open&bucket=merged")
    same = _repos(client, "bucket=open,merged")
    expected = sorted(r for r, b in demo.expected.items() if b in ("open", "merged"))
    assert [r["repo"] for r in both["repos"]] == [r["repo"] for r in same["repos"]] == expected


def test_search_framework_ci_and_decision_filters(client, demo):
    dbt = _repos(client, "q=DBT")
    assert dbt["matched"] == len([r for r in demo.expected if "dbt" in r]) > 0
    scio = _repos(client, "framework=scio")["repos"]
    assert scio and all("scio" in r["frameworks"].split(",") for r in scio)
    failing_ci = _repos(client, "ci=failure")["repos"]
    assert [(r["ci_state"], r["review_state"]) for r in failing_ci] == [
        ("failure", "changes_requested")
    ]
    decided = _repos(client, "decisions=1")["repos"]
    assert decided and all(r["manual_decisions"] > 0 for r in decided)
    by_error = _repos(client, "q=FileNotFoundError")["repos"]
    assert [r["repo"] for r in by_error] == [MISSING_REPO]


def test_sorting_and_paging_cover_every_repo_once(client, demo):
    ranked = _repos(client, "sort=-decisions")["repos"]
    counts = [r["manual_decisions"] for r in ranked]
    assert counts == sorted(counts, reverse=True) and counts[0] > 0
    by_bucket = [r["bucket"] for r in _repos(client, "sort=bucket")["repos"]]
    assert by_bucket == sorted(by_bucket, key=BUCKETS.index)
    pages = [_repos(client, f"sort=repo&per_page=5&page={n}") for n in (1, 2, 3)]
    assert [p["pages"] for p in pages] == [3, 3, 3]
    seen = [r["repo"] for p in pages for r in p["repos"]]
    assert seen == sorted(demo.expected)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("bucket=almost-done", "bucket: 'almost-done' is not one of done, merged"),
        ("sort=stars", "sort: 'stars' is not one of repo, bucket"),
        ("page=0", "page: must be at least 1"),
        ("per_page=ten", "per_page: 'ten' is not a whole number"),
    ],
)
def test_a_bad_query_parameter_is_refused_with_what_is_allowed(client, query, message):
    response = client.get(f"{API}/users_v2/repos?{query}")
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_a_repo_has_its_diff_decisions_evidence_and_task_log_links(client, demo):
    repo = EQUIVALENCE_REPO
    detail = client.get(f"{API}/users_v2/repos/{repo}").json()
    run = demo.runs[repo]
    assert detail["repo"] == repo and detail["bucket"] == demo.expected[repo]
    assert detail["diff"] == run.diff and detail["diff"].startswith("--- a/")
    assert [(d["path"], d["line"], d["reason"]) for d in detail["decisions"]] == [
        (d["path"], d["line"], d["reason"]) for d in demo.decisions(repo)
    ]
    assert detail["decisions"] and all(
        d["guide_url"] == demo.guide_url for d in detail["decisions"]
    )
    assert detail["validation"]["backend"] == "equivalence"
    evidence = [e for s in detail["validation"]["statements"] for e in s["evidence"]]
    assert any(e.startswith("same ") and e.endswith(" rows in DuckDB") for e in evidence)
    run_path = f"/dags/migrate_users_v2/runs/{quote(RUN_ID, safe='')}"
    index = demo.map_index[repo]
    assert [link["url"] for link in detail["task_logs"]] == [run_path] + [
        f"{run_path}/tasks/per_repo.{step}/mapped/{index}"
        for step in ("find_references", "rewrite", "validate", "open_pr", "await_merge")
    ]
    assert [e["status"] for e in detail["events"]][:2] == ["verified", "pr-merged"]


def test_a_failed_repo_shows_its_error(client):
    detail = client.get(f"{API}/users_v2/repos/{MISSING_REPO}").json()
    assert detail["bucket"] == "failed" and detail["status"] == "failed"
    assert "FileNotFoundError" in detail["last_error"] and "vanished-repo" in detail["last_error"]


def test_unknown_migrations_and_repos_are_404(client):
    assert client.get(f"{API}/users_v9").status_code == 404
    assert client.get(f"{API}/users_v9/repos").status_code == 404
    missing = client.get(f"{API}/users_v2/repos/acme/nobody")
    assert missing.status_code == 404 and "acme/nobody" in missing.json()["detail"]


ROUTES = [API, f"{API}/users_v2", f"{API}/users_v2/repos", f"{API}/users_v2/repos/{MISSING_REPO}"]


@pytest.mark.parametrize("route", ROUTES)
def test_anonymous_callers_are_refused(demo, auth_manager, route):
    anonymous = client_for(demo.url, role="anonymous")
    response = anonymous.get(route)
    assert response.status_code == 401 and response.json() == {"detail": "Not authenticated"}
    forged = anonymous.get(route, headers={"Authorization": "Bearer not.a.jwt"})
    assert forged.status_code == 403 and forged.json() == {"detail": "Invalid JWT token"}
    anonymous.cookies.set("_token", "not.a.jwt")  # the Airflow UI's session cookie
    assert anonymous.get(route).status_code == 403


def test_a_user_without_a_role_may_read_no_migration(demo, auth_manager):
    nobody = client_for(demo.url, role=None)
    assert nobody.get(API).json() == {"migrations": []}
    refused = nobody.get(f"{API}/users_v2/repos")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "not allowed to read the DAG migrate_users_v2"


def test_the_burndowns_latest_point_follows_the_live_counts_not_the_last_sweep(demo, tmp_path):
    import shutil

    import sqlalchemy as sa
    from gaggle.ledger import Ledger

    from tests.ui.conftest import client_for

    copy = tmp_path / "ledger.db"
    shutil.copy(sa.make_url(demo.url).database, copy)
    ledger = Ledger(f"sqlite:///{copy}")
    moved = next(r for r, b in demo.expected.items() if b == "no-change-needed")
    ledger.record(demo.migration_id, moved, "failed", last_error="find_references: boom")
    migration = client_for(f"sqlite:///{copy}").get(f"{API}/users_v2").json()
    latest = migration["snapshots"][-1]
    assert latest["live"] and latest["day"] == demo.snapshot_days[-1].isoformat()
    assert latest["counts"] == migration["counts"]  # what the ledger says now
    stored = list(ledger.snapshots("users_v2").values())[-1]  # tonight's sweep wrote less
    assert latest["counts"]["failed"] == stored["failed"] + 1
    assert [s.get("live", False) for s in migration["snapshots"]] == [False] * 9 + [True]


def test_a_day_without_a_sweep_yet_still_ends_the_burndown_on_today():
    from datetime import date

    from gaggle_ui.data import burndown_points

    points = burndown_points({date(2026, 1, 1): {"open": 2}}, {"done": 2}, date(2026, 1, 3))
    assert [(p["day"], p["counts"]["open"], p["counts"]["done"]) for p in points] == [
        ("2026-01-01", 2, 0),
        ("2026-01-03", 0, 2),
    ]
    assert burndown_points({}, {"done": 2}) == []  # no sweep ever: no chart yet


def test_the_api_schema_and_docs_need_airflows_login_and_load_nothing_from_outside(
    client, demo, auth_manager
):
    anonymous = client_for(demo.url, role="anonymous")
    assert anonymous.get("/api/openapi.json").status_code == 401
    docs = anonymous.get("/api/docs", follow_redirects=False)
    assert docs.status_code == 303 and docs.headers["location"].startswith("/auth/login?next=")
    for fastapis_own in ("/docs", "/openapi.json", "/redoc", "/api/redoc"):
        assert anonymous.get(fastapis_own, follow_redirects=False).status_code in (303, 401, 404)

    schema = client.get("/api/openapi.json").json()
    assert "/api/migrations/{migration_id}/repos" in schema["paths"]
    page = client.get("/api/docs").text
    assert "<script src" not in page and "cdn" not in page.lower()
    assert "GET /api/migrations/{migration_id}/repos" in page
    assert 'href="/api/openapi.json"' in page
