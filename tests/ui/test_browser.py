"""End to end: a real `airflow api-server` loads the plugin, Airflow's own authentication
guards it, and a real headless Chromium (Debian's, driven by playwright) logs in through
Airflow's login page, reads the dashboard like a person, filters the table, opens a repo,
and saves the screenshot at build/ui/dashboard.png (docs/dashboard.png is a copy of one).

Set-up installs Debian's chromium when it is missing (as root, with apt-get). Without it,
the tests fail under GAGGLE_REQUIRE_SERVICES=1 (CI) and skip loudly otherwise.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

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
SCREENSHOT = ROOT / "build" / "ui" / "dashboard.png"


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
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
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
                if httpx.get(f"{base}/api/v2/monitor/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "api-server did not start:\n" + (home / "api-server.log").read_text()[-5000:]
                )
            time.sleep(0.5)
        yield {"base": base, "demo": demo, "home": home}
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
    response = httpx.post(f"{base}/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


def test_the_api_server_registers_the_nav_entry_and_airflows_auth_guards_the_app(server):
    base, demo = server["base"], server["demo"]
    token = _token(base, "viewer")
    plugins = httpx.get(f"{base}/api/v2/plugins", headers={"Authorization": f"Bearer {token}"})
    [plugin] = [p for p in plugins.json()["plugins"] if p["name"] == "gaggle_dashboard"]
    [view] = plugin["external_views"]
    assert (view["name"], view["href"], view["destination"], view["url_route"]) == (
        "Migrations", "/gaggle/", "nav", "gaggle"
    )  # fmt: skip
    assert [a["url_prefix"] for a in plugin["fastapi_apps"]] == ["/gaggle"]

    api = f"{base}/gaggle/api/migrations"
    assert httpx.get(api).status_code == 401
    page = httpx.get(f"{base}/gaggle/migrations/users_v2")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/auth/login?next=")
    assert httpx.get(api, headers={"Authorization": "Bearer x.y.z"}).status_code == 403

    allowed = httpx.get(api, headers={"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 200
    assert allowed.json()["migrations"][0]["counts"] == {b: demo.count(b) for b in BUCKETS}
    as_cookie = httpx.get(api, cookies={"_token": token})  # how the UI's iframe calls it
    assert as_cookie.status_code == 200

    # Airflow's logout revokes the token; the dashboard refuses it from then on.
    httpx.get(f"{base}/api/v2/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert httpx.get(api, headers={"Authorization": f"Bearer {token}"}).status_code == 403


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
            page.set_default_timeout(30_000)
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
            page.wait_for_url(f"{base}/plugin/gaggle")
            frame = page.frame_locator("iframe")
            frame.locator("a.num").first.wait_for()
            assert frame.locator("a.num").count() == len(BUCKETS)
            frame.get_by_role("link", name="Move consumers of core.users_v1").click()
            frame.locator("#repos tbody tr").first.wait_for()
            page.wait_for_timeout(500)  # let the frame paint before the picture
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
        finally:
            browser.close()
    assert SCREENSHOT.stat().st_size > 10_000
