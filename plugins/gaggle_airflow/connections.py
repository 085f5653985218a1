"""Credentials from Airflow connections, turned into the engine's clients.

A BigQuery connection (`google_cloud_platform` type, like the Google provider's) holds
the project, the location and either a service-account key (`keyfile_dict`, a JSON
object or string) or nothing, in which case application default credentials apply.
`endpoint` (an extra) points the client at another API endpoint.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

from airflow.sdk import BaseHook
from gaggle.validation.bigquery import BigQueryValidator

BIGQUERY_CONN_ID = "gaggle_bigquery"


def bigquery_validator(conn_id: str = BIGQUERY_CONN_ID) -> BigQueryValidator:
    return BigQueryValidator.from_settings(*_bigquery_settings(conn_id))


def bigquery_client(conn_id: str = BIGQUERY_CONN_ID):
    """A google.cloud.bigquery client with the connection's project, location and key."""
    return bigquery_validator(conn_id).client


def lineage_for(migration, conn_id: str = BIGQUERY_CONN_ID):
    """BigQuery lineage for the migration when its spec turns lineage on and the
    connection exists; None otherwise (said in the task log)."""
    from airflow.exceptions import AirflowNotFoundException
    from gaggle.discovery import Lineage

    if not migration.consumers.lineage:
        return None
    try:
        client = bigquery_client(conn_id)
    except AirflowNotFoundException:
        logging.getLogger("airflow.task").warning(
            "lineage is on in the spec, but there is no %r connection: skipped", conn_id
        )
        return None
    return Lineage.for_migration(migration, client)


def _bigquery_settings(conn_id: str) -> tuple:
    connection = BaseHook.get_connection(conn_id)
    extra = connection.extra_dejson
    credentials = None
    key = extra.get("keyfile_dict") or extra.get("extra__google_cloud_platform__keyfile_dict")
    if key:
        from google.oauth2 import service_account

        info = json.loads(key) if isinstance(key, str) else key
        credentials = service_account.Credentials.from_service_account_info(info)
    elif extra.get("anonymous"):
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()
    project = extra.get("project") or extra.get("extra__google_cloud_platform__project")
    return project, extra.get("location"), extra.get("endpoint"), credentials


GITHUB_CONN_ID = "github_default"


def github_forge(conn_id: str = GITHUB_CONN_ID, **kwargs):
    """The github provider's conventions: the token in `password`, the API base URL (for
    Enterprise) in `host`; a GitHub App by the extras `app_id`, `installation_id` and
    `private_key` (or `key_path`)."""
    from gaggle.forges.github import (
        DEFAULT_BASE_URL,
        GitHubForge,
        app_private_key,
        auth_from_settings,
    )

    connection = BaseHook.get_connection(conn_id)
    extra = connection.extra_dejson
    auth = auth_from_settings(
        connection.password,
        extra.get("app_id"),
        app_private_key(extra),
        extra.get("installation_id"),
    )
    return GitHubForge(auth, connection.host or DEFAULT_BASE_URL, **kwargs)


LEDGER_CONN_ID = "gaggle_ledger"
_LEDGERS: dict = {}
_LEDGERS_LOCK = threading.Lock()


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))


_URLS: dict[tuple, tuple[float, str]] = {}
URL_SECONDS = 30.0  # an edited connection reaches a long-lived worker within this


def ledger_url(conn_id: str = LEDGER_CONN_ID) -> str:
    """The `gaggle_ledger` connection (Postgres when deployed), else SQLite under
    AIRFLOW_HOME. Every task asks; in a task each lookup is a round trip to the API
    server, so the answer is kept for URL_SECONDS per connection source."""
    key = (conn_id, os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}"), str(airflow_home()))
    now = time.monotonic()
    kept = _URLS.get(key)
    if kept is not None and now - kept[0] < URL_SECONDS:
        return kept[1]
    try:
        url = sqlalchemy_url(BaseHook.get_connection(conn_id).get_uri())
    except Exception:  # no such connection; the error type differs in tasks and servers
        url = f"sqlite:///{airflow_home() / 'gaggle_ledger.db'}"
    _URLS[key] = (now, url)
    return url


def sqlalchemy_url(uri: str) -> str:
    """Airflow writes a Postgres connection as postgres://, a scheme SQLAlchemy 2 dropped;
    the driver installed is psycopg 3."""
    scheme, sep, rest = uri.partition("://")
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg{sep}{rest}"
    return uri


def ledger(conn_id: str = LEDGER_CONN_ID):
    """The ledger, its schema brought up to date: one per URL per process (one engine,
    one pool, one schema check), shared by the tasks and the dashboard."""
    from gaggle.ledger import Ledger

    url = ledger_url(conn_id)
    with _LEDGERS_LOCK:
        found = _LEDGERS.get(url)
        if found is None:
            found = Ledger(url)
            found.migrate()
            _LEDGERS[url] = found
    return found


def forge(ledger_engine=None):
    """The code host: GitHub when GAGGLE_FORGE=github (the `github_default` connection,
    writes paced through the ledger database), else the local forge under
    GAGGLE_FORGE_ROOT (default AIRFLOW_HOME/forge)."""
    if os.environ.get("GAGGLE_FORGE", "local") == "github":
        from gaggle.forges.pacing import SqlPacer, code_search_pacer

        if ledger_engine is None:
            return github_forge()
        return github_forge(
            pacer=SqlPacer(ledger_engine), search_pacer=code_search_pacer(ledger_engine)
        )
    from gaggle.forges.local import LocalForge

    return LocalForge(Path(os.environ.get("GAGGLE_FORGE_ROOT", airflow_home() / "forge")))


ANTHROPIC_CONN_ID = "anthropic_default"


def llm_settings(use_llm: bool, conn_id: str = ANTHROPIC_CONN_ID):
    """The LLM fallback's settings: the environment (ANTHROPIC_API_KEY, GAGGLE_LLM_*),
    overridden by the `anthropic_default` connection when it exists (key in `password`,
    API URL in `host`, extras model, max_attempts, max_tokens, run_budget_usd, timeout_s,
    max_retries, temperature, prices). On only when the run asks and a key is known."""
    from dataclasses import replace

    from airflow.exceptions import AirflowNotFoundException
    from gaggle.llm import DEFAULT_PRICES, llm_settings_from_environment
    from gaggle.llm.settings import parse_prices

    settings = llm_settings_from_environment(os.environ)
    if not use_llm:  # off for this run: no connection lookup (a round trip per task)
        return replace(settings, enabled=False)
    try:
        connection = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        connection = None
    if connection is not None:
        extra = connection.extra_dejson
        numbers = {
            name: kind(extra[name])
            for name, kind in (
                ("max_attempts", int), ("max_tokens", int), ("run_budget_usd", float),
                ("timeout_s", float), ("max_retries", int), ("temperature", float),
            )
            if name in extra
        }  # fmt: skip
        host = connection.host or ""
        settings = replace(
            settings,
            api_key=connection.password or settings.api_key,
            base_url=(host if "://" in host else f"https://{host}") if host else settings.base_url,
            model=extra.get("model", settings.model),
            prices={**DEFAULT_PRICES, **parse_prices(extra.get("prices", ""), "prices extra")},
            **numbers,
        )
    return replace(settings, enabled=bool(use_llm and settings.api_key))
