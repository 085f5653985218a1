"""Tests for the demo fleet: determinism, layout, and that every query only reads real columns.

The rewrite engine is benchmarked on this fleet, so a generated query that names a column
the schemas do not have would make later failures look like rewriter bugs.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections import Counter
from functools import cache
from pathlib import Path

import jinja2
import pytest
import sqlglot
from gaggle import fleet as fleet_module
from gaggle.fleet import FleetRepo, generate_fleet
from ruamel.yaml import YAML
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "include" / "migrations" / "users_v2" / "schemas"
SEEDS = (7, 11, 2024)
FLEET_SIZE = 60
PROJECT = "acme-prod"
DBT_DATASET = "dbt"
# Tables that are not catalog-qualified in a script (BigQuery temp tables) land here.
SCRIPT_DATASET = "_script"
AIRFLOW_MACRO = re.compile(r"'?\{\{.*?\}\}'?")
SCIO_SQL = re.compile(r'(?:fromQuery|Query)\(\s*"""(.*?)"""(\.stripMargin)?', re.S)
_BQ_TYPES = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}
_yaml = YAML(typ="safe")


# --- schema -------------------------------------------------------------------------------


def _bq_type(field: dict) -> str:
    if field["type"] in ("RECORD", "STRUCT"):
        base = "STRUCT<" + ", ".join(f"{f['name']} {_bq_type(f)}" for f in field["fields"]) + ">"
    else:
        base = _BQ_TYPES.get(field["type"], field["type"])
    return f"ARRAY<{base}>" if field.get("mode") == "REPEATED" else base


@cache
def _schema_mapping() -> dict:
    """The inputs a consumer may read. users_v2 is left out: every fleet query must read
    the old table or the other inputs, so one that reads users_v2 fails to qualify."""
    mapping: dict = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        project, dataset, table = path.stem.split(".")
        if table == "users_v2":
            continue
        columns = {f["name"]: _bq_type(f) for f in json.loads(path.read_text())}
        mapping.setdefault(project, {}).setdefault(dataset, {})[table] = columns
    return mapping


def new_schema() -> MappingSchema:
    """A fresh schema per file: scripts and dbt projects register their own tables.

    MappingSchema needs every table at the same nesting depth, so the short name
    `core.users_v1` cannot get a two-part entry of its own. It resolves anyway: qualify()
    gets BigQuery's default project as catalog, which completes it the way BigQuery does,
    and MappingSchema finds a table by a unique name suffix. test_short_table_name_resolves
    checks both.
    """
    return MappingSchema(copy.deepcopy(_schema_mapping()), dialect="bigquery")


def _register(schema: MappingSchema, table: str, outputs: dict[str, exp.DataType]) -> None:
    columns = {}
    for name, dtype in outputs.items():
        unknown = dtype is None or dtype.is_type(exp.DataType.Type.UNKNOWN)
        columns[name] = "STRING" if unknown else dtype.sql("bigquery")
    schema.add_table(table, columns, dialect="bigquery")


# --- qualification ------------------------------------------------------------------------


def _variables_to_parameters(variables: frozenset[str]):
    """Script variables look like unqualified columns to sqlglot; make them parameters."""

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in variables:
            return exp.Parameter(this=exp.var(node.name))
        return node

    return swap


def _check_struct_fields(typed: exp.Expression) -> None:
    """qualify() does not validate struct fields or UNNEST element fields; the types do."""
    for dot in typed.find_all(exp.Dot):
        base = dot.this
        if base.type is not None and base.type.is_type(exp.DataType.Type.STRUCT):
            assert dot.type is not None, dot.sql("bigquery")
            assert not dot.type.is_type(exp.DataType.Type.UNKNOWN), dot.sql("bigquery")


def _check_tables_exist(qualified: exp.Expression, schema: MappingSchema) -> None:
    """qualify() lets a qualified column of an unknown table through; reject the table."""
    for table in qualified.find_all(exp.Table):
        if table.args.get("db") is not None:  # CTE references stay unqualified
            assert schema.column_names(table), f"unknown table {table.sql('bigquery')}"


def _check_unique_outputs(typed: exp.Expression) -> None:
    """BigQuery rejects a CTE or destination table with two columns of one name."""
    for select in typed.find_all(exp.Select):
        names = [s.alias_or_name for s in select.selects]
        duplicates = [n for n, count in Counter(names).items() if count > 1]
        assert not duplicates, f"duplicate output columns {duplicates}: {select.sql('bigquery')}"


def qualify_query(
    query: exp.Expression, schema: MappingSchema, variables: frozenset[str] = frozenset()
) -> dict[str, exp.DataType]:
    """Raises unless every column reference resolves against the schema."""
    query = query.copy()
    if variables:
        query = query.transform(_variables_to_parameters(variables))
    qualified = qualify(
        query,
        schema=schema,
        dialect="bigquery",
        catalog=PROJECT,
        db=SCRIPT_DATASET,
        validate_qualify_columns=True,
    )
    _check_tables_exist(qualified, schema)
    typed = annotate_types(qualified, schema=schema, dialect="bigquery")
    _check_struct_fields(typed)
    _check_unique_outputs(typed)
    return {s.alias_or_name: s.type for s in typed.selects}


def parse_statements(sql: str) -> list[exp.Expression]:
    statements = []
    for stmt in sqlglot.parse(sql, read="bigquery"):
        if isinstance(stmt, exp.Command) and str(stmt.this).upper() == "BEGIN":
            # sqlglot has no BEGIN ... END block node: it falls back to a Command whose text
            # is the block's first statement, so parse that text again.
            statements += parse_statements(stmt.expression.name)
        elif stmt is not None:
            statements.append(stmt)
    return statements


def _top_level_queries(stmt: exp.Expression) -> list[exp.Query]:
    return [q for q in stmt.find_all(exp.Query) if q.find_ancestor(exp.Query) is None]


def _table_name(table: exp.Table) -> str:
    parts = [p.name for p in table.parts]
    return ".".join([PROJECT, SCRIPT_DATASET][: 3 - len(parts)] + parts)


def _check_merge(merge: exp.Merge, schema: MappingSchema, variables: frozenset[str]) -> int:
    """MERGE is no query scope for qualify(), so qualify its USING source and check that
    every source-side column in ON / WHEN exists in that source. Target-side columns
    belong to the job's own reporting table, whose schema the migration does not own."""
    using = merge.args["using"]
    if isinstance(using, exp.Subquery):
        columns = set(qualify_query(using.this, schema, variables))
    else:
        columns = set(schema.column_names(_table_name(using)))
    alias = using.alias_or_name
    used = {c.name for c in merge.find_all(exp.Column) if c.table == alias}
    assert used and used <= columns, (used - columns, merge.sql("bigquery"))
    return 1


def check_statement(stmt: exp.Expression, schema: MappingSchema, variables: frozenset[str]) -> int:
    """Returns how many queries were qualified."""
    if isinstance(stmt, exp.Query):
        qualify_query(stmt, schema, variables)
        return 1
    if isinstance(stmt, exp.Create) and stmt.kind == "FUNCTION":
        # A temp function body refers to its own parameters, which qualify() would report
        # as unknown columns; the bodies in the fleet read no table.
        assert stmt.expression is not None and not stmt.expression.find(exp.Table)
        return 0
    if isinstance(stmt, exp.Create):
        outputs = qualify_query(stmt.expression, schema, variables)
        _register(schema, _table_name(stmt.this), outputs)  # temp tables are read later on
        return 1
    if isinstance(stmt, exp.Insert):
        qualify_query(stmt.expression, schema, variables)
        return 1
    if isinstance(stmt, exp.Merge):
        return _check_merge(stmt, schema, variables)
    if isinstance(stmt, exp.Declare | exp.Set):
        queries = _top_level_queries(stmt)
        for query in queries:
            qualify_query(query, schema, variables)
        return len(queries)
    if isinstance(stmt, exp.Delete):
        # Only the job's own reporting table is deleted from; nothing of users_v1 is read.
        assert not _top_level_queries(stmt)
        return 0
    # END closes a BEGIN block; a Semicolon node is a comment standing alone after a `;`.
    assert isinstance(stmt, exp.EndStatement | exp.Semicolon), f"unexpected {stmt!r}"
    return 0


def check_script(sql: str, schema: MappingSchema) -> int:
    statements = parse_statements(sql)
    variables = frozenset(
        ident.name
        for stmt in statements
        if isinstance(stmt, exp.Declare)
        for item in stmt.expressions
        for ident in item.this
    )
    return sum(check_statement(stmt, schema, variables) for stmt in statements)


def read_tables(sql: str) -> set[str]:
    """Fully qualified names of the input tables a script reads."""
    names = set()
    for stmt in parse_statements(sql):
        for table in stmt.find_all(exp.Table):
            name = _table_name(table)
            if name.split(".")[1] in ("core", "sales", "analytics"):
                names.add(name)
    return names


def replace_airflow_macros(sql: str) -> str:
    return AIRFLOW_MACRO.sub("'2024-01-01'", sql)


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fleets(tmp_path_factory) -> dict[int, tuple[Path, list[FleetRepo]]]:
    result = {}
    for seed in SEEDS:
        out = tmp_path_factory.mktemp(f"fleet{seed}")
        result[seed] = (out, generate_fleet(out, FLEET_SIZE, seed=seed))
    return result


def _all_repos(fleets, style: str) -> list[FleetRepo]:
    return [r for _, repos in fleets.values() for r in repos if r.style == style]


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# --- determinism and layout ---------------------------------------------------------------


def tree_of(out: Path, repos: int, seed: int) -> dict[str, bytes]:
    generate_fleet(out, repos, seed=seed)
    return tree(out)


def test_same_seed_gives_identical_tree_and_other_seed_differs(tmp_path):
    first = tree_of(tmp_path / "a", 40, 7)
    assert first == tree_of(tmp_path / "b", 40, 7)  # byte-identical, manifest included
    other = tree_of(tmp_path / "c", 40, 8)
    assert sorted(other.values()) != sorted(first.values())  # content, not just names


def test_styles_and_no_reference_repos(tmp_path):
    fleet = generate_fleet(tmp_path, 30)
    counts = Counter(r.style for r in fleet)
    assert set(counts) == {"sql", "dbt", "scio"}
    assert 12 <= counts["sql"] <= 18 and 8 <= counts["dbt"] <= 13 and 2 <= counts["scio"] <= 7
    no_ref = [r for r in fleet if not r.references_old_table]
    assert 1 <= len(no_ref) <= 6
    for repo in fleet:
        mentions = any("users_v1" in (repo.path / f).read_text() for f in repo.files)
        assert mentions == repo.references_old_table, repo.name


@pytest.mark.parametrize("repos", [0, 1, 2, 3, 5])
def test_small_fleets(tmp_path, repos):
    fleet = generate_fleet(tmp_path, repos)
    assert len(fleet) == repos == len({r.name for r in fleet})
    if repos >= 3:
        assert {r.style for r in fleet} == {"sql", "dbt", "scio"}


def test_manifest_lists_exactly_what_is_on_disk(fleets):
    for out, fleet in fleets.values():
        manifest = json.loads((out / "fleet.json").read_text())
        entries = manifest["repos"]
        assert [e["name"] for e in entries] == [r.name for r in fleet]
        on_disk = {p for p in tree(out) if p != "fleet.json"}
        listed = set()
        for entry, repo in zip(entries, fleet, strict=True):
            assert entry["name"] == f"acme/{Path(entry['path']).name}"
            assert entry["style"] == repo.style
            assert entry["references_old_table"] == repo.references_old_table
            assert (out / entry["path"]) == repo.path
            assert entry["files"] == sorted(entry["files"]) == list(repo.files)
            listed |= {f"{entry['path']}/{f}" for f in entry["files"]}
        assert listed == on_disk


def test_regenerating_removes_only_its_own_repos(tmp_path):
    fleet = generate_fleet(tmp_path, 12, seed=3)
    fresh = tree(tmp_path)
    (fleet[0].path / "stray.sql").write_text("SELECT 1\n")
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "notes.txt").write_text("mine\n")
    (tmp_path / "acme" / "someone-elses-repo").mkdir()
    (tmp_path / "acme" / "someone-elses-repo" / "x.sql").write_text("SELECT 2\n")
    generate_fleet(tmp_path, 12, seed=3)
    after = tree(tmp_path)
    assert after.pop("keep/notes.txt") == b"mine\n"
    assert after.pop("acme/someone-elses-repo/x.sql") == b"SELECT 2\n"
    assert after == fresh


def test_three_hundred_repos(tmp_path):
    fleet = generate_fleet(tmp_path, 300, seed=1)
    assert len(fleet) == 300
    assert len(json.loads((tmp_path / "fleet.json").read_text())["repos"]) == 300


def test_short_table_name_resolves():
    schema = new_schema()
    full = schema.column_names("acme-prod.core.users_v1")
    assert "signup_ms" in full
    assert schema.column_names("core.users_v1") == full
    qualify_query(sqlglot.parse_one("SELECT users_v1.age_bucket FROM core.users_v1"), schema)
    with pytest.raises(sqlglot.errors.OptimizeError):
        qualify_query(sqlglot.parse_one("SELECT u.geo FROM core.users_v1 u"), schema)


def test_checker_rejects_unknown_fields():
    """The column check must be able to fail, including inside structs and UNNEST."""
    bad = (
        "SELECT u.device.os_name FROM core.users_v1 u",
        "SELECT s.started_at FROM core.users_v1 u, UNNEST(u.sessions) s",
        "SELECT o.email FROM `acme-prod.sales.orders` o",
        "SELECT country FROM core.users_v1 u JOIN sales.orders o USING (user_id)",
        "WITH b AS (SELECT u.plan, u.plan FROM core.users_v1 u) SELECT * FROM b",
        "SELECT t.x FROM core.user_v1 t",
        "SELECT t.user_id FROM `acme-prod.core.users_v2` t",
        "MERGE `acme-prod.reporting.x` t USING core.nope s ON t.id = s.user_id WHEN MATCHED THEN DELETE",
    )
    for sql in bad:
        with pytest.raises((sqlglot.errors.OptimizeError, AssertionError)):
            check_script(sql, new_schema())


# --- every query uses real columns ------------------------------------------------------


def _job_configs(repo: FleetRepo) -> list[dict]:
    configs = []
    for name in repo.files:
        if name.startswith("jobs/"):
            text = (repo.path / name).read_text()
            configs.append(json.loads(text) if name.endswith(".json") else _yaml.load(text))
    return configs


def test_sql_repos_parse_and_qualify(fleets):
    qualified = 0
    for repo in _all_repos(fleets, "sql"):
        sql_files = [f for f in repo.files if f.endswith(".sql")]
        assert sql_files and all(f.startswith("sql/") for f in sql_files)
        assert "README.md" in repo.files
        for name in sql_files:
            sql = replace_airflow_macros((repo.path / name).read_text())
            try:
                qualified += check_script(sql, new_schema())
            except Exception as err:
                raise AssertionError(f"{repo.name}/{name}:\n{sql}") from err
        configs = _job_configs(repo)
        assert sorted(c["query"] for c in configs) == sorted(sql_files)
        for cfg in configs:
            assert cfg["destination"] == f"acme-prod.reporting.{cfg['name']}"
            sql = replace_airflow_macros((repo.path / cfg["query"]).read_text())
            assert set(cfg["sources"]) == read_tables(sql), (repo.name, cfg["name"])
    assert qualified > 100


@pytest.mark.parametrize(
    "name", sorted(n for n, (kind, _) in fleet_module._LIB.items() if kind in ("u", "x", "o"))
)
def test_every_template_qualifies_in_many_draws(name):
    """A fleet only hits some combinations of slot values; draw each template many times."""
    for draw in range(30):
        rng = random.Random(f"{name}:{draw}")
        sql, _ = fleet_module._render(rng, name, fleet_module._Env("sql"), f"job_{draw}", True)
        sql = replace_airflow_macros(fleet_module._restyle(rng, sql))
        try:
            check_script(sql, new_schema())
        except Exception as err:
            raise AssertionError(f"{name} draw {draw}:\n{sql}") from err


def test_sql_files_use_the_hard_cases(fleets):
    """The rewriter's test bed must keep exercising these constructs."""
    text = "\n".join(
        (r.path / f).read_text()
        for r in _all_repos(fleets, "sql")
        for f in r.files
        if f.endswith(".sql")
    )
    for needle in (
        "`acme-prod.core.users_v1`",
        "`acme-prod`.`core`.`users_v1`",
        "`acme-prod`.core.users_v1",
        "`core.users_v1`",
        "users_v1.",
        "USING (user_id)",
        "UNNEST(tags) tag",
        "EXCEPT (",
        "REPLACE (",
        "QUALIFY",
        "MERGE",
        "DECLARE",
        "BEGIN",
        "CREATE TEMP FUNCTION",
        "CREATE OR REPLACE TABLE",
        "@run_date",
        "{{ ds }}",
        "{{ params.country }}",
        "age_bucket",
        "marketing_opt_in",
        "'users_v1'",
        "\t",
        "\n  , ",
        "# ",
        "/* ",
    ):
        assert needle in text or needle.lower() in text, needle


# --- dbt ---------------------------------------------------------------------------------


def _dbt_order(models: dict[str, str]) -> list[str]:
    """Dependency order from ref() calls; an unknown ref fails here."""
    deps = {name: set(re.findall(r"ref\('(\w+)'\)", text)) for name, text in models.items()}
    order: list[str] = []
    while len(order) < len(models):
        ready = sorted(n for n in models if n not in order and deps[n] <= set(order))
        assert ready, f"unresolvable refs: {deps}"
        order += ready
    return order


def _dbt_env(repo: FleetRepo) -> tuple[jinja2.Environment, dict]:
    project = _yaml.load((repo.path / "dbt_project.yml").read_text())
    sources = _yaml.load((repo.path / "models" / "sources.yml").read_text())
    tables = {
        (
            src["name"],
            t["name"],
        ): f"`{src['database']}.{src['schema']}.{t.get('identifier', t['name'])}`"
        for src in sources["sources"]
        for t in src["tables"]
    }

    def var(name, default=None):
        value = project.get("vars", {}).get(name, default)
        assert value is not None, f"var {name} is not defined in dbt_project.yml"
        return value

    context = {
        "source": lambda src, table: tables[(src, table)],
        "ref": lambda model: f"`{PROJECT}.{DBT_DATASET}.{model}`",
        "config": lambda **_: "",
        "var": var,
    }
    return jinja2.Environment(undefined=jinja2.StrictUndefined), context


def check_dbt_repo(repo: FleetRepo) -> int:
    env, context = _dbt_env(repo)
    models = {Path(f).stem: (repo.path / f).read_text() for f in repo.files if f.endswith(".sql")}
    schema, checked = new_schema(), 0
    for name in _dbt_order(models):
        this = f"{PROJECT}.{DBT_DATASET}.{name}"
        modes = (False, True) if "is_incremental()" in models[name] else (False,)
        for incremental in modes:
            rendered = env.from_string(models[name]).render(
                **context, this=f"`{this}`", is_incremental=lambda flag=incremental: flag
            )
            statements = parse_statements(rendered)
            assert len(statements) == 1 and isinstance(statements[0], exp.Query), rendered
            try:
                outputs = qualify_query(statements[0], schema)
            except Exception as err:
                raise AssertionError(f"{repo.name}/{name}:\n{rendered}") from err
            if not incremental:
                _register(schema, this, outputs)
            checked += 1
    return checked


def test_dbt_models_render_parse_and_qualify(fleets):
    checked = 0
    for repo in _all_repos(fleets, "dbt"):
        assert {"dbt_project.yml", "models/sources.yml", "models/schema.yml"} <= set(repo.files)
        if repo.references_old_table:
            assert "models/staging/stg_users.sql" in repo.files
        checked += check_dbt_repo(repo)
    assert checked > 50


def test_dbt_fleet_uses_the_jinja_features(fleets):
    text = "\n".join((r.path / f).read_text() for r in _all_repos(fleets, "dbt") for f in r.files)
    for needle in (
        "{{ source('core', 'users_v1') }}",
        "{{ ref('stg_users') }}",
        "{{ ref('int_users_enriched') }}",
        "materialized='incremental'",
        "{% if is_incremental() %}",
        "{{ this }}",
        "{#",
        "{% for ",
        "{{ var('users_table') }}",
        "`acme-prod.core.users_v1`",
    ):
        assert needle in text, needle


# --- scio --------------------------------------------------------------------------------


def _users_columns() -> set[str]:
    return set(_schema_mapping()["acme-prod"]["core"]["users_v1"])


def test_scio_sql_strings_parse_and_qualify(fleets):
    checked = 0
    orders = set(_schema_mapping()["acme-prod"]["sales"]["orders"])
    for repo in _all_repos(fleets, "scio"):
        assert "build.sbt" in repo.files
        for name in (f for f in repo.files if f.endswith(".scala")):
            text = (repo.path / name).read_text()
            for sql, margin in SCIO_SQL.findall(text):
                if margin:
                    sql = re.sub(r"(?m)^[ \t]*\|", "", sql)
                checked += check_script(sql, new_schema())
            if "class User" in text:
                assert set(re.findall(r"\bu\.(\w+)", text)) <= _users_columns(), name
            assert set(re.findall(r'row\.get\("(\w+)"\)', text)) <= _users_columns() | orders
    assert checked > 5


def test_scio_fleet_uses_the_typed_apis(fleets):
    text = "\n".join((r.path / f).read_text() for r in _all_repos(fleets, "scio") for f in r.files)
    for needle in (
        '@BigQueryType.fromTable("acme-prod:core.users_v1")',
        "@BigQueryType.fromQuery(",
        "sc.bigQuerySelect(Query(",
        ".stripMargin",
        "sc.typedBigQuery[User]()",
        'Table.Spec("acme-prod:core.users_v1")',
        '"acme-prod.core.users_v1"',
        "u.signup_ms",
        "FROM [acme-prod:core.users_v1]",  # legacy SQL in a typed query
        "selectedFields = List(",  # a Storage API read
        "rowRestriction = ",
        'val Users = "acme-prod:core.users_v1"',  # a constant in a shared object ...
        "sc.bigQueryTable(Table.Spec(Tables.Users))",  # ... read in another file
        "sc.bigQueryTable(Table.Spec(Tables.Orders))",  # a bystander with the same getters
    ):
        assert needle in text, needle
