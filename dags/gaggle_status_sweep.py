"""gaggle_status_sweep: the nightly status of every migration (see gaggle_airflow.sweep_dag)."""

from gaggle_airflow.sweep_dag import status_sweep_dag

dag = status_sweep_dag()
