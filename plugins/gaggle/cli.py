"""The `gaggle` command: the same engine the DAGs run, one migration or repo at a time."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from gaggle.compat import compat_views_sql
from gaggle.errors import GaggleError
from gaggle.spec import Migration, discover_migrations, load_migration

DEFAULT_MIGRATIONS = Path("include/migrations")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except GaggleError as err:
        print(f"gaggle: {err}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gaggle",
        description="Move every consumer of a deprecated BigQuery table onto its replacement.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    describe = commands.add_parser(
        "describe", help="check a migration folder strictly and summarize it"
    )
    _migration_argument(describe)
    describe.set_defaults(run=_describe)

    compat = commands.add_parser(
        "compat-view",
        help="print the CREATE VIEW statements that rebuild each old table from its new one",
    )
    _migration_argument(compat)
    compat.set_defaults(run=_compat_view)

    rewrite = commands.add_parser(
        "rewrite", help="rewrite a repo's references to the old tables in place"
    )
    _repo_arguments(rewrite)
    rewrite.add_argument(
        "--check", action="store_true", help="write nothing; print the unified diff"
    )
    rewrite.set_defaults(run=_rewrite)

    validate = commands.add_parser(
        "validate", help="check a repo's rewrite statement by statement, before against after"
    )
    _migration_argument(validate)
    validate.add_argument(
        "repo", type=Path, nargs="?", default=Path("."), help="the consumer repo's directory"
    )
    validate.add_argument("--report", type=Path, help="write the JSON report to this file")
    validate.add_argument(
        "--base",
        metavar="REF",
        help="validate the working tree's edits (anyone's) against this git commit: the "
        "original comes from REF, the rewrite from the working tree; without it, gaggle's "
        "own rewrite of the repo is validated",
    )
    validate.add_argument(
        "--backend",
        choices=["offline", "bigquery", "equivalence"],
        default="offline",
        help="offline: sqlglot against the schemas (default); bigquery: dry runs; "
        "equivalence: offline plus both queries run in DuckDB on synthetic rows",
    )
    validate.add_argument("--project", help="BigQuery project for dry runs (default: ADC's)")
    validate.add_argument("--location", help="BigQuery location for dry runs")
    validate.add_argument("--endpoint", help="BigQuery API endpoint (for a local server)")
    validate.add_argument(
        "--dbt-dataset", default="dbt", help="dataset dbt builds models in (for ref/this)"
    )
    validate.set_defaults(run=_validate)

    run = commands.add_parser(
        "run",
        help="migrate repos of the local forge or GitHub: rewrite, validate, open PRs",
        description="GitHub (--forge github) reads the same settings the DAG uses: the "
        "github_default connection in AIRFLOW_CONN_GITHUB_DEFAULT (JSON or URI: token in "
        "password, API URL in host), else GITHUB_TOKEN and GITHUB_API_URL.",
    )
    _migration_argument(run)
    run.add_argument(
        "--forge",
        choices=["local", "github"],
        default="local",
        help="where the repos live (github: name them with --repo)",
    )
    run.add_argument(
        "--root",
        type=Path,
        default=Path("build/forge"),
        help="local forge root (and where the default ledger lives)",
    )
    run.add_argument("--repo", action="append", help="only these owner/name repos")
    run.add_argument("--dry-run", action="store_true", help="no PRs; print the diffs")
    run.add_argument(
        "--backend", choices=["offline", "equivalence"], default="offline", help="validator"
    )
    run.add_argument(
        "--ledger",
        default=None,
        help="SQLAlchemy URL of the ledger (default: sqlite under the forge root)",
    )
    run.set_defaults(run=_run)

    local = commands.add_parser(
        "local", help="act as a reviewer on the local forge: merge or close a repo's PR"
    )
    local.add_argument("action", choices=["merge", "close"])
    local.add_argument("repo", help="owner/name of a repo under the forge root")
    local.add_argument("--root", type=Path, default=Path("build/forge"), help="local forge root")
    local.add_argument("--branch", help="the PR's branch (default: the repo's only gaggle PR)")
    local.set_defaults(run=_local)

    fleet = commands.add_parser(
        "demo-fleet", help="write a deterministic fleet of demo consumer repos"
    )
    fleet.add_argument("--out", type=Path, required=True, help="directory to write the repos to")
    fleet.add_argument("--repos", type=int, default=24, help="number of repos (default 24)")
    fleet.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    fleet.set_defaults(run=_demo_fleet)

    demo = commands.add_parser(
        "demo",
        help="generate the demo fleet and show every migration's summary and compat views",
    )
    demo.add_argument("--out", type=Path, default=Path("build/demo"), help="fleet directory")
    demo.add_argument("--repos", type=int, default=24, help="number of demo repos")
    demo.add_argument("--seed", type=int, default=7, help="random seed")
    demo.add_argument(
        "--migrations", type=Path, default=DEFAULT_MIGRATIONS, help="folder of migration folders"
    )
    demo.set_defaults(run=_demo)
    return parser


def _migration_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--migration",
        type=Path,
        required=True,
        help="migration folder, e.g. include/migrations/users_v2",
    )


def _repo_arguments(parser: argparse.ArgumentParser) -> None:
    _migration_argument(parser)
    parser.add_argument("repo", type=Path, help="the consumer repo's directory")
    parser.add_argument("--report", type=Path, help="write the JSON report to this file")


def _describe(args: argparse.Namespace) -> int:
    print(summary(load_migration(args.migration)))
    return 0


def _compat_view(args: argparse.Namespace) -> int:
    print(compat_views_sql(load_migration(args.migration)), end="")
    return 0


def _rewrite(args: argparse.Namespace) -> int:
    import json

    from gaggle.repo import rewrite_repo

    if not args.repo.is_dir():
        print(f"gaggle: {args.repo} is not a directory", file=sys.stderr)
        return 2
    progress = _progress_bar if sys.stderr.isatty() else None
    outcome = rewrite_repo(
        args.repo, load_migration(args.migration), write=not args.check, progress=progress
    )
    if progress:
        print(file=sys.stderr)
    if args.check:
        for file in outcome.touched:
            print(file.diff(), end="")
    for file in outcome.touched:
        for flag in file.result.flags:
            print(f"{file.path}:{flag.line}:{flag.column}: {flag.reason}: {flag.message}")
    counts = outcome.summary_counts()
    print(outcome.summary_table())
    print(
        f"{counts['files_scanned']} files scanned: {counts.get('changed', 0)} changed, "
        f"{counts.get('flagged', 0)} with flags, {counts.get('failed', 0)} failed; "
        f"{counts['changes']} changes, {counts['flags']} flags"
    )
    if args.report:
        args.report.write_text(json.dumps(outcome.to_dict(), indent=2) + "\n")
    internal = [
        f for file in outcome.files for f in file.result.flags if f.reason == "internal-error"
    ]
    return 1 if internal else 0


def _validate(args: argparse.Namespace) -> int:
    import json

    from gaggle.frameworks.dbt_compile import DbtTarget
    from gaggle.validation.offline import OfflineValidator
    from gaggle.validation.repo import (
        EquivalenceValidator,
        validate_against_base,
        validate_repo,
    )

    migration = load_migration(args.migration)
    offline = OfflineValidator(migration.catalog)
    if args.backend == "bigquery":
        from gaggle.validation.bigquery import BigQueryValidator

        validator = BigQueryValidator.from_settings(args.project, args.location, args.endpoint)
    elif args.backend == "equivalence":
        validator = EquivalenceValidator(migration, offline)
    else:
        validator = offline
    project = args.project or migration.tables[0].new.project
    target = DbtTarget(project, args.dbt_dataset)
    if args.base:
        results = validate_against_base(args.repo, args.base, migration, validator, target)
    else:
        results = validate_repo(args.repo, migration, validator, target)
    print(f"{'file':<44}{'line':>5}  {'result':<8}detail")
    for result in results:
        verdict = result.verdict
        status = "ok" if verdict.ok else "PROBLEM"
        if verdict.ok and verdict.warnings:
            status = "warning"
        details = [
            d.splitlines()[0] for d in verdict.problems + verdict.warnings + verdict.evidence
        ] or [""]
        where = f"{result.path}{' (' + result.note + ')' if result.note else ''}"
        print(f"{where:<44}{result.line:>5}  {status:<8}{details[0]}")
        for extra in details[1:]:
            print(f"{'':<51}{'':<8}{extra}")
    failed = sum(not r.verdict.ok for r in results)
    print(f"{len(results)} statements checked with {args.backend}: {failed} with problems")
    if args.report:
        args.report.write_text(json.dumps([r.to_dict() for r in results], indent=2) + "\n")
    return 1 if failed else 0


def _run(args: argparse.Namespace) -> int:
    from gaggle.forges.local import LocalForge
    from gaggle.pipeline import run_repo
    from gaggle.validation.offline import OfflineValidator
    from gaggle.validation.repo import EquivalenceValidator

    migration = load_migration(args.migration)
    offline = OfflineValidator(migration.catalog)
    validator = (
        EquivalenceValidator(migration, offline) if args.backend == "equivalence" else offline
    )
    ledger = _ledger(args.ledger, args.root)
    if args.forge == "github":
        import os

        from gaggle.forges.github import forge_from_environment
        from gaggle.forges.pacing import SqlPacer, code_search_pacer

        if not args.repo:
            raise GaggleError(
                "--forge github needs the repos to migrate: --repo owner/name (repeatable); "
                "the DAG discovers the whole fleet"
            )
        # Paced through the ledger's database, as the DAG's workers are: a CLI run next
        # to a DAG run with the same ledger shares its write budget.
        forge = forge_from_environment(
            os.environ,
            pacer=SqlPacer(ledger.engine),
            search_pacer=code_search_pacer(ledger.engine),
        )
    else:
        forge = LocalForge(args.root)
    tally: Counter = Counter()
    for repo in args.repo or forge.repos():
        try:
            result = run_repo(forge, repo, migration, validator, args.dry_run, ledger=ledger)
        except Exception as err:  # recorded in the ledger; the other repos go on
            tally["failed"] += 1
            print(f"{repo:<36} failed: {type(err).__name__}: {err}")
            continue
        tally[result.status] += 1
        pr = result.proposal.pull_request if result.proposal else None
        where = f" PR #{pr.number}{' (draft)' if pr.draft else ''}" if pr else ""
        print(f"{repo:<36} {result.status}{where}")
        if args.dry_run and result.diff:
            print(result.diff, end="")
    print(", ".join(f"{n} {status}" for status, n in sorted(tally.items())))
    return 1 if tally["failed"] else 0


def _ledger(url: str | None, root: Path):
    from gaggle.ledger import Ledger

    root.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(url or f"sqlite:///{root.resolve() / 'ledger.db'}")
    ledger.migrate()
    return ledger


def _local(args: argparse.Namespace) -> int:
    from gaggle.forges.local import LocalForge

    forge = LocalForge(args.root)
    records = forge.records(args.repo)
    branch = args.branch or (next(iter(records)) if len(records) == 1 else None)
    if branch is None or branch not in records:
        print(
            f"gaggle: name the PR's branch with --branch; known: {sorted(records)}", file=sys.stderr
        )
        return 2
    number = records[branch]["number"]
    if args.action == "merge":
        sha = forge.merge(args.repo, number)
        print(f"merged PR #{number} of {args.repo} ({branch}) as {sha[:12]}")
    else:
        forge.close(args.repo, number, "Closed by a reviewer (gaggle local close).")
        print(f"closed PR #{number} of {args.repo} ({branch})")
    return 0


def _progress_bar(done: int, total: int) -> None:
    """A one-line bar on stderr, redrawn in place; only shown on a terminal."""
    width = 30
    filled = width * done // max(total, 1)
    print(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files", end="", file=sys.stderr
    )


def _demo_fleet(args: argparse.Namespace) -> int:
    from gaggle.fleet import generate_fleet

    repos = generate_fleet(args.out, args.repos, args.seed)
    styles = Counter(repo.style for repo in repos)
    untouched = sum(not repo.references_old_table for repo in repos)
    print(
        f"Wrote {len(repos)} demo repos to {args.out} "
        f"({', '.join(f'{n} {s}' for s, n in sorted(styles.items()))}; "
        f"{untouched} read no old table)"
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    _demo_fleet(args)
    folders = discover_migrations(args.migrations)
    if not folders:
        print(f"gaggle: no migration folders under {args.migrations}", file=sys.stderr)
        return 2
    for folder in folders:
        migration = load_migration(folder)
        print()
        print(summary(migration))
        print()
        print(compat_views_sql(migration), end="")
    print()
    return _demo_run(args.out, load_migration(folders[0]))


def _demo_run(root: Path, migration: Migration) -> int:
    """Every demo repo becomes a git repo on the local forge; the migration runs over all."""
    from gaggle.forges.local import LocalForge
    from gaggle.pipeline import run_repo
    from gaggle.validation.offline import OfflineValidator

    forge = LocalForge(root)
    validator = OfflineValidator(migration.catalog)
    ledger = _ledger(None, root)
    tally: Counter = Counter()
    flags: Counter = Counter()
    for manifest_repo in _fleet_repos(root):
        forge.init_repo(manifest_repo)
    for repo in forge.repos():
        result = run_repo(forge, repo, migration, validator, ledger=ledger)
        tally[result.status] += 1
        for file in result.outcome.files if result.outcome else []:
            flags.update(str(f.reason) for f in file.result.flags)
    print(f"Migration {migration.id} over the local forge at {root}:")
    for status, count in sorted(tally.items()):
        print(f"  {status:<20}{count:>5} repos")
    print(
        "  flags left for humans: "
        + (", ".join(f"{n} {r}" for r, n in sorted(flags.items())) or "none")
    )
    print(f"Review a PR with: gaggle local merge <owner/name> --root {root}")
    return 0


def _fleet_repos(root: Path) -> list[str]:
    import json

    manifest = root / "fleet.json"
    if not manifest.exists():
        return []
    return [repo["name"] for repo in json.loads(manifest.read_text())["repos"]]


def summary(migration: Migration) -> str:
    """A human summary of what the migration will do, per old table."""
    lines = [
        f"Migration {migration.id}: {migration.title}",
        f"  guide: {migration.guide_url}",
        f"  pull requests: branch {migration.pull_request.branch}, "
        f"title {migration.pull_request.title!r}",
    ]
    sources = []
    if migration.consumers.repos:
        sources.append(f"{len(migration.consumers.repos)} listed repos")
    if migration.consumers.github_search:
        sources.append(f"code search {migration.consumers.github_search!r}")
    if migration.consumers.lineage:
        sources.append("BigQuery lineage")
    lines.append(f"  consumers from: {', '.join(sources) or 'nothing yet (add consumers:)'}")
    for pair in migration.tables:
        kinds = Counter(rule_kind(rule.path, rule.expression) for rule in _rules(migration, pair))
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        lines.append(f"  {pair.old} -> {pair.new}: {counts}")
        for rule in _rules(migration, pair):
            if rule.action == "manual":
                lines.append(f"    manual: {rule.column}: {rule.note or '(no note)'}")
    return "\n".join(lines)


def _rules(migration: Migration, pair):
    return [rule for rule in migration.rules if rule.old_table == pair.old]


def rule_kind(path: tuple[str, ...], expression: str | None) -> str:
    """unchanged, renamed (a plain column or STRUCT path), expression or manual."""
    if expression is None:
        return "manual"
    if expression.strip().lower() == ".".join(path).lower():
        return "unchanged"
    parts = expression.strip().split(".")
    if all(part.isidentifier() for part in parts):
        return "renamed"
    return "expression"


if __name__ == "__main__":
    sys.exit(main())
