"""The ClickHouse translation kept per (store version, SQL, each value's type or null)
(queries/engines.translate with a key): the text is reused only where it would come out the
same, and the values are always this call's."""

from __future__ import annotations

import pytest

from queries import engines

pytest.importorskip("sqlglot")

SQL = "select count(*) as n from leads where ($all_channels or channel = any($channels)) and name = $name"
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
