"""The ClickHouse translation kept per (store version, SQL, each value's type or null)
(queries/engines.translate with a key): the text is reused only where it would come out the
same, and the values are always this call's."""

from __future__ import annotations

import pytest

from queries import engines

pytest.importorskip("sqlglot")

SQL = "select count(*) as n from leads where ($channels is null or channel = any($channels)) and name = $name"


@pytest.fixture(autouse=True)
def fresh():
    engines._TRANSLATED.clear()
    yield
    engines._TRANSLATED.clear()


def test_a_kept_text_binds_this_calls_values():
    first = engines.translate(SQL, {"channels": ["paid"], "name": "O'Brien"}, key="v1")
    again = engines.translate(SQL, {"channels": ["web", "event"], "name": "Ana"}, key="v1")
    assert len(engines._TRANSLATED) == 1  # one text for both
    assert again[0] == first[0]
    assert again[1] == {"channels": "['web','event']", "name": "Ana"}
    assert again == engines.translate(SQL, {"channels": ["web", "event"], "name": "Ana"})  # as fresh


def test_a_null_list_or_another_type_is_another_text():
    listed = engines.translate(SQL, {"channels": ["paid"], "name": "Ana"}, key="v1")
    every = engines.translate(SQL, {"channels": None, "name": "Ana"}, key="v1")
    assert "channels" in listed[0] and "channels" not in every[0]  # the null list folded away
    assert every[1] == {"name": "Ana"}
    number = engines.translate(SQL, {"channels": None, "name": 7}, key="v1")
    assert "Int64" in number[0] and number[1] == {"name": "7"}
    assert len(engines._TRANSLATED) == 3


def test_another_store_version_translates_afresh():
    engines.translate(SQL, {"channels": None, "name": "Ana"}, key="v1")
    engines.translate(SQL, {"channels": None, "name": "Ana"}, key="v2")
    assert len(engines._TRANSLATED) == 2
    engines.translate(SQL, {"channels": None, "name": "Ana"})  # no key: not kept
    assert len(engines._TRANSLATED) == 2


def test_the_kept_texts_are_bounded(monkeypatch):
    monkeypatch.setattr(engines, "TRANSLATIONS_KEPT", 2)
    for version in ("v1", "v2", "v3"):
        engines.translate(SQL, {"channels": None, "name": "Ana"}, key=version)
    assert [k[0] for k in engines._TRANSLATED] == ["v2", "v3"]  # the oldest went first
