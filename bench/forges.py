"""Pull requests at fleet scale against the local GitHub server: REST calls per new PR, and
how close the shared pacer runs to GitHub's content-creation limit without tripping it."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(repos: int = 120) -> None:
    import sqlalchemy as sa
    from gaggle.forges.base import FileChange, Proposal
    from gaggle.forges.github import GitHubForge
    from gaggle.forges.pacing import Limits, SqlPacer
    from github import Auth

    sys.path.insert(0, str(ROOT))
    from tests.fakes.github_server import FakeGitHub

    limits = Limits(per_minute=80, per_hour=500)
    with (
        FakeGitHub(writes_per_minute=80, writes_per_hour=500) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        names = [f"acme/repo-{i:04d}" for i in range(repos)]
        for name in names:
            server.add_repo(name, {"sql/a.sql": "SELECT country FROM core.users_v1\n"})
        pacer = SqlPacer(
            sa.create_engine(f"sqlite:///{tmp}/ledger.db"),
            limits=limits,
            clock=server.now,
            sleep=server.advance,  # simulated time: an hour of pacing runs in seconds
        )
        stamps: list[float] = []
        original = pacer.acquire

        def acquire() -> None:
            original()
            stamps.append(server.now())

        pacer.acquire = acquire
        forge = GitHubForge(Auth.Token("t"), server.endpoint, pacer, seconds_between_requests=0)
        calls = writes = 0
        for name in names:
            branch, sha = forge.default_branch(name)
            forge.read_files(name, sha)
            outcome = forge.propose(
                Proposal(name, "users_v2", "data-migration/users-v2", "t", "b",
                         (FileChange("sql/a.sql", "SELECT 1\n"),), ("dataset-migration",),
                         base_branch=branch, base_sha=sha)
            )  # fmt: skip
            calls += outcome.calls
            writes += outcome.writes
        peak_minute = max(sum(1 for t in stamps[i:] if t < s + 60) for i, s in enumerate(stamps))
        peak_hour = max(sum(1 for t in stamps[i:] if t < s + 3600) for i, s in enumerate(stamps))
        span = (stamps[-1] - stamps[0]) / 60 if len(stamps) > 1 else 0
    print(
        f"{repos} new PRs: {calls / repos:.1f} REST calls and {writes / repos:.1f} writes per PR "
        "(goal: at most 8 calls, 4 writes; labels add the 5th)"
    )
    print(
        f"pacing: peak {peak_minute} writes in a minute (limit {limits.per_minute}), "
        f"{peak_hour} in an hour (limit {limits.per_hour}), {len(stamps)} writes over "
        f"{span:.0f} simulated minutes, {server.secondary_limit_hits} secondary-limit answers"
    )


if __name__ == "__main__":
    main()
