"""A real distributed deployment: Airflow with the CeleryExecutor on Postgres and Redis.

Separate processes (api-server, scheduler, dag-processor, triggerer, two Celery
workers) run the demo migration's DAG over a small fleet on the local forge; the run
is triggered and watched through Airflow's REST API only. Then the ledger rows in
Postgres and the PRs in the forge must agree, and both workers must have run tasks.
Depends on the DAG id, the run's state, the ledger, the forge and task-instance
hostnames, never on task ids.

Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust) and Redis at
127.0.0.1:6379; without them it skips, unless GAGGLE_REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import os
import time

import pytest

from tests.deploy.cluster import Cluster, missing_services

# Start-up, the run (bounded by wait_for_run's own limit, which reports the logs) and
# tear-down together can pass pytest's default 600 s on a loaded 2-core machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

FLEET_REPOS = 5


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    missing = missing_services()
    if missing:
        reason = "; ".join(missing)
        if os.environ.get("GAGGLE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"the Celery deployment test needs its servers: {reason}")
        pytest.skip(
            f"NOT TESTED: the distributed Celery deployment ({reason}); "
            "GAGGLE_REQUIRE_SERVICES=1 makes this a failure"
        )
    cluster = Cluster(tmp_path_factory.mktemp("cluster"), repos=FLEET_REPOS)
    try:
        try:
            cluster.start()
        except Exception as err:
            pytest.fail(f"the cluster did not start: {err}\n{cluster.log_tails()}")
        yield cluster
    finally:
        cluster.stop()  # every process group it started, its databases, its Redis db


def test_the_demo_migration_runs_across_two_celery_workers(cluster):
    started = time.monotonic()
    run_id = cluster.trigger()
    try:
        state = cluster.wait_for_run(run_id, timeout=420)
    except (TimeoutError, RuntimeError) as err:
        pytest.fail(f"{err}\n{cluster.log_tails()}")
    elapsed = time.monotonic() - started
    instances = cluster.task_instances(run_id)
    table = "\n".join(
        f"{ti['task_id']}[{ti['map_index']}] {ti['state']} on {ti['hostname'] or '-'}"
        for ti in instances
    )
    assert state == "success", f"run {run_id} {state}:\n{table}\n{cluster.log_tails()}"
    print(f"run {run_id}: {len(instances)} task instances in {elapsed:.1f} s")

    # The ledger in Postgres has one row per fleet repo, none failed.
    states = {s.repo: s for s in cluster.ledger().states(cluster.migration)}
    assert sorted(states) == cluster.fleet, table
    assert not {r: s.last_error for r, s in states.items() if s.last_error or s.status == "failed"}

    # The forge has at most one PR per repo, and the ledger knows each one.
    forge = cluster.forge()
    records = {repo: list(forge.records(repo).values()) for repo in cluster.fleet}
    assert all(len(prs) <= 1 for prs in records.values()), records
    opened = {repo: prs[0] for repo, prs in records.items() if prs}
    assert opened, "the run opened no PR"
    assert {repo: pr["state"] for repo, pr in opened.items()} == dict.fromkeys(opened, "open")
    assert {repo: states[repo].pr_number for repo in opened} == {
        repo: pr["number"] for repo, pr in opened.items()
    }
    assert all(states[repo].pr_number is None for repo in cluster.fleet if repo not in opened)

    # Both workers ran task instances, and nothing ran anywhere else.
    hosts = {ti["hostname"] for ti in instances if ti["hostname"]}
    assert hosts == set(cluster.worker_names), table
