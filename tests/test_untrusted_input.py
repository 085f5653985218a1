"""Untrusted repos and bad input (issue 18): no escape from the scratch area, no hang, no
silent skip. Each test reproduces one probe of the security review."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from gaggle.cli import main
from gaggle.errors import SpecError
from gaggle.forges.local import LocalForge
from gaggle.pipeline import Steps, checked_out, scratch_ledger
from gaggle.progress import bucket_of
from gaggle.repo import UnsafePathError, rewrite_repo, safe_path
from gaggle.reports import pr_body
from gaggle.spec import load_migration
from gaggle.sweep import sweep_migration
from gaggle.validation.offline import OfflineValidator

from tests.conftest import DEMO_MIGRATION

MIGRATION = load_migration(DEMO_MIGRATION)
REPO = "acme/evil"


def _git(path: Path, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=path, input=stdin, capture_output=True, text=True, check=True
    ).stdout.strip()


def _forge_repo(root: Path, files: dict[str, str]) -> LocalForge:
    """A local-forge repo holding `files` (plain paths) on its default branch."""
    path = root / REPO
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    forge = LocalForge(root)
    forge.init_repo(REPO)
    return forge


def _push_dotdot_tree(forge: LocalForge, name: str, text: str) -> None:
    """A commit whose tree holds `../<name>`, as a push git accepts without fsckObjects."""
    path = forge.path(REPO)
    blob = _git(path, "hash-object", "-w", "--stdin", stdin=text)
    inner = _git(path, "mktree", stdin=f"100644 blob {blob}\t{name}\n")
    listing = _git(path, "ls-tree", "HEAD") + f"\n040000 tree {inner}\t..\n"
    tree = _git(path, "mktree", stdin=listing)
    commit = _git(path, "commit-tree", tree, "-p", "HEAD", "-m", "evil")
    _git(path, "update-ref", "refs/heads/main", commit)


def _steps(forge: LocalForge) -> Steps:
    return Steps(
        forge, MIGRATION, scratch_ledger(), OfflineValidator(MIGRATION.catalog), log=lambda _: None
    )


# ---------------------------------------------------------------- 1. path traversal


def test_a_dotdot_entry_in_a_git_tree_fails_the_repo_and_writes_nothing_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    forge = _forge_repo(tmp_path / "forge", {"sql/a.sql": "SELECT 1 FROM core.users_v1\n"})
    _push_dotdot_tree(forge, "escaped.sql", "SELECT country FROM core.users_v1\n")
    scratch = tmp_path / "scratch" / "tmp"
    scratch.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    steps = _steps(forge)
    with pytest.raises(UnsafePathError, match=r"\.\./escaped\.sql"):
        steps.run(REPO)
    assert not (scratch.parent / "escaped.sql").exists()
    assert not list(tmp_path.rglob("escaped.sql"))
    state = steps.ledger.get(MIGRATION.id, REPO)
    assert state.status == "failed"
    assert "../escaped.sql" in state.last_error and "outside the repo" in state.last_error


@pytest.mark.parametrize(
    "path",
    ["../x.sql", "a/../../x.sql", "/etc/x.sql", "a//b.sql", "./a.sql", "", "a/\x00.sql", "a/.."],
)
def test_every_unsafe_path_is_refused_at_checkout(tmp_path: Path, path: str):
    with pytest.raises(UnsafePathError), checked_out({path: "SELECT 1\n"}):
        pass
    with pytest.raises(UnsafePathError):
        safe_path(tmp_path, path)


def test_a_path_through_a_symbolic_link_is_refused(tmp_path: Path):
    root, outside = tmp_path / "repo", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="outside the repo"):
        safe_path(root, "link/x.sql")
    assert safe_path(root, "sql/x.sql") == root.resolve() / "sql" / "x.sql"


# ---------------------------------------------------------------- 6. long file names


def _jobs_repo(root: Path, names: list[str]) -> Path:
    root.mkdir(parents=True)
    for name in names:
        (root / name).write_text("SELECT u.country FROM `acme-prod.core.users_v1` AS u\n")
    return root


def test_a_251_character_file_name_is_rewritten_with_every_other_file_and_reported(
    tmp_path: Path,
):
    long_name = "q" * 247 + ".sql"
    repo = _jobs_repo(tmp_path / "repo", ["a.sql", long_name, "z.sql"])
    report = tmp_path / "report.json"
    assert (
        main(["rewrite", "--migration", str(DEMO_MIGRATION), str(repo), "--report", str(report)])
        == 0
    )
    for name in ("a.sql", long_name, "z.sql"):
        assert "geo.country_code" in (repo / name).read_text(), name
    assert sorted(p.name for p in repo.iterdir()) == sorted(["a.sql", long_name, "z.sql"])
    assert {f["path"] for f in json.loads(report.read_text())["files"]} == {
        "a.sql",
        long_name,
        "z.sql",
    }


def test_a_failing_write_leaves_that_file_as_it_was_the_others_rewritten_and_the_report_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    repo = _jobs_repo(tmp_path / "repo", ["a.sql", "b.sql", "c.sql"])
    original = (repo / "b.sql").read_text()
    replace = os.replace

    def full_disk_for_b(source, target):
        if Path(target).name == "b.sql":
            raise OSError(28, "No space left on device")
        replace(source, target)

    monkeypatch.setattr(os, "replace", full_disk_for_b)
    report = tmp_path / "report.json"
    code = main(["rewrite", "--migration", str(DEMO_MIGRATION), str(repo), "--report", str(report)])
    assert code == 1
    assert (repo / "b.sql").read_text() == original
    assert "geo.country_code" in (repo / "a.sql").read_text()
    assert "geo.country_code" in (repo / "c.sql").read_text()
    assert sorted(p.name for p in repo.iterdir()) == ["a.sql", "b.sql", "c.sql"]  # no temp left
    files = {f["path"]: f for f in json.loads(report.read_text())["files"]}
    assert files["b.sql"]["status"] == "failed"
    assert "No space left on device" in files["b.sql"]["flags"][0]["message"]
    assert files["a.sql"]["status"] == "changed"


# ---------------------------------------------------------------- 2, 3. YAML/JSON bombs


def _alias_bomb(levels: int = 30, width: int = 9) -> str:
    lines = ["table: acme-prod.core.users_v1", "a0: &a0 [core.users_v1, x]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(60)
def test_a_yaml_alias_bomb_is_not_expanded_and_the_file_is_flagged(tmp_path: Path):
    repo = tmp_path / "repo"
    (repo / "jobs").mkdir(parents=True)
    (repo / "jobs" / "bomb.yaml").write_text(_alias_bomb())
    outcome = rewrite_repo(repo, MIGRATION, write=True)
    (bomb,) = outcome.files
    assert bomb.kind == "job-config" and bomb.status == "failed"
    assert (repo / "jobs" / "bomb.yaml").read_text() == _alias_bomb()
    (flag,) = bomb.result.flags
    assert "alias bomb" in flag.message and re.search(r"about 10\^2\d values", flag.message)


def test_yaml_aliases_are_edited_once_where_the_anchor_is_written(tmp_path: Path):
    repo = tmp_path / "repo"
    (repo / "jobs").mkdir(parents=True)
    (repo / "jobs" / "job.yaml").write_text(
        "source: &src core.users_v1\n"
        "defaults: &defaults {table: core.users_v1}\n"
        "jobs:\n  - *defaults\n  - {table: *src}\n  - *defaults\n"
    )
    outcome = rewrite_repo(repo, MIGRATION, write=True)
    assert [f.status for f in outcome.files] == ["changed"]
    assert (repo / "jobs" / "job.yaml").read_text() == (
        "source: &src core.users_v2\n"
        "defaults: &defaults {table: core.users_v2}\n"
        "jobs:\n  - *defaults\n  - {table: *src}\n  - *defaults\n"
    )


def _deep_yaml(depth: int) -> str:
    return "table: core.users_v1\nnested: " + "[" * depth + "1" + "]" * depth + "\n"


def _deep_json(depth: int) -> str:
    return '{"table": "core.users_v1", "nested": ' + "[" * depth + "1" + "]" * depth + "}\n"


def test_yaml_and_json_nested_5000_deep_are_flagged_and_every_other_file_is_rewritten(
    tmp_path: Path, capsys: pytest.CaptureFixture
):
    repo = _jobs_repo(tmp_path / "repo", ["a.sql", "z.sql"])
    (repo / "deep.yaml").write_text(_deep_yaml(5000))
    (repo / "deep.json").write_text(_deep_json(5000))
    report = tmp_path / "report.json"
    code = main(["rewrite", "--migration", str(DEMO_MIGRATION), str(repo), "--report", str(report)])
    assert code == 0, capsys.readouterr().err
    assert "geo.country_code" in (repo / "a.sql").read_text()
    assert "geo.country_code" in (repo / "z.sql").read_text()
    files = {f["path"]: f for f in json.loads(report.read_text())["files"]}
    for deep in ("deep.yaml", "deep.json"):
        assert files[deep]["status"] == "failed"
        assert "nested too deep" in files[deep]["flags"][0]["message"]
        assert (repo / deep).read_text().startswith(("table: core.users_v1", '{"table": "core'))


def test_any_exception_in_a_framework_is_a_flag_on_that_file_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from gaggle.frameworks.sqljobs import SqlJobsSession

    repo = _jobs_repo(tmp_path / "repo", ["a.sql", "b.sql"])
    rewrite = SqlJobsSession.rewrite

    def broken_for_b(self, file):
        if file.relative == "b.sql":
            raise RecursionError("maximum recursion depth exceeded")
        return rewrite(self, file)

    monkeypatch.setattr(SqlJobsSession, "rewrite", broken_for_b)
    outcome = rewrite_repo(repo, MIGRATION, write=True)
    files = {f.path: f for f in outcome.files}
    assert files["b.sql"].status == "failed"
    assert "RecursionError" in files["b.sql"].result.flags[0].message
    assert files["a.sql"].status == "changed"


# ---------------------------------------------------------------- 4. no silent skip

LATIN1_QUERY = "-- café\nSELECT country FROM `acme-prod.core.users_v1`\n".encode("latin-1")


def _commit_bytes(forge: LocalForge, path: str, data: bytes) -> None:
    root = forge.path(REPO)
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_bytes(data)
    _git(root, "add", path)
    _git(root, "-c", "user.name=dev", "-c", "user.email=d@x", "commit", "-qm", "latin-1")


def test_a_repo_whose_only_reference_is_in_a_non_utf8_file_needs_attention(tmp_path: Path):
    forge = _forge_repo(tmp_path / "forge", {"README.md": "jobs\n"})
    _commit_bytes(forge, "sql/report.sql", LATIN1_QUERY)
    _commit_bytes(forge, "logo.png", b"\x89PNG\r\n\x1a\n\xff")  # not a candidate: no noise
    steps = _steps(forge)
    run = steps.run(REPO)
    assert run.status == "unreadable"
    state = steps.ledger.get(MIGRATION.id, REPO)
    assert bucket_of(state) == "attention"
    assert "sql/report.sql (not UTF-8 text)" in state.attention
    assert "logo.png" not in state.attention
    _commit_bytes(forge, "sql/report.sql", b"SELECT 1 -- caf\xc3\xa9\n")
    assert steps.run(REPO).status == "no-change-needed"  # readable now: attention cleared
    assert bucket_of(steps.ledger.get(MIGRATION.id, REPO)) == "no-change-needed"


def test_unreadable_candidates_are_listed_in_the_outcome_and_the_pr_body(tmp_path: Path):
    forge = _forge_repo(tmp_path / "forge", {"sql/a.sql": "SELECT country FROM core.users_v1\n"})
    _commit_bytes(forge, "sql/report.sql", LATIN1_QUERY)
    steps = _steps(forge)
    run = steps.run(REPO)
    assert run.status == "created"
    assert [(s.path, s.reason) for s in run.outcome.unreadable] == [
        ("sql/report.sql", "not UTF-8 text")
    ]
    body = forge._records(REPO)[MIGRATION.pull_request.branch]["body"]
    assert "Files gaggle could not read" in body and "sql/report.sql" in body
    state = steps.ledger.get(MIGRATION.id, REPO)
    assert "sql/report.sql" in json.loads(state.details)["rewrite"]["unreadable"][0]["path"]


def test_the_sweep_never_calls_a_merged_repo_with_an_unreadable_candidate_done(tmp_path: Path):
    forge = _forge_repo(tmp_path / "forge", {"sql/a.sql": "SELECT country FROM core.users_v1\n"})
    steps = _steps(forge)
    assert steps.run(REPO).status == "created"
    forge.merge(REPO, forge.pull_request(REPO, MIGRATION.pull_request.branch).number)
    _commit_bytes(forge, "sql/report.sql", LATIN1_QUERY)
    result = sweep_migration(forge, MIGRATION, steps.ledger)
    state = steps.ledger.get(MIGRATION.id, REPO)
    assert result.verified == [] and bucket_of(state) == "attention"
    assert "sql/report.sql" in state.attention


def test_gaggle_rewrite_lists_every_unreadable_candidate(tmp_path: Path, capsys):
    repo = _jobs_repo(tmp_path / "repo", ["a.sql"])
    (repo / "latin1.sql").write_bytes(LATIN1_QUERY)
    (repo / "utf16.sql").write_bytes("SELECT 1 FROM core.users_v1\n".encode("utf-16"))
    (repo / "huge.sql").write_text("SELECT 1 FROM core.users_v1\n" + "-- pad\n" * 200_000)
    (repo / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    report = tmp_path / "report.json"
    main(["rewrite", "--migration", str(DEMO_MIGRATION), str(repo), "--report", str(report)])
    listed = {u["path"]: u["reason"] for u in json.loads(report.read_text())["unreadable"]}
    assert listed == {
        "huge.sql": "larger than 1 MB",
        "latin1.sql": "not UTF-8 text",
        "utf16.sql": "binary",
    }
    out = capsys.readouterr().out
    assert "latin1.sql: could not be read (not UTF-8 text)" in out
    assert "3 files could not be read" in out


def test_the_github_forge_lists_files_it_could_not_read():
    from gaggle.forges.github import GitHubForge
    from github import Auth

    from tests.fakes.github_server import FakeGitHub

    with FakeGitHub() as server:
        server.add_repo(
            REPO, {"a.sql": "SELECT 1\n", "big.sql": "SELECT 1\n" + "-- pad\n" * 200_000}
        )
        forge = GitHubForge(Auth.Token("t"), server.endpoint, seconds_between_requests=0)
        files = forge.read_files(REPO, forge.default_branch(REPO)[1])
    assert list(files) == ["a.sql"]
    assert files.unreadable == {"big.sql": "larger than 1 MB"}


# ---------------------------------------------------------------- 7. spec checks


def _edit_mapping(folder: Path, old: str, new: str) -> None:
    path = folder / "mapping.csv"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ('"(SELECT MAX(email_address) FROM `acme-prod.core.users_v2`)"', "reads a table"),
        ('"(SELECT email_address FROM other.t LIMIT 1)"', "reads a table"),
        ("email_address /* open", "does not parse as BigQuery SQL"),
    ],
)
def test_a_bad_new_expression_is_a_located_spec_error(
    migration_copy: Path, expression: str, problem: str
):
    _edit_mapping(migration_copy, ",email,email_address,map,", f",email,{expression},map,")
    with pytest.raises(SpecError) as caught:
        load_migration(migration_copy)
    error = caught.value
    assert (error.file, error.line, error.field) == (
        migration_copy / "mapping.csv",
        3,
        "new_expression",
    )
    assert problem in error.problem and error.fix


def test_an_array_subquery_over_the_rows_own_array_is_still_allowed():
    sessions = next(r for r in MIGRATION.rules if r.column == "sessions")
    assert "FROM UNNEST(visits)" in sessions.expression  # the demo spec loads (it is row-wise)


def test_a_migration_yaml_nested_3000_deep_is_a_located_spec_error(migration_copy: Path):
    path = migration_copy / "migration.yaml"
    path.write_text(path.read_text() + "extra: " + "[" * 3000 + "]" * 3000 + "\n")
    lines = path.read_text().count("\n")
    with pytest.raises(SpecError) as caught:
        load_migration(migration_copy)
    error = caught.value
    assert (error.file, error.line, error.field) == (path, lines, "yaml")
    assert "nested deeper than" in error.problem


def test_a_schema_file_nested_3000_deep_is_a_located_spec_error(migration_copy: Path):
    path = next((migration_copy / "schemas").glob("*.json"))
    path.write_text('[{"name": "x", "type": "STRING", "fields": ' + "[" * 3000 + "]" * 3000 + "}]")
    with pytest.raises(SpecError) as caught:
        load_migration(migration_copy)
    assert caught.value.file == path and caught.value.line == 1
    assert "nested deeper than" in caught.value.problem


# ---------------------------------------------------------------- 8. Markdown/HTML injection

HOSTILE = "x <img src=x onerror=alert(1)> [click](javascript:alert(1)) | cell"


def _hostile_repo(root: Path) -> Path:
    (root / "sql").mkdir(parents=True)
    (root / "sql" / "a|b\n## pwned.sql").write_text("SELECT country FROM core.users_v1\n")
    (root / "jobs").mkdir()
    (root / "jobs" / "job.yaml").write_text(f"query: 'SELECT 1 FROM core.users_v1 {HOSTILE}'\n")
    return root


def _table_rows_keep_their_columns(markdown: str) -> None:
    """Every row of each table has as many cells as its separator row."""
    blocks = re.findall(r"(?m)(?:^\|.*\n?)+", markdown)
    assert blocks
    for block in blocks:
        rows = block.strip("\n").split("\n")
        separator = next(row for row in rows if row.startswith("|--"))
        for row in rows:
            assert len(re.split(r"(?<!\\)\|", row)) == separator.count("|") + 1, row


def test_repo_text_in_the_pr_body_cannot_break_out_of_its_table_or_list(tmp_path: Path):
    repo = _hostile_repo(tmp_path / "repo")
    outcome = rewrite_repo(repo, MIGRATION, write=False)
    body = pr_body(MIGRATION, outcome, [], lambda path, line: f"../blob/b/{path}#L{line}")
    assert "\n## pwned" not in body
    assert not re.search(r"(?<!\\)<img|(?<!\\)\]\(javascript:", body)
    _table_rows_keep_their_columns(body)
    assert "a\\|b ## pwned.sql" in body  # still readable, on one line


def test_the_pr_links_of_a_path_are_url_quoted(tmp_path: Path):
    forge = _forge_repo(
        tmp_path / "forge", {"sql/my query (1).sql": "SELECT age_bucket FROM core.users_v1\n"}
    )
    steps = _steps(forge)
    steps.run(REPO)
    body = forge._records(REPO)[MIGRATION.pull_request.branch]["body"]
    assert "(../blob/data-migration/users-v2/sql/my%20query%20%281%29.sql#L" in body


def test_status_reports_escape_repo_text_and_link_only_safe_urls(tmp_path: Path):
    from datetime import UTC, datetime

    from gaggle.status_report import Status, status_html, status_markdown

    ledger = scratch_ledger()
    ledger.record(MIGRATION.id, "acme/a", "created", pr_number=1, pr_url="javascript:alert(1)",
                  pr_state="open", attention=f"sql/a|b\n## pwned: {HOSTILE}")  # fmt: skip
    ledger.record(MIGRATION.id, "acme/b", "created", pr_number=2,
                  pr_url="https://github.com/acme/b/pull/2", pr_state="closed",
                  attention="closed without merging")  # fmt: skip
    status = Status.read(MIGRATION, ledger, datetime(2026, 12, 8, tzinfo=UTC))
    page = status_html(status)
    assert 'href="javascript:' not in page and "<img" not in page
    assert '<a href="https://github.com/acme/b/pull/2">#2</a>' in page
    markdown = status_markdown(status)
    assert not re.search(r"(?<!\\)<img|(?<!\\)\]\(javascript:", markdown)
    assert "\n## pwned" not in markdown
    _table_rows_keep_their_columns(markdown)
    assert "[#2](https://github.com/acme/b/pull/2)" in markdown


# ---------------------------------------------------------------- 11. a corrupt ledger


def test_a_corrupt_ledger_is_one_line_naming_it_and_what_to_do(tmp_path: Path, capsys):
    root = tmp_path / "forge"
    root.mkdir()
    (root / "ledger.db").write_bytes(b"this is not a database\n" * 200)
    code = main(["run", "--migration", str(DEMO_MIGRATION), "--root", str(root)])
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert str(root / "ledger.db") in err and "is not a valid database" in err
    assert "move it aside" in err and "Traceback" not in err


def test_a_tree_github_truncates_is_listed_as_unread():
    from gaggle.forges.github import GitHubForge
    from github import Auth

    from tests.fakes.github_server import FakeGitHub

    class TruncatingGitHub(FakeGitHub):
        """GitHub cuts a recursive tree listing past 100,000 entries or 7 MB."""

        def _tree_json(self, repo, sha, recursive):
            listing = super()._tree_json(repo, sha, recursive)
            return {**listing, "tree": listing["tree"][:1], "truncated": True}

    with TruncatingGitHub() as server:
        server.add_repo(REPO, {"a.sql": "SELECT 1\n", "b.sql": "SELECT 1 FROM core.users_v1\n"})
        forge = GitHubForge(Auth.Token("t"), server.endpoint, seconds_between_requests=0)
        steps = _steps(forge)
        found = steps.find_references(REPO)
    assert found["status"] == "unreadable"
    state = steps.ledger.get(MIGRATION.id, REPO)
    assert "* (GitHub truncated the tree listing" in state.attention


def test_a_deep_file_on_a_merged_default_branch_does_not_stop_the_sweep(tmp_path: Path):
    forge = LocalForge(tmp_path / "forge")
    ledger = scratch_ledger()
    for name in ("acme/a-deep", "acme/b-fine"):
        (forge.path(name) / "sql").mkdir(parents=True)
        (forge.path(name) / "sql" / "q.sql").write_text("SELECT country FROM core.users_v1\n")
        forge.init_repo(name)
        steps = Steps(forge, MIGRATION, ledger, OfflineValidator(MIGRATION.catalog), log=print)
        assert steps.run(name).status == "created"
        forge.merge(name, forge.pull_request(name, MIGRATION.pull_request.branch).number)
    root = forge.path("acme/a-deep")
    (root / "deep.yaml").write_text(_deep_yaml(5000))
    _git(root, "add", "deep.yaml")
    _git(root, "-c", "user.name=dev", "-c", "user.email=d@x", "commit", "-qm", "deep")
    result = sweep_migration(forge, MIGRATION, ledger)
    assert result.verified == ["acme/b-fine"] and result.attention == ["acme/a-deep"]
    assert "deep.yaml" in ledger.get(MIGRATION.id, "acme/a-deep").attention


def test_nesting_is_measured_without_a_parser_and_ignores_quotes_and_comments():
    from gaggle.nesting import too_deep_at

    deep = "a: 1\nb: " + "[" * 65 + "]" * 65 + "\n"
    assert too_deep_at(deep) == 2
    assert too_deep_at(deep, limit=65) is None
    quoted = "a: '" + "[" * 100 + "'\nb: \"{{{" + "[" * 100 + '"  # ' + "{" * 100 + "\n"
    assert too_deep_at(quoted) is None
    assert too_deep_at('{"a": "\\" [[[", "b": [[1]]}') is None
