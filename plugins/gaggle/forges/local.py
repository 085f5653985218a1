"""The local forge: repos are git repositories under a directory, a PR is a branch plus a
JSON record. The demo and the tests walk the whole lifecycle with it, offline.

Branches are written with git plumbing (hash-object, a temporary index, commit-tree,
update-ref with the expected old value), so a working tree is never touched and a
concurrent change to the branch makes the update fail instead of being overwritten.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from gaggle.errors import GaggleError
from gaggle.forges.base import (
    GAGGLE_EMAIL,
    GAGGLE_NAME,
    Proposal,
    ProposalOutcome,
    PullRequest,
    RepoFiles,
    is_gaggle_head,
)

RECORDS = "gaggle-prs.json"
STATUSES = "gaggle-statuses.json"  # commit statuses, as a code host shows them on a PR
AUTHOR = {"GIT_AUTHOR_NAME": GAGGLE_NAME, "GIT_AUTHOR_EMAIL": GAGGLE_EMAIL}
# `language:` as file extensions, for the languages gaggle's consumers are written in.
LANGUAGES = {
    "sql": (".sql",),
    "scala": (".scala", ".sc", ".sbt"),
    "yaml": (".yml", ".yaml"),
    "json": (".json",),
    "python": (".py",),
    "jinja": (".jinja", ".j2"),
    "markdown": (".md",),
    "shell": (".sh",),
}
IGNORED_QUALIFIERS = {"fork", "archived", "is"}  # meaningless for local repos


def _stamp(record: dict) -> None:
    """Last activity on the PR (what GitHub calls updated_at): the sweep's idle clock."""
    record["updated_at"] = datetime.now(UTC).isoformat()


def _wanted(parsed, name: str, size: int) -> bool:
    """Whether a file passes the query's path, name, extension, language and size filters."""
    from gaggle.discovery import SIZE_LIMIT

    lo, hi = parsed.size_range()
    if size >= SIZE_LIMIT or not lo <= size <= hi:
        return False
    base = name.rsplit("/", 1)[-1]
    for prefix in parsed.values("path"):
        folder = prefix.strip("/")
        inside = "/" not in name if not folder else name.startswith(folder + "/")
        if not inside:
            return False
    if any(base.lower() != v.lower() for v in parsed.values("filename")):
        return False
    if any(
        not base.lower().endswith("." + v.lower().lstrip(".")) for v in parsed.values("extension")
    ):
        return False
    for language in parsed.values("language"):
        suffixes = LANGUAGES.get(language.lower())
        if suffixes is None:
            from gaggle.discovery import DiscoveryError

            raise DiscoveryError(
                f"language:{language} is unknown to the local forge (known: {', '.join(LANGUAGES)})"
            )
        if not base.lower().endswith(suffixes):
            return False
    return True


class LocalForgeError(GaggleError):
    """A git command failed in the local forge."""


class LocalForge:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.search_notes: list[str] = []  # what the last search could not cover

    # ------------------------------------------------------------ repos

    def path(self, repo: str) -> Path:
        return self.root / repo

    def init_repo(self, repo: str, default_branch: str = "main") -> None:
        """Turn a directory of files into a repo with one commit on its default branch."""
        path = self.path(repo)
        if (path / ".git").exists():
            return
        self._git(path, "init", "-q", "-b", default_branch)
        self._git(path, "add", "-A")
        env = {**AUTHOR, "GIT_COMMITTER_NAME": "owner", "GIT_COMMITTER_EMAIL": "owner@localhost"}
        self._git(
            path, "commit", "-q", "-m", "Initial commit", env={**env, "GIT_AUTHOR_NAME": "owner"}
        )

    def repos(self) -> list[str]:
        return sorted(
            p.parent.relative_to(self.root).as_posix() for p in self.root.glob("*/*/.git")
        )

    def default_branch(self, repo: str) -> tuple[str, str]:
        path = self.path(repo)
        branch = self._git(path, "symbolic-ref", "--short", "HEAD").strip()
        return branch, self._git(path, "rev-parse", branch).strip()

    def read_files(self, repo: str, ref: str) -> RepoFiles:
        """Every UTF-8 file at the ref, read through one `git cat-file --batch` process."""
        path = self.path(repo)
        entries = []
        for line in self._git(path, "ls-tree", "-r", "-z", ref).split("\0"):
            if line:
                meta, name = line.split("\t", 1)
                mode, kind, sha = meta.split()
                if kind == "blob" and mode != "120000":  # symbolic links are not followed
                    entries.append((name, sha))
        batch = self._run(
            path, ["git", "cat-file", "--batch"],
            stdin="".join(f"{sha}\n" for _, sha in entries).encode(), text=False,
        )  # fmt: skip
        files, offset = RepoFiles(), 0
        for name, _ in entries:
            header_end = batch.index(b"\n", offset)
            size = int(batch[offset:header_end].split()[2])
            data = batch[header_end + 1 : header_end + 1 + size]
            offset = header_end + 1 + size + 1  # the content, then a newline
            try:
                files[name] = data.decode("utf-8")
            except UnicodeDecodeError:
                files.unreadable[name] = "not UTF-8 text"
        return files

    def tree_info(self, repo: str, ref: str) -> dict:
        """Nothing to keep: the local forge reads modes from git when it commits."""
        return {}

    # ------------------------------------------------------------ code search

    def search_code(self, query: str) -> dict[str, set[str]]:
        """GitHub's code search, offline: `git grep` over each repo's default branch.

        Every free-text term and "phrase" must occur in the file (case-insensitively, as a
        substring: a superset of GitHub's token match). Qualifiers: `org:`/`user:` (owner),
        `repo:owner/name`, `path:dir` (the file lies under it; `path:/` the root),
        `filename:`, `extension:`, `language:` (see LANGUAGES), `size:` (bytes, e.g.
        `size:<1000`, `size:10..200`) and `in:file`/`in:path`. Like GitHub, only files
        under 384 KB count. Another qualifier is an error rather than silently ignored.
        """
        from gaggle.discovery import DiscoveryError, parse_search_query

        parsed = parse_search_query(query)
        if not parsed.terms:
            raise DiscoveryError(f"code search query {query!r} has no search term")
        for name, _ in parsed.qualifiers:
            known = {"org", "user", "repo", "path", "filename", "extension", "language"}
            if name not in known | {"size", "in"} | IGNORED_QUALIFIERS:
                raise DiscoveryError(f"the local forge does not support {name}: in {query!r}")
        owners = {v.lower() for v in parsed.values("org") + parsed.values("user")}
        names = {v.lower() for v in parsed.values("repo")}
        found: dict[str, set[str]] = {}
        self.search_notes = []
        for repo in self.repos():
            if owners and repo.split("/", 1)[0].lower() not in owners:
                continue
            if names and repo.lower() not in names:
                continue
            try:
                paths = self._search_repo(repo, parsed)
            except LocalForgeError as err:  # one unreadable repo must not hide the others
                self.search_notes.append(f"{repo} could not be searched: {err}")
                continue
            if paths:
                found[repo] = paths
        return found

    def _search_repo(self, repo: str, parsed) -> set[str]:
        path = self.path(repo)
        branch, _ = self.default_branch(repo)
        candidates = {
            name for name, size in self._sizes(path, branch).items() if _wanted(parsed, name, size)
        }
        if not candidates:
            return set()
        if "path" in parsed.values("in"):
            return {
                name
                for name in candidates
                if all(term.lower() in name.lower() for term in parsed.terms)
            }
        patterns = [arg for term in parsed.terms for arg in ("-e", term)]
        result = subprocess.run(
            ["git", "grep", "-l", "-i", "-F", "-I", "--all-match", *patterns, branch],
            cwd=path, capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode not in (0, 1):  # 1: nothing matched
            raise LocalForgeError(f"git grep failed in {path}: {result.stderr.strip()}")
        hits = {line.removeprefix(f"{branch}:") for line in result.stdout.splitlines()}
        return hits & candidates

    def _sizes(self, path: Path, ref: str) -> dict[str, int]:
        """{path: size in bytes} of every blob at the ref."""
        sizes = {}
        for entry in filter(None, self._git(path, "ls-tree", "-r", "-l", "-z", ref).split("\0")):
            meta, name = entry.split("\t", 1)
            kind, size = meta.split()[1], meta.split()[3]
            if kind == "blob":
                sizes[name] = int(size)
        return sizes

    # ------------------------------------------------------------ proposals

    def propose(self, proposal: Proposal) -> ProposalOutcome:
        path = self.path(proposal.repo)
        base_branch, base_sha = self.default_branch(proposal.repo)
        if proposal.branch == base_branch:
            raise LocalForgeError(f"refusing to write to the default branch {base_branch}")
        records = self._records(proposal.repo)
        record = records.get(proposal.branch)
        if record and record["state"] == "merged":
            return ProposalOutcome("merged", self._pull(proposal.repo, record))
        if record and record["state"] == "closed" and not proposal.reopen_closed:
            return ProposalOutcome("closed-by-human", self._pull(proposal.repo, record))
        head = self._ref(path, proposal.branch)
        if record is None and proposal.admit_new is not None and not proposal.admit_new():
            return ProposalOutcome("capped", None, notes=["no new PR allowed in this run"])
        if head:
            author, committer, message = self._git(
                path, "log", "-1", "--format=%ae%n%ce%n%B", head
            ).split("\n", 2)
            if not is_gaggle_head(head, message, author, committer, proposal):
                return self._human_commit(proposal, record, head)
        tree = self._tree(path, base_sha, proposal)
        if head and self._git(path, "rev-parse", f"{head}^{{tree}}").strip() == tree:
            action, sha = "unchanged", head
        else:
            sha = self._commit(path, tree, base_sha, proposal.commit_message())
            # Compare-and-swap: fails if the branch moved since it was read.
            self._git(path, "update-ref", f"refs/heads/{proposal.branch}", sha, head or "0" * 40)
            action = "updated" if head else "created"
        if record is None:
            action = "created"  # a branch left by a crash before its PR was recorded
        record = self._upsert_record(proposal, records, record, base_branch)
        if action != "unchanged":
            _stamp(record)
        self._save(proposal.repo, records)
        return ProposalOutcome(action, self._pull(proposal.repo, record), sha)

    def _human_commit(self, proposal: Proposal, record: dict | None, head: str) -> ProposalOutcome:
        note = f"a human pushed {head[:12]} to {proposal.branch}; gaggle will not overwrite it"
        pull = self._pull(proposal.repo, record) if record else None
        if record:
            self.comment(
                proposal.repo,
                record["number"],
                f"gaggle did not update this branch: {note}. Re-run after merging or "
                "closing this PR, or apply the migration's changes by hand.",
                marker=f"human-commit:{head}",
            )
        return ProposalOutcome("human-commit", pull, head, notes=[note])

    def _upsert_record(
        self, proposal: Proposal, records: dict, record: dict | None, base: str
    ) -> dict:
        if record is None:
            number = 1 + max((r["number"] for r in records.values()), default=0)
            record = {"number": number, "comments": []}
            records[proposal.branch] = record
        record.update(
            branch=proposal.branch,
            base=base,
            title=proposal.title,
            body=proposal.body,
            labels=list(proposal.labels),
            draft=proposal.draft,
            state="open",
        )
        return record

    def _tree(self, path: Path, base_sha: str, proposal: Proposal) -> str:
        """The base commit's tree with the proposal's file changes, via a temporary index."""
        handle, index = tempfile.mkstemp(prefix="gaggle-index-")
        os.close(handle)
        env = {"GIT_INDEX_FILE": index}
        try:
            self._git(path, "read-tree", base_sha, env=env)
            for change in proposal.changes:
                if change.content is None:
                    self._git(path, "update-index", "--force-remove", change.path, env=env)
                    continue
                blob = self._run(
                    path, ["git", "hash-object", "-w", "--stdin"], stdin=change.content.encode()
                ).strip()
                mode = self._mode(path, base_sha, change.path)
                self._git(
                    path,
                    "update-index",
                    "--add",
                    "--cacheinfo",
                    f"{mode},{blob},{change.path}",
                    env=env,
                )
            return self._git(path, "write-tree", env=env).strip()
        finally:
            Path(index).unlink(missing_ok=True)

    def _mode(self, path: Path, ref: str, name: str) -> str:
        listing = self._git(path, "ls-tree", ref, "--", name).split()
        return listing[0] if listing else "100644"

    def _commit(self, path: Path, tree: str, parent: str, message: str) -> str:
        env = {**AUTHOR, "GIT_COMMITTER_NAME": GAGGLE_NAME, "GIT_COMMITTER_EMAIL": GAGGLE_EMAIL}
        return self._run(
            path, ["git", "commit-tree", tree, "-p", parent], stdin=message.encode(), env=env
        ).strip()

    # ------------------------------------------------------------ pull requests

    def default_head(self, repo: str) -> str:
        return self.default_branch(repo)[1]

    def pull_request(self, repo: str, branch: str, detailed: bool = True) -> PullRequest | None:
        record = self._records(repo).get(branch)
        return self._pull(repo, record) if record else None

    def comment(self, repo: str, number: int, body: str, marker: str) -> bool:
        records = self._records(repo)
        record = next(r for r in records.values() if r["number"] == number)
        tag = f"<!-- gaggle:{marker} -->"
        if any(tag in c for c in record["comments"]):
            return False
        record["comments"].append(f"{body}\n\n{tag}")
        _stamp(record)
        self._save(repo, records)
        return True

    def close(self, repo: str, number: int, comment: str) -> None:
        records = self._records(repo)
        record = next(r for r in records.values() if r["number"] == number)
        if record["state"] == "open":
            record["comments"].append(comment)
            record["state"] = "closed"
            _stamp(record)
            self._save(repo, records)

    def commit_parent(self, repo: str, sha: str) -> str:
        parents = self._git(self.path(repo), "rev-list", "--parents", "-n", "1", sha).split()
        return parents[1] if len(parents) > 1 else ""

    def set_commit_status(
        self, repo: str, sha: str, state: str, description: str, target_url: str, context: str
    ) -> bool:
        """Kept beside the PR records (`statuses(repo, sha)` reads them)."""
        path = self.path(repo) / ".git" / STATUSES
        statuses = json.loads(path.read_text()) if path.exists() else {}
        wanted = {"state": state, "description": description[:140], "target_url": target_url}
        if statuses.get(sha, {}).get(context) == wanted:
            return False
        statuses.setdefault(sha, {})[context] = wanted
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(statuses, indent=2, sort_keys=True))
        os.replace(temporary, path)
        return True

    def statuses(self, repo: str, sha: str) -> dict[str, dict]:
        """{context: {state, description, target_url}} set on a commit."""
        path = self.path(repo) / ".git" / STATUSES
        return json.loads(path.read_text()).get(sha, {}) if path.exists() else {}

    def merge(self, repo: str, number: int) -> str:
        """What a reviewer does, for the demo and the tests: merge the PR's branch."""
        path = self.path(repo)
        records = self._records(repo)
        record = next(r for r in records.values() if r["number"] == number)
        if record["state"] != "open":
            raise LocalForgeError(f"PR #{number} of {repo} is {record['state']}, not open")
        env = {**AUTHOR, "GIT_COMMITTER_NAME": "reviewer", "GIT_COMMITTER_EMAIL": "r@localhost"}
        self._git(path, "merge", "-q", "--no-ff", "--no-edit", record["branch"], env=env)
        record["state"] = "merged"
        _stamp(record)
        self._save(repo, records)
        return self._git(path, "rev-parse", "HEAD").strip()

    def _pull(self, repo: str, record: dict) -> PullRequest:
        head = self._ref(self.path(repo), record["branch"]) or ""
        return PullRequest(
            number=record["number"],
            url=f"file://{self.path(repo)}#pr-{record['number']}",
            state=record["state"],
            draft=record.get("draft", False),
            head_sha=head,
            mergeable=record["state"] == "open",
            updated_at=datetime.fromisoformat(record["updated_at"])
            if "updated_at" in record
            else None,
        )

    # ------------------------------------------------------------ storage and git

    def records(self, repo: str) -> dict:
        """The repo's PR records by branch."""
        return self._records(repo)

    def _records(self, repo: str) -> dict:
        path = self.path(repo) / ".git" / RECORDS
        return json.loads(path.read_text()) if path.exists() else {}

    def _save(self, repo: str, records: dict) -> None:
        path = self.path(repo) / ".git" / RECORDS
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(records, indent=2, sort_keys=True))
        os.replace(temporary, path)

    def _ref(self, path: Path, branch: str) -> str | None:
        result = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
            cwd=path, capture_output=True, text=True,
        )  # fmt: skip
        return result.stdout.strip() or None

    def _git(self, path: Path, *args: str, env: dict | None = None) -> str:
        return self._run(path, ["git", *args], env=env)

    def _run(self, path: Path, command: list[str], stdin: bytes | None = None, env=None, text=True):
        result = subprocess.run(
            command, cwd=path, input=stdin, capture_output=True, env={**os.environ, **(env or {})}
        )
        if result.returncode != 0:
            raise LocalForgeError(
                f"{' '.join(command[:3])} failed in {path}: {result.stderr.decode().strip()}"
            )
        return result.stdout.decode() if text else result.stdout
