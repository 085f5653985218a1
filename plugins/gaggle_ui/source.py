"""Where the dashboard reads from: the ledger of the migrate_<id> DAGs."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from gaggle.ledger import Ledger

LEDGER_CONN_ID = "gaggle_ledger"
_LEDGERS: dict[str, Ledger] = {}
_LOCK = threading.Lock()


# TODO(lead): use the shared ledger() once moved (gaggle_airflow.migration_dag._ledger today).
def ledger_url() -> str:
    """The `gaggle_ledger` connection if defined, else SQLite under AIRFLOW_HOME."""
    try:
        from airflow.sdk import BaseHook

        uri = BaseHook.get_connection(LEDGER_CONN_ID).get_uri()
    except Exception:  # no such connection (the error type varies by Airflow context)
        home = Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))
        return f"sqlite:///{home / 'gaggle_ledger.db'}"
    return sqlalchemy_url(uri)


def sqlalchemy_url(uri: str) -> str:
    """Airflow writes a Postgres connection as postgres://, a scheme SQLAlchemy 2 dropped;
    the driver installed is psycopg 3."""
    scheme, sep, rest = uri.partition("://")
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg{sep}{rest}"
    return uri


def ledger() -> Ledger:
    """One Ledger (one engine, one pool) per URL for the life of the api-server."""
    url = ledger_url()
    with _LOCK:
        found = _LEDGERS.get(url)
        if found is None:
            found = _LEDGERS[url] = Ledger(url)
            found.migrate()  # an empty ledger shows an empty dashboard, not an error
    return found
