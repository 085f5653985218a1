"""The three validation backends: offline, BigQuery dry runs (the real client against a local
server speaking BigQuery's REST protocol), and DuckDB equivalence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import googleapiclient
import pytest
from gaggle.spec import load_migration
from gaggle.sql import SqlRewriter
from gaggle.validation.analysis import judge
from gaggle.validation.bigquery import BigQueryValidator
from gaggle.validation.equivalence import Outcome, check_equivalence
from gaggle.validation.offline import OfflineValidator
from gaggle.validation.repo import EquivalenceValidator
from google.auth.credentials import AnonymousCredentials

from tests.conftest import DEMO_MIGRATION, ROOT
from tests.fakes.bigquery_server import FakeBigQuery

MIGRATION = load_migration(DEMO_MIGRATION)
OLD = [pair.old for pair in MIGRATION.tables]
OFFLINE = OfflineValidator(MIGRATION.catalog)
ENGINE = SqlRewriter(MIGRATION)
EQUIVALENCE = ROOT / "tests" / "fixtures" / "equivalence"
DISCOVERY = json.loads(
    (
        Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "bigquery.v2.json"
    ).read_text()
)["schemas"]
QUERY = (
    "SELECT u.country, u.device, u.sessions, u.signup_ms\n"
    "FROM `acme-prod.core.users_v1` AS u\nWHERE u.is_active"
)


@pytest.fixture
def fake():
    with FakeBigQuery(MIGRATION.catalog) as server:
        yield server


def _client(server: FakeBigQuery, concurrency: int = 8) -> BigQueryValidator:
    validator = BigQueryValidator.from_settings(
        "acme-prod", endpoint=server.endpoint, credentials=AnonymousCredentials()
    )
    validator.concurrency = concurrency
    return validator


def test_dry_run_returns_schema_tables_and_bytes(fake):
    analysis = _client(fake).analyze(QUERY)
    assert analysis.ok
    assert [c.describe() for c in analysis.columns] == [
        "country STRING",
        "device STRUCT<os STRING, model STRING>",
        "sessions ARRAY STRUCT<session_id STRING, started_ms INT64, duration_s INT64>",
        "signup_ms INT64",
    ]
    assert analysis.tables == ("acme-prod.core.users_v1",)
    assert analysis.bytes_processed == 5000
    request = fake.requests[-1]["configuration"]
    assert request["dryRun"] is True and request["query"]["useQueryCache"] is False


def test_dry_run_error_keeps_bigquery_line_and_column(fake):
    analysis = _client(fake).analyze("SELECT u.nope\nFROM `acme-prod.core.users_v1` u")
    assert not analysis.ok
    assert (analysis.error.line, analysis.error.column) == (1, 10)
    assert analysis.error.message.endswith("[1:10]")


def test_fake_server_speaks_the_published_job_schema(fake):
    status, job = fake.dry_run(
        "acme-prod", {"configuration": {"dryRun": True, "query": {"query": QUERY}}}
    )
    assert status == 200
    assert set(job) <= set(DISCOVERY["Job"]["properties"])
    assert set(job["statistics"]) <= set(DISCOVERY["JobStatistics"]["properties"])
    assert set(job["statistics"]["query"]) <= set(DISCOVERY["JobStatistics2"]["properties"])
    for field in job["statistics"]["query"]["schema"]["fields"]:
        assert set(field) <= set(DISCOVERY["TableFieldSchema"]["properties"])
    assert set(job["statistics"]["query"]["referencedTables"][0]) == set(
        DISCOVERY["TableReference"]["properties"]
    )
    status, error = fake.dry_run(
        "acme-prod",
        {
            "configuration": {
                "dryRun": True,
                "query": {"query": "SELECT nope FROM `acme-prod.core.users_v1`"},
            }
        },
    )
    assert status == 400 and error["error"]["errors"][0]["reason"] == "invalidQuery"
    assert set(error["error"]["errors"][0]) <= set(DISCOVERY["ErrorProto"]["properties"]) | {
        "domain",
        "locationType",
    }


def test_rewrite_is_judged_the_same_by_dry_run_and_offline(fake):
    after = ENGINE.rewrite(QUERY).text
    for validator in (_client(fake), OFFLINE):
        verdict = judge(validator.analyze(QUERY), validator.analyze(after), OLD)
        assert verdict.ok, (validator.name, verdict.problems)


def test_a_changed_output_type_is_a_problem(fake):
    wrong = "SELECT u.geo.country_code AS country, u.signup_at AS signup_ms FROM `acme-prod.core.users_v2` u"
    right = "SELECT u.country, u.signup_ms FROM `acme-prod.core.users_v1` u"
    for validator in (_client(fake), OFFLINE):
        verdict = judge(validator.analyze(right), validator.analyze(wrong), OLD)
        assert not verdict.ok
        assert verdict.problems == ["signup_ms changes from signup_ms INT64 to signup_ms TIMESTAMP"]


def test_a_rewrite_that_still_reads_the_old_table_is_a_problem():
    verdict = judge(OFFLINE.analyze(QUERY), OFFLINE.analyze(QUERY), OLD)
    assert verdict.problems == ["the rewrite still reads acme-prod.core.users_v1"]


def test_bytes_growth_is_a_warning(fake):
    narrow = "SELECT u.country FROM `acme-prod.core.users_v1` u"
    wide = "SELECT u.geo.country_code AS country, u.visits, u.labels, u.locale FROM `acme-prod.core.users_v2` u"
    verdict = judge(_client(fake).analyze(narrow), _client(fake).analyze(wide), OLD)
    assert any("bytes processed grow" in w for w in verdict.warnings)


def test_dry_runs_run_concurrently_within_the_bound():
    with FakeBigQuery(MIGRATION.catalog, latency_s=0.15) as server:
        results = _client(server, concurrency=3).analyze_many([QUERY] * 12)
    assert all(r.ok for r in results) and len(results) == 12
    assert server.max_in_flight == 3


def test_tables_outside_the_catalog_are_allowed_and_listed():
    analysis = OFFLINE.analyze("SELECT u.country, x.y FROM core.users_v1 u JOIN ops.misc x ON TRUE")
    assert analysis.ok and analysis.unknown_tables == ("ops.misc",)


@pytest.mark.parametrize(
    ("case", "outcome"),
    [
        ("correct", Outcome.EQUAL),
        ("wrong-mapping", Outcome.DIFFERENT),
        ("wrong-join", Outcome.DIFFERENT),
        ("dropped-filter", Outcome.DIFFERENT),
    ],
)
def test_equivalence_catches_a_rewrite_that_silently_changes_meaning(case: str, outcome: Outcome):
    before = (EQUIVALENCE / case / "before.sql").read_text()
    after = (EQUIVALENCE / case / "after.sql").read_text()
    verdict = check_equivalence(before, after, MIGRATION)
    assert verdict.outcome == outcome, verdict.detail
    # The offline schema check alone cannot see these: same names and types.
    assert judge(OFFLINE.analyze(before), OFFLINE.analyze(after), OLD).ok


def test_validate_command_prints_a_table_and_fails_on_problems(tmp_path: Path):
    gaggle = Path(sys.executable).parent / "gaggle"
    report = tmp_path / "report.json"
    ok = subprocess.run(
        [str(gaggle), "validate", "--migration", str(DEMO_MIGRATION),
         str(ROOT / "tests/fixtures/repos/sqljobs/before"), "--report", str(report)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "statements checked with offline: 0 with problems" in ok.stdout
    assert {r["path"] for r in json.loads(report.read_text())} >= {"sql/daily_active_users.sql"}
    bad = subprocess.run(
        [str(gaggle), "validate", "--migration", str(DEMO_MIGRATION),
         str(ROOT / "tests/fixtures/repos/dbt/before"), "--backend", "equivalence"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 1
    assert "models/marts/audit_raw_users.sql" in bad.stdout and "PROBLEM" in bad.stdout
    assert "same 48 rows in DuckDB" in bad.stdout


def test_validate_repo_with_dry_runs_batches_them_concurrently(tmp_path: Path):
    from gaggle.validation.repo import validate_repo

    with FakeBigQuery(MIGRATION.catalog, latency_s=0.1) as server:
        results = validate_repo(
            ROOT / "tests/fixtures/repos/sqljobs/before", MIGRATION, _client(server, 4)
        )
    by_path = {r.path: r.verdict for r in results}
    assert all(v.ok for v in by_path.values())
    assert server.max_in_flight > 1
    for path in ("sql/daily_active_users.sql", "sql/signup_cohorts.sql"):
        assert by_path[path].evidence[0].startswith("bytes processed")
    # The MERGE target is not in the fake's catalog: BigQuery's 404 is reported, not hidden.
    assert "not found" in by_path["sql/merge_user_dim.sql"].warnings[0].lower()


def test_dry_runs_declare_query_parameters_with_inferred_types(fake):
    sql = (
        "SELECT u.country FROM `acme-prod.core.users_v1` u\n"
        "WHERE DATE(u.last_login) = @run_date AND u.lifetime_orders >= @min_orders AND u.plan = @plan"
    )
    assert _client(fake).analyze(sql).ok
    declared = {
        p["name"]: p["parameterType"]["type"]
        for p in fake.requests[-1]["configuration"]["query"]["queryParameters"]
    }
    assert declared == {"run_date": "DATE", "min_orders": "INT64", "plan": "STRING"}


def test_every_statement_inside_a_script_block_is_checked(tmp_path: Path):
    """BEGIN ... END, IF ... END IF: each statement inside is judged on its own, with its
    tables and output columns, rather than as an opaque block that reads nothing."""
    from gaggle.validation.repo import validate_repo

    script = tmp_path / "sql" / "loyal_users.sql"
    script.parent.mkdir()
    script.write_text(
        "BEGIN\n"
        "  CREATE TEMP TABLE loyal AS\n"
        "  SELECT u.user_id, u.country AS country FROM `acme-prod.core.users_v1` AS u;\n"
        "  IF (SELECT COUNT(*) FROM loyal) > 0 THEN\n"
        "    SELECT u.country, COUNT(*) AS users FROM `acme-prod.core.users_v1` AS u\n"
        "    GROUP BY u.country;\n"
        "  END IF;\n"
        "END;\n"
    )
    results = validate_repo(tmp_path, MIGRATION, OFFLINE)
    by_line = {r.line: r.verdict for r in results}
    assert set(by_line) == {2, 5}, results
    assert all(v.ok for v in by_line.values()), results
    assert all(v.before.tables == ("acme-prod.core.users_v1",) for v in by_line.values())
    assert all(v.after.tables == ("acme-prod.core.users_v2",) for v in by_line.values())
    country = by_line[5].after.columns[0]
    assert (country.name, country.type) == ("country", "STRING")


RIGHT_FIX = (
    "SELECT u.geo.country_code AS country, UNIX_MILLIS(u.signup_at) AS signup_ms\n"
    "FROM `acme-prod.core.users_v2` u\n"
)
WRONG_FIX = "SELECT u.geo.country_code AS country, u.signup_at AS signup_ms\nFROM `acme-prod.core.users_v2` u\n"
ORIGINAL = "SELECT u.country, u.signup_ms\nFROM `acme-prod.core.users_v1` u\n"


def test_validate_edits_judges_anyones_edit_file_by_file():
    from gaggle.validation.repo import validate_edits

    base = {"sql/a.sql": ORIGINAL, "sql/b.sql": ORIGINAL, "sql/same.sql": ORIGINAL}
    edited = {"sql/a.sql": RIGHT_FIX, "sql/b.sql": WRONG_FIX, "sql/same.sql": ORIGINAL}
    results = {r.path: r.verdict for r in validate_edits(MIGRATION, base, edited, OFFLINE)}
    assert set(results) == {"sql/a.sql", "sql/b.sql"}
    assert results["sql/a.sql"].ok, results["sql/a.sql"].problems
    assert results["sql/b.sql"].problems == [
        "signup_ms changes from signup_ms INT64 to signup_ms TIMESTAMP"
    ]


def test_one_file_that_breaks_validation_fails_alone_and_templates_render_sandboxed():
    """A repo's SQL is untrusted: a template that raises something unexpected fails that
    file only, and one that reaches for Python's internals is refused by the sandbox."""
    from gaggle.validation.repo import validate_edits

    crashing = "{{ [].pop() }}\n" + ORIGINAL
    escaping = "{{ ''.__class__.__mro__[1].__subclasses__() }}\n" + ORIGINAL
    base = {"sql/a.sql": ORIGINAL, "sql/crash.sql": crashing, "sql/escape.sql": escaping}
    edited = {
        "sql/a.sql": RIGHT_FIX,
        "sql/crash.sql": "{{ [].pop() }}\n" + RIGHT_FIX,
        "sql/escape.sql": "{{ ''.__class__.__mro__[1].__subclasses__() }}\n" + RIGHT_FIX,
    }
    results = {r.path: r.verdict for r in validate_edits(MIGRATION, base, edited, OFFLINE)}
    assert results["sql/a.sql"].ok, results["sql/a.sql"].problems
    assert not results["sql/crash.sql"].ok
    assert "IndexError" in results["sql/crash.sql"].problems[0]
    assert not results["sql/escape.sql"].ok
    assert "cannot render" in results["sql/escape.sql"].problems[0]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True, capture_output=True,
    )  # fmt: skip


def test_validate_base_checks_a_persons_edit_of_the_rewrite(tmp_path: Path, capsys, monkeypatch):
    """gaggle rewrote the repo and left a TODO for a manual column; a person then resolved
    it by hand. `--base` compares the commit before the migration with the working tree,
    whoever wrote it: a correct fix passes, a wrong one is caught with the column named."""
    from gaggle.cli import main

    repo = tmp_path / "consumer"
    (repo / "sql").mkdir(parents=True)
    job = repo / "sql" / "buckets.sql"
    job.write_text(
        "SELECT u.user_id, u.age_bucket, u.signup_ms\nFROM `acme-prod.core.users_v1` AS u\n"
    )
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "before the migration")
    migration = ["--migration", str(DEMO_MIGRATION)]
    assert main(["rewrite", *migration, str(repo)]) == 0
    rewritten = job.read_text()
    assert "TODO(data-migration users_v2): age_bucket" in rewritten
    validate = ["validate", *migration, "--base", "main"]
    capsys.readouterr()
    assert main([*validate, str(repo)]) == 1  # the rewrite alone still reads age_bucket

    right = "CASE WHEN u.birth_year >= 2000 THEN 'young' ELSE 'other' END AS age_bucket"
    job.write_text(rewritten.replace("u.age_bucket", right))
    assert main([*validate, str(repo)]) == 0, capsys.readouterr().out
    assert "1 statements checked with offline: 0 with problems" in capsys.readouterr().out

    job.write_text(rewritten.replace("u.age_bucket", "u.birth_year AS age_bucket"))
    monkeypatch.chdir(repo)
    assert main(validate) == 1  # REPO defaults to the working directory
    out = capsys.readouterr().out
    assert "age_bucket changes from age_bucket STRING to age_bucket INT64" in out

    assert main([*validate[:-1], "no-such-ref", str(repo)]) == 2
    assert "no-such-ref" in capsys.readouterr().err


STAR_ORIGINAL = (
    "SELECT * EXCEPT (age_bucket, marketing_opt_in)\n"
    "FROM `acme-prod.core.users_v1` AS s\nWHERE s.user_id = 'u1'"
)
SILENTLY_WRONG = {
    # the new table's columns come out instead of the old ones
    "bare table swap under *": (
        STAR_ORIGINAL.replace("users_v1", "users_v2"),
        "the rewrite drops email, full_name",
    ),
    "dropped STRUCT field": (
        "SELECT STRUCT(s.primary_device.os_name AS os) AS device\n"
        "FROM `acme-prod.core.users_v2` AS s",
        "device.model is missing in the rewrite",
    ),
    "reordered star": (
        "SELECT *\nFROM (SELECT s.email_address AS email, s.user_id\n"
        "FROM `acme-prod.core.users_v2` AS s)",
        "column 1 was user_id, is now email",
    ),
    "renamed output": (
        "SELECT s.user_id, s.email_address\nFROM `acme-prod.core.users_v2` AS s",
        "renamed: email became email_address",
    ),
}
SILENT_ORIGINALS = {
    "bare table swap under *": STAR_ORIGINAL,
    "dropped STRUCT field": "SELECT s.device\nFROM `acme-prod.core.users_v1` AS s",
    "reordered star": "SELECT *\nFROM (SELECT s.user_id, s.email\nFROM `acme-prod.core.users_v1` AS s)",
    "renamed output": "SELECT s.user_id, s.email\nFROM `acme-prod.core.users_v1` AS s",
}


@pytest.mark.parametrize("variant", sorted(SILENTLY_WRONG))
def test_every_backend_catches_an_output_schema_change_and_passes_the_right_rewrite(
    fake, variant: str
):
    """Names, order, types and STRUCT fields of the output are compared, stars expanded
    from the schemas; gaggle's own rewrite of the same statement passes."""
    original = SILENT_ORIGINALS[variant]
    wrong, named = SILENTLY_WRONG[variant]
    right = ENGINE.rewrite(original).text
    equivalence = EquivalenceValidator(MIGRATION, OFFLINE)
    for validator in (_client(fake), OFFLINE):
        verdict = judge(validator.analyze(original), validator.analyze(wrong), OLD)
        assert not verdict.ok and any(named in p for p in verdict.problems), (
            validator.name,
            verdict.problems,
        )
        assert judge(validator.analyze(original), validator.analyze(right), OLD).ok, right
    assert not equivalence.verdict(original, wrong).ok
    assert equivalence.verdict(original, right).ok


def test_a_statement_sqlglot_cannot_qualify_is_reported_not_raised():
    from gaggle.validation.repo import validate_edits

    udf_star = (
        "SELECT `acme-prod.fns.parse_email`(u.email).*, COUNT(*) AS users\n"
        "FROM `acme-prod.core.users_v1` AS u\nGROUP BY 1"
    )
    base = {"sql/udf.sql": udf_star, "sql/plain.sql": ORIGINAL}
    edited = {"sql/udf.sql": ENGINE.rewrite(udf_star).text, "sql/plain.sql": WRONG_FIX}
    results = {r.path: r.verdict for r in validate_edits(MIGRATION, base, edited, OFFLINE)}
    assert base["sql/udf.sql"] != edited["sql/udf.sql"]
    assert results["sql/udf.sql"].ok
    assert results["sql/udf.sql"].warnings == [
        "output schema not checkable: sqlglot cannot qualify it (AssertionError: "
        '"ACME-PROD.FNS.PARSE_EMAIL"(u.email).* is not <class '
        "'sqlglot.expressions.core.Alias'>.)"
    ]
    assert not results["sql/plain.sql"].ok  # the rest of the repo is still checked


def test_a_star_over_a_table_without_schema_is_not_checkable_rather_than_ok():
    original = (
        "SELECT * FROM `acme-prod.core.users_v1` AS s JOIN ops.user_flags AS f USING (user_id)"
    )
    swapped = original.replace("users_v1", "users_v2")
    verdict = judge(OFFLINE.analyze(original), OFFLINE.analyze(swapped), OLD)
    assert verdict.warnings == [
        "output schema not checkable: * over ops.user_flags, whose schema gaggle lacks, "
        "cannot be expanded into its columns"
    ]


UNKNOWN_SIDE_TABLE = (
    "SELECT s.user_id, s.email, s.signup_ms, f.flag\n"
    "FROM `acme-prod.core.users_v1` AS s LEFT JOIN ops.user_flags AS f ON f.uid = s.user_id\n"
    "WHERE s.country IN (SELECT country FROM ops.countries)"
)


@pytest.mark.parametrize(
    ("fragment", "edit", "problem"),
    [
        ("s.email_address AS email", "s.email_address", "renamed: email became email_address"),
        ("s.email_address AS email", "s.email_address AS mail", "renamed: email became mail"),
        (
            "s.email_address AS email, UNIX_MILLIS(s.signup_at) AS signup_ms",
            "UNIX_MILLIS(s.signup_at) AS signup_ms, s.email_address AS email",
            "column 2 was email, is now signup_ms",
        ),
        ("s.signup_at) AS signup_ms", "s.signup_at) AS signup", "renamed: signup_ms became signup"),
    ],
)
def test_a_table_without_schema_does_not_hide_an_output_name_change(
    fragment: str, edit: str, problem: str
):
    """Output names and order come from the select list itself, whatever a side table
    holds: a hand edit that renames an output column is a problem, not a warning."""
    right = ENGINE.rewrite(UNKNOWN_SIDE_TABLE).text
    verdict = judge(OFFLINE.analyze(UNKNOWN_SIDE_TABLE), OFFLINE.analyze(right), OLD)
    assert verdict.ok, verdict.problems
    assert verdict.warnings == ["the type of flag cannot be inferred offline"]
    assert fragment in right
    wrong = right.replace(fragment, edit)
    verdict = judge(OFFLINE.analyze(UNKNOWN_SIDE_TABLE), OFFLINE.analyze(wrong), OLD)
    assert not verdict.ok and any(problem in p for p in verdict.problems), verdict.problems


def test_a_table_without_schema_does_not_hide_a_type_change_of_a_catalog_column():
    right = ENGINE.rewrite(UNKNOWN_SIDE_TABLE).text
    wrong = right.replace("UNIX_MILLIS(s.signup_at) AS signup_ms", "s.signup_at AS signup_ms")
    verdict = judge(OFFLINE.analyze(UNKNOWN_SIDE_TABLE), OFFLINE.analyze(wrong), OLD)
    assert verdict.problems == ["signup_ms changes from signup_ms INT64 to signup_ms TIMESTAMP"]


def test_the_trial_hand_edit_behind_an_unknown_table_is_a_problem():
    """The trial's case (D1): a person renamed the output; the IN-list reads a table
    without schema. Both backends that judge output names say so."""
    original = (
        "SELECT user_id FROM `acme-prod.core.users_v1` "
        "WHERE country IN (SELECT country FROM `acme-prod.dims.zips`)"
    )
    edited = original.replace("user_id", "uid").replace("users_v1", "users_v2")
    edited = edited.replace("WHERE country", "WHERE geo.country_code")
    equivalence = EquivalenceValidator(MIGRATION, OFFLINE)
    for verdict in (
        judge(OFFLINE.analyze(original), OFFLINE.analyze(edited), OLD),
        equivalence.verdict(original, edited),
    ):
        assert verdict.problems[0].startswith("output columns differ (renamed: user_id became uid")


PARAMETERS = (
    "SELECT u.user_id, u.country, u.plan\nFROM `acme-prod.core.users_v1` AS u\n"
    "WHERE u.created_date = @submission_date AND (u.plan != @plan OR u.is_active != @flag\n"
    "  OR u.lifetime_orders >= @min_orders OR u.ltv_usd >= @floor OR u.last_login < @cutoff_ts)"
)


def test_equivalence_binds_query_parameters_the_same_on_both_sides():
    """`@submission_date` and friends get one typed value each, bound on both sides, and
    the synthetic rows draw a DATE parameter's day often: the statement is compared, not
    skipped, and a wrong rewrite of it is caught."""
    right = ENGINE.rewrite(PARAMETERS).text
    assert "@submission_date" in right and "DATE(u.signup_at) = @submission_date" in right
    verdict = check_equivalence(PARAMETERS, right, MIGRATION)
    assert verdict.outcome == Outcome.EQUAL, verdict.detail
    assert verdict.rows_compared >= 3
    wrong = right.replace(
        "DATE(u.signup_at) = @submission_date", "DATE(u.updated_at) = @submission_date"
    )
    verdict = check_equivalence(PARAMETERS, wrong, MIGRATION)
    assert verdict.outcome == Outcome.DIFFERENT, verdict.detail
    equivalence = EquivalenceValidator(MIGRATION, OFFLINE)
    assert equivalence.verdict(PARAMETERS, right).ok
    assert any(
        "results differ in DuckDB" in p for p in equivalence.verdict(PARAMETERS, wrong).problems
    )


def test_positional_parameters_stay_not_checkable():
    sql = "SELECT u.user_id FROM `acme-prod.core.users_v1` AS u WHERE u.plan = ?"
    verdict = check_equivalence(sql, ENGINE.rewrite(sql).text, MIGRATION)
    assert verdict.outcome == Outcome.NOT_CHECKABLE
    assert "positional query parameters" in verdict.detail


USERS_V1 = "`acme-prod.core.users_v1`"
IMPLICIT_ALIAS_READS = [
    f"SELECT city, COUNT(*) AS n FROM {USERS_V1} GROUP BY city",
    f"SELECT city, COUNT(*) AS n FROM {USERS_V1} GROUP BY ROLLUP(city) HAVING city != 'x' "
    "ORDER BY city",
    f"SELECT user_id, city FROM {USERS_V1} "
    "QUALIFY ROW_NUMBER() OVER (PARTITION BY city ORDER BY user_id) = 1",
]


@pytest.mark.parametrize("original", IMPLICIT_ALIAS_READS)
def test_an_implicit_alias_of_a_path_is_seen_where_bigquery_sees_it(original: str):
    """`geo.city` has BigQuery's implicit alias `city`, visible in GROUP BY (ROLLUP too),
    HAVING, QUALIFY (its windows included) and ORDER BY: the rewrite that relies on it
    compiles, and both backends say so (DuckDB is given the alias spelled out) instead of
    a false compile error or a false difference."""
    rewritten = ENGINE.rewrite(original).text
    assert "SELECT geo.city" in rewritten or "user_id, geo.city" in rewritten
    assert "(city)" in rewritten or "BY city" in rewritten  # the alias reference is kept
    verdict = judge(OFFLINE.analyze(original), OFFLINE.analyze(rewritten), OLD)
    assert verdict.ok, verdict.problems
    verdict = EquivalenceValidator(MIGRATION, OFFLINE).verdict(original, rewritten)
    assert verdict.ok and verdict.evidence[-1].startswith("same "), verdict


USERS_V2 = "`acme-prod.core.users_v2`"


@pytest.mark.parametrize(
    "edited",
    [
        f"SELECT geo.city, COUNT(*) AS n FROM {USERS_V2} WHERE city != 'x' GROUP BY city",
        f"SELECT geo.city, ROW_NUMBER() OVER (PARTITION BY city ORDER BY user_id) AS rn "
        f"FROM {USERS_V2}",
        f"SELECT geo.city AS city, COUNT(*) AS n FROM {USERS_V2} GROUP BY LOWER(city)",
    ],
)
def test_an_alias_where_bigquery_does_not_see_it_does_not_compile(edited: str):
    """WHERE, the SELECT list itself (window specs included) and expressions inside GROUP
    BY see only the FROM clause's columns in BigQuery: a name that is only a SELECT-list
    alias there is a compile error, even though sqlglot would expand it."""
    analysis = OFFLINE.analyze(edited)
    assert analysis.error is not None, analysis
    assert analysis.error.message == (
        "Column 'city' could not be resolved (BigQuery sees a SELECT-list alias only in "
        "GROUP BY, HAVING, QUALIFY and ORDER BY)"
    )


def test_a_star_over_catalog_tables_is_expanded_when_the_unknown_table_only_filters():
    """The table without schema sits in a WHERE subquery: the star reads only catalog
    tables, so it is expanded and a bare table swap under it is caught, as with no
    unknown table at all."""
    original = (
        "SELECT * EXCEPT (age_bucket, marketing_opt_in)\nFROM `acme-prod.core.users_v1` AS s\n"
        "WHERE s.user_id IN (SELECT uid FROM ops.blocked_users)"
    )
    right = ENGINE.rewrite(original).text
    verdict = judge(OFFLINE.analyze(original), OFFLINE.analyze(right), OLD)
    assert verdict.ok and not verdict.warnings, (verdict.problems, verdict.warnings)
    swapped = original.replace("users_v1", "users_v2")
    verdict = judge(OFFLINE.analyze(original), OFFLINE.analyze(swapped), OLD)
    assert not verdict.ok and "the rewrite drops email, full_name" in verdict.problems[0]
