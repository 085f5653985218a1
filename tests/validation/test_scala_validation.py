"""The SQL in Scio sources is validated like a .sql file's: each query string and each
Storage API rowRestriction the edit changed, original against edit, by any backend."""

from __future__ import annotations

from pathlib import Path

from gaggle.repo import rewrite_repo
from gaggle.spec import load_migration
from gaggle.validation.offline import OfflineValidator
from gaggle.validation.repo import EquivalenceValidator, validate_edits, validate_repo

from tests.conftest import DEMO_MIGRATION

MIGRATION = load_migration(DEMO_MIGRATION)
OFFLINE = OfflineValidator(MIGRATION.catalog)
JOB = '''import com.spotify.scio._
import com.spotify.scio.bigquery._

object Job {
  val since = "2024-01-01"
  val query =
    s"""SELECT u.user_id, u.email, u.signup_ms
       |FROM `acme-prod.core.users_v1` AS u
       |WHERE u.created_date >= '$since'""".stripMargin
  def run(sc: ScioContext) = {
    sc.bigQuerySelect(Query(query))
    sc.bigQueryStorage(
      Table.Spec("acme-prod:core.users_v1"),
      selectedFields = List("user_id"),
      rowRestriction = "is_active = true"
    )
  }
}
'''
PATH = "src/main/scala/Job.scala"


def _rewritten(tmp_path: Path) -> str:
    job = tmp_path / PATH
    job.parent.mkdir(parents=True)
    job.write_text(JOB)
    outcome = rewrite_repo(tmp_path, MIGRATION, write=False)
    (file,) = [f for f in outcome.files if f.result.changed]
    return file.result.text


def test_gaggles_rewrite_of_a_scio_query_string_is_validated(tmp_path: Path):
    rewritten = _rewritten(tmp_path)
    assert "u.email_address AS email" in rewritten
    results = validate_repo(tmp_path, MIGRATION, OFFLINE)
    assert [(r.path, r.line, r.note) for r in results] == [
        (PATH, 7, "Scala query string"),
        (PATH, 15, "Scala rowRestriction string"),
    ], results
    assert all(r.verdict.ok for r in results), [r.verdict.problems for r in results]
    assert results[0].verdict.before.tables == ("acme-prod.core.users_v1",)
    assert results[0].verdict.after.tables == ("acme-prod.core.users_v2",)


def test_a_wrong_edit_of_a_scio_query_string_is_a_problem_at_its_line(tmp_path: Path):
    rewritten = _rewritten(tmp_path)
    wrong = rewritten.replace("u.email_address AS email", "u.email_address").replace(
        "UNIX_MILLIS(u.signup_at) AS signup_ms", "u.signup_at AS signup_ms"
    )
    results = validate_edits(MIGRATION, {PATH: JOB}, {PATH: wrong}, OFFLINE)
    (result,) = [r for r in results if r.note == "Scala query string"]
    assert result.line == 7 and not result.verdict.ok
    assert "renamed: email became email_address" in result.verdict.problems[0]


def test_a_rowrestriction_is_validated_over_the_table_its_read_names():
    right = JOB.replace('"is_active = true"', "\"(status = 'ACTIVE') = true\"")
    right = right.replace("core.users_v1", "core.users_v2")
    wrong_value = right.replace("'ACTIVE'", "'INACTIVE'")
    wrong_column = right.replace("status =", "state =")
    equivalence = EquivalenceValidator(MIGRATION, OFFLINE)
    edits = {"a.scala": right, "b.scala": wrong_value, "c.scala": wrong_column}
    base = {path: JOB for path in edits}
    results = {r.path: r for r in validate_edits(MIGRATION, base, edits, equivalence)}
    assert {r.note for r in results.values()} == {"Scala rowRestriction string"}
    assert all(r.line == 15 for r in results.values())
    assert results["a.scala"].verdict.ok, results["a.scala"].verdict.problems
    assert "same 48 rows in DuckDB" in results["a.scala"].verdict.evidence
    assert any("results differ in DuckDB" in p for p in results["b.scala"].verdict.problems)
    assert any("does not compile" in p for p in results["c.scala"].verdict.problems)


def test_query_strings_an_edit_adds_or_removes_are_reported_not_guessed():
    extra = JOB.replace(
        "  def run(", '  val other = "SELECT 1 AS one FROM `acme-prod.core.users_v2`"\n  def run('
    )
    (result,) = validate_edits(MIGRATION, {PATH: JOB}, {PATH: extra}, OFFLINE)
    assert not result.verdict.ok
    assert "the queries cannot be paired" in result.verdict.problems[0]


def test_validate_base_checks_a_persons_edit_of_a_scio_query(tmp_path: Path):
    import subprocess

    from gaggle.validation.repo import validate_against_base

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@e.com", *args],
            check=True, capture_output=True,
        )  # fmt: skip

    rewritten = _rewritten(tmp_path)
    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "before the migration")
    (tmp_path / PATH).write_text(rewritten.replace("u.email_address AS email", "u.email_address"))
    results = validate_against_base(tmp_path, "main", MIGRATION, OFFLINE)
    (result,) = [r for r in results if r.note == "Scala query string"]
    assert (result.path, result.line) == (PATH, 7)
    assert "renamed: email became email_address" in result.verdict.problems[0]
