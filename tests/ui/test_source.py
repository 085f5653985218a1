"""Where the dashboard reads: the gaggle_ledger connection, else SQLite under AIRFLOW_HOME."""

from __future__ import annotations

import sqlalchemy as sa
from gaggle_ui.source import ledger_url


def test_without_a_connection_the_ledger_is_sqlite_under_airflow_home(monkeypatch, tmp_path):
    monkeypatch.delenv("AIRFLOW_CONN_GAGGLE_LEDGER", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    assert ledger_url() == f"sqlite:///{tmp_path / 'gaggle_ledger.db'}"


def test_a_postgres_connection_becomes_a_url_sqlalchemy_can_open(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_GAGGLE_LEDGER", "postgresql://gaggle:pw@127.0.0.1:5432/ledger")
    url = ledger_url()
    assert url == "postgresql+psycopg://gaggle:pw@127.0.0.1:5432/ledger"
    assert sa.create_engine(url).dialect.driver == "psycopg"  # loads the dialect, no connect


def test_a_sqlite_connection_keeps_its_absolute_path(monkeypatch, tmp_path):
    path = tmp_path / "elsewhere.db"
    monkeypatch.setenv("AIRFLOW_CONN_GAGGLE_LEDGER", f"sqlite:///{path}")
    assert sa.make_url(ledger_url()).database == str(path)
