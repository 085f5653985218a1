"""The rewrite engine against its floor (sqlglot parse + qualify) and a naive regex baseline.

Each measurement runs in a fresh process so peak memory (max RSS) is its own. The
corpus is the demo fleet (short files) plus long multi-statement files (50-200 lines)
built from it; the engine's memory must stay flat as the corpus grows.
"""

from __future__ import annotations

import json
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIGRATION = ROOT / "include" / "migrations" / "users_v2"


def build_corpus(out: Path, repos: int, long_files: int) -> list[Path]:
    from gaggle.fleet import generate_fleet

    generate_fleet(out / "fleet", repos, seed=3)
    short = sorted((out / "fleet").rglob("*.sql"))
    rng = random.Random(5)
    statements = [p.read_text().strip().rstrip(";") for p in short if "{{" not in p.read_text()]
    long_dir = out / "long"
    long_dir.mkdir(parents=True, exist_ok=True)
    for index in range(long_files):
        parts, lines = [], 0
        target = rng.randint(50, 200)
        while lines < target:
            part = rng.choice(statements)
            parts.append(part + ";\n")
            lines += part.count("\n") + 2
        (long_dir / f"job_{index:04d}.sql").write_text("\n".join(parts))
    return short + sorted(long_dir.glob("*.sql"))


def _worker(mode: str, listing: Path) -> dict:
    files = [Path(p) for p in listing.read_text().splitlines()]
    texts = [p.read_text() for p in files]  # read before timing: I/O is not the engine's
    run = _modes()[mode]()
    durations = []
    start = time.perf_counter()
    for text in texts:
        began = time.perf_counter()
        run(text)
        durations.append(time.perf_counter() - began)
    total = time.perf_counter() - start
    durations.sort()
    return {
        "mode": mode,
        "files": len(texts),
        "files_per_s": len(texts) / total,
        "median_ms": statistics.median(durations) * 1000,
        "p95_ms": durations[int(len(durations) * 0.95)] * 1000,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _modes() -> dict:
    def engine():
        from gaggle.spec import load_migration
        from gaggle.sql import SqlRewriter

        rewriter = SqlRewriter(load_migration(MIGRATION))
        return lambda text: rewriter.rewrite(text)

    def floor():
        import sqlglot
        from gaggle.spec import load_migration
        from gaggle.sql import templates
        from sqlglot.errors import SqlglotError
        from sqlglot.optimizer.qualify import qualify
        from sqlglot.optimizer.scope import traverse_scope
        from sqlglot.schema import MappingSchema

        migration = load_migration(MIGRATION)
        schema = MappingSchema(migration.catalog.nested_mapping(), dialect="bigquery")

        def run(text: str) -> None:
            masked, _ = templates.mask(text)
            try:
                for statement in sqlglot.parse(masked, read="bigquery"):
                    if statement is None:
                        continue
                    qualified = qualify(
                        statement, schema=schema, dialect="bigquery", validate_qualify_columns=False
                    )
                    traverse_scope(qualified)
            except SqlglotError:
                pass

        return run

    def regex():
        return naive_rewriter()

    return {"engine": engine, "floor": floor, "regex": regex}


def naive_rewriter():
    """What a sed-style migration does: replace names wherever they appear."""
    from gaggle.spec import load_migration

    migration = load_migration(MIGRATION)
    rules = [r for r in migration.rules if r.action == "map" and len(r.path) == 1]
    patterns = [(re.compile(rf"\b{re.escape(r.path[0])}\b"), r.expression) for r in rules]
    table = re.compile(r"\busers_v1\b")

    def run(text: str) -> str:
        text = table.sub("users_v2", text)
        for pattern, expression in patterns:
            text = pattern.sub(expression, text)
        return text

    return run


def correctness(files: list[Path], sample: int = 150) -> dict:
    """Of the sampled single queries DuckDB can run, how many keep their results."""
    from gaggle.spec import load_migration
    from gaggle.sql import SqlRewriter
    from gaggle.validation.equivalence import Outcome, check_equivalence

    migration = load_migration(MIGRATION)
    engine = SqlRewriter(migration)
    naive = naive_rewriter()
    tallies = {"engine": {}, "regex": {}}
    touched_prose = 0
    checked = 0
    for path in files:
        text = path.read_text()
        result = engine.rewrite(text)
        if not result.changed or result.flags:
            continue
        regex_text = naive(text)
        if _prose_changed(text, regex_text):
            touched_prose += 1
        for name, rewritten in (("engine", result.text), ("regex", regex_text)):
            verdict = check_equivalence(text, rewritten, migration)
            tallies[name][verdict.outcome.value] = tallies[name].get(verdict.outcome.value, 0) + 1
        checked += 1
        if tallies["engine"].get(Outcome.EQUAL.value, 0) >= sample:
            break
    return {
        "queries": checked,
        "verdicts": tallies,
        "regex_touched_comments_or_strings": touched_prose,
    }


def _prose_changed(before: str, after: str) -> bool:
    strip = re.compile(r"--[^\n]*|#[^\n]*|/\*.*?\*/|'[^']*'", re.DOTALL)
    return strip.findall(before) != strip.findall(after)


def _measure(mode: str, files: list[Path], workdir: Path) -> dict:
    listing = workdir / f"{mode}-{len(files)}.txt"
    listing.write_text("\n".join(str(p) for p in files))
    output = subprocess.run(
        [sys.executable, "-m", "bench.rewrite", "--worker", mode, str(listing)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        files = build_corpus(workdir, repos=1600, long_files=1000)
        short = [p for p in files if "/long/" not in str(p)]
        long = [p for p in files if "/long/" in str(p)]
        print(f"corpus: {len(short)} demo-fleet files + {len(long)} files of 50-200 lines")
        print(
            f"{'mode':<8}{'corpus':>12}{'files':>8}{'files/s':>10}{'median ms':>11}{'p95 ms':>9}{'max RSS MB':>12}"
        )
        rows = []
        for corpus_name, corpus in (
            ("fleet-1k", short[:1000]),
            ("fleet-all", short),
            ("long", long),
        ):
            for mode in ("floor", "engine", "regex"):
                row = _measure(mode, corpus, workdir)
                rows.append((corpus_name, row))
                print(
                    f"{mode:<8}{corpus_name:>12}{row['files']:>8}{row['files_per_s']:>10.0f}"
                    f"{row['median_ms']:>11.2f}{row['p95_ms']:>9.2f}{row['max_rss_mb']:>12.0f}"
                )
        by = {(c, r["mode"]): r for c, r in rows}
        for corpus_name in ("fleet-all", "long"):
            ratio = (
                by[(corpus_name, "engine")]["median_ms"] / by[(corpus_name, "floor")]["median_ms"]
            )
            print(f"engine / floor median per file on {corpus_name}: {ratio:.2f}x (goal <= 2x)")
        growth = (
            by[("fleet-all", "engine")]["max_rss_mb"] - by[("fleet-1k", "engine")]["max_rss_mb"]
        )
        print(f"engine memory growth from 1k to {len(short)} files: {growth:+.0f} MB (goal: flat)")
        print("correctness on single queries DuckDB can run (equivalence verdicts):")
        print("  " + json.dumps(correctness(short)))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        print(json.dumps(_worker(sys.argv[2], Path(sys.argv[3]))))
    else:
        main()
