"""A store file that cannot be read is told apart from one that is locked (data.store.diagnose),
at once and without retries, and the pages say what is wrong and what to do: roll back to a kept
version or rebuild (the team's edits file: restore its kept copy)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import types
from pathlib import Path

import duckdb
import pytest

from data import edits, importer, store
from queries import executor
from queries import targets as qt
from tests import stories

STORY = {"A": {"events": [("lead", "2025-01-02"), ("mql", "2025-01-05")]}}


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A DuckDB file with one table of 300,000 rows (about 6 MB): blocks enough to damage one
    that only a query reads."""
    path = tmp_path_factory.mktemp("damage") / "good.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table t as select range as i, md5(range::varchar) as s from range(300000)")
    con.close()
    return path


def no_sleep(monkeypatch) -> list[float]:
    """Record the store's retry waits instead of waiting (only data.store's: Streamlit's own
    sleeps go on); returns the list they are recorded in."""
    slept: list[float] = []
    fake = types.SimpleNamespace(sleep=slept.append, monotonic=time.monotonic, perf_counter=time.perf_counter)
    monkeypatch.setattr(store, "time", fake)
    return slept


def damaged_copy(good: Path, target: Path, start: int, length: int, fill: bytes = b"\x5a") -> Path:
    data = bytearray(good.read_bytes())
    data[start : start + length] = fill * length
    target.write_bytes(bytes(data))
    return target


def files(good: Path, tmp_path: Path) -> dict[str, Path]:
    """One file per way a store can be unreadable."""
    text = tmp_path / "text.duckdb"
    text.write_text("lead_id,stage\nL1,mql\n" * 100)
    empty = tmp_path / "empty.duckdb"
    empty.touch()
    truncated = tmp_path / "truncated.duckdb"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    directory = tmp_path / "directory.duckdb"
    directory.mkdir()
    sqlite = tmp_path / "sqlite.duckdb"
    import sqlite3

    with sqlite3.connect(sqlite) as s:
        s.execute("create table leads (lead_id text)")
    return {
        "text": text,
        "empty": empty,
        "sqlite": sqlite,
        "truncated": truncated,
        # The file header's blocks overwritten: DuckDB's checksum refuses them at ATTACH.
        "bad header block": damaged_copy(good, tmp_path / "header.duckdb", 4096, 8192, b"\x13"),
        "directory": directory,
    }


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("text", store.NOT_DUCKDB),
        ("empty", store.NOT_DUCKDB),
        ("sqlite", store.NOT_DUCKDB),
        ("truncated", store.DAMAGED),
        ("bad header block", store.DAMAGED),
        ("directory", store.UNREADABLE),
    ],
)
def test_a_file_waiting_cannot_fix_is_refused_at_once(name, kind, good, tmp_path, monkeypatch):
    path = files(good, tmp_path)[name]
    slept = no_sleep(monkeypatch)
    with pytest.raises(executor.StoreDamagedError) as err:
        executor.connect(path)
    assert err.value.problem.kind == kind
    assert err.value.problem.path == path
    assert slept == []  # no retries: the first attempt decides
    # Never taken for a lock, and the message names the file and a way out.
    assert "being written" not in str(err.value) and "try again" not in str(err.value)
    assert path.name in str(err.value) and "prev-1" in str(err.value)


def test_a_block_damaged_inside_a_table_is_found_by_the_query_that_reads_it(good, tmp_path):
    path = damaged_copy(good, tmp_path / "inside.duckdb", good.stat().st_size // 2, 1000, b"\x01")
    assert executor.run_sql("select count(*) as n from information_schema.tables", db=path)["n"][0] == 1
    with pytest.raises(executor.StoreDamagedError) as err:
        executor.run_sql("select max(s) as s from t", db=path)
    assert err.value.problem.kind == store.DAMAGED and "Corrupt database" in err.value.problem.detail


def test_a_query_s_own_mistake_is_not_taken_for_damage(good):
    with pytest.raises(duckdb.CatalogException):
        executor.run_sql("select * from no_such_table", db=good)


def test_a_lock_is_still_a_lock(good, tmp_path, monkeypatch):
    path = tmp_path / "locked.duckdb"
    shutil.copyfile(good, path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(duckdb.IOException) as err:
            duckdb.connect().execute("attach " + store.sql_literal(path) + " as s (read_only)")
        assert store.diagnose(path, err.value).kind == store.LOCKED
        slept = no_sleep(monkeypatch)
        with pytest.raises(executor.StoreBusyError, match="being written by another program"):
            executor.connect(path)
        assert len(slept) == executor.ATTACH_ATTEMPTS - 1  # a lock is waited out, briefly
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert executor.run_sql("select count(*) as n from t", db=path)["n"][0] == 300_000


def test_a_damaged_edits_file_names_itself_not_the_store(tmp_path):
    db = stories.build(tmp_path / "s.duckdb", STORY)
    edits.path_for(db).write_text("not a database")
    with pytest.raises(executor.StoreDamagedError) as err:
        qt.periods(db=db)
    assert err.value.problem.path == edits.path_for(db)
    assert err.value.problem.kind == store.NOT_DUCKDB
    # The analytics store still reads.
    assert executor.run_sql("select count(*) as n from events", db=db)["n"][0] == 2


# --- on the pages -------------------------------------------------------------------------------


@pytest.fixture
def damaged_live(tmp_path, use_store) -> Path:
    """HANDOFF_DB -> a live store that is not a DuckDB file, with a good version kept as prev-1."""
    db = tmp_path / "live.duckdb"
    stories.build(db, STORY)
    shutil.copyfile(db, importer._prev(db, 1))  # a good version kept, as after an import
    db.unlink()
    db.write_text("lead_id,stage\n")
    return use_store(db)


def store_reader() -> None:
    """What every page does first, inside the frame's friendly errors (AppTest reruns a page of
    the navigation without its frame, so clicks are tested on the frame's handling alone)."""
    import streamlit as st

    from queries import cache, funnel
    from ui import frame

    with frame.friendly_errors():
        st.text(f"latest event {cache.call(funnel.latest_event_at)}")


def test_the_frame_says_what_is_wrong_and_what_to_do(damaged_live, page_app, monkeypatch):
    slept = no_sleep(monkeypatch)
    at = page_app("dashboard.py").run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = [e.value for e in at.error]
    assert "live.duckdb is not a DuckDB database" in error and "Nothing has been changed" in error
    assert not at.warning  # not "being updated", not "try again in a moment"
    shown = "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.code)
    assert "live.prev-1.duckdb" in shown and "importer.rollback()" in shown
    assert "--fresh" in shown and "live.edits.duckdb" in shown  # or rebuild; edits not affected
    assert slept == []


def test_an_admin_rolls_back_from_the_message(damaged_live):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(store_reader, default_timeout=60).run()
    assert any("cannot be read" in e.value for e in at.error)
    assert at.button(key="damaged_rollback").disabled  # needs the confirmation first
    # Sign-in off: whoever runs it is the admin, and may roll back right there.
    at.checkbox(key="damaged_rollback_sure").check().run()
    at.button(key="damaged_rollback").click().run()
    assert not at.exception and not at.error
    assert at.text[0].value == "latest event 2025-01-05 00:00:00"  # the kept version is live
    assert importer.versions(damaged_live) == []


def test_the_data_page_says_what_is_wrong(damaged_live, page_app):
    at = page_app("pages/data_admin.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("The data store cannot be read" in e.value for e in at.error)
    assert any("cannot be read" in i.value for i in at.info)  # the tabs that need it say so
    assert at.checkbox(key="data_fresh").value is True  # an import can only start afresh here


def edits_reader() -> None:
    """A page part that reads the team's notes, inside the frame's friendly errors (AppTest
    runs a page file without the frame, so the frame's handling is tested on its own)."""
    from queries import weekly
    from ui import frame

    with frame.friendly_errors():
        weekly.meeting_notes(weekly.parse_week("2025-W01"))


def test_a_damaged_edits_file_says_how_to_restore_it(tmp_path, use_store):
    from streamlit.testing.v1 import AppTest

    from data import notes

    db = use_store(stories.build(tmp_path / "live.duckdb", STORY))
    for text in ("one", "two"):
        notes.add_note(weekly_monday(), "Maya", text, db=db)
    edits.path_for(db).write_bytes(b"\0" * 100)
    at = AppTest.from_function(edits_reader, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = [e.value for e in at.error]
    assert "notes and targets cannot be read" in error and "analytics data is not affected" in error
    assert any("mv " in c.value and "live.edits.prev-1.duckdb" in c.value for c in at.code)


def weekly_monday():
    from queries import weekly

    return weekly.parse_week("2025-W01")
