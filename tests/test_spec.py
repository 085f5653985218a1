"""The migration spec loads strictly: each defect gives one located, fixable error."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from gaggle.errors import SpecError
from gaggle.names import TableName
from gaggle.spec import load_migration

OLD = "acme-prod.core.users_v1"
NEW = "acme-prod.core.users_v2"
OLD_SCHEMA = f"schemas/{OLD}.json"
NEW_SCHEMA = f"schemas/{NEW}.json"


def test_demo_migration_loads_into_typed_objects():
    from tests.conftest import DEMO_MIGRATION

    migration = load_migration(DEMO_MIGRATION)
    assert migration.id == "users_v2"
    assert [(str(p.old), str(p.new)) for p in migration.tables] == [(OLD, NEW)]
    rules = migration.rules_for(TableName.parse(OLD))
    assert rules[("country",)].expression == "geo.country_code"
    assert rules[("device", "os")].expression == "primary_device.os_name"
    assert rules[("age_bucket",)].action == "manual"
    assert rules[("age_bucket",)].expression is None
    assert migration.consumers.repos == ("acme/growth-dbt", "acme/finance-sql")
    assert migration.consumers.lineage is True
    assert migration.pull_request.labels == ("dataset-migration",)
    assert migration.guide is not None and migration.guide.name == "guide.md"
    country = migration.schema(TableName.parse(OLD)).find(("country",))
    assert country is not None and country.line is not None


def test_optional_sections_get_defaults(migration_copy: Path):
    text = (migration_copy / "migration.yaml").read_text()
    head = text.split("mapping: mapping.csv")[0]
    (migration_copy / "migration.yaml").write_text(head)
    migration = load_migration(migration_copy)
    assert migration.pull_request.branch == "data-migration/users-v2"
    assert migration.pull_request.title == migration.title
    assert migration.consumers.repos == ()
    assert migration.mapping_file == migration_copy / "mapping.csv"


def test_lineage_true_takes_default_settings_and_a_mapping_sets_them(migration_copy: Path):
    from tests.conftest import DEMO_MIGRATION

    defaults = load_migration(DEMO_MIGRATION).consumers.lineage_settings
    assert (defaults.days, defaults.region, defaults.projects, defaults.repo_label) == (
        30,
        "us",
        (),
        "gaggle-repo",
    )
    _replace(
        migration_copy / "migration.yaml",
        "lineage: true",
        "lineage:\n    days: 14\n    region: EU\n    project: [acme-prod, acme-analytics]\n"
        "    repo_label: team-repo\n    principals:\n"
        "      ETL@acme-prod.iam.gserviceaccount.com: acme/growth-dbt\n"
        "      analyst@acme.com: acme/finance-sql",
    )
    consumers = load_migration(migration_copy).consumers
    assert consumers.lineage is True
    settings = consumers.lineage_settings
    assert (settings.days, settings.region, settings.repo_label) == (14, "eu", "team-repo")
    assert settings.projects == ("acme-prod", "acme-analytics")
    assert settings.principal_map() == {
        "analyst@acme.com": "acme/finance-sql",
        "etl@acme-prod.iam.gserviceaccount.com": "acme/growth-dbt",
    }


def test_a_struct_covered_by_its_own_row_needs_no_field_rows(migration_copy: Path):
    mapping = migration_copy / "mapping.csv"
    lines = [line for line in mapping.read_text().splitlines() if ",device." not in line]
    lines.append(
        f"{OLD},device,"
        '"STRUCT(primary_device.os_name AS os, primary_device.model_name AS model)",map,'
    )
    mapping.write_text("\n".join(lines) + "\n")
    rules = load_migration(migration_copy).rules_for(TableName.parse(OLD))
    assert ("device",) in rules and ("device", "os") not in rules


def test_rows_match_column_names_case_insensitively(migration_copy: Path):
    _replace(migration_copy / "mapping.csv", f"{OLD},email,", f"{OLD},EMAIL,")
    rules = load_migration(migration_copy).rules_for(TableName.parse(OLD))
    assert rules[("email",)].path == ("EMAIL",)


# ---------------------------------------------------------------- malformed specs


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture edit: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def _drop_line(path: Path, marker: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if marker not in line]
    assert len(kept) == len(lines) - 1, f"fixture edit: {marker!r} must match one line"
    path.write_text("".join(kept))


def _edit_schema(name: str, change: Callable[[list], None]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / name
        fields = json.loads(path.read_text())
        change(fields)
        path.write_text(json.dumps(fields, indent=2) + "\n")

    return edit


END = "<end of file>"


@dataclass
class Case:
    id: str
    edit: Callable[[Path], None]
    file: str
    field: str
    problem: str
    # Text on the expected line (the last line that holds it), a line number, None for
    # no line, or END for the line after the last (where a missing row belongs).
    line_marker: str | int | None
    line_offset: int = 0  # JSON errors point at the `{` line, just above "name"

    def expected_line(self, folder: Path) -> int | None:
        if not isinstance(self.line_marker, str):
            return self.line_marker
        lines = (folder / self.file).read_text().splitlines()
        if self.line_marker == END:
            return len(lines) + 1
        hits = [i for i, line in enumerate(lines, 1) if self.line_marker in line]
        return hits[-1] + self.line_offset


def yaml_edit(old: str, new: str) -> Callable[[Path], None]:
    return lambda folder: _replace(folder / "migration.yaml", old, new)


def csv_edit(old: str, new: str) -> Callable[[Path], None]:
    return lambda folder: _replace(folder / "mapping.csv", old, new)


def csv_append(row: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        with (folder / "mapping.csv").open("a") as handle:
            handle.write(row + "\n")

    return edit


CASES = [
    Case(
        "missing-migration-yaml",
        lambda f: (f / "migration.yaml").unlink(),
        "migration.yaml",
        "migration.yaml",
        "is missing",
        None,
    ),
    Case(
        "yaml-syntax-error",
        yaml_edit("title: Move", "title: [Move"),
        "migration.yaml",
        "yaml",
        "is not valid YAML",
        "guide_url:",
    ),
    Case(
        "yaml-not-a-mapping",
        lambda f: (f / "migration.yaml").write_text("- id: users_v2\n"),
        "migration.yaml",
        "yaml",
        "must be a mapping",
        1,
    ),
    Case(
        "unknown-top-level-key",
        yaml_edit("title:", "titel:"),
        "migration.yaml",
        "titel",
        "did you mean 'title'",
        "titel:",
    ),
    Case(
        "missing-required-key",
        lambda f: _drop_line(f / "migration.yaml", "guide_url:"),
        "migration.yaml",
        "guide_url",
        "is required but missing",
        "id: users_v2",
    ),
    Case(
        "bad-id",
        yaml_edit("id: users_v2", "id: Users-V2"),
        "migration.yaml",
        "id",
        "may hold only",
        "id: Users-V2",
    ),
    Case(
        "id-differs-from-folder",
        yaml_edit("id: users_v2", "id: users_v3"),
        "migration.yaml",
        "id",
        "differs from the folder name",
        "id: users_v3",
    ),
    Case(
        "title-not-a-string",
        yaml_edit("title: Move consumers of core.users_v1 to core.users_v2", "title: 42"),
        "migration.yaml",
        "title",
        "must be a non-empty string",
        "title: 42",
    ),
    Case(
        "guide-url-not-a-url",
        yaml_edit("https://wiki.example.com/data/users-v2", "wiki/users-v2"),
        "migration.yaml",
        "guide_url",
        "is not an http(s) URL",
        "guide_url:",
    ),
    Case(
        "tables-empty",
        lambda f: (f / "migration.yaml").write_text(
            (f / "migration.yaml")
            .read_text()
            .replace(f"  - old: {OLD}\n    new: {NEW}\n", "")
            .replace("tables:", "tables: []")
        ),
        "migration.yaml",
        "tables",
        "must be a non-empty list",
        "tables:",
    ),
    Case(
        "table-entry-unknown-key",
        yaml_edit(f"    new: {NEW}", f"    new: {NEW}\n    neww: x.y.z"),
        "migration.yaml",
        "tables[0].neww",
        "is not a known key",
        "neww:",
    ),
    Case(
        "table-not-fully-qualified",
        yaml_edit(f"old: {OLD}", "old: core.users_v1"),
        "migration.yaml",
        "tables[0].old",
        "not a fully-qualified table name",
        "old: core.users_v1",
    ),
    Case(
        "old-equals-new",
        yaml_edit(f"new: {NEW}", f"new: {OLD}"),
        "migration.yaml",
        "tables[0]",
        "is the same table as old",
        f"new: {OLD}",
    ),
    Case(
        "old-table-listed-twice",
        yaml_edit(f"    new: {NEW}", f"    new: {NEW}\n  - old: {OLD}\n    new: acme-prod.core.x"),
        "migration.yaml",
        "tables[1].old",
        "is listed twice",
        "  - old: acme-prod.core.users_v1",
    ),
    Case(
        "wildcard-on-one-side-only",
        yaml_edit(f"new: {NEW}", "new: acme-prod.core.users_*"),
        "migration.yaml",
        "tables[0].new",
        "wildcard",
        "new: acme-prod.core.users_*",
    ),
    Case(
        "missing-schema-file",
        lambda f: (f / NEW_SCHEMA).unlink(),
        "migration.yaml",
        "tables[0].new",
        "has no schema file",
        f"new: {NEW}",
    ),
    Case(
        "schema-file-name-not-qualified",
        lambda f: (f / "schemas" / "users.json").write_text("[]"),
        "schemas/users.json",
        "schema file name",
        "not a fully-qualified table name",
        None,
    ),
    Case(
        "schema-not-json",
        lambda f: _replace(f / OLD_SCHEMA, '"name": "email",', '"name": "email"'),
        OLD_SCHEMA,
        "schema",
        "is not valid JSON",
        10,  # the token after the missing comma
    ),
    Case(
        "schema-unknown-type",
        _edit_schema(OLD_SCHEMA, lambda fields: fields[1].update(type="STRNG")),
        OLD_SCHEMA,
        "email.type",
        "is not a supported BigQuery type",
        '"name": "email"',
        -1,
    ),
    Case(
        "schema-record-without-fields",
        _edit_schema(NEW_SCHEMA, lambda fields: fields[3].pop("fields")),
        NEW_SCHEMA,
        "geo.fields",
        "a RECORD needs a non-empty list of fields",
        '"name": "geo"',
        -1,
    ),
    Case(
        "schema-duplicate-column",
        _edit_schema(OLD_SCHEMA, lambda fields: fields.append(dict(fields[1], name="EMAIL"))),
        OLD_SCHEMA,
        "[22].name",
        "is declared twice",
        '"name": "EMAIL"',
        -1,
    ),
    Case(
        "schema-unknown-key",
        _edit_schema(OLD_SCHEMA, lambda fields: fields[13].update(fileds=[])),
        OLD_SCHEMA,
        "[13].fileds",
        "use 'fields'",
        '"name": "device"',
        -1,
    ),
    Case(
        "consumer-repo-not-owner-name",
        yaml_edit("acme/finance-sql", "finance-sql"),
        "migration.yaml",
        "consumers.repos",
        "is not owner/name",
        "repos:",
    ),
    Case(
        "lineage-not-boolean",
        yaml_edit("lineage: true", "lineage: yes please"),
        "migration.yaml",
        "lineage",
        "must be true or false",
        "lineage:",
    ),
    Case(
        "lineage-unknown-key",
        yaml_edit("lineage: true", "lineage:\n    dayz: 30"),
        "migration.yaml",
        "consumers.lineage.dayz",
        "did you mean 'days'",
        "dayz:",
    ),
    Case(
        "lineage-days-beyond-retention",
        yaml_edit("lineage: true", "lineage:\n    days: 400"),
        "migration.yaml",
        "consumers.lineage.days",
        "must be a whole number of days from 1 to 180",
        "days: 400",
    ),
    Case(
        "lineage-days-not-a-number",
        yaml_edit("lineage: true", "lineage:\n    days: true"),
        "migration.yaml",
        "consumers.lineage.days",
        "got True",
        "days: true",
    ),
    Case(
        "lineage-region-with-prefix",
        yaml_edit("lineage: true", "lineage:\n    region: region-us"),
        "migration.yaml",
        "consumers.lineage.region",
        "is not a BigQuery location",
        "region: region-us",
    ),
    Case(
        "lineage-project-not-an-id",
        yaml_edit("lineage: true", "lineage:\n    project: [acme-prod, Acme Prod]"),
        "migration.yaml",
        "consumers.lineage.project",
        "'Acme Prod' is not a Google Cloud project id",
        "project:",
    ),
    Case(
        "lineage-label-key-uppercase",
        yaml_edit("lineage: true", "lineage:\n    repo_label: Gaggle-Repo"),
        "migration.yaml",
        "consumers.lineage.repo_label",
        "is not a valid BigQuery label key",
        "repo_label:",
    ),
    Case(
        "lineage-principals-not-a-mapping",
        yaml_edit("lineage: true", "lineage:\n    principals: [etl@acme.com]"),
        "migration.yaml",
        "consumers.lineage.principals",
        "must be a mapping of principal to repo",
        "principals:",
    ),
    Case(
        "lineage-principal-not-an-email",
        yaml_edit("lineage: true", "lineage:\n    principals:\n      etl: acme/growth-dbt"),
        "migration.yaml",
        "consumers.lineage.principals",
        "'etl' is not a principal's email",
        "etl:",
    ),
    Case(
        "lineage-principal-repo-not-owner-name",
        yaml_edit("lineage: true", "lineage:\n    principals:\n      etl@acme.com: growth-dbt"),
        "migration.yaml",
        "consumers.lineage.principals.etl@acme.com",
        "'growth-dbt' is not owner/name",
        "etl@acme.com:",
    ),
    Case(
        "branch-not-a-git-ref",
        yaml_edit("branch: data-migration/users-v2", "branch: data migration..v2"),
        "migration.yaml",
        "pull_request.branch",
        "is not a valid git branch name",
        "branch:",
    ),
    Case(
        "pull-request-unknown-key",
        yaml_edit("  labels:", "  lables:"),
        "migration.yaml",
        "pull_request.lables",
        "did you mean 'labels'",
        "lables:",
    ),
    Case(
        "labels-not-a-list",
        yaml_edit("labels: [dataset-migration]", "labels: dataset-migration"),
        "migration.yaml",
        "pull_request.labels",
        "must be a list",
        "labels:",
    ),
    Case(
        "mapping-file-missing",
        lambda f: (f / "mapping.csv").unlink(),
        "migration.yaml",
        "mapping",
        "is not a file inside the migration folder",
        "mapping:",
    ),
    Case(
        "wrong-csv-header",
        csv_edit("old_table,old_column,new_expression", "table,column,expression"),
        "mapping.csv",
        "header",
        "make the first line exactly",
        1,
    ),
    Case(
        "row-with-wrong-cell-count",
        csv_edit(f"{OLD},email,email_address,map,renamed", f"{OLD},email,email_address,map"),
        "mapping.csv",
        "row",
        "has 4 cells",
        f"{OLD},email,",
    ),
    Case(
        "csv-unterminated-quote",
        csv_append(f'{OLD},tags,"labels,map,'),
        "mapping.csv",
        "csv",
        "is malformed",
        '"labels,map,',
    ),
    Case(
        "table-not-named-in-migration-yaml",
        csv_edit(f"{OLD},full_name,", "acme-prod.core.people,full_name,"),
        "mapping.csv",
        "old_table",
        "is not an old table named in migration.yaml",
        "acme-prod.core.people",
    ),
    Case(
        "old-column-missing-from-table",
        lambda f: _drop_line(f / "mapping.csv", ",referral_code,"),
        "mapping.csv",
        "old_column",
        "referral_code of acme-prod.core.users_v1 has no row",
        END,
    ),
    Case(
        "struct-field-missing-from-table",
        lambda f: _drop_line(f / "mapping.csv", ",device.model,"),
        "mapping.csv",
        "old_column",
        "device.model of acme-prod.core.users_v1 has no row",
        END,
    ),
    Case(
        "old-column-listed-twice",
        csv_append(f"{OLD},city,geo.city,map,again"),
        "mapping.csv",
        "old_column",
        "is listed twice (first on line",
        "geo.city,map,again",
    ),
    Case(
        "old-column-absent-from-old-schema",
        csv_append(f"{OLD},postcode,geo.city,map,"),
        "mapping.csv",
        "old_column",
        "postcode is not a column of acme-prod.core.users_v1",
        "postcode",
    ),
    Case(
        "dotted-path-to-missing-struct-field",
        csv_edit(f"{OLD},device.os,", f"{OLD},device.osx,"),
        "mapping.csv",
        "old_column",
        "device.osx is not a column",
        "device.osx",
    ),
    Case(
        "dotted-path-into-non-struct",
        csv_append(f"{OLD},country.code,geo.country_code,map,"),
        "mapping.csv",
        "old_column",
        "country.code is not a column",
        "country.code",
    ),
    Case(
        "field-of-repeated-record",
        csv_append(f"{OLD},sessions.session_id,visits,map,"),
        "mapping.csv",
        "old_column",
        "is a field of the REPEATED RECORD sessions",
        "sessions.session_id",
    ),
    Case(
        "bad-column-path-syntax",
        csv_edit(f"{OLD},email,", f"{OLD},e-mail,"),
        "mapping.csv",
        "old_column",
        "is not a column name or dotted STRUCT path",
        "e-mail",
    ),
    Case(
        "unknown-action",
        csv_edit("email,email_address,map,", "email,email_address,rename,"),
        "mapping.csv",
        "action",
        "'rename' is not an action",
        "email_address,rename",
    ),
    Case(
        "map-row-without-expression",
        csv_edit("email,email_address,map,", "email,,map,"),
        "mapping.csv",
        "new_expression",
        "is `map` but has no expression",
        ",email,,map",
    ),
    Case(
        "manual-row-with-expression",
        csv_edit("age_bucket,,manual,", "age_bucket,birth_year,manual,"),
        "mapping.csv",
        "new_expression",
        "is `manual` but has an expression",
        "age_bucket",
    ),
    Case(
        "expression-does-not-parse",
        csv_edit("UNIX_MILLIS(signup_at),map", "UNIX_MILLIS(signup_at,map"),
        "mapping.csv",
        "new_expression",
        "does not parse as BigQuery SQL",
        "signup_ms",
    ),
    Case(
        "expression-is-not-a-single-expression",
        csv_edit("display_name,map", "display_name FROM x --,map"),
        "mapping.csv",
        "new_expression",
        "is not a single expression",
        "full_name",
    ),
    Case(
        "expression-uses-column-new-schema-lacks",
        csv_edit("email_address,map", "email_addr,map"),
        "mapping.csv",
        "new_expression",
        "uses a column acme-prod.core.users_v2 lacks",
        "email_addr",
    ),
    Case(
        "expression-uses-missing-struct-field",
        csv_edit("geo.country_code,map", "geo.country,map"),
        "mapping.csv",
        "new_expression",
        "geo.country is not a column or STRUCT field",
        "geo.country,",
    ),
    Case(
        "expression-type-differs",
        csv_edit("UNIX_MILLIS(signup_at),map", "signup_at,map"),
        "mapping.csv",
        "new_expression",
        "yields TIMESTAMP but signup_ms is INT64",
        "signup_ms",
    ),
    Case(
        "struct-expression-type-differs",
        lambda f: (
            _drop_line(f / "mapping.csv", ",device.os,"),
            _drop_line(f / "mapping.csv", ",device.model,"),
            csv_append(f'{OLD},device,"STRUCT(primary_device.model_name AS model)",map,')(f),
        ),
        "mapping.csv",
        "new_expression",
        "yields STRUCT<model STRING> but device is STRUCT<os STRING, model STRING>",
        "STRUCT(primary_device",
    ),
    Case(
        "expression-aggregates",
        csv_edit("lifetime_orders,lifetime_orders,map", "lifetime_orders,COUNT(*),map"),
        "mapping.csv",
        "new_expression",
        "aggregates or windows over rows",
        "COUNT(*)",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_malformed_spec_gives_one_located_error(case: Case, migration_copy: Path):
    case.edit(migration_copy)
    with pytest.raises(SpecError) as caught:
        load_migration(migration_copy)
    error = caught.value
    assert error.file == migration_copy / case.file
    assert error.field == case.field
    assert case.problem in str(error)
    assert error.line == case.expected_line(migration_copy)
    assert error.fix, "every error says how to fix it"
    assert str(error).startswith(f"{migration_copy / case.file}")


def test_there_are_at_least_25_malformed_cases():
    assert len({case.id for case in CASES}) >= 25
