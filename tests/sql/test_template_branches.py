"""Jinja control flow: every branch rewritten, proven branch by branch where DuckDB runs it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
from gaggle.spec import load_migration
from gaggle.sql import FlagReason, SqlRewriter
from gaggle.sql.branches import (
    MAX_VARIANTS,
    TemplatedRewriter,
    branch_templates,
    parse_blocks,
    variants,
)
from gaggle.sql.flag_comments import comment_outcome
from gaggle.sql.report import Change, Flag, RewriteResult
from gaggle.validation.equivalence import Outcome, check_equivalence
from ruamel.yaml import YAML

from tests.conftest import DEMO_MIGRATION, ROOT

MIGRATION = load_migration(DEMO_MIGRATION)
ENGINE = TemplatedRewriter(MIGRATION)
CASES = sorted(
    p
    for pattern in ("3[0-9][0-9]-jinja-branches-*", "5[0-9][0-9]-jinja-literal-*")
    for p in (ROOT / "tests" / "golden").glob(pattern)
)
# What the templates' unknown calls render to when a branch is run in DuckDB.
CONTEXT = {
    "header": lambda: "'report' AS header",
    "config": lambda *a, **k: "",
    "this": "`acme-prod.analytics.target_model`",
    "params": {"fallback": "nowhere", "lang": "'en'"},
    "dbt": {"type_timestamp": lambda: "TIMESTAMP"},
    "type_numeric": lambda: "NUMERIC",
    "header_columns": lambda: "u.user_id AS id,",
}


def _render(template: str) -> str:
    environment = jinja2.Environment(undefined=jinja2.ChainableUndefined)
    return environment.from_string(template).render(**CONTEXT)


@pytest.mark.parametrize("folder", CASES, ids=[c.name for c in CASES])
def test_every_branch_of_the_rewrite_returns_the_original_rows(folder: Path):
    spec = YAML(typ="safe").load((folder / "case.yaml").read_text())
    before, after = (folder / "before.sql").read_text(), (folder / "after.sql").read_text()
    if spec.get("flags") or before == after:
        pytest.skip("flagged for a human: nothing rewritten to prove")
    verdicts = {}
    for label, before_branch, after_branch in branch_templates(before, after):
        verdict = check_equivalence(_render(before_branch), _render(after_branch), MIGRATION)
        assert verdict.outcome != Outcome.DIFFERENT, f"{label}: {verdict.detail}"
        verdicts[label] = verdict.outcome
    if Outcome.EQUAL not in verdicts.values():
        pytest.skip(f"no branch runs in DuckDB (query parameters, {{{{ this }}}}): {verdicts}")


def test_the_branch_proofs_cover_every_runnable_shape():
    """The cases with a branch DuckDB can run are proven, not skipped (parameters such as
    @run_day, a raw block's braces and {{ this }} are what DuckDB cannot run)."""
    proven = []
    for folder in CASES:
        if "flags: []" not in (folder / "case.yaml").read_text():
            continue
        before, after = (folder / "before.sql").read_text(), (folder / "after.sql").read_text()
        outcomes = [
            check_equivalence(_render(b), _render(a), MIGRATION).outcome
            for _, b, a in branch_templates(before, after)
        ]
        if Outcome.EQUAL in outcomes and Outcome.DIFFERENT not in outcomes:
            proven.append(folder.name.split("-")[0])
    assert {"302", "304", "305", "307", "311", "312", "500", "504"} <= set(proven)


def test_if_else_in_where_side_by_side_does_not_parse_but_each_branch_does():
    text = (
        "SELECT u.email FROM `acme-prod.core.users_v1` AS u\n"
        "WHERE {% if full_refresh() %} u.created_date >= '2015-01-01' AND u.country = @shard"
        " {% else %} u.created_date = @run_day {% endif %}\n"
    )
    plain = SqlRewriter(MIGRATION).rewrite(text)
    assert [f.reason for f in plain.flags] == [FlagReason.UNPARSEABLE]
    result = ENGINE.rewrite(text)
    assert result.flags == []
    assert result.text.count("DATE(u.signup_at)") == 2
    assert "u.geo.country_code = @shard" in result.text
    # byte-identical outside the edited spans: the tags and parameters are untouched
    assert "{% if full_refresh() %}" in result.text and "{% else %}" in result.text


def test_the_same_condition_twice_is_one_choice():
    text = (
        "SELECT u.user_id FROM `acme-prod.core.users_v1` AS u\n"
        "{% if is_incremental() %}WHERE u.last_login > @since{% endif %}\n"
        "{% if is_incremental() %}AND u.is_active{% endif %}\n"
    )
    assert len(variants(text)) == 2  # not 4: AND without WHERE is not a rendering


def test_loop_position_conditions_are_decided_for_the_single_rendered_iteration():
    text = "{% for r in rs %}SELECT 1{% if not loop.last %} UNION ALL{% endif %}{% endfor %}"
    (only,) = variants(text)
    assert "UNION ALL" not in only.text and len(only.text) == len(text)


def test_many_independent_choices_are_bounded_and_every_branch_is_rendered():
    text = "SELECT 1 AS a\n" + "".join(
        f"{{% if c{i} %}}, {i} AS x{i}{{% else %}}, -{i} AS y{i}{{% endif %}}\n" for i in range(12)
    )
    rendered = variants(text)
    assert 2 <= len(rendered) <= MAX_VARIANTS
    for i in range(12):
        assert any(f"{i} AS x{i}" in v.text for v in rendered)
        assert any(f"-{i} AS y{i}" in v.text for v in rendered)


def test_blocks_nest_and_whitespace_control_is_the_same_tag():
    (block,) = parse_blocks("{%- if a -%}x{%- elif b %}y{% else -%}z{%- endif %}")
    assert block.conditions == ["a", "b", ""]
    assert len(block.branches) == 3


def test_branch_templates_pair_the_same_choice_on_both_sides():
    before = "SELECT u.email FROM core.users_v1 u {% if p %}WHERE u.is_active{% endif %}"
    after = ENGINE.rewrite(before).text
    pairs = branch_templates(before, after)
    assert [label for label, _, _ in pairs] == ["if p", "not (p)"]
    assert "is_active" in pairs[0][1] and "status = 'ACTIVE'" in pairs[0][2]
    assert "{%" not in pairs[1][1] and "status" not in pairs[1][2]


def test_every_flag_is_written_once_into_the_file():
    text = "SELECT user_id\nFROM users_v1\n"
    result = ENGINE.rewrite(text)
    (flag,) = result.flags
    assert flag.reason == FlagReason.AMBIGUOUS_TABLE
    comment = result.text.splitlines()[1]
    assert comment.startswith("-- TODO(data-migration users_v2): acme-prod.core.users_v1:")
    assert "users_v1 without a dataset" in comment and MIGRATION.guide_url in comment
    assert ENGINE.rewrite(result.text).text == result.text


def test_flags_left_after_another_step_are_commented_where_their_line_ended_up():
    """The LLM fallback reports its edits per line, without offsets: the comments still land
    above the flagged line of the edited text, once."""
    original = "SELECT\n  user_id\nFROM users_v1\nWHERE x\n"
    edited = "SELECT\n  user_id,\n  plan\nFROM users_v1\nWHERE x\n"
    flag = Flag(3, 6, FlagReason.AMBIGUOUS_TABLE, "users_v1 without a dataset; qualify it")
    change = Change(2, 1, "  user_id", "  user_id,\n  plan", "llm")
    file = SimpleNamespace(kind="sql", result=RewriteResult(original, edited, [change], [flag]))
    comment_outcome([file], MIGRATION)
    lines = file.result.text.splitlines()
    assert lines[3].startswith("-- TODO(data-migration users_v2)") and lines[4] == "FROM users_v1"
    assert file.result.flags == [flag]
    comment_outcome([file], MIGRATION)  # a second pass adds nothing
    assert file.result.text.count("TODO(data-migration") == 1


def test_flag_comments_in_sql_embedded_in_scala_go_only_where_a_line_can_hold_them(tmp_path):
    """The comments carry the engine's manual-comment rule: a one-line Scala string gets none
    (a newline would break it), a triple-quoted one gets the line; both keep their flag."""
    from gaggle.repo import rewrite_repo

    job = tmp_path / "jobs" / "src" / "main" / "scala" / "Job.scala"
    job.parent.mkdir(parents=True)
    (tmp_path / "jobs" / "build.sbt").write_text(
        'libraryDependencies += "com.spotify" %% "scio-core" % "0.14.0"\n'
    )
    job.write_text(
        "object Job {\n"
        "  sc.bigQuerySelect(\"SELECT user_id FROM users_v1 WHERE country = 'DE'\")\n"
        '  sc.bigQuerySelect("""\n    SELECT user_id\n    FROM users_v1\n  """)\n'
        "}\n"
    )
    (outcome,) = rewrite_repo(tmp_path / "jobs", MIGRATION, write=True).files
    lines = job.read_text().splitlines()
    one_line = "  sc.bigQuerySelect(\"SELECT user_id FROM users_v1 WHERE country = 'DE'\")"
    assert one_line in lines  # the string itself is untouched; Scio's own comment sits above
    assert lines[lines.index(one_line) - 1].strip().startswith("// TODO(data-migration users_v2)")
    triple = lines.index('  sc.bigQuerySelect("""')
    assert lines[triple + 2].strip().startswith("-- TODO(data-migration users_v2)")
    assert lines[triple + 3].strip() == "FROM users_v1"
    assert [str(f.reason) for f in outcome.result.flags] == ["ambiguous-table", "ambiguous-table"]
