"""store.copy_live: a new version starts as the live store's bytes when the live file stands on
its own, and through DuckDB when a write-ahead log beside it holds changes the file lacks."""

from __future__ import annotations

import duckdb
import pytest

from data import store


@pytest.fixture()
def live(tmp_path):
    path = tmp_path / "live.duckdb"
    store.build_sample(path, n_leads=200, seed=3)
    return path


def _probe(path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return (
            con.execute("select value from store_meta where key = 'probe'").fetchone(),
            con.execute("select count(*) from events").fetchone()[0],
        )
    finally:
        con.close()


def _copy_and_mark(live) -> str:
    with store.replacing(live) as con:
        how = store.copy_live(con, live)
        con.execute("insert or replace into store_meta values ('copied', $how)", {"how": how})
    return how


def test_a_checkpointed_store_is_copied_as_a_file(live):
    con = duckdb.connect(str(live))
    con.execute("insert or replace into store_meta values ('probe', 'kept')")
    con.close()  # checkpointed on close: no log beside the file
    assert not live.with_name(live.name + ".wal").exists()
    n_events = _probe(live)[1]
    assert _copy_and_mark(live) == "file"
    assert _probe(live) == (("kept",), n_events)


def test_a_store_with_a_write_ahead_log_is_copied_through_duckdb_with_the_log_s_changes(live):
    n_events = _probe(live)[1]
    con = duckdb.connect(str(live))
    con.execute("pragma disable_checkpoint_on_shutdown")
    con.execute("set wal_autocheckpoint = '1TB'")
    con.execute("insert or replace into store_meta values ('probe', 'only in the log')")
    con.close()
    assert live.with_name(live.name + ".wal").exists()  # the change is in the log, not the file
    assert _copy_and_mark(live) == "tables"
    assert _probe(live) == (("only in the log",), n_events)
