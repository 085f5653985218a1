"""migrate_users_v2: one DAG file per migration folder, so a malformed spec is this file's
import error alone."""

from gaggle_airflow.migration_dag import migration_dag

dag = migration_dag("users_v2")
