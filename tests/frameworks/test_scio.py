"""The Scio adapter: the Scala scanner, the fixture project before/after, and a demo fleet.

The adapter is not registered in gaggle.frameworks yet, so these tests drive a
ScioSession directly, the way gaggle.repo.rewrite_repo drives every session.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from gaggle.fleet import generate_fleet
from gaggle.frameworks.base import RepoFile
from gaggle.frameworks.scio import ScioFramework, mask_literal, scan_scala
from gaggle.repo import collect_files, rewrite_repo
from gaggle.reports import pr_body
from gaggle.spec import load_migration
from gaggle.sql import FlagReason, RewriteResult, SqlRewriter
from gaggle.sweep import references_left

from tests.conftest import DEMO_MIGRATION

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "scio"
GOLDEN = Path(__file__).resolve().parent / "scio_golden"
GOLDEN_CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "before").is_dir())
MIGRATION = load_migration(DEMO_MIGRATION)
ENGINE = SqlRewriter(MIGRATION)
OLD_WORD = re.compile(r"\busers_v1\b", re.I)
BROKEN = {FlagReason.INTERNAL_ERROR, FlagReason.UNPARSEABLE}


def rewrite_tree(repo: Path) -> dict[str, RewriteResult]:
    """Rewrite every file the Scio session claims and write the changed ones back."""
    files, _ = collect_files(repo)
    session = ScioFramework().open(repo.resolve(), ENGINE, files)
    assert session is not None, f"{repo} is not recognised as a Scio project"
    results = {}
    for file in files:
        if session.kind_of(file) is None:
            continue
        result = session.rewrite(file)
        results[file.relative] = result
        if result.changed:
            file.path.write_bytes(file.encoded(result.text))
    assert session.finish() == []
    return results


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def scala_file(text: str, relative: str = "src/main/scala/Job.scala") -> RepoFile:
    return RepoFile(Path(relative), relative, text)


CODE_MENTION = "users_v1 in Scala code names an old table; migrate it by hand"


def todo(message: str, indent: str = "") -> str:
    """The comment gaggle puts above a flagged statement."""
    return (
        f"{indent}// TODO(data-migration users_v2): {message.rstrip('.')}. "
        "See https://wiki.example.com/data/users-v2"
    )


_SCIO_SBT = '"com.spotify" %% "scio-core" % "0.14.6"\n'


def rewrite_one(text: str) -> RewriteResult:
    file = scala_file(text)
    build = RepoFile(Path("build.sbt"), "build.sbt", _SCIO_SBT)
    session = ScioFramework().open(Path("."), ENGINE, [build, file])
    assert session is not None
    return session.rewrite(file)


# --- fixture project ------------------------------------------------------------------------


def test_fixture_before_becomes_after(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(FIXTURE / "before", work)
    results = rewrite_tree(work)
    expected, actual = tree(FIXTURE / "after"), tree(work)
    assert sorted(actual) == sorted(expected)
    for relative, data in expected.items():
        assert actual[relative] == data, f"{relative} differs from the expected after/ file"
    assert not any(f.reason in BROKEN for r in results.values() for f in r.flags)
    assert not results["src/main/scala/com/acme/users/Util.scala"].references_found


def test_fixture_flags_what_it_cannot_rewrite(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(FIXTURE / "before", work)
    results = rewrite_tree(work)
    plan_mix = results["src/main/scala/com/acme/users/PlanMixJob.scala"].flags
    # the legacy query reads only user_id, unchanged: retargeted in its own form, no flag
    assert not [f for f in plan_mix if "legacy SQL" in f.message]
    assert (
        "[acme-prod:core.users_v2]"
        in results["src/main/scala/com/acme/users/PlanMixJob.scala"].text
    )
    # the SQL's manual column and the Plan.age_bucket field access
    assert {f.line for f in plan_mix if f.reason == FlagReason.MANUAL_COLUMN} == {11, 21}
    active = results["src/main/scala/com/acme/users/ActiveUsersJob.scala"].flags
    by_field = {f.message.split(" ", 1)[0]: f.reason for f in active}
    assert by_field == {
        "User.is_active": FlagReason.UNRESOLVED_REFERENCE,
        "User.marketing_opt_in": FlagReason.MANUAL_COLUMN,
        "User.device.os": FlagReason.UNRESOLVED_REFERENCE,
        "User.country": FlagReason.UNRESOLVED_REFERENCE,
    }
    export = results["src/main/scala/com/acme/users/CountryExportJob.scala"].flags
    assert [f.line for f in export] == [17]  # row.get("country"); user_id is unchanged


def test_after_tree_is_a_fixed_point(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(FIXTURE / "after", work)
    results = rewrite_tree(work)
    assert not any(r.changed for r in results.values())
    assert tree(work) == tree(FIXTURE / "after")


def test_not_a_scio_repo() -> None:
    plain = RepoFile(Path("Main.scala"), "Main.scala", "object Main extends App\n")
    sbt = RepoFile(Path("build.sbt"), "build.sbt", 'libraryDependencies += "org" %% "cats" % "2"\n')
    assert ScioFramework().open(Path("."), ENGINE, [plain, sbt]) is None
    scio = RepoFile(Path("J.scala"), "J.scala", "import com.spotify.scio._\nobject J\n")
    session = ScioFramework().open(Path("."), ENGINE, [scio, sbt])
    assert session is not None
    assert session.kind_of(scio) == "scala"
    assert session.kind_of(sbt) is None
    assert session.kind_of(scala_file("", "scripts/run.sc")) == "scala"


def test_a_scala_file_without_scio_imports_that_names_an_old_table_is_migrated(
    tmp_path: Path,
) -> None:
    """The trial's scio2: a query object with no import at all, alone in its repo."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "Q.scala").write_text(
        "object Q {\n"
        '  val query = """SELECT user_id,\n'
        "    age_bucket, email\n"
        '    FROM `acme-prod.core.users_v1`"""\n'
        "}\n"
    )
    outcome = rewrite_repo(tmp_path, MIGRATION, write=True)
    assert outcome.frameworks == ["scio"]
    (scanned,) = outcome.files
    assert scanned.path == "src/Q.scala"
    text = (tmp_path / "src" / "Q.scala").read_text()
    assert "email_address AS email" in text and "`acme-prod.core.users_v2`" in text
    assert [str(f.reason) for f in scanned.result.flags] == ["manual-column"]
    assert "TODO(data-migration users_v2): age_bucket has no automatic mapping" in text


# --- golden cases: scio_golden/<case>/before becomes after, and after is a fixed point -----


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_golden_case(case: str, tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(GOLDEN / case / "before", work)
    results = rewrite_tree(work)
    expected = tree(GOLDEN / case / "after")
    assert sorted(tree(work)) == sorted(expected)
    for relative, data in expected.items():
        assert tree(work)[relative] == data, f"{case}/{relative} differs from after/"
    assert not any(f.reason in BROKEN for r in results.values() for f in r.flags)
    for relative, result in results.items():  # every flag has its comment in the file
        comments = result.text.count("TODO(data-migration users_v2)")
        assert comments >= len({f.line for f in result.flags}) > 0 or not result.flags, relative
    again = rewrite_tree(work)
    assert not any(r.changed for r in again.values()), case


def test_golden_cases_cover_every_bullet() -> None:
    assert GOLDEN_CASES == [
        "01-query-strings",
        "02-legacy-sql",
        "03-storage-reads",
        "04-row-access",
        "05-constants-across-files",
        "06-unplaced-gets-a-comment",
        "07-real-world-shapes",  # patterns met in spotify/scio's examples, see docs/scio.md
        "08-avro-records",  # GenericRecords (Scio and Beam reads), Avro case classes
        "09-writes-keep-the-old-table",  # Scio, Beam and JobTest writes are flagged, kept
        "10-job-tests-and-arguments",  # --input=<table>, JobTest inputs, fixture rows, mocks
    ]


# Lines that read other tables, write typed results or read unchanged columns: byte-identical.
BYSTANDERS = {
    "02-legacy-sql/LegacyJob.scala": [
        '    sc.bigQuerySelect(Query("SELECT user_id, email FROM [acme-prod:core.users_archive]"))',
        '      JOIN [acme-prod:sales.orders] AS o ON u.user_id = o.user_id"""))',
    ],
    "03-storage-reads/StorageJob.scala": [
        '    "acme-prod:sales.orders",',
        '    selectedFields = List("order_id", "country"),',
        "    rowRestriction = \"country = 'SE'\"",
        '    sc.typedBigQuery[SwedishOrders]().map(o => o.country).saveAsTextFile(args("c"))',
    ],
    "04-row-access/RowsJob.scala": [
        "  @BigQueryType.toTable",
        "  case class Result(country: String, email: String, users: Long)",
        '      .map(o => Result(o.country.getOrElse("??"), "", 1L))',
        '      .map(r => r.getString("country") + r.getString("email"))',
        '      .saveAsTypedBigQueryTable(Table.Spec("acme-prod:reporting.users_by_country"))',
    ],
    "08-avro-records/AvroJob.scala": [
        '      BigQueryIO.read((sr: SchemaAndRecord) => sr.getRecord.get("country").toString)\n'
        '        .from("acme-prod:sales.orders")',
        '      .map(r => r.get("email"))\n      .saveAsTextFile(args("out") + "-order-records")',
    ],
    # writes of the old table keep it (flagged above the statement), other writes are untouched
    "09-writes-keep-the-old-table/WriteJob.scala": [
        '      Table.Spec("acme-prod:core.users_v1"),',
        '      .saveAsTypedBigQueryTable(Table.Spec("acme-prod.core.users_v1"))',
        '      BigQueryIO.writeTableRows().to("acme-prod:core.users_v1").withoutValidation()',
        '    rows.saveAsBigQueryTable(Table.Spec("acme-prod:reporting.signups"))',
    ],
    "09-writes-keep-the-old-table/WriteJobTest.scala": [
        '      .args("--output=acme-prod:core.users_v1")',
        '      .output(BigQueryIO[TableRow]("acme-prod:core.users_v1")) { rows =>',
    ],
    "05-constants-across-files/src/main/scala/com/acme/jobs/CountryJob.scala": [
        '      .map(row => row.getString("country"))',
    ],
    "05-constants-across-files/src/main/scala/com/acme/jobs/PlanJob.scala": [
        '      .map(r => r.getString("plan"))\n      .saveAsTextFile(args("out") + "-archive")',
    ],
}


@pytest.mark.parametrize("where", sorted(BYSTANDERS))
def test_golden_bystanders_stay_byte_identical(where: str) -> None:
    case, relative = where.split("/", 1)
    before = (GOLDEN / case / "before" / relative).read_text()
    after = (GOLDEN / case / "after" / relative).read_text()
    for line in BYSTANDERS[where]:
        assert line in before, line
        assert after.count(line) == before.count(line), line
        at = after.index(line)
        above = after[: at - 1].rsplit("\n", 1)[-1]
        assert "TODO(data-migration" not in above, f"a comment was put above {line!r}"


def test_a_mocked_storage_read_changes_with_the_jobs_own_or_not_at_all() -> None:
    """A JobTest mocks a Storage read by table, selectedFields and rowRestriction: the mock
    and the job's read must stay equal, so both are rewritten or both are left."""
    after = GOLDEN / "10-job-tests-and-arguments" / "after" / "src"
    job = (after / "main/scala/com/acme/jobs/ArgsJob.scala").read_text()
    test = (after / "test/scala/com/acme/jobs/ArgsJobTest.scala").read_text()
    assert 'selectedFields = List("user_id", "email_address")' in job
    assert "rowRestriction = \"geo.country_code = 'SE'\"" in job
    assert 'List("user_id", "email_address"), Some("geo.country_code = \'SE\'"))' in test
    # the job behind ExportJobTest is not in the repo: its mock keeps the old columns
    export = (after / "test/scala/com/acme/jobs/ExportJobTest.scala").read_text()
    assert 'List("user_id", "plan"), Some("plan = \'pro\'"))' in export
    assert "rewrite them together for acme-prod.core.users_v2" in export


def test_a_mains_own_default_argument_binds_only_its_own_job(tmp_path: Path) -> None:
    """`--input=<old table>` in a job's own default arguments ties args("input") of that job
    to the table; another job reading its own --input is not touched."""
    jobs = tmp_path / "src" / "main" / "scala"
    jobs.mkdir(parents=True)
    (jobs / "Daily.scala").write_text(
        "import com.spotify.scio._\n"
        "import com.spotify.scio.bigquery._\n\n"
        "object Daily {\n"
        "  def main(cmdlineArgs: Array[String]): Unit = {\n"
        '    val (sc, args) = ContextAndArgs(Array("--input=acme-prod:core.users_v1") ++ cmdlineArgs)\n'
        '    sc.bigQueryTable(Table.Spec(args("input"))).map(r => r.getString("email"))\n'
        "    sc.run()\n"
        "  }\n"
        "}\n"
    )
    other = (
        "import com.spotify.scio._\n"
        "import com.spotify.scio.bigquery._\n\n"
        "object Orders {\n"
        "  def main(cmdlineArgs: Array[String]): Unit = {\n"
        "    val (sc, args) = ContextAndArgs(cmdlineArgs)\n"
        '    sc.bigQueryTable(Table.Spec(args("input"))).map(r => r.getString("email"))\n'
        "    sc.run()\n"
        "  }\n"
        "}\n"
    )
    (jobs / "Orders.scala").write_text(other)
    results = rewrite_tree(tmp_path)
    daily = (jobs / "Daily.scala").read_text()
    assert '"--input=acme-prod:core.users_v2"' in daily
    assert 'r.getString("email_address")' in daily
    assert "every deployment of this job must pass --input=acme-prod.core.users_v2" in daily
    assert (jobs / "Orders.scala").read_text() == other
    assert results["src/main/scala/Orders.scala"].flags == []


def test_a_table_an_option_defaults_to_is_migrated_with_a_note_on_deployments() -> None:
    text = (
        "import com.spotify.scio._\n"
        "import com.spotify.scio.bigquery._\n\n"
        "object Job {\n"
        "  def main(cmdlineArgs: Array[String]): Unit = {\n"
        "    val (sc, args) = ContextAndArgs(cmdlineArgs)\n"
        '    sc.bigQueryTable(Table.Spec(args.getOrElse("input", "acme-prod:core.users_v1")))\n'
        '      .map(r => r.getString("email"))\n'
        "    sc.run()\n"
        "  }\n"
        "}\n"
    )
    result = rewrite_one(text)
    assert '"acme-prod:core.users_v2"' in result.text
    assert 'r.getString("email_address")' in result.text
    note = (
        "this job reads its table from --input, by default acme-prod.core.users_v1, moved to "
        "acme-prod.core.users_v2 by gaggle: the reads below now follow acme-prod.core.users_v2's "
        "columns, so every deployment passing --input must pass acme-prod.core.users_v2"
    )
    assert todo(note, "    ") in result.text
    assert [f.line for f in result.flags] == [7]


def test_issue_example_accesses_go_to_their_own_class() -> None:
    """The issue's file: r is a Row (legacy query left to a human), s a Stored."""
    text = (GOLDEN / "02-legacy-sql" / "before" / "LegacyJob.scala").read_text()
    result = rewrite_one(text)
    accesses = {f.message.split(" ", 1)[0] for f in result.flags if "fix this access" in f.message}
    assert accesses == {"Row.country"}  # s.email is renamed exactly (Stored selects email_address)
    assert "s => s.email_address.getOrElse" in result.text


# --- demo fleet -------------------------------------------------------------------------------


def _unplaced_mentions(result: RewriteResult) -> list[tuple[int, str]]:
    """Old table names outside comments that were neither edited nor flagged on their line.

    In SQL, a mention in a `--` / `#` comment is no reference, and neither is a table alias
    spelled like the old table (`FROM ... AS users_v1`) or a qualifier using that alias.
    """
    text = result.original
    scan = scan_scala(text)
    edited = [(c.start, max(c.end, c.start + 1)) for c in result.changes]
    flagged = {f.line for f in result.flags}
    spans = [(a, b, False) for a, b in scan.code_spans(len(text))]
    spans += [(lit.start, lit.end, True) for lit in scan.literals]
    left = []
    for start, end, in_literal in spans:
        aliased = in_literal and re.search(r"\bAS\s+users_v1\b", text[start:end], re.I)
        for found in OLD_WORD.finditer(text, start, end):
            where = found.start()
            line = text.count("\n", 0, where) + 1
            line_text = text.splitlines()[line - 1]
            before = line_text[: where - (text.rfind("\n", 0, where) + 1)]
            if in_literal and ("--" in before or "#" in before):
                continue  # a SQL comment inside a query
            if aliased and (re.search(r"\bAS\s+$", before, re.I) or text[found.end()] == "."):
                continue  # the alias, not the table
            if line in flagged or any(a <= where < b for a, b in edited):
                continue
            left.append((line, line_text))
    return left


def test_demo_fleet(tmp_path: Path) -> None:
    fleet = generate_fleet(tmp_path, 60, seed=5)
    scio_repos = [r.path for r in fleet if any(f.endswith(".scala") for f in r.files)]
    assert len(scio_repos) >= 5
    handled = 0
    for repo in scio_repos:
        first = rewrite_tree(repo)
        for relative, result in first.items():
            handled += 1
            assert not [f for f in result.flags if f.reason in BROKEN], (repo, relative)
            assert not _unplaced_mentions(result), (repo, relative, _unplaced_mentions(result))
            if OLD_WORD.search(result.original):
                assert result.references_found, (repo, relative)
        again = rewrite_tree(repo)
        assert not any(r.changed for r in again.values()), repo
        assert sorted(again) == sorted(first)
    assert handled >= 10


# What the owning team does with each flag of the demo's Scio repos: the fix, in the code.
REVIEWER_FIXES = (
    ('u.country.getOrElse("unknown")', 'u.geo.flatMap(_.country_code).getOrElse("unknown")'),
    ('u.plan.getOrElse("free")', 'u.subscription.flatMap(_.plan).getOrElse("free")'),
    ("u.device.flatMap(_.os)", "u.primary_device.flatMap(_.os_name)"),
    ('u.language.getOrElse("und")', 'u.locale.map(_.split("-")(0)).getOrElse("und")'),
    ('u.age_bucket.getOrElse("unknown")', 'u.birth_year.map(_.toString).getOrElse("unknown")'),
    (
        "u.mrr_usd.getOrElse(0.0)",
        "u.subscription.flatMap(_.mrr_cents).map(_ / 100.0).getOrElse(0.0)",
    ),
    ("u.sessions.flatMap", "u.visits.flatMap"),
    ("u.is_active.getOrElse(false)", 'u.status.contains("ACTIVE")'),
    ("u.signup_ms.exists(_ >= cutoffMs)", "u.signup_at.exists(_.getMillis >= cutoffMs)"),
    ("u.marketing_opt_in.contains(true)", "u.email_opt_in.contains(true)"),
    ('String.valueOf(row.get("language"))', 'String.valueOf(row.get("locale")).split("-")(0)'),
    ('row.get("country")', 'row.get("geo").asInstanceOf[TableRow].get("country_code")'),
    ('row.get("plan")', 'row.get("subscription").asInstanceOf[TableRow].get("plan")'),
    ("s.country.map(", "s.geo.flatMap(_.country_code).map("),
    ("s.age_bucket.map(", "s.birth_year.map("),
    ("s.is_active.map(", "s.status.map("),
    ('"age_bucket"),', '"birth_year"),'),
    ('"is_active"),', '"status"),'),
    (
        "SELECT user_id, country, plan FROM [acme-prod:core.users_v2] WHERE is_active",
        "SELECT user_id, geo.country_code AS country, subscription.plan AS plan "
        "FROM [acme-prod:core.users_v2] WHERE status = 'ACTIVE'",
    ),
    ("'core.users_v1' AS source_table", "'core.users_v2' AS source_table"),
)
_SQL_MANUAL = re.compile(r"(?<![\w.])(?<!AS )(\w+\.)?(age_bucket|marketing_opt_in)\b")


def resolve_like_a_reviewer(text: str) -> str:
    """Fix every flagged line the way the guide says, then delete the TODO comments."""
    for old, new in REVIEWER_FIXES:
        text = text.replace(old, new)
    text = _SQL_MANUAL.sub(
        lambda m: (
            f"CAST({m.group(1) or ''}birth_year AS STRING)"
            if m.group(2) == "age_bucket"
            else f"{m.group(1) or ''}email_opt_in"
        ),
        text,
    )
    lines = text.splitlines(keepends=True)
    return "".join(line for line in lines if "TODO(data-migration users_v2)" not in line)


def test_demo_scio_repos_are_done_once_every_flag_is_resolved(tmp_path: Path) -> None:
    """Merged as gaggle wrote it, a Scio repo still has flags: the sweep keeps it in
    attention. Once the team resolved each flag (and deleted its comment), the same
    check the sweep runs finds nothing: the repo counts as done."""
    fleet = generate_fleet(tmp_path, 40, seed=23)
    scio = [r for r in fleet if r.style == "scio" and r.references_old_table]
    assert len(scio) >= 4
    for repo in scio:
        rewrite_repo(repo.path, MIGRATION, write=True)  # the PR, merged as is
        merged = {
            p.relative_to(repo.path).as_posix(): p.read_text()
            for p in repo.path.rglob("*")
            if p.is_file()
        }
        assert references_left(merged, MIGRATION), f"{repo.name}: flags left, yet done"
        # the Avro GenericRecord getter of the shared-constant read: a plain rename, rewritten
        assert any('r.get("display_name")' in text for text in merged.values()), repo.name
        resolved = {
            path: resolve_like_a_reviewer(text) if path.endswith(".scala") else text
            for path, text in merged.items()
        }
        assert references_left(resolved, MIGRATION) == [], repo.name


def test_a_resolved_access_with_its_comment_left_is_not_done() -> None:
    text = (
        '@BigQueryType.fromTable("acme-prod:core.users_v2")\n'
        "class User\n"
        "object J {\n"
        "  def f(u: User) = u.geo.flatMap(_.country_code)\n"
        "}\n"
    )
    assert not rewrite_one(text).flags
    commented = text.replace(
        "  def", f"{todo('User.country is now geo.country_code', '  ')}\n  def"
    )
    [flag] = rewrite_one(commented).flags
    assert "delete the comment" in flag.message


def test_pr_body_says_what_makes_a_scio_repo_done(tmp_path: Path) -> None:
    def link(path: str, line: int) -> str:
        return f"https://x/{path}#L{line}"

    outcome = rewrite_repo(FIXTURE / "before", MIGRATION, write=False)
    body = pr_body(MIGRATION, outcome, [], link)
    done = body.split("### When this repo counts as done", 1)[1].split("###", 1)[0]
    assert "delete each `TODO(data-migration users_v2)` comment once its line is fixed" in done
    (tmp_path / "build.sbt").write_text('"com.spotify" %% "scio-core" % "0.14.6"\n')
    (tmp_path / "T.scala").write_text('object T { val Users = "acme-prod:core.users_v1" }\n')
    clean = rewrite_repo(tmp_path, MIGRATION, write=False)
    assert [f.result.changed for f in clean.touched] == [True]
    assert "counts as done" not in pr_body(MIGRATION, clean, [], link)  # nothing to resolve


# --- the scanner ------------------------------------------------------------------------------


def contents(text: str) -> list[str]:
    return [lit.content(text) for lit in scan_scala(text).literals]


def test_scanner_skips_comments() -> None:
    text = (
        '// "a" in a line comment\n'
        '/* "b" /* nested "c" */ still "d" */ val x = "e"\n'
        'val y = 1 // "f"\n'
    )
    assert contents(text) == ["e"]
    scan = scan_scala(text)
    assert [text[a:b][:4] for a, b in scan.comments] == ['// "', '/* "', '// "']


def test_scanner_escaped_quotes_and_char_literals() -> None:
    text = """val q = '"'; val a = '\\''; val s = "say \\"hi\\" \\\\"; val t = "x" """
    assert contents(text) == ['say \\"hi\\" \\\\', "x"]


def test_scanner_triple_quotes() -> None:
    text = 'val a = """multi\n"line" "" text"""; val b = """"quoted""""; val c = ""\n'
    assert contents(text) == ['multi\n"line" "" text', '"quoted"', ""]
    literals = scan_scala(text).literals
    assert [lit.triple for lit in literals] == [True, True, False]


def test_scanner_interpolation() -> None:
    text = 'val q = s"a $b ${c("d}")} $$e f$g_1.h"; val r = "$x"'
    literals = scan_scala(text).literals
    assert len(literals) == 2
    first = literals[0]
    assert first.interpolator == "s"
    assert text[first.start] == "s"
    assert [text[a:b] for a, b in first.splices] == ["$b", '${c("d}")}', "$g_1"]
    assert literals[1].splices == ()


def test_mask_keeps_length_and_offsets() -> None:
    text = (
        'Query(s"""\n'
        "    |SELECT user_id\n"
        "  \t|FROM t WHERE d >= '$startDate' AND p = ${plans.head}\n"
        '    |""".stripMargin)'
    )
    literal = scan_scala(text).literals[0]
    masked = mask_literal(text, literal)
    assert len(masked) == len(literal.content(text))
    assert masked.splitlines()[1] == "     SELECT user_id"
    assert masked.splitlines()[2] == "    FROM t WHERE d >= '_startDate' AND p = __plans_head_"
    assert masked.index("FROM") == literal.content(text).index("FROM")


def test_mask_without_strip_margin_keeps_pipes() -> None:
    text = 's"""a\n  |b $x"""'
    literal = scan_scala(text).literals[0]
    assert mask_literal(text, literal) == "a\n  |b _x"


# --- rules in isolation ----------------------------------------------------------------------


def test_spec_forms_are_renamed_in_place() -> None:
    text = (
        'val a = "acme-prod:core.users_v1"\n'
        'val b = "acme-prod.core.users_v1"\n'
        'val c = s"core.users_v1"\n'
        'val d = "acme-prod:core.users_v1$20240101"\n'
    )
    result = rewrite_one(text)
    assert result.text.splitlines()[:3] == [
        'val a = "acme-prod:core.users_v2"',
        'val b = "acme-prod.core.users_v2"',
        'val c = s"core.users_v2"',
    ]
    assert [(f.line, f.reason) for f in result.flags] == [(4, FlagReason.UNRESOLVED_REFERENCE)]


def test_a_path_naming_the_table_word_is_no_read() -> None:
    text = 'val input = "gs://exports/users_v1/*.avro"\nval t = "core.users_v1 snapshot"\n'
    result = rewrite_one(text)
    assert [f.line for f in result.flags] == [2]  # dataset-qualified: flagged; a path: not


def test_a_def_passed_by_name_is_followed() -> None:
    text = (
        "object J {\n"
        '  def key(row: TableRow): String = row.getString("country") + row.getString("email")\n'
        '  sc.bigQueryTable(Table.Spec("acme-prod:core.users_v1")).map(key)\n'
        "}\n"
    )
    result = rewrite_one(text)
    assert 'row.getString("email_address")' in result.text
    assert [f.line for f in result.flags] == [2]
    assert "go to" not in result.text  # nothing left unfollowed


def test_query_of_a_date_sharded_table_goes_through_the_engine(tmp_path: Path) -> None:
    """`metrics_*`: the wildcard name is found in a query string, and the typed class built
    from the query keeps its field names (the engine keeps the output names)."""
    folder = tmp_path / "metrics_v2"
    (folder / "schemas").mkdir(parents=True)
    (folder / "migration.yaml").write_text(
        "id: metrics_v2\ntitle: t\nguide_url: https://wiki.example.com/m\n"
        "tables:\n  - old: acme-prod.d.metrics_*\n    new: acme-prod.d.metrics_v2_*\nmapping: mapping.csv\n"
        "pull_request:\n  branch: b\n  title: t\n"
    )
    (folder / "mapping.csv").write_text(
        "old_table,old_column,new_expression,action,note\n"
        "acme-prod.d.metrics_*,uri,uri,map,\nacme-prod.d.metrics_*,spend,spend_usd,map,\n"
    )
    old = '[{"name": "uri", "type": "STRING"}, {"name": "spend", "type": "FLOAT"}]'
    (folder / "schemas" / "acme-prod.d.metrics_*.json").write_text(old)
    (folder / "schemas" / "acme-prod.d.metrics_v2_*.json").write_text(
        old.replace("spend", "spend_usd")
    )
    engine = SqlRewriter(load_migration(folder))
    text = (
        "object J {\n"
        '  @BigQueryType.fromQuery("SELECT uri, spend FROM `acme-prod.d.metrics_*` WHERE spend > 0")\n'
        "  class Row\n"
        "  def f(r: Row) = r.spend\n"
        "}\n"
    )
    file = scala_file(text)
    result = ScioFramework().open(Path("."), engine, [scala_file(_SCIO_SBT, "build.sbt"), file])
    assert result is not None
    rewritten = result.rewrite(file)
    assert "SELECT uri, spend_usd AS spend FROM `acme-prod.d.metrics_v2_*` WHERE spend_usd > 0" in (
        rewritten.text
    )
    assert "def f(r: Row) = r.spend\n" in rewritten.text and not rewritten.flags


def test_code_mentions_are_flagged_comments_are_not() -> None:
    text = "// users_v1 is going away\nval users_v1 = 1 /* users_v1 */\n"
    result = rewrite_one(text)
    assert result.text == text.replace("\nval", f"\n{todo(CODE_MENTION)}\nval")
    assert [(f.line, f.column) for f in result.flags] == [(2, 5)]


def test_single_line_sql_with_escapes_is_flagged_not_edited() -> None:
    text = 'val q = "SELECT email FROM core.users_v1 WHERE note = \\"x\\""\n'
    result = rewrite_one(text)
    [flag] = result.flags
    assert flag.reason == FlagReason.UNRESOLVED_REFERENCE
    assert result.text == todo(flag.message) + "\n" + text  # the query itself is untouched


def test_single_line_sql_keeps_manual_flag_without_comment() -> None:
    text = 'val q = "SELECT age_bucket FROM core.users_v1"\n'
    result = rewrite_one(text)
    [flag] = result.flags
    assert flag.reason == FlagReason.MANUAL_COLUMN
    # no line inside the string for a SQL comment: the Scala comment goes above the statement
    assert result.text == todo(flag.message) + '\nval q = "SELECT age_bucket FROM core.users_v2"\n'


def test_interpolated_sql_escapes_dollar_and_never_edits_splices() -> None:
    text = 'val q = s"SELECT email FROM core.users_v1 WHERE plan = $plan"\n'
    result = rewrite_one(text)
    assert result.text == (
        'val q = s"SELECT email_address AS email FROM core.users_v2 '
        'WHERE subscription.plan = $plan"\n'
    )
    star = 'val q = s"SELECT * REPLACE ($x AS email) FROM core.users_v1"\n'
    result = rewrite_one(star)
    assert result.text.endswith("\n" + star)  # only comments above it
    assert any("interpolated" in f.message for f in result.flags)


def test_query_through_a_table_val_is_flagged() -> None:
    text = 'val Src = "acme-prod.core.users_v1"\nval q = s"SELECT email FROM $Src"\n'
    result = rewrite_one(text)
    assert result.text.startswith('val Src = "acme-prod.core.users_v2"')
    assert [(f.line, f.reason) for f in result.flags] == [(2, FlagReason.UNRESOLVED_TEMPLATE)]


def test_typed_access_comment_inserted_once() -> None:
    text = (
        '@BigQueryType.fromTable("acme-prod.core.users_v1")\n'
        "class User\n"
        "object J {\n"
        "  def f(u: User) = (u.country, u.country, u.user_id, u.email)\n"
        "}\n"
    )
    result = rewrite_one(text)
    lines = result.text.splitlines()
    assert lines[3] == (
        "  // TODO(data-migration users_v2): User.country is now geo.country_code. "
        "See https://wiki.example.com/data/users-v2"
    )
    # email -> email_address is a plain rename of the same type: rewritten, not flagged
    assert lines[4] == "  def f(u: User) = (u.country, u.country, u.user_id, u.email_address)"
    assert len(result.flags) == 2
    assert rewrite_one(result.text).text == result.text


@pytest.mark.parametrize("broken", ['val q = """SELECT', 's"${', "'", '"""', "/* open"])
def test_never_raises_on_truncated_sources(broken: str) -> None:
    result = rewrite_one(broken)
    assert result.text == broken
    assert not [f for f in result.flags if f.reason == FlagReason.INTERNAL_ERROR]


def test_sql_leftovers_are_flagged() -> None:
    text = (
        'val q = s"""\n'
        "  SELECT user_id, 'core.users_v1' AS src  -- users_v1 in a SQL comment is fine\n"
        "  FROM core.users_v1 WHERE note = '${users_v1.name}'\n"
        '"""\n'
    )
    result = rewrite_one(text)
    assert "FROM core.users_v2" in result.text
    assert "'core.users_v1' AS src" in result.text
    assert sorted((f.line, f.reason) for f in result.flags) == [
        (2, FlagReason.UNRESOLVED_REFERENCE),  # the SQL string literal
        (3, FlagReason.UNRESOLVED_REFERENCE),  # the interpolated Scala expression
    ]


def _accounts_engine(tmp_path: Path) -> SqlRewriter:
    """accounts_v1 -> accounts_v2 where `is_eu` becomes `region LIKE 'EU%'` (a `%`)."""
    folder = tmp_path / "accounts_v2"
    (folder / "schemas").mkdir(parents=True)
    (folder / "migration.yaml").write_text(
        "id: accounts_v2\ntitle: t\nguide_url: https://wiki.example.com/a\n"
        "tables:\n  - old: acme-prod.d.accounts_v1\n    new: acme-prod.d.accounts_v2\n"
        "mapping: mapping.csv\npull_request:\n  branch: b\n  title: t\n"
    )
    (folder / "mapping.csv").write_text(
        "old_table,old_column,new_expression,action,note\n"
        "acme-prod.d.accounts_v1,id,id,map,\n"
        "acme-prod.d.accounts_v1,is_eu,region LIKE 'EU%',map,\n"
    )
    (folder / "schemas" / "acme-prod.d.accounts_v1.json").write_text(
        '[{"name": "id", "type": "STRING"}, {"name": "is_eu", "type": "BOOL"}]'
    )
    (folder / "schemas" / "acme-prod.d.accounts_v2.json").write_text(
        '[{"name": "id", "type": "STRING"}, {"name": "region", "type": "STRING"}]'
    )
    return SqlRewriter(load_migration(folder))


def test_a_percent_in_new_sql_is_escaped_in_format_strings(tmp_path: Path) -> None:
    """`fromQuery("... '%s'", arg)`, `"...".format(arg)` and `String.format(...)` format
    their query: a `%` the rewrite brings in is written `%%` there, and only there."""
    engine = _accounts_engine(tmp_path)
    text = (
        "object J {\n"
        '  @BigQueryType.fromQuery("SELECT id, is_eu FROM `acme-prod.d.accounts_v1` '
        "WHERE id = '%s'\", Id)\n"
        "  class Row\n"
        "  val a = \"SELECT is_eu FROM `acme-prod.d.accounts_v1` WHERE id = '%s'\".format(x)\n"
        "  val b = String.format(\n"
        '    """SELECT is_eu FROM `acme-prod.d.accounts_v1` WHERE id = \'%s\'""", x)\n'
        '  val c = "SELECT is_eu FROM `acme-prod.d.accounts_v1`"\n'
        "}\n"
    )
    file = scala_file(text)
    session = ScioFramework().open(Path("."), engine, [scala_file(_SCIO_SBT, "build.sbt"), file])
    assert session is not None
    lines = session.rewrite(file).text.splitlines()
    assert lines[1] == (
        "  @BigQueryType.fromQuery(\"SELECT id, region LIKE 'EU%%' AS is_eu FROM "
        "`acme-prod.d.accounts_v2` WHERE id = '%s'\", Id)"
    )
    assert "SELECT region LIKE 'EU%%' AS is_eu FROM" in lines[3]
    assert "SELECT region LIKE 'EU%%' AS is_eu FROM" in lines[5]
    assert (
        lines[6] == "  val c = \"SELECT region LIKE 'EU%' AS is_eu FROM `acme-prod.d.accounts_v2`\""
    )


def test_magnolify_avro_type_binds_its_case_class() -> None:
    """`AvroType[T].from` on GenericRecords of an old table: T's changed fields and its
    accesses are flagged; a renamed GenericRecord getter before the conversion is renamed."""
    text = (
        "object J {\n"
        "  case class U(user_id: String, plan: Option[String])\n"
        "  val avroU = AvroType[U]\n"
        '  sc.bigQueryTable(Table.Spec("acme-prod:core.users_v1"), Format.GenericRecord)\n'
        '    .filter(r => r.get("email") != null)\n'
        "    .map(avroU.from)\n"
        "    .map(u => u.plan)\n"
        "}\n"
    )
    result = rewrite_one(text)
    assert '.filter(r => r.get("email_address") != null)' in result.text
    assert sorted(f.message.split(" ", 1)[0] for f in result.flags) == ["U.plan", "U.plan"]
    assert rewrite_one(result.text).text == result.text


def test_access_comments_go_above_the_statement_not_inside_it() -> None:
    """Never between chained calls, before `).map(` inside an argument list or inside a
    lambda's argument list: above the line starting the statement (user comments and
    trailing comments on the way are skipped); a block lambda's own statements keep theirs."""
    text = (
        "object J {\n"
        "  def main(): Unit = {\n"
        "    sc.bigQueryStorage(\n"
        '      Table.Spec("acme-prod:core.users_v1"),\n'
        '      selectedFields = List("user_id", "plan") // what we need\n'
        '    ).map(row => row.getString("plan"))\n'
        '    sc.bigQueryTable(Table.Spec("acme-prod:core.users_v1"))\n'
        "      // only active users\n"
        '      .filter(r => r.getBoolean("is_active"))\n'
        "      .map(r =>\n"
        '        r.getString("country"))\n'
        '    sc.bigQueryTable(Table.Spec("acme-prod:core.users_v1")).map { r =>\n'
        '      val plan = r.getString("plan")\n'
        "      plan\n"
        "    }\n"
        "  }\n"
        "}\n"
    )
    result = rewrite_one(text)
    plan = todo('TableRow field "plan" is now subscription.plan', "    ")
    both = todo(
        "TableRow field \"is_active\" is now status = 'ACTIVE'; "
        'TableRow field "country" is now geo.country_code',
        "    ",
    )
    expected = (
        text.replace("    sc.bigQueryStorage(\n", plan + "\n    sc.bigQueryStorage(\n")
        .replace(
            '    sc.bigQueryTable(Table.Spec("acme-prod:core.users_v1"))\n',
            both + '\n    sc.bigQueryTable(Table.Spec("acme-prod:core.users_v1"))\n',
        )
        .replace(
            '      val plan = r.getString("plan")\n',
            "  " + plan + '\n      val plan = r.getString("plan")\n',
        )
        .replace("users_v1", "users_v2")
        .replace('"user_id", "plan"', '"user_id", "subscription.plan"')
    )
    assert result.text == expected
    assert rewrite_one(result.text).text == result.text
