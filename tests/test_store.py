"""The store's writers: one at a time, atomic swaps, and rebuilds that bring old stores up to date."""

from __future__ import annotations

import duckdb
import pytest

from data import store
from tests import stories

STORY = {"A": {"events": [("lead", "2025-01-02"), ("mql", "2025-01-05")]}}


def test_small_edit_waits_for_a_running_rewrite_instead_of_being_lost(tmp_path):
    db = stories.build(tmp_path / "s.duckdb", STORY)
    with store.replacing(db) as con:
        # An import is building the next version (it copied the live store already): an edit on
        # the live file now would vanish at the swap, so it is refused with a clear message.
        store.create_schema(con)
        with (
            pytest.raises(store.StoreLockedError, match="being rewritten"),
            store.small_write(db, wait_seconds=0.2),
        ):
            pass
    # Once the rewrite is done, the edit goes through and stays.
    with store.small_write(db) as con:
        con.execute("insert into store_meta values ('note', 'kept')")
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select value from store_meta where key = 'note'").fetchall() == [("kept",)]


def test_failed_rewrite_leaves_the_store_byte_identical(tmp_path):
    db = stories.build(tmp_path / "s.duckdb", STORY)
    before = db.read_bytes()
    with pytest.raises(RuntimeError, match="boom"), store.replacing(db) as con:
        store.create_schema(con)
        raise RuntimeError("boom")
    assert db.read_bytes() == before
    assert not db.with_name(db.name + ".tmp").exists()


def test_rebuild_adds_tables_an_older_store_lacks(tmp_path):
    db = stories.build(tmp_path / "s.duckdb", STORY)
    with store.small_write(db) as con:
        con.execute("drop table touches")
    store.rebuild(db)
    with duckdb.connect(str(db), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        assert "touches" in tables
        assert con.execute("select count(*) from journey_stages where lead_id = 'A'").fetchone() == (2,)


def test_as_of_follows_a_swapped_in_store(tmp_path):
    from queries import funnel

    db = stories.build(tmp_path / "s.duckdb", STORY)
    assert funnel.latest_event_at(db) == stories.ts("2025-01-05")
    # An import swaps in a new version with a later event: the remembered as-of must not stick.
    stories.build(db, {**STORY, "B": {"events": [("lead", "2025-03-01")]}})
    assert funnel.latest_event_at(db) == stories.ts("2025-03-01")
