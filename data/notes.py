"""Meeting notes: the decisions of a weekly alignment meeting, stored with the ISO week.

One row per note in meeting_notes (data/edits.sql), in the team's edits file beside the store:
saving a note never rewrites the analytics store, so nobody's cached views are thrown away, and
it never waits for an import (data/edits.py). Reading is queries.weekly.meeting_notes(). Author
and note are free text and are only ever shown as plain text.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from data import edits

MAX_AUTHOR = 100
MAX_NOTE = 5000


class NoteError(ValueError):
    """A note cannot be saved; the message says what to change."""


def _week_monday(week_start: dt.date) -> dt.date:
    if isinstance(week_start, dt.datetime):
        week_start = week_start.date()
    if not isinstance(week_start, dt.date):
        raise NoteError(f"week: expected the Monday of an ISO week, got {week_start!r}")
    if week_start.weekday() != 0:
        raise NoteError(f"week: {week_start} is not a Monday; notes belong to an ISO week (Monday start)")
    return week_start


def _text(name: str, value, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise NoteError(f"{name}: write something (it is empty)")
    value = value.strip()
    if len(value) > limit:
        raise NoteError(f"{name}: at most {limit:,} characters, got {len(value):,}; shorten it")
    return value


def add_note(
    week_start: dt.date, author: str, note: str, db: Path | None = None, now: dt.datetime | None = None
) -> str:
    """Store a note for the ISO week starting `week_start` (a Monday); returns its note_id."""
    monday = _week_monday(week_start)
    author = _text("author", author, MAX_AUTHOR)
    note = _text("note", note, MAX_NOTE)
    note_id = uuid.uuid4().hex
    created = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with edits.write(db, (edits.NOTES,)) as con:
        _insert(con, note_id, monday, author, note, created)
    # Read back from the file now live: a transaction silently dropped must not pass for a
    # saved note (see NOTES on DuckDB: a swallowed error inside BEGIN...COMMIT does that).
    if edits.read(db, "select count(*) from meeting_notes where note_id = $id", {"id": note_id}) != [(1,)]:
        raise RuntimeError("the note was not stored; try again")
    return note_id


def _insert(con, note_id: str, monday: dt.date, author: str, note: str, created: dt.datetime) -> None:
    con.execute(
        "insert into meeting_notes (note_id, week_start, author, note, created_at) "
        "values ($note_id, $week_start, $author, $note, $created_at)",
        {"note_id": note_id, "week_start": monday, "author": author, "note": note, "created_at": created},
    )
    n = con.execute("select count(*) from meeting_notes where note_id = $id", {"id": note_id}).fetchone()[0]
    if n != 1:  # never trust a silent transaction: check the row is there before commit
        raise RuntimeError("the note was not stored; try again")
