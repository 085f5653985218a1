"""Untrusted repos and bad input (issue 18): no escape from the scratch area, no hang, no
silent skip. Each test reproduces one probe of the security review."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
from gaggle.forges.local import LocalForge
from gaggle.pipeline import Steps, checked_out, scratch_ledger
from gaggle.repo import UnsafePathError, safe_path
from gaggle.spec import load_migration
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
