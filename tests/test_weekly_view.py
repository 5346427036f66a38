"""The Weekly meeting page's view (reports/weekly_view.py) without Streamlit, on the hand-built
story of tests/test_weekly.py (the chosen week 2025-W01, Monday 2024-12-30 to Sunday 2025-01-05):
the labelled values the page lays out, worked out by hand."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pandas as pd
import pytest

from queries import contracts
from reports import weekly_view as wv
from tests import stories
from tests.test_weekly import STORY, W01


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return stories.build(tmp_path_factory.mktemp("weekly-view") / "story.duckdb", STORY)


@pytest.fixture(scope="module")
def call(db):
    return wv.direct(db)


def test_view_module_needs_no_streamlit():
    code = "import sys, reports.weekly_view; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_headline_as_shown(call):
    h = wv.headline(W01, call)
    # The week ends at Monday 2025-01-06 00:00: every number is as of then.
    assert h.caption == (
        "2025-W01 (Mon 2024-12-30 to Sun 2025-01-05) · numbers as of the end of the week "
        "(2025-01-06 00:00 UTC) · the whole funnel"
    )
    # The default contract's changes dated after the week (2025-06-02, 2026-03-02) come first.
    assert [c[:51] for c in h.changes] == [
        "**Definition changed on 2025-06-02** (since this we",
        "**Definition changed on 2026-03-02** (since this we",
    ]
    assert h.empty == ""
    lead, mql = h.metrics[0], h.metrics[1]
    # Leads: A1, A2, A3 this week; B1, B2 last week; 4-week average (2 + 2 + 1 + 1) / 4 = 1.5
    # (B3, C1, E1, D1 in W52..W49), so +1 and 3 / 1.5 - 1 = +100%. Noise: z = (3 - 2) / sqrt(5)
    # = 0.447, p = erfc(0.447 / sqrt 2) = 0.655: within the noise, so grey.
    assert (lead.label, lead.value, lead.delta, lead.coloured) == (
        "Lead (inquiry)",
        "3",
        "+1 vs last week",
        False,
    )
    assert "Last week 2; 4-week average 1.5 (+100.0%)" in lead.help and "(p = 0.655" in lead.help
    # MQLs: A1, A2, A3 against B1, B2, B3: +0, p = 1.
    assert (mql.label, mql.value, mql.delta) == ("Marketing qualified", "3", "+0 vs last week")
    assert h.metrics[-1].help.endswith("No entries in either week.")  # nothing won in either week
    # No won amount and no target: no currency in the label, no delta.
    assert (h.pace.label, h.pace.value, h.pace.delta) == ("Won revenue this month", "0", None)
    assert h.pace_line == "Shared revenue target for January 2025: none set. Won so far: 0."
    assert h.table["Change"].tolist()[:2] == ["+1 (+50.0%)", "+0 (+0.0%)"]  # 1 / 2 = +50%


def test_conversion_as_shown(db, call):
    # The story's contract (funnel.toml) has a 180-day window.
    c = wv.conversion(W01, call, contracts.current(db).effective())
    assert "(180 days from its start)" in c.help and "(180 days; moved on)" in c.caption
    # MQL: A2 accepted (moved on), B2 rejected (dropped): 1 of 2 = 50.0% against W52's 1 of 1 = 100%, -50 points;
    # too few to be outside the noise, so no finding.
    assert c.findings == []
    row = c.table.set_index("Step").loc["Marketing qualified → Sales accepted"]
    assert (row["Rate"], row["Change"], row["Decided"], row["Last week"]) == (
        "50.0%",
        "-50.0 pts",
        "2",
        "100.0% of 1",
    )


def test_who_acts(call):
    a = wv.actions(W01, call)
    assert a.warning == ""  # every stalled lead is listed
    # Dana: A1 waiting, A2 late, H1 and F1 stalled: 4 actions, 2 due (the breaches).
    assert a.owners[["Owner", "Due this week", "All actions"]].values.tolist() == [
        ["Dana Reyes", "2", "4"],
        ["Jonas Berg", "1", "1"],
        ["Priya Nair", "1", "1"],
        ["Maya Patel", "0", "1"],
    ]
    assert wv.owner_names(W01, call) == ["Dana Reyes", "Jonas Berg", "Maya Patel", "Priya Nair"]
    b = wv.breaches(W01, wv.ALL_OWNERS, call)
    # A1 (108 h past), A2 (acted 24 h late), B3 (162 h past).
    assert b.heading == "**SLA breaches of 2025-W01** (3)" and b.message == ""
    assert b.table["Lead id"].tolist() == ["A1", "A2", "B3"]
    assert b.table["Overdue"].tolist()[0] == "108 h past the 48 h SLA"
    assert wv.breaches(W01, "Maya Patel", call).message == "No SLA breach this week for Maya Patel."
    # Stalled this week: only E1 crossed its 21 days inside W01 (Thu 01-02); in all H1, F1, E1, D1
    # (A1 and B3 are listed once, as breaches).
    new = wv.stalled(W01, wv.ALL_OWNERS, True, call)
    assert new.rows["lead_id"].tolist() == ["E1"] and new.message == new.note == ""
    # E1: from 12-12 12:00 to the end of the week, 01-06 00:00, 24.5 days at 'lead'.
    assert new.table["Overdue"].tolist() == ["24 days in stage (expected 21)"]
    assert wv.stalled(W01, wv.ALL_OWNERS, False, call).rows["lead_id"].tolist() == ["H1", "F1", "E1", "D1"]
    assert wv.stalled(W01, "Priya Nair", True, call).message == "No stalled leads that stalled this week."


def test_an_owners_name_in_a_caption_is_plain_text(call):
    # A CRM name never becomes Markdown: its punctuation is escaped.
    assert wv.breaches(W01, "**Eve** [x](javascript:1)", call).message == (
        r"No SLA breach this week for \*\*Eve\*\* \[x\]\(javascript\:1\)."
    )


def test_the_meetings_notes():
    at = pd.Timestamp("2025-01-06 09:30")
    notes = pd.DataFrame(
        {
            "week_start": [W01, dt.date(2024, 12, 23)],
            "week": ["2025-W01", "2024-W52"],
            "author": ["Maya <b>", "Priya"],
            "note": ["Call A1 today", "Old"],
            "created_at": [at, at - pd.Timedelta(days=7)],
        }
    )
    m = wv.meeting(W01, notes)
    assert m.notes == ["Maya <b> · 2025-01-06 09:30 UTC\nCall A1 today"]  # shown with st.text
    assert m.empty == "" and m.past_title == "Notes from past weeks (1)"
    assert m.past_table["Author"].tolist() == ["Priya"]
    assert "`python -m reports.weekly --week 2025-W01 --out DIR`" in m.export
    assert wv.meeting(dt.date(2024, 12, 16), notes.iloc[:0]).empty == "No notes for 2024-W51 yet."
    assert wv.week_option(W01) == "2025-W01: 30 Dec 2024 – 05 Jan 2025"


def test_the_pace_line_counts_its_deals_in_words():
    from types import SimpleNamespace

    from reports import tables

    def line(n_won: int) -> str:
        pace = pd.DataFrame(
            [
                {
                    "month_start": pd.Timestamp("2025-01-01"),
                    "target": 10000.0,
                    "won_revenue": 2500.0 * n_won,
                    "n_won": n_won,
                    "share": 0.5,
                    "expected": 5000.0,
                    "status": "behind" if n_won < 2 else "on pace",
                    "gap_to_pace": 2500.0 * n_won - 5000.0,
                }
            ]
        )
        return tables.pace_line(SimpleNamespace(pace=pace))

    assert "Won by the end of the week: 2,500 (1 deal) with 50.0% of the month gone" in line(1)
    assert "(2 deals) with" in line(2) and "(0 deals) with" in line(0)
