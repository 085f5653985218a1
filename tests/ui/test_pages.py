"""The dashboard's pages as a person reads them: the numbers, the chart, the PR links, the
table's filters, a repo's changes and decisions, and the login redirect."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, quote, urlparse

from fastapi import FastAPI
from fastapi.testclient import TestClient
from gaggle.ledger import Ledger
from gaggle.progress import BUCKETS

from tests.ui.conftest import client_for, user
from tests.ui.demo import EQUIVALENCE_REPO, MISSING_REPO


class _Elements(HTMLParser):
    """Every element's tag, attributes and own text, in document order."""

    VOID = frozenset(
        {"meta", "input", "br", "img", "link", "hr", "circle", "rect", "line", "polyline"}
    )

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict] = []
        self.open: list[dict] = []

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, **{k: v or "" for k, v in attrs}, "text": ""}
        self.found.append(element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.found.append({"tag": tag, **{k: v or "" for k, v in attrs}, "text": ""})

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for element in self.open:
            element["text"] += data


def elements(page: str, tag: str, **attrs) -> list[dict]:
    parser = _Elements()
    parser.feed(page)
    return [
        e
        for e in parser.found
        if e["tag"] == tag and all(e.get(k.replace("_", "-")) == v for k, v in attrs.items())
    ]


def test_the_overview_shows_each_buckets_number_and_the_burndown(client, demo):
    page = client.get("/").text
    numbers = {
        a["data-bucket"]: int(a["data-count"]) for a in elements(page, "a", **{"class": "num"})
    }
    assert numbers == {b: demo.count(b) for b in BUCKETS}
    [chart] = elements(page, "svg", **{"class": "burndown"})
    assert (
        chart["data-days"] == "10" and chart["data-last-day"] == demo.snapshot_days[-1].isoformat()
    )
    points = elements(page, "circle", **{"class": "remaining-point"})
    remaining = len(demo.expected) - demo.count("done") - demo.count("no-change-needed")
    assert int(points[-1]["data-remaining"]) == remaining and len(points) == 10
    segments = [r for r in elements(page, "rect") if r.get("data-day") == chart["data-last-day"]]
    assert {r["data-bucket"]: int(r["data-count"]) for r in segments} == {
        b: demo.count(b) for b in BUCKETS if demo.count(b)
    }
    assert not [s for s in elements(page, "script") if s.get("src")]  # no asset from anywhere
    assert not elements(page, "link")


def test_the_table_links_each_pr_and_filters_on_the_server(client, demo):
    page = client.get("/migrations/users_v2").text
    rows = elements(page, "tr")
    listed = [r["data-repo"] for r in rows if "data-repo" in r]
    assert listed == sorted(demo.expected)
    ledger = Ledger(demo.url)
    links = {a["href"] for a in elements(page, "a", **{"class": "pr"})}
    expected = {s.pr_url for s in ledger.states("users_v2") if s.pr_url}
    assert links == expected and all(u.startswith("file://") for u in links)
    decided = client.get("/migrations/users_v2?bucket=decision&q=dbt").text
    shown = [r["data-repo"] for r in elements(decided, "tr") if "data-repo" in r]
    assert shown == sorted(r for r, b in demo.expected.items() if b == "decision" and "dbt" in r)
    [matched] = elements(decided, "span", id="matched")
    assert matched["data-matched"] == str(len(shown))


def test_column_headers_sort_and_the_pager_keeps_the_filters(client, demo):
    page = client.get("/migrations/users_v2?q=acme&per_page=4").text
    headers = {
        a["text"].strip(" ▲▼"): a["href"] for a in elements(page, "a") if "sort=" in a["href"]
    }
    assert parse_qs(urlparse(headers["Decisions"]).query)["sort"] == ["decisions"]
    [after] = elements(page, "a", rel="next")
    assert parse_qs(urlparse(after["href"]).query) == {
        "q": ["acme"], "per_page": ["4"], "page": ["2"]
    }  # fmt: skip
    again = client.get(headers["Decisions"].replace("sort=decisions", "sort=-decisions")).text
    first = next(r for r in elements(again, "tr") if "data-repo" in r)["data-repo"]
    assert len(demo.decisions(first)) == max(len(demo.decisions(r)) for r in demo.runs)


def test_a_repos_page_shows_changes_decisions_with_guide_links_evidence_and_logs(client, demo):
    page = client.get(f"/migrations/users_v2/repos/{EQUIVALENCE_REPO}").text
    decisions = elements(page, "tr", **{"class": "decision"})
    assert len(decisions) == len(demo.decisions(EQUIVALENCE_REPO)) > 0
    guides = [a["href"] for a in elements(page, "a") if a["text"] == "guide"]
    assert guides == [demo.guide_url] * len(decisions)
    added = [s["text"] for s in elements(page, "span", **{"class": "add"})]
    assert added and all(line.startswith("+") for line in added)
    assert any(
        "rows in DuckDB" in s["text"] for s in elements(page, "tr", **{"class": "statement"})
    )
    logs = {a["data-task-id"]: a for a in elements(page, "a") if "data-task-id" in a}
    assert logs["per_repo.rewrite"]["href"].endswith(
        f"/tasks/per_repo.rewrite/mapped/{demo.map_index[EQUIVALENCE_REPO]}"
    )
    # Inside Airflow's sandboxed frame a target=_top link is dead: these go through the
    # page's script to Airflow's router; the guide and PR links open from Airflow's window.
    assert all(a["data-nav"] == "airflow" and "target" not in a for a in logs.values())
    assert all(a["data-nav"] == "external" for a in elements(page, "a") if a["text"] == "guide")
    # The diff, compact: one section per file, titled by its path with its counts.
    files = elements(page, "details", **{"class": "file"})
    assert files and not any(
        s["text"].startswith(("--- a/", "+++ b/")) for s in elements(page, "span")
    )
    # History in words: a label per status (the raw value kept in data-status), no JSON.
    events = elements(page, "tr", **{"class": "event"})
    assert events and not any("{" in e["text"] for e in events)


def test_statuses_read_as_words_and_a_diff_splits_per_file():
    from gaggle_ui.pages import diff_files, status_label

    assert status_label("created") == "PR opened"
    assert status_label("retrying") == "Failed, Airflow retries"
    assert status_label("some-new-status") == "Some new status"
    diff = (
        "--- a/sql/a.sql\n+++ b/sql/a.sql\n@@ -1,2 +1,2 @@\n--- a comment that was removed\n"
        "+select 1\n--- a/b.sql\n+++ b/b.sql\n@@ -1 +1 @@\n-x\n+y\n"
    )
    [a, b] = diff_files(diff)
    assert (a["path"], a["added"], a["removed"]) == ("sql/a.sql", 1, 1)
    assert a["lines"][1] == "--- a comment that was removed"
    assert (b["path"], b["lines"]) == ("b.sql", ["@@ -1 +1 @@", "-x", "+y"])


def test_every_page_follows_airflows_light_or_dark_mode_and_links_its_api_docs(client):
    page = client.get("/").text
    assert ":root[data-theme=dark]" in page and "window.top.document.documentElement" in page
    [docs] = [a for a in elements(page, "a") if a["text"] == "API"]
    assert docs["href"] == "/api/docs"
    assert "https://" not in page.split("<main>")[0]  # nothing loaded from outside


def test_text_from_the_ledger_is_escaped(tmp_path, auth_manager):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = Ledger(url)
    ledger.migrate()
    ledger.record("users_v2", "acme/<b>bold</b>", "failed", last_error="<script>alert(1)</script>",
                  pr_number=1, pr_url="javascript:alert(1)", pr_state="open")  # fmt: skip
    client = client_for(url)
    table = client.get("/migrations/users_v2").text
    assert "<script>alert(1)" not in table and "&lt;script&gt;alert(1)" in table
    repo = client.get(f"/migrations/users_v2/repos/{quote('acme/<b>bold</b>')}").text
    assert "<b>bold</b>" not in repo and "acme/&lt;b&gt;bold&lt;/b&gt;" in repo
    assert "javascript:" not in table and "javascript:" not in repo


def test_anonymous_pages_redirect_to_airflows_login_and_come_back(demo, auth_manager):
    anonymous = client_for(demo.url, role="anonymous")
    for path in ("/", "/migrations/users_v2", f"/migrations/users_v2/repos/{MISSING_REPO}"):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        login = urlparse(response.headers["location"])
        assert login.path == "/auth/login"
        assert parse_qs(login.query)["next"] == [f"http://testserver{path}"]


def test_mounted_like_the_api_server_mounts_it_links_stay_under_the_prefix(demo, auth_manager):
    from gaggle_ui.app import create_app
    from gaggle_ui.auth import get_user

    ledger = Ledger(demo.url)
    dashboard = create_app(lambda: ledger)
    dashboard.dependency_overrides[get_user] = lambda: user("viewer")
    server = FastAPI()
    server.mount("/gaggle", dashboard)
    client = TestClient(server)
    page = client.get("/gaggle/migrations/users_v2").text
    repo_links = [a["href"] for a in elements(page, "a", **{"class": "repo"})]
    assert repo_links and all(
        h.startswith("/gaggle/migrations/users_v2/repos/acme/") for h in repo_links
    )
    assert client.get(repo_links[0]).status_code == 200
    detail = client.get(f"/gaggle/api/migrations/users_v2/repos/{EQUIVALENCE_REPO}").json()
    assert detail["task_logs"][0]["url"].startswith("/dags/migrate_users_v2/runs/")
