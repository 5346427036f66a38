"""The team's edits (meeting notes, targets, target history) live in a file of their own beside
the analytics store (data/edits.py): saving one never rewrites the store nor throws away anyone's
cached views; an import and a save never lose each other's work; an older store's tables are
read, then migrated by the first save; every save keeps the file before it as a copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import threading
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from data import edits, importer, notes, store
from data import targets as writer
from queries import cache, executor, weekly
from queries import targets as qt
from tests import stories
from tests.import_helpers import log_file, query, run

ROOT = Path(__file__).resolve().parents[1]
W02 = dt.date(2025, 1, 6)  # the Monday of 2025-W02, the story's week
STORY = {
    "A1": {"events": [("lead", "2025-01-06 10:00"), ("mql", "2025-01-08 10:00")]},
    "A2": {"events": [("lead", "2025-01-07 10:00")]},
}
OCT = dt.date(2026, 10, 1)


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def db(tmp_path) -> Path:
    return stories.build(tmp_path / "story.duckdb", STORY)


def note_texts(db: Path) -> list[str]:
    return sorted(edits.read(db, "select note from meeting_notes"))


# --- what a save touches ---------------------------------------------------------------------


def test_saving_a_note_or_a_target_leaves_the_analytics_store_untouched(db):
    before, version = digest(db), executor.store_version(db)
    notes.add_note(W02, "Maya", "Re-score syndication leads.", db=db)
    writer.set_target(OCT, "shared", "revenue", 100_000, "Ann", path=db)
    # Byte for byte the same store, so the same version: no cached result or drawing retires.
    assert digest(db) == before
    assert executor.store_version(db) == version
    assert edits.path_for(db) == db.with_name("story.edits.duckdb")
    assert note_texts(db) == [("Re-score syndication leads.",)]
    assert edits.read(db, "select team, metric, value from targets") == [("shared", "revenue", 100_000.0)]


def test_each_kind_of_edit_has_its_own_version(db):
    def versions() -> tuple[str, str]:
        """(the key of a result showing notes, the key of one showing targets)"""
        return executor.store_version(db, edits=("notes",)), executor.store_version(db, edits=("targets",))

    notes.add_note(W02, "Maya", "first", db=db)
    notes_key, targets_key = versions()
    notes.add_note(W02, "Maya", "second", db=db)  # a note retires what shows notes, only
    assert versions()[0] != notes_key and versions()[1] == targets_key
    notes_key = versions()[0]
    writer.set_target(OCT, "shared", "revenue", 5, "Ann", path=db)  # a target: targets only
    assert versions()[0] == notes_key and versions()[1] != targets_key


def test_every_save_keeps_the_file_before_it_as_a_copy(db):
    for text in ("one", "two", "three", "four", "five"):
        notes.add_note(W02, "Maya", text, db=db)
    kept = edits.versions_kept(db)
    assert [p.name for p in kept] == [f"story.edits.prev-{n}.duckdb" for n in (1, 2, 3)]
    # prev-1 is the file before the last save: four notes; prev-3 before the third-last: two.
    assert [_count(p) for p in kept] == [4, 3, 2]
    assert edits.read(db, "select count(*) from meeting_notes") == [(5,)]
    # Copies, never links: nothing done to the live file can change a kept one.
    live = edits.path_for(db)
    assert all(os.stat(p).st_ino != os.stat(live).st_ino and os.stat(p).st_nlink == 1 for p in kept)


def _count(path: Path) -> int:
    con = duckdb.connect()
    try:
        con.execute("attach " + store.sql_literal(path) + " as k (read_only)")
        return con.execute("select count(*) from k.meeting_notes").fetchone()[0]
    finally:
        con.close()


def test_a_failed_save_leaves_the_edits_file_byte_identical(db):
    notes.add_note(W02, "Maya", "kept", db=db)
    live = edits.path_for(db)
    before, kept = digest(live), edits.versions_kept(db)
    with pytest.raises(RuntimeError, match="boom"), edits.write(db, (edits.NOTES,)) as con:
        con.execute("delete from meeting_notes")
        raise RuntimeError("boom")
    assert digest(live) == before
    assert edits.versions_kept(db) == kept  # no backup taken for a save that did not happen
    assert not live.with_name(live.name + ".tmp").exists()


# --- imports and saves never lose each other's work ------------------------------------------

IMPORT_ROWS = ["N1,N-L1,,lead,2025-03-01 09:00:00,O-M1,marketing,,"]


def test_a_note_saved_during_an_import_is_kept_and_so_is_the_import(db, tmp_path):
    saved = []

    def save_a_note() -> None:
        # The import has built its new version and is about to swap it in: the meeting saves
        # a note now. It must neither wait for the import nor vanish when the import lands.
        saved.append(notes.add_note(W02, "Priya", "Saved during the import", db=db))

    report = run(tmp_path, log_file(tmp_path, IMPORT_ROWS), db=db, _before_swap=save_a_note)
    assert report.swapped and saved
    assert note_texts(db) == [("Saved during the import",)]
    assert query(db, "select count(*) from events where lead_id = 'N-L1'") == [(1,)]


def test_an_import_while_a_note_is_being_saved_loses_neither(db, tmp_path, monkeypatch):
    real_insert = notes._insert

    def insert_then_import(con, *args) -> None:
        real_insert(con, *args)
        # The note is written but not yet swapped in: a whole import runs and lands now.
        assert run(tmp_path, log_file(tmp_path, IMPORT_ROWS), db=db).swapped

    monkeypatch.setattr(notes, "_insert", insert_then_import)
    notes.add_note(W02, "Priya", "Saved while an import ran", db=db)
    assert note_texts(db) == [("Saved while an import ran",)]
    assert query(db, "select count(*) from events where lead_id = 'N-L1'") == [(1,)]


def test_a_rollback_or_a_fresh_import_keeps_the_edits(db, tmp_path):
    notes.add_note(W02, "Maya", "kept", db=db)
    writer.set_target(OCT, "shared", "revenue", 7, "Ann", path=db)
    assert run(tmp_path, log_file(tmp_path, IMPORT_ROWS), db=db, fresh=True).swapped
    importer.rollback(db)
    assert note_texts(db) == [("kept",)]
    assert qt.targets_for(OCT, db=db)["value"].tolist() == [7.0]


def test_readers_never_see_a_lock_or_half_an_edit_while_saves_land(db):
    # One reader thread reads the targets as fast as it can while twenty saves land; every read
    # sees a whole file: no error, and the values only ever go up (old or new, never a mix).
    errors, seen, done = [], [], threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                df = qt.targets_for(OCT, db=db)
                seen.append(float(df["value"].iloc[0]) if len(df) else 0.0)
            except Exception as exc:  # recorded, not raised in the thread
                errors.append(repr(exc))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for value in range(1, 21):
            writer.set_target(OCT, "shared", "revenue", value, "Ann", path=db)
    finally:
        done.set()
        reader.join()
    # The thread's last read may have begun before the last save landed: one read after all.
    seen.append(float(qt.targets_for(OCT, db=db)["value"].iloc[0]))
    assert errors == []
    assert seen == sorted(seen) and seen[-1] == 20.0


# --- older stores ------------------------------------------------------------------------------

LEGACY_DDL = [
    # The tables as schema.sql created them inside the store before the edits file existed.
    "create table targets (period date not null, team varchar not null, metric varchar not null, "
    "value double not null, set_at timestamp not null, set_by varchar not null, "
    "primary key (period, team, metric))",
    "create table target_history (period date not null, team varchar not null, metric varchar not null, "
    "old_value double, new_value double not null, set_at timestamp not null, set_by varchar not null)",
    "create table meeting_notes (note_id varchar primary key, week_start date not null, "
    "author varchar not null, note varchar not null, created_at timestamp not null)",
]


@pytest.fixture
def old_store(db) -> Path:
    """A store written before the edits file existed: its targets and notes are in the store."""
    with store.small_write(db) as con:
        for ddl in LEGACY_DDL:
            con.execute(ddl)
        con.execute(
            "insert into targets values (date '2026-10-01', 'shared', 'revenue', 90000, '2026-09-01', 'plan')"
        )
        con.execute(
            "insert into target_history values "
            "(date '2026-10-01', 'shared', 'revenue', null, 90000, '2026-09-01', 'plan')"
        )
        con.execute(
            "insert into meeting_notes values ('n-old', date '2025-01-06', 'Dana', 'old note', '2025-01-07')"
        )
    assert not edits.path_for(db).exists()
    return db


def test_an_older_store_s_edits_are_read_before_any_save(old_store):
    assert qt.targets_for(OCT, db=old_store)["value"].tolist() == [90_000.0]
    assert qt.history(OCT, db=old_store)["set_by"].tolist() == ["plan"]
    assert weekly.meeting_notes(W02, db=old_store)["note"].tolist() == ["old note"]
    assert not edits.path_for(old_store).exists()  # reading creates nothing


def test_the_first_save_migrates_an_older_store_s_edits_and_leaves_the_store_as_it_was(old_store):
    before = digest(old_store)
    writer.set_target(OCT, "shared", "revenue", 95_000, "Ann", path=old_store, now=dt.datetime(2026, 10, 2))
    assert digest(old_store) == before
    assert edits.read(old_store, "select value, set_by from targets") == [(95_000.0, "Ann")]
    assert edits.read(old_store, "select old_value, new_value from target_history order by set_at") == [
        (None, 90_000.0),
        (90_000.0, 95_000.0),  # the change is recorded against the migrated value
    ]
    assert weekly.meeting_notes(W02, db=old_store)["note"].tolist() == ["old note"]
    assert edits.read(old_store, "select value from edits_meta where key = 'migrated_from'") == [
        ("story.duckdb: meeting_notes, targets, target_history",)
    ]
    # From now on the edits file is what counts: the store's old tables are never read again.
    with store.small_write(old_store) as con:
        con.execute("delete from meeting_notes")
    assert weekly.meeting_notes(W02, db=old_store)["note"].tolist() == ["old note"]


def test_the_sample_writes_its_targets_into_the_edits_store(sample_store):
    tables = {r[0] for r in query(sample_store, "select table_name from duckdb_tables()")}
    assert not tables & set(edits.TABLES)  # the store holds no edits tables at all
    assert edits.read(sample_store, "select count(*) from targets")[0][0] > 0
    assert edits.read(sample_store, "select count(*) from meeting_notes") == [(0,)]
    assert len(qt.periods(db=sample_store)) == 30  # Nov 2024 to Apr 2027


def test_rebuilding_the_sample_starts_the_edits_afresh_and_keeps_the_old_file(tmp_path):
    db = store.build_sample(tmp_path / "s.duckdb", n_leads=300)
    notes.add_note(W02, "Maya", "about the old sample", db=db)
    store.build_sample(db, n_leads=300, seed=8)
    assert edits.read(db, "select count(*) from meeting_notes") == [(0,)]
    (prev, *_) = edits.versions_kept(db)
    assert _count(prev) == 1


# --- cached results: what a save retires -------------------------------------------------------


def test_every_query_names_the_edits_tables_as_edits():
    # Unqualified, `targets` would be an older store's own table, read forever after migration:
    # a query reads an edits table only through its import CTE `x as (select * from edits.x)`.
    bare = re.compile(r"\b(?:from|join)\s+(targets|target_history|meeting_notes)\b", re.IGNORECASE)
    for path in sorted((ROOT / "queries" / "sql").glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        for table in set(bare.findall(text)):
            assert f"{table} as (select * from edits.{table})" in text, (path.name, table)


def test_a_cached_function_that_reads_edits_must_say_so(sample_db, monkeypatch):
    def unmarked() -> object:
        return executor.run("targets_periods")

    unmarked.__module__, unmarked.__name__ = "queries.targets", "unmarked"
    monkeypatch.setattr(qt, "unmarked", unmarked, raising=False)
    with pytest.raises(RuntimeError, match=r"without @executor.reads_edits\('targets'\)"):
        cache.call(unmarked)
    assert len(cache.call(qt.periods)) == 30  # the marked one is fine


@pytest.fixture
def writable_sample(sample_store, tmp_path, use_store) -> Path:
    return use_store(stories.copy_store(sample_store, tmp_path / "meeting.duckdb"))


def misses_running(page_app, *pages: str) -> Counter:
    """Queries run (cache misses) while the pages render once each."""
    before = Counter(cache.MISSES)
    for page in pages:
        at = page_app(page).run()
        assert not at.exception, [e.value for e in at.exception]
    return Counter(cache.MISSES) - before


def test_after_saving_a_note_the_pages_cached_results_are_still_used(writable_sample, page_app):
    pages = ("pages/health.py", "pages/teams.py", "pages/weekly.py", "pages/targets.py")
    assert misses_running(page_app, *pages)  # the first visit computes
    assert misses_running(page_app, *pages) == Counter()  # the second replays
    before = Counter(cache.MISSES)
    at = page_app("pages/weekly.py").run()
    at.text_input(key="weekly_note_author").input("Priya")
    at.text_area(key="weekly_note_text").input("Sales calls every MQL within a day.")
    next(b for b in at.button if b.label == "Save note").click().run()
    assert not at.exception
    assert any("Sales calls every MQL within a day." in t.value for t in at.text)  # shown at once
    misses = Counter(cache.MISSES) - before + misses_running(page_app, *pages)
    # Only the notes were read again, once: every other result came from the cache.
    assert misses == Counter({"queries.weekly.meeting_notes": 1})


def test_after_saving_a_target_only_what_shows_targets_is_computed_again(writable_sample, page_app):
    others = ("pages/health.py", "pages/teams.py")
    misses_running(page_app, *others, "pages/targets.py")
    writer.set_target(OCT, "shared", "revenue", 1_234_000, "Ann", path=writable_sample)
    assert misses_running(page_app, *others) == Counter()
    targets_misses = misses_running(page_app, "pages/targets.py")
    marked = {f"queries.targets.{f}" for f in ("periods", "targets_for", "targets_through", "history")}
    assert set(targets_misses) <= marked
    assert targets_misses  # the new target is read, not replayed from before


def test_the_warmer_warms_again_after_a_target_but_not_after_a_note(writable_sample):
    from ui import warm

    version = warm._live_version()
    notes.add_note(W02, "Maya", "a note", db=writable_sample)
    assert warm._live_version() == version
    writer.set_target(OCT, "shared", "revenue", 1, "Ann", path=writable_sample)
    assert warm._live_version() != version
