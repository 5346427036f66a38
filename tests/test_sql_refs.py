"""Referenced SQL (queries/sql_refs.py): a shared definition is expanded into one plain
statement with unique CTE names, and every query file of the product expands cleanly."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from queries import executor, sql_refs

SQL_DIR = Path(__file__).resolve().parents[1] / "queries" / "sql"

# A tiny set of files in the product's shape: `rows` is shared by `a` and `b`; `both` reads
# `a` and `b`, so `rows` must be hoisted once.
FILES = {
    "rows": """-- rows: one row per lead
with

events as (select lead_id, kind from events),

final as (
    select lead_id, 'final' as final, count(*) as events
    from events
    group by lead_id
)

select * from final
""",
    "a": """-- a
with

final as (
    select lead_id, events from {{ ref('rows') }} where events > 1
)

select * from final
""",
    "b": """-- b
with

final as (select rows.lead_id from {{ ref('rows') }} where rows.final = 'final')

select * from final
""",
    "both": """-- both
with

final as (
    select a.lead_id from {{ ref('a') }} as a join {{ ref('b') }} as b on b.lead_id = a.lead_id
)

select * from final order by lead_id
""",
    "loop": "with x as (select * from {{ ref('loop') }})\nselect * from x",
    "clash": "with\n\nrows as (select 1 as one)\n\nselect * from {{ ref('a') }}",
}


def expand(name: str) -> str:
    return sql_refs.expand(name, FILES.__getitem__)


def cte_names(sql: str) -> list[str]:
    ctes, _ = sql_refs.split_ctes(sql, "test")
    return [n for n, _ in ctes]


def test_a_reference_hoists_the_file_with_its_own_names_prefixed():
    sql = expand("a")
    assert cte_names(sql) == ["rows__events", "rows__final", "rows", "final"]
    # Read as a relation, renamed; a column or a string of the same name is left alone.
    assert "from rows__events" in sql and "from rows__final" in sql
    assert "'final' as final" in sql and "from events\n" in sql  # the table, inside its own CTE
    assert "{{" not in sql and sql.count("with") == 1


def test_a_file_two_references_share_is_hoisted_once():
    names = cte_names(expand("both"))
    assert names == ["rows__events", "rows__final", "rows", "a__final", "a", "b__final", "b", "final"]


def test_the_expansion_runs_and_gives_the_rows_defined_once():
    con = duckdb.connect()
    con.execute(
        "create table events as select * from (values ('L1', 'x'), ('L1', 'y'), ('L2', 'x')) t(lead_id, kind)"
    )
    # L1 has two events (a keeps it), both leads are in b: the join keeps L1.
    assert con.execute(expand("both")).fetchall() == [("L1",)]
    assert con.execute(expand("b") + " order by lead_id").fetchall() == [("L1",), ("L2",)]


def test_a_qualifier_is_renamed_with_its_relation():
    renamed = sql_refs.rename_relation("select rows.x, 'rows.x' from rows where rows.y", "rows", "r2")
    assert renamed == "select r2.x, 'rows.x' from r2 where r2.y"
    # A column or an alias with the name is not a relation.
    assert (
        sql_refs.rename_relation("select t.rows, 1 as rows from t", "rows", "r2")
        == "select t.rows, 1 as rows from t"
    )


def test_a_loop_or_a_clash_is_refused_with_the_file_named():
    with pytest.raises(sql_refs.SqlRefError, match="loop.sql references itself"):
        expand("loop")
    with pytest.raises(sql_refs.SqlRefError, match=r"clash.sql defines \['rows'\]"):
        expand("clash")


def test_a_macro_takes_the_row_alias_or_none():
    text = sql_refs.expand_macros("where {{ lead_filters('j') }} and {{ lead_filters() }}")
    assert "($all_channels or list_contains($channels, j.channel))" in text
    assert "($all_owners or list_contains($owners, owner_id))" in text
    assert "{{" not in text and "--" not in text  # the macro's comments stay in its file
    with pytest.raises(sql_refs.SqlRefError, match="no macro named 'nope'"):
        sql_refs.expand_macros("{{ nope() }}")


@pytest.mark.parametrize("path", sorted(SQL_DIR.glob("*.sql")), ids=lambda p: p.name)
def test_every_query_file_expands_to_one_plain_statement(path):
    sql = executor.sql_text(path.stem)
    assert "{{" not in sql and "}}" not in sql
    names = cte_names(sql)
    assert len(names) == len(set(names)), f"{path.name}: CTE names repeat"
    # No nested `with`: each CTE body is plain (the portable shape).
    ctes, _ = sql_refs.split_ctes(sql, path.name)
    for name, body in ctes:
        assert not re.match(r"\s*with\b", body, re.I), f"{path.name}: CTE {name} has its own with"


def test_the_list_filters_stand_in_one_file():
    # The definition a list filter needs is written once, in the macro; no query repeats it.
    repeated = [
        p.name for p in SQL_DIR.glob("*.sql") if "list_contains($channels" in p.read_text(encoding="utf-8")
    ]
    assert repeated == []
    assert "list_contains($channels" in (SQL_DIR / "macros" / "lead_filters.sql").read_text(encoding="utf-8")


def test_a_list_filter_is_one_line_in_python_and_one_in_sql():
    # queries/filters.py LIST_FILTERS names each list filter once; the macro holds its predicate
    # with the same $parameter; Filters has the field and binds it.
    import dataclasses

    from queries import options
    from queries.filters import ATTRIBUTES, LIST_FILTERS, Filters
    from ui import filters as ui_filters

    macro = (SQL_DIR / "macros" / "lead_filters.sql").read_text(encoding="utf-8")
    fields = {f.name for f in dataclasses.fields(Filters)}
    for attribute, field in LIST_FILTERS.items():
        assert field in fields
        column = ATTRIBUTES[attribute]
        assert f"($all_{field} or list_contains(${field}, {{row}}{column}))" in macro
    assert set(options.FILTER_ATTRIBUTES) == set(LIST_FILTERS) == set(ui_filters.LIST_PARAMS)
    # The sidebar's choices are written from LIST_FILTERS: no SQL line of their own.
    values = executor.sql_text("filter_options")
    for attribute in LIST_FILTERS:
        assert (
            f"select '{attribute}' as attribute, {ATTRIBUTES[attribute]} as value from journey_leads"
            in values
        )
    assert "{{ list_filter_values('journey_leads') }}" in (SQL_DIR / "filter_options.sql").read_text(
        encoding="utf-8"
    )
