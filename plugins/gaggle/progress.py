"""Migration progress: where each consumer stands, in one closed list of buckets.

PR state is not progress. A consumer is `done` only once the sweep has verified it:
its PR merged, a re-scan of its default branch found no reference left, and (with
lineage on) no job read the old tables from it lately. Every report, snapshot, PR
count and dashboard takes its buckets from `bucket_of`, so they always agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from gaggle.ledger import RepoState

# Order is display order, from finished to not begun.
BUCKETS = (
    "done",  # merged and verified by the sweep
    "merged",  # merged, not verified yet (or a reference is still there: see attention)
    "open",  # PR open, nothing for a human to decide
    "decision",  # PR open and waiting on a manual decision
    "attention",  # closed unmerged, a reference came back, or a lineage reader remains
    "failed",  # the last attempt raised; last_error says why
    "no-change-needed",  # no reference found
    "not-started",  # discovered, no PR yet (includes dry runs and capped runs)
)
LABELS = {
    "done": "Done",
    "merged": "Merged, awaiting verification",
    "open": "PR open",
    "decision": "Waiting on a manual decision",
    "attention": "Needs attention",
    "failed": "Failed",
    "no-change-needed": "No change needed",
    "not-started": "Not started",
}


def bucket_of(state: RepoState) -> str:
    if state.status in ("failed", "validation-failed"):
        return "failed"
    if state.attention:
        return "attention"
    if state.verified_at is not None:
        return "done"
    if state.pr_state == "merged":
        return "merged"
    if state.pr_state == "open":
        return "decision" if state.manual_decisions else "open"
    if state.status == "no-change-needed":
        return "no-change-needed"
    return "not-started"


def counts_of(states: Iterable[RepoState]) -> dict[str, int]:
    """Every bucket, zeros included, in BUCKETS order."""
    found = Counter(bucket_of(state) for state in states)
    return {bucket: found.get(bucket, 0) for bucket in BUCKETS}
