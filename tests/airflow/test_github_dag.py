"""migrate_users_v2 against GitHub: the DAG (dag.test in a child process) discovers the
consumers by code search and opens its PRs through PyGithub, all against the local GitHub
REST server, configured only through the `github_default` connection."""

from __future__ import annotations

import json

from gaggle.fleet import generate_fleet
from gaggle.ledger import Ledger

from tests.airflow.test_migration_dag import NAMED, _run, airflow_home  # noqa: F401
from tests.fakes.github_server import FakeGitHub


def test_the_dag_discovers_by_code_search_and_opens_prs_on_github(airflow_home, tmp_path):  # noqa: F811
    fleet = generate_fleet(tmp_path / "fleet", 5, seed=3, named=NAMED)
    with FakeGitHub() as server:
        for repo in fleet:
            files = {p: (repo.path / p).read_text() for p in repo.files}
            server.add_repo(repo.name, files)
        server.add_repo("acme/unrelated", {"sql/a.sql": "select 1 from `acme-prod.sales.orders`\n"})
        ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
        env = {
            **airflow_home,
            "GAGGLE_FORGE": "github",
            "AIRFLOW_CONN_GITHUB_DEFAULT": json.dumps(
                {"conn_type": "github", "host": server.endpoint, "password": "ghp_test"}
            ),
            "AIRFLOW_CONN_GAGGLE_LEDGER": ledger_url,
        }
        result = _run(env)
        assert "DAG-RUN-STATE success" in result.stdout, (
            result.stdout[-3000:] + result.stderr[-3000:]
        )
        states = {s.repo: s for s in Ledger(ledger_url).states("users_v2")}
        with_refs = {r.name for r in fleet if r.references_old_table}
        assert set(states) == with_refs  # found by code search; the unrelated repo is not
        for name in with_refs:
            pulls = server.pulls(name)
            assert len(pulls) == 1 and pulls[0]["head"]["ref"] == "data-migration/users-v2"
            assert states[name].pr_url == pulls[0]["html_url"]
            assert states[name].discovered_by.startswith(("code-search", "explicit"))
        assert server.pulls("acme/unrelated") == []
