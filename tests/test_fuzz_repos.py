"""Random hostile repos (issue 18): odd names, encodings, sizes, nesting, symbolic links and
YAML anchors, through `gaggle rewrite` and the pipeline's first two steps. Whatever the
repo holds: no exception, no write outside the repo, every unreadable candidate listed."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gaggle.cli import main
from gaggle.forges.local import LocalForge
from gaggle.pipeline import Steps, scratch_ledger
from gaggle.repo import MAX_BYTES, SKIPPED_DIRS, TEXT_SUFFIXES
from gaggle.spec import load_migration
from gaggle.validation.offline import OfflineValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import DEMO_MIGRATION

MIGRATION = load_migration(DEMO_MIGRATION)
REPO = "acme/fuzz"
OUTSIDE_QUERY = b"SELECT country FROM `acme-prod.core.users_v1`\n"

# ---------------------------------------------------------------- what a repo may hold

_name_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00")
_odd_stem = st.one_of(
    st.sampled_from(["q", "daily users", "a|b", "line\nbreak", "-rf", "über", "..x", "日本"]),
    st.text(_name_chars, min_size=1, max_size=12),
    st.integers(150, 230).map(lambda n: "q" * n),
)
_suffix = st.sampled_from([".sql", ".SQL", ".yaml", ".yml", ".json", ".scala", ".md", ""])
_folder = st.sampled_from(["sql", "jobs", "deep dir", "target", "node_modules", "a|b", "ü"])


def _valid_name(name: str) -> bool:
    return name not in (".", "..", ".git") and len(name.encode()) <= 240


_file_name = st.builds(lambda stem, suffix: stem + suffix, _odd_stem, _suffix).filter(_valid_name)
_path = st.builds(
    lambda folders, name: "/".join([*folders, name]), st.lists(_folder, max_size=3), _file_name
)

_SQL = [
    "SELECT country FROM `acme-prod.core.users_v1`\n",
    "SELECT u.email, u.age_bucket FROM core.users_v1 AS u WHERE u.is_active -- email\n",
    "SELECT {{ params.col }} FROM `acme-prod.{{ params.ds }}.users_v1`\n",
    "SELECT * FROM users_v1 JOIN orders USING (user_id)\n",
]
_depth = st.sampled_from([1, 5, 60, 400, 1500])
_text = st.one_of(
    st.builds(lambda q, junk: q + junk, st.sampled_from(_SQL), st.text(max_size=40)),
    _depth.map(lambda n: "SELECT " + "(" * n + "1" + ")" * n + " FROM core.users_v1\n"),
    _depth.map(lambda n: "table: core.users_v1\nx: " + "[" * n + "]" * n + "\n"),
    _depth.map(lambda n: '{"table": "core.users_v1", "x": ' + "[" * n + "]" * n + "}\n"),
    st.integers(1, 12).map(
        lambda levels: (
            "table: core.users_v1\na0: &a0 [core.users_v1]\n"
            + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, levels))
        )
    ),
    st.just("src: &s core.users_v1\njobs:\n  - {table: *s}\n  - <<: {table: *s}\n"),
    st.text(max_size=200),
)
_encoding = st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16", "crlf", "nul", "huge"])


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "crlf":
        return text.replace("\n", "\r\n").encode("utf-8")
    if encoding == "nul":
        return text.encode("utf-8") + b"\x00"
    if encoding == "huge":
        return text.encode("utf-8") + b"-- padding\n" * (MAX_BYTES // 11 + 1)
    return text.encode(encoding, errors="replace")


@dataclass(frozen=True)
class Entry:
    path: str
    data: bytes = field(default=b"", repr=False)  # up to 1 MB: shown by `head` instead
    link: str = ""  # a symbolic link to this target instead of a file

    @property
    def head(self) -> bytes:
        return self.data[:60]

    def __repr__(self) -> str:
        if self.link:
            return f"Entry({self.path!r}, link={self.link!r})"
        return f"Entry({self.path!r}, {len(self.data)} bytes: {self.head!r})"


_entry = st.one_of(
    st.builds(lambda p, t, e: Entry(p, _encode(t, e)), _path, _text, _encoding),
    st.builds(
        lambda p, target: Entry(p, link=target),
        _path,
        st.sampled_from(["../../outside/secret.sql", "/etc/hostname", "sql", "missing.sql"]),
    ),
)
_tree = st.lists(_entry, min_size=1, max_size=8, unique_by=lambda e: e.path.lower())


def _write(root: Path, entries: list[Entry]) -> list[Entry]:
    """The entries that could be written (a later file may not sit below an earlier one)."""
    written = []
    for entry in entries:
        target = root / entry.path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if entry.link:
                target.symlink_to(entry.link)
            else:
                target.write_bytes(entry.data)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            continue
        written.append(entry)
    return written


def _unreadable(data: bytes) -> bool:
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if len(data) > MAX_BYTES or b"\x00" in data[:8192]:
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _undecodable(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _candidate(path: str) -> bool:
    *folders, name = path.split("/")
    return Path(name).suffix.lower() in TEXT_SUFFIXES and not set(folders) & SKIPPED_DIRS.keys()


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _git(path: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=path, capture_output=True, check=True)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(entries=_tree)
def test_any_repo_is_rewritten_without_exception_escape_or_silent_skip(entries: list[Entry]):
    with tempfile.TemporaryDirectory(prefix="gaggle-fuzz-") as scratch:
        base = Path(scratch)
        outside = base / "outside"
        outside.mkdir()
        (outside / "secret.sql").write_bytes(OUTSIDE_QUERY)
        repo = base / "forge" / REPO
        repo.mkdir(parents=True)
        written = _write(repo, entries)
        files = [e for e in written if not e.link]
        expected = {e.path for e in files if _candidate(e.path) and _unreadable(e.data)}
        undecodable = {e.path for e in files if _candidate(e.path) and _undecodable(e.data)}
        before = _fingerprint(outside)
        _git(repo, "init", "-q", "-b", "main")
        _git(repo, "add", "-A")
        _git(repo, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "fuzz")

        # gaggle rewrite: exit 0 or 1 (an internal error is a flag), never an exception
        report = base / "report.json"
        code = main(
            ["rewrite", "--migration", str(DEMO_MIGRATION), str(repo), "--report", str(report)]
        )
        assert code in (0, 1)
        data = json.loads(report.read_text())
        assert {u["path"] for u in data["unreadable"]} == expected
        assert _fingerprint(outside) == before
        assert sorted(p.name for p in base.iterdir()) == ["forge", "outside", "report.json"]

        # the pipeline over the committed tree: find references, then rewrite
        forge = LocalForge(base / "forge")
        steps = Steps(
            forge, MIGRATION, scratch_ledger(), OfflineValidator(MIGRATION.catalog),
            log=lambda _: None,
        )  # fmt: skip
        found = steps.find_references(REPO)
        status = found["status"]
        if status == "references-found":
            status = steps.rewrite(REPO, found["base_sha"])["status"]
        assert status in ("no-change-needed", "unreadable", "rewritten")
        state = steps.ledger.get(MIGRATION.id, REPO)
        if status == "rewritten":
            listed = {u["path"] for u in json.loads(state.details)["rewrite"]["unreadable"]}
        else:
            listed = set(
                steps.ledger.events(MIGRATION.id, REPO)[-1]["detail"].get("unreadable", {})
            )
        # The forge lists what it cannot decode; what it decodes but the rewrite will not
        # read (a NUL byte, over 1 MB) is listed once the rewrite step ran.
        rewrite_ran = found["status"] == "references-found"
        assert listed == (expected if rewrite_ran else undecodable), (status, listed)
        assert (state.attention != "") == bool(listed)
        assert _fingerprint(outside) == before
        assert sorted(p.name for p in base.iterdir()) == ["forge", "outside", "report.json"]
