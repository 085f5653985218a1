"""migrate_users_v2: one DAG file per migration folder, so a malformed spec is this file's
import error alone.

Failure notifications are off. To be told, pass a notifier (or any callable taking the
task context) the Airflow way, e.g. with the Slack provider installed:

    from airflow.providers.slack.notifications.slack import SlackNotifier
    dag = migration_dag(
        "users_v2",
        owner="data-platform",
        on_failure_callback=SlackNotifier(text="{{ dag.dag_id }}: run {{ run_id }} failed"),
        on_task_failure_callback=SlackNotifier(
            text="{{ ti.rendered_map_index }} failed in {{ ti.task_id }}"
        ),
    )

`on_failure_callback` fires once per failed run, `on_task_failure_callback` once per failed
task after its last retry (the repo is its rendered map index).
"""

from gaggle_airflow.migration_dag import migration_dag

dag = migration_dag("users_v2")
