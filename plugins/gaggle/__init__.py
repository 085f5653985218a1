"""gaggle: migrate every downstream consumer of a deprecated BigQuery table.

The engine is plain Python and never imports Airflow, so it runs the same under
the CLI, the tests and the DAG tasks.
"""

__version__ = "0.1.0"
