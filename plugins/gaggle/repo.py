"""One consumer repo through the engine: find its files safely, let each framework rewrite
what it owns, report per file, and write back atomically."""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gaggle.errors import GaggleError
from gaggle.frameworks import FRAMEWORKS
from gaggle.frameworks.base import FrameworkSession, RepoFile
from gaggle.spec import Migration
from gaggle.sql import RewriteResult
from gaggle.sql.branches import TemplatedRewriter
from gaggle.sql.report import Change, Flag, FlagReason

SKIPPED_DIRS = {
    ".git": "version control",
    "target": "build output",
    "dbt_packages": "installed dbt packages",
    "node_modules": "vendored",
    "vendor": "vendored",
    "third_party": "vendored",
    ".venv": "virtualenv",
    "__pycache__": "build output",
    "logs": "dbt logs",
}
TEXT_SUFFIXES = {".sql", ".sqlx", ".yml", ".yaml", ".json", ".scala", ".sbt", ".sc"}
MAX_BYTES = 1_000_000
Progress = Callable[[int, int], None]


@dataclass
class FileOutcome:
    path: str  # relative to the repo, with forward slashes
    framework: str
    kind: str
    result: RewriteResult
    source: RepoFile | None = None  # how to write it back: line endings, byte-order mark

    def new_content(self) -> str:
        """The rewritten text with the file's own line endings and byte-order mark."""
        if self.source is None:
            return self.result.text
        return self.source.encoded(self.result.text).decode("utf-8")

    @property
    def status(self) -> str:
        if any(f.reason in ("unparseable", "internal-error") for f in self.result.flags):
            return "failed"
        if self.result.flags:
            return "flagged"
        return "changed" if self.result.changed else "unchanged"

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.result.original.splitlines(keepends=True),
                self.result.text.splitlines(keepends=True),
                fromfile=f"a/{self.path}",
                tofile=f"b/{self.path}",
            )
        )


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str
    unreadable: bool = False  # a candidate file gaggle could not read: a human must look


def is_candidate(path: str) -> bool:
    """Whether a file of this name is one gaggle reads (SQL, configs, Scala), outside the
    folders it never walks (version control, build output, vendored code)."""
    *folders, _name = path.split("/")
    return Path(path).suffix.lower() in TEXT_SUFFIXES and not SKIPPED_DIRS.keys() & set(folders)


@dataclass
class RepoOutcome:
    repo: Path
    frameworks: list[str] = field(default_factory=list)
    files: list[FileOutcome] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def touched(self) -> list[FileOutcome]:
        return [f for f in self.files if f.result.references_found]

    @property
    def unreadable(self) -> list[Skipped]:
        """Candidate files gaggle could not read: any of them may hold a reference."""
        return [s for s in self.skipped if s.unreadable]

    def to_dict(self) -> dict:
        return {
            "repo": str(self.repo),
            "frameworks": self.frameworks,
            "files": [
                {
                    "path": f.path,
                    "framework": f.framework,
                    "kind": f.kind,
                    "status": f.status,
                    **f.result.to_dict(),
                }
                for f in self.touched
            ],
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "unreadable": [{"path": s.path, "reason": s.reason} for s in self.unreadable],
            "summary": self.summary_counts(),
        }

    def to_json(self) -> dict:
        """Everything a later step needs to rebuild this outcome over the same repo files."""
        return {
            "frameworks": self.frameworks,
            "skipped": [[s.path, s.reason, s.unreadable] for s in self.skipped],
            "files": [
                {"path": f.path, "framework": f.framework, "kind": f.kind}
                | (
                    {"text": f.result.text, **f.result.to_dict()}
                    if f.result.references_found or f.result.changed
                    else {}
                )
                for f in self.files
            ],
        }

    @classmethod
    def from_json(cls, data: dict, repo: Path) -> RepoOutcome:
        """The outcome `to_json` saved, over the same files checked out at `repo`."""
        sources = {file.relative: file for file in collect_files(repo)[0]}
        outcome = cls(
            repo, list(data["frameworks"]), skipped=[Skipped(*s) for s in data["skipped"]]
        )
        for item in data["files"]:
            source = sources[item["path"]]
            result = RewriteResult(
                source.text,
                item.get("text", source.text),
                [Change(**c) for c in item.get("changes", [])],
                [Flag(**{**f, "reason": FlagReason(f["reason"])}) for f in item.get("flags", [])],
            )
            outcome.files.append(
                FileOutcome(item["path"], item["framework"], item["kind"], result, source)
            )
        return outcome

    def summary_counts(self) -> dict[str, int]:
        counts = {"files_scanned": len(self.files), "changes": 0, "flags": 0}
        for outcome in self.files:
            counts["changes"] += len(outcome.result.changes)
            counts["flags"] += len(outcome.result.flags)
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return counts

    def summary_table(self) -> str:
        """Per framework and kind: files, changed, flagged, failed, changes, flags."""
        rows: dict[tuple[str, str], list[int]] = {}
        for outcome in self.files:
            row = rows.setdefault((outcome.framework, outcome.kind), [0, 0, 0, 0, 0, 0])
            row[0] += 1
            row[1] += outcome.status == "changed"
            row[2] += outcome.status == "flagged"
            row[3] += outcome.status == "failed"
            row[4] += len(outcome.result.changes)
            row[5] += len(outcome.result.flags)
        header = ("framework", "kind", "files", "changed", "flagged", "failed", "changes", "flags")
        lines = [f"{header[0]:<10}{header[1]:<16}" + "".join(f"{h:>9}" for h in header[2:])]
        for (framework, kind), row in sorted(rows.items()):
            lines.append(f"{framework:<10}{kind:<16}" + "".join(f"{n:>9}" for n in row))
        if self.skipped:
            lines.append(f"skipped: {len(self.skipped)} (see the report)")
        if self.unreadable:
            lines.append(f"could not read: {len(self.unreadable)} candidate file(s)")
        return "\n".join(lines)


class UnsafePathError(GaggleError):
    """A repo names a file outside itself (`..`, an absolute path, a link out): the whole
    repo fails, and nothing of it is written."""


def check_repo_path(relative: str) -> str:
    """A path from a repo listing, refused unless it is a plain relative path inside the
    repo: no absolute path, no empty, `.` or `..` component, no NUL. Git accepts a tree
    entry named `..` unless the server runs `receive.fsckObjects`, so a listing is data."""
    parts = relative.split("/")
    problem = ""
    if not relative or "\x00" in relative:
        problem = "is empty or holds a NUL character"
    elif relative.startswith("/"):
        problem = "is absolute"
    elif any(part in ("", ".", "..") for part in parts):
        problem = "has an empty, `.` or `..` component"
    if problem:
        raise UnsafePathError(
            f"the repo names the file {relative!r}, which {problem}: it would land outside "
            "the repo, so gaggle refuses the repo; remove that entry from its git tree"
        )
    return relative


def safe_path(root: Path, relative: str) -> Path:
    """`root / relative`, checked (`check_repo_path`) and resolved: a parent directory that
    is a symbolic link leading out of the root is refused too. Every write goes through it."""
    check_repo_path(relative)
    base = root.resolve()
    target = base.joinpath(*relative.split("/"))
    real_parent = Path(os.path.realpath(target.parent))
    if real_parent != base and base not in real_parent.parents:
        raise UnsafePathError(
            f"the file {relative!r} resolves to {real_parent / target.name}, outside the repo "
            f"{base} (through a symbolic link): gaggle refuses to write it"
        )
    return real_parent / target.name


def collect_files(repo: Path) -> tuple[list[RepoFile], list[Skipped]]:
    """The repo's candidate text files, and what was skipped with why; links never followed."""
    files: list[RepoFile] = []
    skipped: list[Skipped] = []
    root = repo.resolve()
    for current, dirs, names in os.walk(root, followlinks=False):
        here = Path(current)
        kept = []
        for name in sorted(dirs):
            relative = (here / name).relative_to(root).as_posix()
            if name in SKIPPED_DIRS:
                skipped.append(Skipped(relative + "/", SKIPPED_DIRS[name]))
            elif (here / name).is_symlink():
                skipped.append(Skipped(relative + "/", "symbolic link"))
            else:
                kept.append(name)
        dirs[:] = kept
        for name in sorted(names):
            path = here / name
            if path.suffix.lower() not in TEXT_SUFFIXES:
                continue
            relative = path.relative_to(root).as_posix()
            try:
                file, reason = _read(path, relative)
            except OSError as err:
                file, reason = None, f"could not be read: {err.strerror or err}"
            if file is not None:
                files.append(file)
            else:
                kept_out = reason in ("symbolic link", "not a regular file")
                skipped.append(Skipped(relative, reason, unreadable=not kept_out))
    return files, skipped


def _read(path: Path, relative: str) -> tuple[RepoFile | None, str]:
    if path.is_symlink() or not path.is_file():
        return None, "symbolic link" if path.is_symlink() else "not a regular file"
    if path.stat().st_size > MAX_BYTES:
        return None, f"larger than {MAX_BYTES // 1_000_000} MB"
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        return None, "binary"
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        text = data[3 if bom else 0 :].decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    newline = "\n"
    crlf = text.count("\r\n")
    if crlf and crlf == text.count("\n"):
        newline, text = "\r\n", text.replace("\r\n", "\n")
    return RepoFile(path, relative, text, newline, bom), ""


def rewrite_repo(
    repo: Path,
    migration: Migration,
    write: bool,
    progress: Progress | None = None,
    comment_flags: bool = True,
) -> RepoOutcome:
    """Rewrite every file a framework claims; with write, changed files are replaced atomically.
    Flags become in-file comments unless comment_flags is False (a later step, such as the
    LLM fallback, works on them first and then calls sql.flag_comments.comment_outcome)."""
    engine = TemplatedRewriter(migration, comment_flags)  # every Jinja branch
    files, skipped = collect_files(repo)
    sessions: list[FrameworkSession] = []
    for framework in FRAMEWORKS:
        try:
            session = framework.open(repo.resolve(), engine, files)
        except Exception as err:  # the other frameworks still handle their files
            skipped.append(Skipped("", f"{framework.name}: {_failure(err)}"))
            continue
        if session is not None:
            sessions.append(session)
    outcome = RepoOutcome(repo, [s.framework for s in sessions], skipped=skipped)
    for done, file in enumerate(files, 1):
        handled = _rewrite_file(sessions, file)
        if handled is not None:
            outcome.files.append(handled)
        if progress is not None:
            progress(done, len(files))
    for session in sessions:
        try:
            finished = session.finish()
        except Exception as err:  # one framework's bug: its project files stay as they were
            outcome.skipped.append(Skipped("", f"{session.framework}: {_failure(err)}"))
            continue
        for file, kind, result in finished:
            outcome.files = [f for f in outcome.files if f.path != file.relative]
            outcome.files.append(FileOutcome(file.relative, session.framework, kind, result, file))
    outcome.files.sort(key=lambda f: f.path)
    if write:
        write_back(repo, outcome)
    return outcome


def _rewrite_file(sessions: list[FrameworkSession], file: RepoFile) -> FileOutcome | None:
    """The first framework claiming the file rewrites it. Whatever a framework raises on
    untrusted content (a RecursionError, a bug) becomes a flag on this file alone: the
    file stays as it was and every other file is still rewritten."""
    framework, kind = "", None
    try:
        for session in sessions:
            framework = session.framework
            kind = session.kind_of(file)
            if kind is not None:
                return FileOutcome(file.relative, framework, kind, session.rewrite(file), file)
    except Exception as err:
        flag = Flag(1, 1, FlagReason.INTERNAL_ERROR, _failure(err))
        result = RewriteResult(file.text, file.text, flags=[flag])
        return FileOutcome(file.relative, framework, kind or "unknown", result, file)
    return None


def _failure(err: Exception) -> str:
    return f"gaggle failed on this file and left it unchanged: {type(err).__name__}: {err}"


def write_back(repo: Path, outcome: RepoOutcome) -> None:
    """Replace each changed file atomically. A file that cannot be written (a full disk, a
    name the file system refuses) stays as it was and is reported failed; the others are
    still written, so every file ends as it was or fully rewritten."""
    for file_outcome in outcome.files:
        source = file_outcome.source
        if not file_outcome.result.changed or source is None:
            continue
        try:
            write_atomically(
                safe_path(repo, source.relative), source.encoded(file_outcome.result.text)
            )
        except (OSError, UnsafePathError) as err:
            message = f"gaggle could not write the rewritten file ({err}); it is left as it was"
            original = file_outcome.result.original
            flag = Flag(1, 1, FlagReason.INTERNAL_ERROR, message)
            file_outcome.result = RewriteResult(original, original, flags=[flag])


def write_atomically(path: Path, data: bytes) -> None:
    """Replace a file's content so a crash leaves either the old or the new file, never half.
    The temporary name is short whatever the file's name (a name near the file system's
    255-byte limit must not make the write fail)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".gaggle-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
