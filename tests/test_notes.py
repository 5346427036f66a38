"""Meeting notes: stored with their ISO week in the team's edits file (data/edits.py), read back
in order, refused with a clear message when they cannot be stored, and kept as text (never
markup). Where they live and what saving one leaves alone: tests/test_edits.py."""

from __future__ import annotations

import datetime as dt

import pytest

from data import notes
from queries import weekly
from reports import html, markdown
from tests import stories

W01 = dt.date(2024, 12, 30)  # 2025-W01
W52 = dt.date(2024, 12, 23)  # 2024-W52
SCRIPT = "<script>alert('x')</script> & <b>bold</b>"


@pytest.fixture
def db(tmp_path):
    return stories.build(tmp_path / "notes.duckdb", {"A1": {"events": [("lead", "2024-12-30 10:00")]}})


def test_notes_round_trip_by_week(db):
    # Written out of order on purpose: listing is newest week first, then in writing order.
    notes.add_note(
        W52, "Maya", "Marketing will re-score syndication leads.", db=db, now=dt.datetime(2024, 12, 27, 9)
    )
    first = notes.add_note(
        W01, "Priya", "Sales accepts MQLs within 24 h.", db=db, now=dt.datetime(2025, 1, 3, 10)
    )
    notes.add_note(W01, "Dana", "  Review Dana's queue daily.  ", db=db, now=dt.datetime(2025, 1, 3, 11))
    # A note for a later week is not shown under W01.
    notes.add_note(dt.date(2025, 1, 6), "Tom", "Next week's note", db=db, now=dt.datetime(2025, 1, 7))

    got = weekly.meeting_notes(W01, db=db)
    assert got[["week", "author", "note"]].values.tolist() == [
        ["2025-W01", "Priya", "Sales accepts MQLs within 24 h."],
        ["2025-W01", "Dana", "Review Dana's queue daily."],  # trimmed
        ["2024-W52", "Maya", "Marketing will re-score syndication leads."],
    ]
    assert got["note_id"].iloc[0] == first
    assert got["created_at"].iloc[0] == dt.datetime(2025, 1, 3, 10)
    assert got["week_start"].tolist() == [W01, W01, W52]


@pytest.mark.parametrize(
    ("week", "author", "text", "message"),
    [
        (dt.date(2024, 12, 31), "Maya", "x", "not a Monday"),
        (W01, "   ", "x", "author: write something"),
        (W01, "Maya", "", "note: write something"),
        (W01, "M" * 101, "x", "author: at most 100"),
        (W01, "Maya", "x" * 5001, "note: at most 5,000"),
        ("2025-W01", "Maya", "x", "expected the Monday"),
    ],
)
def test_bad_notes_are_refused_and_nothing_is_stored(db, week, author, text, message):
    with pytest.raises(notes.NoteError, match=message):
        notes.add_note(week, author, text, db=db)
    assert weekly.meeting_notes(W01, db=db).empty


def test_a_note_with_a_script_stays_text_everywhere(db):
    notes.add_note(W01, "<img src=x onerror=alert(1)>", SCRIPT, db=db)
    got = weekly.meeting_notes(W01, db=db)
    assert got["note"].item() == SCRIPT  # stored exactly as typed

    report = weekly.week_report(W01, db=db)
    page = html.render(report, got)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "<script>alert" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page

    md = markdown.render(report, got)
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in md
    assert "<script>" not in md and "<img" not in md
