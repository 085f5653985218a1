"""End to end: a real `airflow api-server` loads the plugin, Airflow's own authentication
guards it, and a real headless Chromium (Debian's, driven by playwright) logs in through
Airflow's login page, reads the dashboard like a person, filters the table, opens a repo.
Then, with a scheduler and a DAG processor beside it, a person triggers a dry run for two
repos from the trigger form, reads the grid's mapped tasks by their repo, opens the
dashboard in Airflow's sandboxed frame, follows a task-log link and a PR link from it,
and switches Airflow to dark mode. Screenshots go to build/ui/ (docs/ has copies).

Every wait has a deadline made for a loaded 2-core machine (SLOW_MS), and waits on a
condition (a URL, an element, a run's state), never on a fixed pause.

Set-up installs Debian's chromium when it is missing (as root, with apt-get). Without it,
the tests fail under GAGGLE_REQUIRE_SERVICES=1 (CI) and skip loudly otherwise.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from gaggle.ledger import Ledger
from gaggle.progress import BUCKETS

from tests.conftest import ROOT
from tests.ui.demo import EQUIVALENCE_REPO

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
# As on this machine kind's notes: without the background-networking flags Chromium keeps
# dialling Google's hosts, which the closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USERS = {"admin": ("admin", "admin-pw"), "viewer": ("viewer", "viewer-pw")}
SHOTS = ROOT / "build" / "ui"
SCREENSHOT = SHOTS / "dashboard.png"
# A deadline for one browser step: generous, because six jobs on two cores made a 30 s
# wait_for_url time out once; a step that works finishes long before it.
SLOW_MS = 180_000
RUN_DEADLINE_S = 900  # a dry run of two repos under a real scheduler, on a loaded machine


def _get(url: str, **kwargs) -> httpx.Response:
    """A request with the slow machine's deadline (httpx's default is 5 s)."""
    return httpx.get(url, **{"timeout": SLOW_MS / 1000, **kwargs})


def _post(url: str, **kwargs) -> httpx.Response:
    return httpx.post(url, **{"timeout": SLOW_MS / 1000, **kwargs})


def _unavailable(reason: str):
    if os.environ.get("GAGGLE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"GAGGLE_REQUIRE_SERVICES=1 and {reason}")
    warnings.warn(f"SKIPPING the dashboard's browser tests: {reason}", stacklevel=2)
    pytest.skip(f"SKIPPED (browser tests did not run): {reason}")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed here when missing (never `playwright install`)."""
    if not CHROMIUM.exists() and shutil.which("apt-get") and os.geteuid() == 0:
        for command in (["apt-get", "install", "-y", "chromium"], ["apt-get", "update"],
                        ["apt-get", "install", "-y", "chromium"]):  # fmt: skip
            subprocess.run(command, capture_output=True, timeout=900, check=False)
            if CHROMIUM.exists():
                break
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing and `apt-get install -y chromium` did not provide it")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed (requirements-dev.txt has it)")
    return str(CHROMIUM)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo):
    """`airflow api-server` on 127.0.0.1 with this repo's dags and plugins, a migrated
    metadata database, two simple-auth users, and a copy of the demo ledger where the DAG
    writes it (no gaggle_ledger connection: $AIRFLOW_HOME/gaggle_ledger.db)."""
    home = tmp_path_factory.mktemp("airflow-ui")
    port = _free_port()
    (home / "passwords.json").write_text(json.dumps({u: p for u, p in USERS.values()}))
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": "gaggle-dashboard-test-secret",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",  # tasks: {base}/execution/
        # For the scheduler of the trigger test: the demo's forge, no 60-day merge wait, no
        # retry, few worker processes, and its log server on a port of its own.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "false",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "GAGGLE_FORGE_ROOT": str(Path(sa.make_url(demo.url).database).parent / "forge"),
        "GAGGLE_MERGE_POKE_SECONDS": "1",
        "GAGGLE_MERGE_TIMEOUT_SECONDS": "1",
        "GAGGLE_TASK_RETRIES": "0",
    }
    env.pop("AIRFLOW_CONN_GAGGLE_LEDGER", None)  # the ledger under AIRFLOW_HOME, as the DAG's
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    shutil.copy(sa.make_url(demo.url).database, home / "gaggle_ledger.db")  # the demo's ledger
    demo = dataclasses.replace(demo, url=f"sqlite:///{home / 'gaggle_ledger.db'}")
    log = (home / "api-server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow", "api-server", "-H", "127.0.0.1", "-p", str(port),
         "-w", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if _get(f"{base}/api/v2/monitor/health", timeout=10).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "api-server did not start:\n" + (home / "api-server.log").read_text()[-5000:]
                )
            time.sleep(0.5)
        # Build the dashboard app now (the api-server builds it on the first request, a few
        # seconds of imports): the browser's first page then costs a page, not a start-up.
        warm = _get(
            f"{base}/gaggle/api/migrations",
            headers={"Authorization": f"Bearer {_token(base, 'viewer')}"},
            timeout=SLOW_MS / 1000,
        )
        assert warm.status_code == 200, warm.text
        yield {"base": base, "demo": demo, "home": home, "env": env, "port": port}
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the group this test started, by its id
        try:
            process.wait(timeout=5)  # it drains connections for up to ~8 s; no need
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def _token(base: str, user: str) -> str:
    username, password = USERS[user]
    response = _post(f"{base}/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


def test_the_api_server_registers_the_nav_entry_and_airflows_auth_guards_the_app(server):
    base, demo = server["base"], server["demo"]
    token = _token(base, "viewer")
    plugins = _get(f"{base}/api/v2/plugins", headers={"Authorization": f"Bearer {token}"})
    [plugin] = [p for p in plugins.json()["plugins"] if p["name"] == "gaggle_dashboard"]
    [view] = plugin["external_views"]
    assert (view["name"], view["href"], view["destination"], view["url_route"]) == (
        "Migrations", "/gaggle/", "nav", "gaggle"
    )  # fmt: skip
    assert [a["url_prefix"] for a in plugin["fastapi_apps"]] == ["/gaggle"]

    api = f"{base}/gaggle/api/migrations"
    assert _get(api).status_code == 401
    page = _get(f"{base}/gaggle/migrations/users_v2")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/auth/login?next=")
    assert _get(api, headers={"Authorization": "Bearer x.y.z"}).status_code == 403

    allowed = _get(api, headers={"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 200
    assert allowed.json()["migrations"][0]["counts"] == {b: demo.count(b) for b in BUCKETS}
    as_cookie = _get(api, cookies={"_token": token})  # how the UI's iframe calls it
    assert as_cookie.status_code == 200

    # Airflow's logout revokes the token; the dashboard refuses it from then on.
    _get(f"{base}/api/v2/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert _get(api, headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_a_person_logs_in_reads_the_dashboard_filters_and_opens_a_repo(server, chromium):
    from playwright.sync_api import sync_playwright

    base, demo = server["base"], server["demo"]
    ledger = Ledger(demo.url)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.set_default_timeout(SLOW_MS)
            page.goto(f"{base}/gaggle/")  # not logged in: Airflow's login page, then back
            page.get_by_label("Username").fill(USERS["viewer"][0])
            page.get_by_label("Password").fill(USERS["viewer"][1])
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/gaggle/")

            numbers = page.eval_on_selector_all(
                "a.num", "els => els.map(e => [e.dataset.bucket, e.querySelector('b').textContent])"
            )
            assert {b: int(n) for b, n in numbers} == {b: demo.count(b) for b in BUCKETS}
            chart = page.locator("svg.burndown")
            assert chart.get_attribute("data-days") == "10"
            assert chart.locator("circle.remaining-point").count() == 10
            assert chart.locator("rect[data-bucket]").count() > 10

            page.get_by_role(
                "link", name="Move consumers of core.users_v1 to core.users_v2"
            ).click()
            page.wait_for_url(f"{base}/gaggle/migrations/users_v2")
            rows = page.locator("#repos tbody tr")
            assert rows.count() == len(demo.expected)
            merged = next(r for r, b in demo.expected.items() if b == "merged")
            pr_link = page.locator(f'tr[data-repo="{merged}"] a.pr')
            assert pr_link.get_attribute("href") == ledger.get("users_v2", merged).pr_url

            page.get_by_label("search").fill("dbt")
            page.get_by_label("search").press("Enter")
            page.wait_for_url("**q=dbt**")
            dbt = sorted(r for r in demo.expected if "dbt" in r)
            assert (
                page.locator("#repos tbody tr").evaluate_all(
                    "rows => rows.map(r => r.dataset.repo)"
                )
                == dbt
            )
            page.get_by_label("bucket").select_option("decision")  # applies on change
            page.wait_for_url("**bucket=decision**")
            decided = [r for r in dbt if demo.expected[r] == "decision"]
            assert (
                page.locator("#repos tbody tr").evaluate_all(
                    "rows => rows.map(r => r.dataset.repo)"
                )
                == decided
            )
            assert page.locator("#matched").get_attribute("data-matched") == str(len(decided))

            page.goto(f"{base}/gaggle/migrations/users_v2/repos/{EQUIVALENCE_REPO}")
            assert page.locator("tr.decision").count() == len(demo.decisions(EQUIVALENCE_REPO))
            guide = page.locator("tr.decision a").first
            assert guide.get_attribute("href") == demo.guide_url
            rewrite_log = page.locator('a[data-task-id="per_repo.rewrite"]')
            assert rewrite_log.get_attribute("href").endswith(
                f"/tasks/per_repo.rewrite/mapped/{demo.map_index[EQUIVALENCE_REPO]}"
            )
            assert page.locator("pre.diff span.add").count() > 0

            # Where a person finds it: the nav entry opens the dashboard inside Airflow's UI.
            page.goto(f"{base}/")
            page.get_by_role("button", name="Browse").click()
            page.get_by_role("menuitem", name="Migrations").click()
            page.wait_for_url(f"{base}/plugin/gaggle**")
            frame = page.frame_locator("iframe")
            frame.locator("a.num").first.wait_for()
            assert frame.locator("a.num").count() == len(BUCKETS)
            frame.get_by_role("link", name="Move consumers of core.users_v1").click()
            frame.locator("#repos tbody tr").first.wait_for()
            frame.locator("svg.burndown").first.wait_for()
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
        finally:
            browser.close()
    assert SCREENSHOT.stat().st_size > 10_000


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    stream = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "airflow", *command],
        env=env, stdout=stream, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def _stop(process: subprocess.Popen) -> None:
    """The process group this test started, by its id."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def scheduler(server):
    """A scheduler (LocalExecutor) and a DAG processor beside the api-server, so a run
    triggered from the UI really runs; the DAGs are serialized before the test starts."""
    home, env = server["home"], server["env"]
    subprocess.run([sys.executable, "-m", "airflow", "pools", "import",
                    str(ROOT / "include" / "airflow" / "pools.json")],
                   env=env, check=True, capture_output=True, timeout=300)  # fmt: skip
    processes = [
        _start(["dag-processor"], env, home / "dag-processor.log"),
        _start(["scheduler"], env, home / "scheduler.log"),
    ]
    headers = {"Authorization": f"Bearer {_token(server['base'], 'admin')}"}
    try:
        deadline = time.monotonic() + SLOW_MS / 1000
        while True:
            found = _get(f"{server['base']}/api/v2/dags/migrate_users_v2", headers=headers)
            if found.status_code == 200:
                break
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError(
                    "the DAG processor did not serialize migrate_users_v2:\n"
                    + (home / "dag-processor.log").read_text()[-4000:]
                )
            time.sleep(1)
        yield {**server, "headers": headers}
    finally:
        for process in processes:
            _stop(process)


class _PullRequestPage(http.server.BaseHTTPRequestHandler):
    """Stands in for a code host's PR page (the demo's local forge links to file:// paths)."""

    def do_GET(self):
        body = f"<!doctype html><title>PR</title><h1>pull request {self.path}</h1>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def code_host():
    host = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PullRequestPage)
    thread = threading.Thread(target=host.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{host.server_address[1]}"
    host.shutdown()
    host.server_close()


def _finished_run(base: str, headers: dict, run_id: str) -> dict:
    deadline = time.monotonic() + RUN_DEADLINE_S
    while time.monotonic() < deadline:
        run = _get(f"{base}/api/v2/dags/migrate_users_v2/dagRuns/{quote(run_id, safe='')}",
                        headers=headers).json()  # fmt: skip
        if run.get("state") in ("success", "failed"):
            return run
        time.sleep(2)
    raise AssertionError(f"run {run_id} did not finish within {RUN_DEADLINE_S} s")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def test_a_person_triggers_a_dry_run_reads_the_grid_and_follows_links_from_the_dashboard(
    scheduler, chromium, code_host
):
    from playwright.sync_api import expect, sync_playwright

    base, demo, headers = scheduler["base"], scheduler["demo"], scheduler["headers"]
    ledger = Ledger(demo.url)
    chosen = sorted(r for r, b in demo.expected.items() if b in ("open", "decision"))[:2]
    merged = next(r for r, b in demo.expected.items() if b == "merged")
    pr_url = f"{code_host}/{merged}/pull/{ledger.get('users_v2', merged).pr_number}"
    ledger.record("users_v2", merged, "pr-merged", pr_url=pr_url)  # an http PR page to open
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(SLOW_MS)
            expect.set_options(timeout=SLOW_MS)
            page = context.new_page()
            page.goto(f"{base}/dags/migrate_users_v2")  # Airflow's login first
            page.get_by_label("Username").fill(USERS["admin"][0])
            page.get_by_label("Password").fill(USERS["admin"][1])
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/dags/migrate_users_v2**")

            # The trigger form: a dry run for two repos.
            page.get_by_role("button", name="Trigger").first.click()
            dialog = page.get_by_role("dialog")
            expect(dialog.get_by_text("Only these repos")).to_be_visible()
            expect(dialog.get_by_text("Validator")).to_be_visible()
            dialog.locator("#element_repos").fill("\n".join(chosen))
            dry_run = dialog.locator("input[name='element_dry_run']")  # a switch
            dry_run.locator("xpath=..").click()
            expect(dry_run).to_be_checked()
            _shot(page, "airflow-trigger.png")
            dialog.get_by_role("button", name="Trigger").last.click()
            expect(dialog).to_be_hidden()
            runs = _get(f"{base}/api/v2/dags/migrate_users_v2/dagRuns",
                             headers=headers).json()["dag_runs"]  # fmt: skip
            [run] = [r for r in runs if r["run_type"] == "manual"]
            assert run["conf"]["repos"] == chosen and run["conf"]["dry_run"] is True, run["conf"]
            finished = _finished_run(base, headers, run["dag_run_id"])
            assert finished["state"] == "success", finished
            for repo in chosen:
                assert ledger.get("users_v2", repo).status == "dry-run"

            # The grid: the mapped task's instances read as their repos.
            run_page = f"{base}/dags/migrate_users_v2/runs/{quote(run['dag_run_id'], safe='')}"
            page.goto(f"{run_page}/tasks/per_repo.open_pr/mapped")
            for repo in chosen:
                expect(page.get_by_text(repo, exact=True).first).to_be_visible()
            _shot(page, "airflow-mapped-tasks.png")

            # The dashboard in Airflow's frame: a task-log link opens Airflow's log page.
            repo = chosen[0]
            page.goto(f"{base}/plugin/gaggle")
            frame = page.frame_locator("iframe")
            frame.get_by_role("link", name="Move consumers of core.users_v1").click()
            frame.locator(f'tr[data-repo="{repo}"] a.repo').click()
            log_link = frame.locator('a[data-task-id="per_repo.open_pr"]')
            index = ledger.get("users_v2", repo).map_index
            assert log_link.get_attribute("href").endswith(
                f"/tasks/per_repo.open_pr/mapped/{index}"
            )
            _shot(page, "dashboard-repo.png")
            log_link.click()
            page.wait_for_url(f"{run_page}/tasks/per_repo.open_pr/mapped/{index}**")
            expect(page.get_by_text(f"dry run: {repo} would get this change").first).to_be_visible()
            _shot(page, "airflow-task-log.png")

            # A PR link opens the code host's page from Airflow's window.
            page.goto(f"{base}/plugin/gaggle")
            frame = page.frame_locator("iframe")
            frame.get_by_role("link", name="Move consumers of core.users_v1").click()
            with context.expect_page() as opened:
                frame.locator(f'tr[data-repo="{merged}"] a.pr').click()
            pull = opened.value
            pull.wait_for_load_state()
            assert pull.url == pr_url
            expect(pull.get_by_role("heading")).to_contain_text("pull request")
            pull.close()
            # A file:// PR (the local forge) cannot open from a web page: it is shown to copy.
            local = frame.locator("tr[data-repo] a.pr[href^='file:']").first
            local.click()
            expect(frame.locator(".copy-link input").first).to_have_value(
                local.get_attribute("href")
            )

            # Dark mode: Airflow's switch, and the dashboard in its frame follows.
            page.evaluate("localStorage.setItem('theme', 'dark')")
            page.reload()
            frame = page.frame_locator("iframe")
            expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b"))
            expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
            background = frame.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
            assert _is_dark(background), background
            frame.locator("svg.burndown").first.wait_for()
            _shot(page, "dashboard-dark.png")
            page.evaluate("localStorage.setItem('theme', 'light')")
            page.reload()
            expect(page.frame_locator("iframe").locator("html")).to_have_attribute(
                "data-theme", "light"
            )
        finally:
            browser.close()


def _is_dark(css_color: str) -> bool:
    """rgb(...) or oklch(...) with a low lightness."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", css_color)]
    if css_color.startswith("oklch"):
        return numbers[0] < 0.4
    return sum(numbers[:3]) / 3 < 100
