"""The migration dashboard: a FastAPI app the Airflow api-server serves (see
plugins/gaggle_dashboard.py), reading the ledger. Pages and a JSON API over the same
read model (`gaggle_ui.data`); progress buckets come only from `gaggle.progress`."""
