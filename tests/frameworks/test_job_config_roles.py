"""Job configs: a table the job WRITES, or reads whole, keeps its name and is flagged;
a table a query job reads is retargeted. The shapes are those of real schedulers
(Airflow's BigQueryInsertJobOperator configuration, bigquery-etl metadata.yaml,
BigQuery scheduled queries, copy/extract jobs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gaggle.frameworks.base import RepoFile
from gaggle.frameworks.sqljobs import SqlJobsSession
from gaggle.spec import load_migration
from gaggle.sql import FlagReason, SqlRewriter

from tests.conftest import DEMO_MIGRATION

ENGINE = SqlRewriter(load_migration(DEMO_MIGRATION))
OLD, NEW = "acme-prod.core.users_v1", "acme-prod.core.users_v2"


def rewrite(text: str, name: str = "job.yaml"):
    return SqlJobsSession(ENGINE).rewrite(RepoFile(Path(name), name, text))


def reasons(result) -> list[tuple[int, str]]:
    return [(f.line, str(f.reason)) for f in result.flags]


WRITES_YAML = {
    "trial repro": f"job:\n  destination_table: {OLD}\n  write_disposition: WRITE_TRUNCATE\n",
    "bigquery-etl metadata": (
        f"friendly_name: Users\nscheduling:\n  dag_name: bqetl_users\n  destination_table: {OLD}\n"
    ),
    "airflow destinationTable": (
        "configuration:\n  query:\n    query: \"{% include 'users.sql' %}\"\n"
        "    useLegacySql: false\n    destinationTable:\n      projectId: acme-prod\n"
        "      datasetId: core\n      tableId: users_v1\n"
        "    writeDisposition: WRITE_APPEND\n"
    ),
    "airflow operator argument": (
        "task_id: load_users\ndestination_project_dataset_table: acme-prod:core.users_v1\n"
    ),
    "table next to write_disposition": (
        f"steps:\n  - name: rebuild\n    table: {OLD}\n    write_disposition: WRITE_TRUNCATE\n"
    ),
    "bq query flags as keys": f"nightly:\n  table: {OLD}\n  replace: true\n",
    "target_table flow style": f"load: {{target_table: '{OLD}', format: AVRO}}\n",
}


@pytest.mark.parametrize("case", sorted(WRITES_YAML))
def test_a_yaml_write_target_keeps_the_old_table_and_is_flagged(case: str) -> None:
    text = WRITES_YAML[case]
    result = rewrite(text)
    assert [str(f.reason) for f in result.flags] == ["writes-old-table"], result.flags
    flag = result.flags[0]
    assert "users_v1" in text.splitlines()[flag.line - 1]
    # the in-file comment sits right above the flagged line; nothing else changed
    lines = result.text.splitlines()
    comment = lines[flag.line - 1].strip()
    assert comment.startswith("# TODO(data-migration users_v2): ")
    assert "write the deprecated acme-prod.core.users_v1" in comment
    assert comment.endswith("See https://wiki.example.com/data/users-v2")
    assert "\n".join(lines[: flag.line - 1] + lines[flag.line :]) + "\n" == text
    # a second run adds no second comment
    assert rewrite(result.text).text == result.text


def test_scheduled_query_json_write_target_is_flagged_not_renamed() -> None:
    text = (
        '{"displayName": "users nightly", "dataSourceId": "scheduled_query",\n'
        ' "destinationDatasetId": "core",\n'
        ' "params": {"query": "SELECT 1", "destination_table_name_template": "users_v1",\n'
        '            "write_disposition": "WRITE_TRUNCATE"}}\n'
    )
    result = rewrite(text, "transfer.json")
    assert result.text == text
    assert reasons(result) == [(3, "writes-old-table")]


def test_json_write_target_with_a_query_source_keeps_retargeting_the_read() -> None:
    text = (
        "{\n"
        '  "query": "sql/users_rollup.sql",\n'
        f'  "sources": ["{OLD}"],\n'
        f'  "destination": "{OLD}"\n'
        "}\n"
    )
    result = rewrite(text, "job.json")
    assert result.text == text.replace(f'["{OLD}"]', f'["{NEW}"]')
    assert reasons(result) == [(4, "writes-old-table")]


def test_a_copy_or_extract_source_is_flagged_and_left() -> None:
    yaml_text = (
        "copy_users:\n"
        f"  source_table: {OLD}\n"
        "  destination_table: acme-prod.archive.users_snapshot\n"
    )
    result = rewrite(yaml_text)
    assert f"source_table: {OLD}" in result.text
    assert reasons(result) == [(2, "unresolved-reference")]
    assert "reads acme-prod.core.users_v1 whole" in result.flags[0].message
    assert "# TODO(data-migration users_v2): source_table reads" in result.text

    json_text = (
        '{"configuration": {"extract": {"sourceTable": {"projectId": "acme-prod",'
        ' "datasetId": "core", "tableId": "users_v1"},'
        ' "destinationUris": ["gs://acme/users/*.avro"]}}}\n'
    )
    result = rewrite(json_text, "extract.json")
    assert result.text == json_text
    assert [str(f.reason) for f in result.flags] == ["unresolved-reference"]
    assert "sourceTable reads" in result.flags[0].message

    copy_json = f'{{"copy": {{"sourceTables": ["{OLD}"], "destinationTable": "acme-prod.b.c"}}}}'
    result = rewrite(copy_json, "copy.json")
    assert result.text == copy_json
    assert "sourceTables reads" in result.flags[0].message


def test_a_read_a_query_job_declares_is_still_retargeted() -> None:
    text = (
        "name: rollup\nquery: sql/rollup.sql\n"
        f"source_table: {OLD}\n"
        "destination: acme-prod.reporting.rollup\nwrite_disposition: WRITE_TRUNCATE\n"
        f"sources:\n  - {OLD}\n"
    )
    result = rewrite(text)
    assert result.text == text.replace(OLD, NEW)
    assert result.flags == []


def test_a_write_target_held_by_an_anchor_is_flagged_once() -> None:
    text = f"defaults:\n  destination_table: &dest {OLD}\nnightly:\n  destination_table: *dest\n"
    result = rewrite(text)
    code = [line for line in result.text.splitlines() if not line.lstrip().startswith("#")]
    assert "\n".join(code) + "\n" == text
    assert (2, FlagReason.WRITES_OLD_TABLE) in [(f.line, f.reason) for f in result.flags]
    assert result.text.count("# TODO(data-migration users_v2)") == 1
