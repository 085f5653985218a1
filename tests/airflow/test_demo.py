"""`make demo` end to end, on a smaller fleet: the migration DAG and the sweep through
Airflow, a reviewer's merges and a close, then the status table and the reports."""

from __future__ import annotations

import os
import re
import subprocess
import sys

READ_LOG = """
from airflow.models import TaskInstance
from airflow.utils.log.log_reader import TaskLogReader
from airflow.utils.session import create_session
with create_session() as session:
    ti = session.query(TaskInstance).filter_by(
        dag_id="migrate_users_v2", task_id="per_repo.find_references", map_index=0).one()
    stream, _ = TaskLogReader().read_log_chunks(ti, ti.try_number, {})
    print("\\n".join(str(getattr(line, "event", line)) for line in stream))
"""


def test_the_demo_runs_both_dags_and_prints_the_status(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    result = subprocess.run(
        [sys.executable, "-m", "gaggle_airflow.demo", "--out", "demo", "--repos", "8"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert "Demo fleet: 8 consumer repos on the local forge at demo/forge" in out
    assert re.search(r"migrate_users_v2: success in \d+ s \(log: demo/logs/migrate.log\)", out)
    assert re.search(r"gaggle_status_sweep: success in \d+ s", out)
    merged = re.findall(r"^  merged (\S+)$", out, re.MULTILINE)
    closed = re.findall(r"^  closed (\S+)$", out, re.MULTILINE)
    assert len(merged) == 5 and len(closed) == 1, out
    rows = dict(re.findall(r"^(acme/\S+)\s+(\S+)\s+#\d+", out, re.MULTILINE))
    assert rows[closed[0]] == "attention"
    assert {rows[repo] for repo in merged} <= {"done", "attention"}
    assert any(rows[repo] == "done" for repo in merged)
    summary = dict(re.findall(r"([a-z-]+): (\d+)", out.split("\n\n")[-2]))
    assert int(summary["done"]) == sum(1 for repo in merged if rows[repo] == "done"), summary
    assert (
        "await_merge shows Skipped for each repo with a PR: the demo stops waiting after 1 s" in out
    )
    # Each task's log is where `make airflow`'s UI reads it, labelled lines included.
    logs = tmp_path / "demo" / "airflow" / "logs" / "dag_id=migrate_users_v2"
    [run] = list(logs.iterdir())
    kept = sorted(run.glob("task_id=per_repo.find_references/map_index=*/attempt=1.log"))
    summary_log = (run / "task_id=summary" / "attempt=1.log").read_text()
    assert all(repo in summary_log for repo in rows)
    consumers = int(re.search(r"outcome of (\d+) repos", summary_log).group(1))
    assert len(kept) == consumers >= len(rows), kept
    assert all(re.search(r"acme/\S+: find_references", k.read_text()) for k in kept)
    assert (logs.parent / "dag_id=gaggle_status_sweep").is_dir()
    # ... and Airflow's own log reader (what the api-server answers the UI with) finds it.
    from gaggle_airflow.demo import demo_environment

    read = subprocess.run(
        [sys.executable, "-c", READ_LOG], env=demo_environment(tmp_path / "demo"),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert re.search(r"acme/\S+: find_references", read.stdout), (
        read.stdout[-2000:] + read.stderr[-2000:]
    )
    reports = tmp_path / "demo" / "reports" / "users_v2"
    assert "acme/" in (reports / "status.md").read_text()
    assert (reports / "status.html").read_text().lstrip().lower().startswith("<!doctype html")


def test_make_airflow_on_another_port_moves_the_execution_api_with_it():
    from gaggle_airflow.demo import ui_settings

    assert ui_settings(8081) == {
        "AIRFLOW__API__PORT": "8081",
        "AIRFLOW__API__BASE_URL": "http://127.0.0.1:8081",  # tasks: {base}/execution/
    }
