"""The dashboard's read model over the ledger: the same dicts feed the pages and the API.

The repo table leaves out each repo's `details` (its rewrite report, validation and diff,
often 10 KB or more): 1,800 rows are read, bucketed, filtered, sorted and paged in a few
milliseconds, and a repo's details are read only on its own page.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from gaggle.ledger import REPO_STATE, Ledger, RepoState
from gaggle.progress import BUCKETS, LABELS, bucket_of, counts_of

# The per-repo task group of the migrate_<id> DAG, step by step, as Airflow names them.
TASK_IDS = (
    "per_repo.find_references",
    "per_repo.rewrite",
    "per_repo.validate",
    "per_repo.open_pr",
    "per_repo.await_merge",
)
FINISHED = ("done", "no-change-needed")  # buckets that need nothing more
SORTS = {
    "repo": lambda r: r["repo"],
    "bucket": lambda r: (BUCKETS.index(r["bucket"]), r["repo"]),
    "framework": lambda r: (r["frameworks"], r["repo"]),
    "status": lambda r: (r["status"], r["repo"]),
    "pr": lambda r: (r["pr_number"] is None, r["pr_number"] or 0, r["repo"]),
    "ci": lambda r: (r["ci_state"], r["repo"]),
    "review": lambda r: (r["review_state"], r["repo"]),
    "decisions": lambda r: (r["manual_decisions"], r["repo"]),
    "error": lambda r: (r["last_error"] == "", r["last_error"], r["repo"]),
    "updated": lambda r: (r["updated_at"], r["repo"]),
}
MAX_PER_PAGE = 500
_TABLE_COLUMNS = [c for c in REPO_STATE.columns if c.name != "details"]


class NotFound(LookupError):
    """No such migration or repo in the ledger."""


@dataclass
class RepoQuery:
    """The table's filters, sort and page, as given in the URL's query string."""

    buckets: tuple[str, ...] = ()
    q: str = ""  # case-insensitive substring of the repo name or its last error
    framework: str = ""
    ci: str = ""
    review: str = ""
    decisions: bool = False  # only repos with manual decisions left
    sort: str = "repo"
    desc: bool = False
    page: int = 1
    per_page: int = 100
    problems: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, params) -> RepoQuery:
        """From a Starlette QueryParams (or a dict of lists); an unknown value is an error."""
        getlist = params.getlist if hasattr(params, "getlist") else lambda k: params.get(k, [])
        first = {k: (getlist(k) or [""])[0] for k in params}
        query = cls()
        for raw in getlist("bucket"):
            for bucket in filter(None, raw.split(",")):
                if bucket not in BUCKETS:
                    query.problems.append(f"bucket: {bucket!r} is not one of {', '.join(BUCKETS)}")
                elif bucket not in query.buckets:
                    query.buckets += (bucket,)
        query.q = first.get("q", "").strip()
        query.framework = first.get("framework", "").strip()
        query.ci = first.get("ci", "").strip()
        query.review = first.get("review", "").strip()
        query.decisions = first.get("decisions", "") in ("1", "true", "yes", "on")
        sort = first.get("sort", "") or "repo"
        query.desc = sort.startswith("-") or first.get("dir", "") == "desc"
        query.sort = sort.lstrip("-")
        if query.sort not in SORTS:
            query.problems.append(f"sort: {query.sort!r} is not one of {', '.join(SORTS)}")
            query.sort = "repo"
        query.page = _int(first.get("page"), 1, "page", query.problems, low=1)
        query.per_page = _int(first.get("per_page"), 100, "per_page", query.problems, low=1)
        query.per_page = min(query.per_page, MAX_PER_PAGE)
        return query

    def matches(self, row: dict) -> bool:
        if self.buckets and row["bucket"] not in self.buckets:
            return False
        if self.q and not (
            self.q.lower() in row["repo"].lower() or self.q.lower() in row["last_error"].lower()
        ):
            return False
        if self.framework and self.framework not in row["frameworks"].split(","):
            return False
        if self.ci and row["ci_state"] != self.ci:
            return False
        if self.review and row["review_state"] != self.review:
            return False
        return not (self.decisions and not row["manual_decisions"])


def _int(raw: str | None, default: int, name: str, problems: list[str], low: int) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name}: {raw!r} is not a whole number")
        return default
    if value < low:
        problems.append(f"{name}: must be at least {low}")
        return default
    return value


def _aware(value):
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _iso(value):
    return value.isoformat() if isinstance(value, datetime | date) else value


def table_states(ledger: Ledger, migration_id: str) -> list[RepoState]:
    """Every repo's state without its details (read on the repo's own page)."""
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            sa.select(*_TABLE_COLUMNS)
            .where(REPO_STATE.c.migration_id == migration_id)
            .order_by(REPO_STATE.c.repo)
        ).all()
    return [RepoState(**{k: _aware(v) for k, v in r._mapping.items()}, details="") for r in rows]


def row_of(state: RepoState) -> dict:
    """One line of the repo table."""
    return {
        "repo": state.repo,
        "bucket": bucket_of(state),
        "frameworks": state.frameworks,
        "status": state.status,
        "pr_number": state.pr_number,
        "pr_url": state.pr_url,
        "pr_state": state.pr_state,
        "ci_state": state.ci_state,
        "review_state": state.review_state,
        "manual_decisions": state.manual_decisions,
        "files_changed": state.files_changed,
        "last_error": state.last_error,
        "attention": state.attention,
        "updated_at": _iso(state.updated_at),
        "dag_run_id": state.dag_run_id,
        "map_index": state.map_index,
    }


@lru_cache(maxsize=64)
def _spec_summary(migration_id: str) -> tuple[str, str]:
    """The migration's title and guide from its folder, when this server has it."""
    from gaggle.spec import load_migration

    root = Path(
        os.environ.get("GAGGLE_MIGRATIONS", Path(__file__).parents[2] / "include" / "migrations")
    )
    try:
        migration = load_migration(root / migration_id)
    except Exception:  # absent or malformed here: the ledger still has its progress
        return "", ""
    return migration.title, migration.guide_url


def migration_summary(ledger: Ledger, migration_id: str, states=None) -> dict:
    states = table_states(ledger, migration_id) if states is None else states
    if not states:
        raise NotFound(f"no migration {migration_id!r} in the ledger")
    counts = counts_of(states)
    title, guide_url = _spec_summary(migration_id)
    total = len(states)
    return {
        "id": migration_id,
        "dag_id": f"migrate_{migration_id}",
        "title": title,
        "guide_url": guide_url,
        "total": total,
        "remaining": total - sum(counts[b] for b in FINISHED),
        "counts": counts,
        "labels": dict(LABELS),
        "updated_at": _iso(max(s.updated_at for s in states)),
        "snapshots": burndown_points(ledger.snapshots(migration_id), counts),
    }


def burndown_points(snapshots: dict, live: dict[str, int], today: date | None = None) -> list:
    """The nightly sweep's snapshots, oldest first, ending with today's live counts (marked
    `live`): a repo that moved since the last sweep moves the chart's latest point now.
    No snapshot at all: no chart yet (the first sweep starts the history)."""
    if not snapshots:
        return []
    today = today or datetime.now(UTC).date()
    points = [
        {"day": day.isoformat(), "counts": {b: found.get(b, 0) for b in BUCKETS}}
        for day, found in snapshots.items()
        if day < today
    ]
    points.append(
        {"day": today.isoformat(), "counts": {b: live.get(b, 0) for b in BUCKETS}, "live": True}
    )
    return points


def repo_page(ledger: Ledger, migration_id: str, query: RepoQuery, states=None) -> dict:
    """The table's rows after filter, sort and page, with the totals a pager needs."""
    states = table_states(ledger, migration_id) if states is None else states
    rows = [row_of(s) for s in states]
    if not rows:
        raise NotFound(f"no migration {migration_id!r} in the ledger")
    matched = [r for r in rows if query.matches(r)]
    matched.sort(key=SORTS[query.sort], reverse=query.desc)
    pages = max(1, -(-len(matched) // query.per_page))
    page = min(query.page, pages)
    start = (page - 1) * query.per_page
    return {
        "migration_id": migration_id,
        "total": len(rows),
        "matched": len(matched),
        "page": page,
        "pages": pages,
        "per_page": query.per_page,
        "sort": ("-" if query.desc else "") + query.sort,
        "repos": matched[start : start + query.per_page],
        "choices": {
            "bucket": list(BUCKETS),
            "framework": sorted({f for r in rows for f in r["frameworks"].split(",") if f}),
            "ci": sorted({r["ci_state"] for r in rows if r["ci_state"]}),
            "review": sorted({r["review_state"] for r in rows if r["review_state"]}),
        },
        "counts": counts_of(states),
    }


def task_log_links(airflow_root: str, migration_id: str, state: RepoState) -> list[dict]:
    """The Airflow UI's pages for this repo's mapped task instances (the log is their
    default tab), by the run and map index the ledger recorded."""
    if not state.dag_run_id or state.map_index is None:
        return []
    base = (
        f"{airflow_root}/dags/{quote(f'migrate_{migration_id}', safe='')}"
        f"/runs/{quote(state.dag_run_id, safe='')}"
    )
    links = [{"task_id": None, "label": "DAG run", "url": base}]
    for task_id in TASK_IDS:
        url = f"{base}/tasks/{quote(task_id, safe='')}/mapped/{state.map_index}"
        links.append({"task_id": task_id, "label": task_id.split(".")[-1], "url": url})
    return links


def _details(state: RepoState) -> dict:
    try:
        found = json.loads(state.details or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def decisions_of(details: dict, guide_url: str) -> list[dict]:
    """The flags a human must decide on (gaggle.sql.report.DECISIONS), each with its guide."""
    from gaggle.sql.report import DECISIONS

    found = []
    for entry in (details.get("rewrite") or {}).get("files") or []:
        for flag in entry.get("flags") or []:
            if flag.get("reason") in DECISIONS:
                found.append({"path": entry.get("path", ""), **flag, "guide_url": guide_url})
    return found


def repo_detail(
    ledger: Ledger, migration_id: str, repo: str, airflow_root: str = "", events: int = 50
) -> dict:
    state = ledger.get(migration_id, repo)
    if state is None:
        raise NotFound(f"no repo {repo!r} in migration {migration_id!r}")
    details = _details(state)
    guide_url = details.get("guide_url") or _spec_summary(migration_id)[1]
    rewrite = details.get("rewrite") or {}
    validation = details.get("validation") or {}
    fields = {k: _iso(v) for k, v in vars(state).items() if k not in ("details", "migration_id")}
    history = ledger.events(migration_id, repo)[-events:]
    return {
        "migration_id": migration_id,
        **fields,
        "bucket": bucket_of(state),
        "bucket_label": LABELS[bucket_of(state)],
        "guide_url": guide_url,
        "decisions": decisions_of(details, guide_url),
        "files": [
            {k: f.get(k) for k in ("path", "framework", "kind", "status", "changes", "flags")}
            for f in rewrite.get("files") or []
        ],
        "skipped": rewrite.get("skipped") or [],
        "summary": rewrite.get("summary") or {},
        "validation": {
            "backend": validation.get("backend", ""),
            "statements": validation.get("statements") or [],
        },
        "diff": details.get("diff", ""),
        "task_logs": task_log_links(airflow_root, migration_id, state),
        "events": [
            {"at": _iso(e["at"]), "status": e["status"], "detail": e["detail"]}
            for e in reversed(history)
        ],
    }


def overview(ledger: Ledger, readable) -> list[dict]:
    """Every migration the caller may read, with its progress."""
    return [migration_summary(ledger, m) for m in ledger.migrations() if readable(m)]
