"""Where the dashboard reads from: the ledger of the migrate_<id> DAGs, through the
same `gaggle_ledger` connection (or SQLite default) as the tasks."""

from gaggle_airflow.connections import LEDGER_CONN_ID, ledger, ledger_url, sqlalchemy_url

__all__ = ["LEDGER_CONN_ID", "ledger", "ledger_url", "sqlalchemy_url"]
