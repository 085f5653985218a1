"""The PR body tells a reviewer what changed, what to decide, the evidence and how to revert."""

from __future__ import annotations

from gaggle.repo import rewrite_repo
from gaggle.reports import MARKER, pr_body
from gaggle.spec import load_migration
from gaggle.validation.offline import OfflineValidator
from gaggle.validation.repo import validate_repo

from tests.conftest import DEMO_MIGRATION, ROOT

MIGRATION = load_migration(DEMO_MIGRATION)
REPO = ROOT / "tests" / "fixtures" / "repos" / "sqljobs" / "before"


def test_pr_body_has_files_decisions_evidence_and_revert():
    outcome = rewrite_repo(REPO, MIGRATION, write=False)
    validations = validate_repo(REPO, MIGRATION, OfflineValidator(MIGRATION.catalog))
    body = pr_body(
        MIGRATION, outcome, validations, lambda path, line: f"https://x/blob/b/{path}#L{line}"
    )
    assert body.startswith(MARKER)
    assert f"## {MIGRATION.title}" in body and MIGRATION.guide_url in body
    assert "| `sql/daily_active_users.sql` | sql sql | 5 |  |" in body
    assert (
        "- [ ] [`sql/merge_user_dim.sql:4`](https://x/blob/b/sql/merge_user_dim.sql#L4): "
        "age_bucket has no automatic mapping" in body
    )
    assert "### Left unchanged" in body and "jobs/ltv_export.yml:3" in body
    assert f"{len(validations)} of {len(validations)} rewritten statements pass" in body
    assert "### How to revert" in body
