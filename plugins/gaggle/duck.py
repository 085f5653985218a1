"""BigQuery tables and queries in DuckDB, for checks that must run SQL without BigQuery."""

from __future__ import annotations

import duckdb
import sqlglot
from sqlglot import exp

from gaggle.names import TableName
from gaggle.schema import Field, TableSchema

_DECIMALS = (exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL)


def duckdb_type(field: Field) -> str:
    """The DuckDB type that holds a BigQuery column's values, nested fields included."""
    built = exp.DataType.build(field.sql_type(), dialect="bigquery")
    for node in built.walk():
        # BigQuery NUMERIC is DECIMAL(38, 9); DuckDB's bare DECIMAL would be (18, 3).
        if isinstance(node, exp.DataType) and node.this in _DECIMALS and not node.expressions:
            node.set(
                "expressions", [exp.DataTypeParam(this=exp.Literal.number(n)) for n in (38, 9)]
            )
    return built.sql("duckdb")


def duckdb_table(name: TableName) -> str:
    """The DuckDB spelling of a BigQuery table: project is the catalog, dataset the schema."""
    return f'"{name.project}"."{name.dataset}"."{name.table}"'


def create_table(conn: duckdb.DuckDBPyConnection, schema: TableSchema) -> None:
    """An empty DuckDB table with the BigQuery schema, in an attached in-memory catalog."""
    name = schema.table
    attached = {
        row[0] for row in conn.execute("SELECT database_name FROM duckdb_databases()").fetchall()
    }
    if name.project not in attached:
        conn.execute(f"ATTACH ':memory:' AS \"{name.project}\"")
    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{name.project}"."{name.dataset}"')
    columns = ", ".join(f'"{f.name}" {duckdb_type(f)}' for f in schema.fields)
    conn.execute(f"CREATE OR REPLACE TABLE {duckdb_table(name)} ({columns})")


def transpile(bigquery_sql: str) -> list[str]:
    """BigQuery statements as DuckDB statements."""
    return sqlglot.transpile(bigquery_sql, read="bigquery", write="duckdb")


def describe(conn: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    """(column name, DuckDB type) of a table, view or query, in order."""
    return [(row[0], row[1]) for row in conn.execute(f"DESCRIBE {relation}").fetchall()]
