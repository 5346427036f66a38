"""Writing derived tables from their statements: one place for `create or replace table`.

Each layout module (accounts, bridge, attribution_layouts, team_layouts) lists what it writes as
(table, select, bound values) in its steps(); the DuckDB rebuild writes them here and
data/journey_spark.py runs the same statements on Spark."""

from __future__ import annotations

import duckdb


def replace(con: duckdb.DuckDBPyConnection, steps: list[tuple[str, str, dict]]) -> None:
    """Replace each step's table in `con` by its select, values bound. The table names are the
    modules' own constants and the selects their own files, never user input."""
    for table, select, values in steps:
        con.execute(f"create or replace table {table} as {select}", values)  # noqa: S608 (our names)
