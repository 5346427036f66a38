"""The ClickHouse translation kept per (store version, SQL, each value's type or null)
(queries/engines.translate with a key): the text is reused only where it would come out the
same, and the values are always this call's."""

from __future__ import annotations

import pandas as pd
import pytest

from queries import engines

pytest.importorskip("sqlglot")

SQL = "select count(*) as n from leads where ($all_channels or list_contains($channels, channel)) and name = $name"
EVERY = {"all_channels": True, "channels": []}
PICKED = {"all_channels": False, "channels": ["paid"]}


@pytest.fixture(autouse=True)
def fresh():
    engines._TRANSLATED.clear()
    yield
    engines._TRANSLATED.clear()


def test_a_kept_text_binds_this_calls_values():
    first = engines.translate(SQL, {**PICKED, "name": "O'Brien"}, key="v1")
    values = {"all_channels": False, "channels": ["web", "event"], "name": "Ana"}
    again = engines.translate(SQL, values, key="v1")
    assert len(engines._TRANSLATED) == 1  # one text for both
    assert again[0] == first[0]
    assert again[1] == {"all_channels": "false", "channels": "['web','event']", "name": "Ana"}
    assert again == engines.translate(SQL, values)  # as a fresh translation


def test_a_null_or_another_type_is_another_text():
    named = engines.translate(SQL, {**EVERY, "name": "Ana"}, key="v1")
    unnamed = engines.translate(SQL, {**EVERY, "name": None}, key="v1")
    assert "{name: String}" in named[0] and "name = NULL" in unnamed[0]  # a null is the literal
    assert "name" not in unnamed[1]
    number = engines.translate(SQL, {**EVERY, "name": 7}, key="v1")
    assert "{name: Int64}" in number[0] and number[1]["name"] == "7"
    assert len(engines._TRANSLATED) == 3


def test_another_store_version_translates_afresh():
    engines.translate(SQL, {**EVERY, "name": "Ana"}, key="v1")
    engines.translate(SQL, {**EVERY, "name": "Ana"}, key="v2")
    assert len(engines._TRANSLATED) == 2
    engines.translate(SQL, {**EVERY, "name": "Ana"})  # no key: not kept
    assert len(engines._TRANSLATED) == 2


def test_the_kept_texts_are_bounded(monkeypatch):
    monkeypatch.setattr(engines, "TRANSLATIONS_KEPT", 2)
    for version in ("v1", "v2", "v3"):
        engines.translate(SQL, {**EVERY, "name": "Ana"}, key=version)
    assert [k[0] for k in engines._TRANSLATED] == ["v2", "v3"]  # the oldest went first


@pytest.mark.parametrize("text", ["a\\tb", "\\N", "line\nbreak", "tab\there", "O'Brien \\ x"])
def test_a_text_value_reads_back_as_on_duckdb(text, sample_store, monkeypatch):
    """ClickHouse decodes escapes in a parameter's text: a backslash, a tab and a line break
    are escaped first, so each value reads back as it was, as on DuckDB."""
    pytest.importorskip("chdb")
    from queries import executor

    sql = "select $v as v, length($v) as n"
    monkeypatch.delenv("HANDOFF_ENGINE", raising=False)
    on_duckdb = executor.run_sql(sql, {"v": text}, db=sample_store).iloc[0].tolist()
    monkeypatch.setenv("HANDOFF_ENGINE", "clickhouse")
    on_clickhouse = executor.run_sql(sql, {"v": text}, db=sample_store).iloc[0].tolist()
    assert on_clickhouse == on_duckdb == [text, len(text)]


ROWS_SQL = """
    select s.stage_order, s.stage_key, s.team, s.expected_days,
        coalesce(s.expected_days > 1.5, false) as is_long
    from (select unnest($rows) as s) as u
    order by s.stage_order
"""


def test_a_list_of_rows_is_an_array_of_named_tuples():
    from queries import engine_rewrites

    rows = [
        {"stage_order": 1, "stage_key": "lead", "team": None, "expected_days": None},
        {"stage_order": 2, "stage_key": "mql", "team": "sales", "expected_days": 2.0},
    ]
    assert engine_rewrites.ch_type(rows) == (
        "Array(Tuple(stage_order Int64, stage_key String, team Nullable(String), expected_days Nullable(Float64)))"
    )
    assert engine_rewrites.ch_text(rows) == "[(1,'lead',NULL,NULL),(2,'mql','sales',2.0)]"
    # A field null in every row still has a type that compares and joins as null.
    assert engine_rewrites.ch_type([{"k": None}]) == "Array(Tuple(k Nullable(Nothing)))"
    with pytest.raises(TypeError, match="different fields"):
        engine_rewrites.ch_type([{"a": 1}, {"b": 1}])


@pytest.mark.parametrize(
    "rows, expected",
    [
        (
            [
                {"stage_order": 2, "stage_key": "mql", "team": "sales", "expected_days": 2.0},
                {"stage_order": 1, "stage_key": "lead", "team": None, "expected_days": None},
            ],
            [[1, "lead", None, None, False], [2, "mql", "sales", 2.0, True]],
        ),
        # a field null in every row, a number beside it
        (
            [{"stage_order": 1, "stage_key": None, "team": None, "expected_days": None}],
            [[1, None, None, None, False]],
        ),
    ],
)
def test_a_list_of_rows_unnests_as_on_duckdb(rows, expected, sample_store, monkeypatch):
    """$stage_rows and $reason_rows (queries/contracts.py stage_rows): one list of rows unnested
    once gives the same small table on both engines, nulls included."""
    pytest.importorskip("chdb")
    from queries import executor

    def run():
        df = executor.run_sql(ROWS_SQL, {"rows": rows}, db=sample_store)
        return [[None if pd.isna(v) else v for v in r] for r in df.astype(object).values.tolist()]

    monkeypatch.delenv("HANDOFF_ENGINE", raising=False)
    on_duckdb = run()
    monkeypatch.setenv("HANDOFF_ENGINE", "clickhouse")
    assert run() == on_duckdb == expected


def test_the_row_of_nulls_joins_nothing_as_on_duckdb(sample_store, monkeypatch):
    """teams.contract_params' reason rows of a contract without reason codes: one row of nulls,
    which ClickHouse types Nullable(Nothing); joined to exits' reasons it matches none."""
    pytest.importorskip("chdb")
    from queries import executor

    sql = """
        select e.reason, r.reason_team
        from (select 'not_ready' as reason union all select 'budget') as e
        left join (
            select reason_row.reason_code, reason_row.reason_team
            from (select unnest($reason_rows) as reason_row) as reason_rows
        ) as r on r.reason_code = e.reason
        order by e.reason
    """
    rows = {"reason_rows": [{"reason_code": None, "reason_team": None}]}
    monkeypatch.delenv("HANDOFF_ENGINE", raising=False)
    on_duckdb = executor.run_sql(sql, rows, db=sample_store).astype(object).values.tolist()
    monkeypatch.setenv("HANDOFF_ENGINE", "clickhouse")
    on_clickhouse = executor.run_sql(sql, rows, db=sample_store).astype(object).values.tolist()
    clean = [[None if pd.isna(v) else v for v in r] for r in on_clickhouse]
    assert (
        clean
        == [[None if pd.isna(v) else v for v in r] for r in on_duckdb]
        == [["budget", None], ["not_ready", None]]
    )
