"""GitHub code search through the real PyGithub against the local GitHub (its answers checked
against GitHub's OpenAPI description): split past the 1,000-result cap, paced to the code
search limit on a simulated clock, rate-limit answers waited out."""

from __future__ import annotations

import random

import pytest
import requests
import sqlalchemy as sa
from gaggle.discovery import DiscoveryError, parse_search_query, parse_size, split_range
from gaggle.forges.github import GitHubForge
from gaggle.forges.pacing import CODE_SEARCH, Limits, SqlPacer, code_search_pacer
from github import Auth

from tests.fakes import openapi
from tests.fakes.github_server import FakeGitHub

QUERY = "org:acme users_v1"


def _sql(rng: random.Random, n: int) -> str:
    """A SQL file reading users_v1, padded to a size spread over orders of magnitude."""
    padding = "-- " + "x" * int(10 ** rng.uniform(1, 4.3)) + "\n"
    return f"{padding}SELECT country FROM `acme-prod.core.users_v1` -- job {n}\n"


def _fleet(server: FakeGitHub, repos: int, files: int, seed: int = 3) -> dict[str, set[str]]:
    rng = random.Random(seed)
    expected = {}
    for r in range(repos):
        name = f"acme/consumer-{r:03d}"
        paths = {f"sql/job_{f:02d}.sql": _sql(rng, f) for f in range(files)}
        server.add_repo(name, {**paths, "README.md": "reads users_v2 only\n"})
        expected[name] = set(paths)
    server.add_repo("other/elsewhere", {"a.sql": "select * from core.users_v1\n"})
    return expected


def _pacer(server: FakeGitHub, tmp_path, limits: Limits = CODE_SEARCH) -> tuple[SqlPacer, list]:
    """The code search budget on the server's simulated clock: sleeping advances it."""
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        server.advance(seconds)

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    return SqlPacer(engine, "github.com:code-search", limits, server.now, sleep), slept


def _forge(server: FakeGitHub, pacer: SqlPacer) -> GitHubForge:
    return GitHubForge(
        Auth.Token("t"), server.endpoint, seconds_between_requests=0, search_pacer=pacer
    )


def _within(times: list[float], per_minute: int) -> bool:
    times = sorted(times)
    return all(sum(1 for t in times[i:] if t < start + 60) <= per_minute
               for i, start in enumerate(times))  # fmt: skip


def test_a_query_past_1000_results_is_split_by_size_and_finds_every_file(tmp_path):
    with FakeGitHub() as server:
        expected = _fleet(server, repos=60, files=25)  # 1,500 matching files
        pacer, slept = _pacer(server, tmp_path)
        forge = _forge(server, pacer)
        found = forge.search_code(QUERY)
        assert found == expected
        assert forge.search_notes == []
        searches = [r for r in server.responses if r[1] == "/search/code"]
        assert all(status == 200 for _, _, status, _ in searches)  # never past the cap
        assert searches[0][3]["total_count"] == 1500
        queries = [q["q"] for m, path, q, _ in server.requests if path == "/search/code"]
        assert queries[0] == "users_v1 org:acme"  # the query as given, then split by size
        assert all(q.startswith("users_v1 org:acme size:") for q in queries[1:])
        # Paced: never more than 10 in a simulated minute, so the limit never answered 403.
        assert server.code_search_limit_hits == 0
        assert _within(server.search_times, 10)
        assert len(server.search_times) == forge.search_calls > 10 and sum(slept) > 60
        assert server.errors == []


def test_a_query_under_the_cap_is_fetched_page_by_page_without_splitting(tmp_path):
    with FakeGitHub() as server:
        expected = _fleet(server, repos=9, files=25)  # 225 files: 3 pages of 100
        forge = _forge(server, _pacer(server, tmp_path)[0])
        assert forge.search_code(QUERY + " language:sql") == expected
        queries = [q for m, path, q, _ in server.requests if path == "/search/code"]
        assert [(q["page"], "size:" in q["q"]) for q in queries] == [
            ("1", False),
            ("2", False),
            ("3", False),
        ]
        assert forge.search_code('repo:acme/consumer-001 "job 7"') == {
            "acme/consumer-001": {"sql/job_07.sql"}
        }


def test_a_secondary_limit_with_retry_after_is_waited_out_and_shared(tmp_path):
    with FakeGitHub(secondary_retry_after_s=90) as server:
        expected = _fleet(server, repos=3, files=4)
        pacer, slept = _pacer(server, tmp_path)
        server.fail_next("GET", r"^/search/code$", "secondary")
        start = server.now()
        found = _forge(server, pacer).search_code(QUERY)
        assert found == expected
        assert server.secondary_limit_hits == 1
        statuses = [status for _, path, status, _ in server.responses if path == "/search/code"]
        assert statuses == [403, 200]
        first, retried = server.search_times
        assert retried - first >= 90 and slept  # the pause GitHub asked for, slept on the clock
        # ...kept in the shared database, so every worker on this budget waits it out too.
        with pacer.engine.connect() as conn:
            paused = conn.execute(sa.text("SELECT paused_until FROM gaggle_write_budget")).scalar()
        assert paused >= start + 90


def test_a_spent_code_search_bucket_is_waited_until_its_reset(tmp_path):
    with FakeGitHub() as server:
        _fleet(server, repos=2, files=2)
        # A budget looser than GitHub's: the server's own 10/min bucket runs out.
        pacer, slept = _pacer(server, tmp_path, Limits(per_minute=1000, per_hour=10000))
        forge = _forge(server, pacer)
        for n in range(12):
            assert forge.search_code(f'repo:acme/consumer-000 "job {n % 2}"') == {
                "acme/consumer-000": {f"sql/job_{n % 2:02d}.sql"}
            }
        assert server.code_search_limit_hits >= 1
        limited = [b for _, path, s, b in server.responses if path == "/search/code" and s == 403]
        assert limited and "API rate limit exceeded" in limited[0]["message"]
        assert max(slept) > 30  # waited for x-ratelimit-reset, not a blind retry


def test_search_answers_follow_githubs_openapi_description(tmp_path):
    openapi.require_spec()
    spec = openapi.load_spec()
    with FakeGitHub() as server:
        _fleet(server, repos=11, files=100)  # 1,100 files
        forge = _forge(server, _pacer(server, tmp_path)[0])
        forge.search_code("org:acme users_v1 size:<=400")
        past_cap = requests.get(
            f"{server.endpoint}/search/code",
            params={"q": QUERY, "per_page": 100, "page": 11},
            headers={"Authorization": "token t"},
            timeout=10,
        )
        assert past_cap.status_code == 422
        no_term = requests.get(
            f"{server.endpoint}/search/code", params={"q": "org:acme"}, timeout=10
        )
        assert no_term.status_code == 422
        assert past_cap.headers["x-ratelimit-resource"] == "code_search"
        covered = set()
        for method, path, status, body in server.responses:
            covered.add(spec.validate_response(method, path, status, body))
        assert covered == {"search/code"}
        assert server.errors == []


def test_query_syntax_sizes_and_geometric_splits():
    parsed = parse_search_query('org:acme "core.users_v1" language:sql size:>100')
    assert parsed.terms == ("core.users_v1",)
    assert parsed.values("org") == ["acme"] and parsed.size_range() == (101, 384 * 1024 - 1)
    assert parsed.text(without={"size"}, extra=["size:0..9"]) == (
        "core.users_v1 org:acme language:sql size:0..9"
    )
    assert parse_size("10..*") == (10, 384 * 1024 - 1) and parse_size("<=5") == (0, 5)
    low, high = split_range(0, 384 * 1024 - 1)
    assert low[0] == 0 and low[1] + 1 == high[0] and low[1] < 1000  # most files are small
    with pytest.raises(DiscoveryError):
        parse_size("big")


def test_a_query_without_a_term_is_refused_before_any_request(tmp_path):
    with FakeGitHub() as server:
        forge = _forge(server, code_search_pacer(clock=server.now, sleep=server.advance))
        with pytest.raises(DiscoveryError, match="no search term"):
            forge.search_code("org:acme")
        assert server.calls == []
