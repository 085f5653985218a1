"""Template handling's cost: the demo fleet's rewrite through the plain engine and through
TemplatedRewriter (every Jinja branch, flags written into the files), in the same run.

Goal: the templated path slows the demo fleet's rewrite by at most 20%. Both paths run
over the same files, alternating, twice, and the best of the two rounds is kept for
each, so a noisy neighbour on a shared machine weighs on both alike. Also printed:
the branch-heavy files (the template golden cases), where variants are the cost.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIGRATION = ROOT / "include" / "migrations" / "users_v2"


def _time(rewrite, texts: list[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        rewrite(text)
    return time.perf_counter() - start


def main(repos: int = 400) -> None:
    from gaggle.fleet import generate_fleet
    from gaggle.spec import load_migration
    from gaggle.sql import SqlRewriter
    from gaggle.sql.branches import TemplatedRewriter

    migration = load_migration(MIGRATION)
    plain, templated = SqlRewriter(migration), TemplatedRewriter(migration)
    with tempfile.TemporaryDirectory() as tmp:
        generate_fleet(Path(tmp), repos, seed=3)
        texts = [p.read_text() for p in sorted(Path(tmp).rglob("*.sql"))]
    branchy = [p.read_text() for p in sorted((ROOT / "tests" / "golden").glob("3*/before.sql"))]
    with_tags = sum(1 for t in texts if "{%" in t)
    print(f"corpus: {len(texts)} demo-fleet SQL files ({with_tags} with Jinja tags)")
    best: dict[str, float] = {}
    for _ in range(2):
        for name, engine in (("engine", plain), ("templated", templated)):
            took = _time(engine.rewrite, texts)
            best[name] = min(best.get(name, took), took)
    for name, took in best.items():
        print(f"{name:<10} {took:7.2f} s  {len(texts) / took:8.0f} files/s")
    slowdown = best["templated"] / best["engine"] - 1
    print(f"templated vs engine on the demo fleet: {slowdown:+.1%} (goal <= +20%)")
    per_file = {
        name: _time(engine.rewrite, branchy * 20) / (20 * len(branchy)) * 1000
        for name, engine in (("engine", plain), ("templated", templated))
    }
    print(
        f"branch-heavy files ({len(branchy)} template cases): engine {per_file['engine']:.2f} ms, "
        f"templated {per_file['templated']:.2f} ms per file (every branch, not one)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
