"""One read-only DuckDB per store version, shared by every query on cursors of its own: reused
while the version lasts, safe across threads, never in an import's way, closed when it is no
longer needed, and as locked down as a connection of its own was."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from data import notes, store
from queries import executor, pipeline, weekly
from queries.filters import Filters
from tests import stories

STORY = {"A": {"events": [("lead", "2025-01-02"), ("mql", "2025-01-05")]}}


def table_file(path: Path, value: int, rows: int = 1000) -> Path:
    """A DuckDB file with one table t(i, v): `rows` rows, v = `value` on each."""
    tmp = path.with_name(path.name + ".build")
    con = duckdb.connect(str(tmp))
    con.execute(f"create table t as select range as i, {int(value)} as v from range({int(rows)})")
    con.close()
    return tmp


def swap_in(path: Path, value: int, rows: int = 1000) -> Path:
    """What an import does: a new file built beside the live one, os.replace()d over it."""
    os.replace(table_file(path, value, rows), path)
    return path


def value_of(db: Path) -> int:
    return int(executor.run_sql("select max(v) as v from t", db=db)["v"][0])


@pytest.fixture(autouse=True)
def fresh_handles():
    executor.close_idle()
    yield
    executor.close_idle()


def test_one_store_version_is_opened_once_for_every_query(tmp_path):
    db = swap_in(tmp_path / "s.duckdb", 1)
    before = executor.OPENED["handles"]
    for _ in range(20):
        assert value_of(db) == 1
    assert executor.OPENED["handles"] == before + 1
    # A new version (an import's swap) is a new handle; the old one is not read again.
    swap_in(db, 2)
    assert value_of(db) == 2
    assert executor.OPENED["handles"] == before + 2


def test_a_pin_shares_its_live_file_s_handle(tmp_path, monkeypatch):
    db = swap_in(tmp_path / "live.duckdb", 1)
    monkeypatch.setenv(store.ENV_DB, str(db))
    assert value_of(None) == 1
    before = executor.OPENED["handles"]
    pinned = executor.pin()
    try:
        assert pinned is not None and pinned != db
        assert executor.current_path() == pinned
        assert value_of(None) == 1
    finally:
        executor.unpin()
    assert executor.OPENED["handles"] == before  # a hard link of the same inode: same version


def test_many_threads_at_once_each_get_their_own_answer(tmp_path):
    db = swap_in(tmp_path / "s.duckdb", 7, rows=20_000)

    def ask(k: int) -> tuple[int, int, int]:
        df = executor.run_sql("select $k as k, count(*) as n, sum(i % ($k + 1)) as s from t", {"k": k}, db=db)
        return int(df["k"][0]), int(df["n"][0]), int(df["s"][0])

    expected = {k: (k, 20_000, sum(i % (k + 1) for i in range(20_000))) for k in range(40)}
    before = executor.OPENED["handles"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(ask, [k for _ in range(5) for k in range(40)]))
    assert got == [expected[k] for _ in range(5) for k in range(40)]
    assert executor.OPENED["handles"] <= before + 1  # all of them on one handle


def test_temp_tables_are_private_to_each_query(tmp_path):
    db = swap_in(tmp_path / "s.duckdb", 1)
    with executor.connect(db) as one, executor.connect(db) as two:
        one.execute("create temp table base as select 1 as x")
        with pytest.raises(duckdb.CatalogException):
            two.execute("select * from base").fetchall()
        two.execute("create temp table base as select 2 as x")
        assert one.execute("select x from base").fetchall() == [(1,)]
        assert two.execute("select x from base").fetchall() == [(2,)]
    # Gone with the query that made it.
    with executor.connect(db) as three, pytest.raises(duckdb.CatalogException):
        three.execute("select * from base").fetchall()


def test_run_over_in_many_threads_at_once_reads_its_own_base_rows(sample_store):
    """pipeline.view keeps pipeline_states in a temp table named `base`'s file for its outer
    queries: views of different ranges computed at the same time must not read each other's."""
    ranges = [(dt.date(2025, m, 1), dt.date(2025, m + 2, 28)) for m in range(1, 10)]
    views = {r: Filters(start=r[0], end=r[1]) for r in ranges}
    alone = {r: pipeline.view(f, db=sample_store) for r, f in views.items()}
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda r: (r, pipeline.view(views[r], db=sample_store)), ranges * 2))
    for r, got in together:
        assert repr(got) == repr(alone[r]), r


def test_an_import_s_swap_during_reads(tmp_path):
    """Queries running while versions are swapped in read one whole version each, never fail,
    and a query that started on the old version finishes on it."""
    db = swap_in(tmp_path / "s.duckdb", 0, rows=5000)
    with executor.connect(db) as old:  # a query running on version 0 across the swaps
        stop = threading.Event()
        seen: list[tuple[int, int]] = []
        errors: list[BaseException] = []

        def read():
            while not stop.is_set():
                try:
                    df = executor.run_sql("select max(v) as v, count(*) as n from t", db=db)
                    seen.append((int(df["v"][0]), int(df["n"][0])))
                except BaseException as exc:  # noqa: BLE001 (any failure fails the test)
                    errors.append(exc)

        readers = [threading.Thread(target=read) for _ in range(4)]
        for t in readers:
            t.start()
        try:
            for value in range(1, 13):
                swap_in(db, value, rows=5000 + value)
        finally:
            stop.set()
            for t in readers:
                t.join()
        assert errors == []
        assert seen and all(n == 5000 + v for v, n in seen)  # one version per query, never a mix
        assert old.execute("select max(v), count(*) from t").fetchall() == [(0, 5000)]
    assert value_of(db) == 12  # the newest version, at once


def test_handles_stay_few_after_many_swaps_and_a_busy_one_is_closed_by_its_query(tmp_path):
    db = swap_in(tmp_path / "s.duckdb", 0)
    busy = executor.connect(db)
    for value in range(1, executor.MAX_HANDLES * 3):
        swap_in(db, value)
        assert value_of(db) == value
        assert executor.open_handles() <= executor.MAX_HANDLES
    # Pushed out long ago, but a query still runs on it: open until that query ends.
    assert busy.execute("select max(v) from t").fetchall() == [(0,)]
    handle = busy._handle
    assert handle.retired
    busy.close()
    with pytest.raises(duckdb.ConnectionException):
        handle.con.execute("select 1")


def test_an_idle_handle_is_closed(tmp_path, monkeypatch):
    db = swap_in(tmp_path / "s.duckdb", 1)
    other = swap_in(tmp_path / "other.duckdb", 2)
    third = swap_in(tmp_path / "third.duckdb", 3)
    assert value_of(db) == 1
    monkeypatch.setattr(executor, "IDLE_SECONDS", 0.0)
    time.sleep(0.01)
    assert value_of(other) == 2  # opening another handle sweeps the idle ones
    assert executor.open_handles() == 1
    monkeypatch.setattr(executor, "IDLE_SECONDS", 3600.0)
    assert value_of(third) == 3
    assert executor.open_handles() == 2
    # A query ending looks for idle handles too (the warmer's, once it has finished).
    monkeypatch.setattr(executor, "IDLE_SECONDS", 0.0)
    time.sleep(0.01)
    assert value_of(third) == 3
    assert executor.open_handles() == 1


def test_a_saved_note_is_read_at_once(tmp_path):
    db = stories.build(tmp_path / "s.duckdb", STORY)
    monday = weekly.parse_week("2025-W01")
    assert weekly.meeting_notes(monday, db=db).empty  # before the first save: the stand-in
    for n, text in enumerate(("first", "second", "third"), start=1):
        notes.add_note(monday, "Maya", text, db=db)
        shown = weekly.meeting_notes(monday, db=db)
        assert len(shown) == n and text in set(shown["note"])


def test_a_query_not_reading_edits_keeps_its_handle_when_a_note_is_saved(tmp_path):
    db = stories.build(tmp_path / "s.duckdb", STORY)
    monday = weekly.parse_week("2025-W01")
    notes.add_note(monday, "Maya", "first", db=db)
    assert executor.run_sql("select count(*) as n from events", db=db)["n"][0] == 2
    weekly.meeting_notes(monday, db=db)
    before = executor.OPENED["handles"]
    notes.add_note(monday, "Maya", "second", db=db)
    assert executor.run_sql("select count(*) as n from events", db=db)["n"][0] == 2
    assert executor.OPENED["handles"] == before
    assert len(weekly.meeting_notes(monday, db=db)) == 2
    assert executor.OPENED["handles"] == before + 1


def test_the_warmer_s_queries_run_on_one_thread_and_the_pages_on_two(tmp_path):
    db = swap_in(tmp_path / "s.duckdb", 1)
    threads = {}

    def ask(background: bool):
        if background:
            executor.background()
        threads[background] = int(executor.run_sql("select current_setting('threads') as n", db=db)["n"][0])

    for background in (False, True):
        t = threading.Thread(target=ask, args=(background,))
        t.start()
        t.join()
    assert threads == {False: 2, True: 1}


def test_every_cursor_is_locked_down(tmp_path):
    db = swap_in(tmp_path / "s.duckdb", 1)
    out = tmp_path / "out.csv"
    assert executor.run_sql("select current_setting('temp_directory') as d", db=db)["d"][0] == ""
    with pytest.raises(duckdb.PermissionException):
        executor.run_sql(f"copy (select 1) to '{out}'", db=db)
    for setting in ("lock_configuration = false", "enable_external_access = true", "temp_directory = '/tmp'"):
        with pytest.raises(duckdb.InvalidInputException, match="locked"):
            executor.run_sql(f"set {setting}", db=db)
    with pytest.raises(duckdb.Error):
        executor.run_sql("insert into t values (1, 1)", db=db)  # attached read-only
    assert not out.exists()
    assert value_of(db) == 1


def test_a_swapped_in_damaged_file_is_damage_and_a_good_one_reads_again(tmp_path, monkeypatch):
    db = swap_in(tmp_path / "s.duckdb", 1)
    assert value_of(db) == 1  # a handle of the good version is open
    bad = tmp_path / "bad.duckdb"
    bad.write_text("lead_id,stage\n" * 50)
    os.replace(bad, db)
    with pytest.raises(executor.StoreDamagedError) as err:
        value_of(db)
    assert err.value.problem.kind == store.NOT_DUCKDB and err.value.problem.path == db
    swap_in(db, 3)
    assert value_of(db) == 3


def test_small_write_in_this_process_is_not_refused_by_a_kept_handle(tmp_path):
    db = stories.build(tmp_path / "s.duckdb", STORY)
    assert executor.run_sql("select count(*) as n from events", db=db)["n"][0] == 2
    with store.small_write(db) as con:
        con.execute("delete from events where event_type = 'mql'")
    assert executor.run_sql("select count(*) as n from events", db=db)["n"][0] == 1
