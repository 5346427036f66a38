"""The Pipeline page's view (reports/pipeline_view.py) without Streamlit, on the hand-built stories
of tests/test_pipeline_story.py: the labelled values the page lays out, worked out by hand."""

from __future__ import annotations

import subprocess
import sys

import pytest

from queries import pipeline
from reports import pipeline_view as pv
from tests import test_pipeline_story as story

moves_db, history_db = story.moves_db, story.history_db  # the stories' stores
Q1, T1, T2 = story.Q1, story.T1, story.T2  # T1 = 7 Mar, T2 = 14 Mar 2025


def test_view_module_needs_no_streamlit():
    code = "import sys, reports.pipeline_view; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_open_pipeline_and_its_headline(moves_db):
    p = pv.pipeline_part(Q1, T1, T2, None, None, call=pv.direct(moves_db))
    # Open at T1: 9 (O_WON, O_BACK, O_LOST, O_FORWARD, O_PUSHED, O_PULLED, O_UP, O_DOWN, O_SAME),
    # 4,000 + 5,000 + 7,000 + 8,000 + 9,000 + 10,000 + 11,000 + 6,000 + 3,000 = EUR 63,000.
    # Open at T2: 9 again (O_WON and O_LOST closed, O_NEW and O_REOPENED came in), 63,000 + 1,000
    # + 2,000 - 3,000 - 4,000 + 500 + 1,000 + 500 - 2,000 = EUR 59,000: change +0.
    assert p.heading == "Open pipeline on 14 Mar 2025"
    assert [(m.label, m.value, m.delta) for m in p.metrics] == [
        ("Open opportunities", "9", "+0 since 07 Mar"),
        ("Open amount per currency", "EUR 59.0 k", None),
        ("Open amount on 07 Mar 2025", "EUR 63.0 k", None),
    ]
    assert p.start_caption == "9 open opportunities then"
    assert p.warning == "" and p.currency_caption == ""  # one currency, no base asked for
    assert p.movement_heading == "What moved from 07 Mar 2025 to 14 Mar 2025"
    assert p.measures == ["EUR", "count"] and p.converted_to is None
    # At T2: Discovery O_NEW 1,000 + O_BACK 6,000 + O_PUSHED 7,000 + O_PULLED 9,000 + O_UP 9,500
    # + O_DOWN 8,000 + O_SAME 11,000 = 51,500 (7 of them); Proposal O_REOPENED 2,000 + O_FORWARD
    # 5,500 = 7,500 (2).
    s = p.stages
    assert s.columns[:3].tolist() == ["Stage", "Open opportunities", "Amount EUR"]
    assert s["Stage"].tolist() == ["Discovery", "Proposal", "Negotiation"]
    assert s["Open opportunities"].tolist() == [7, 2, 0]
    assert s["Amount EUR"].tolist() == [51500, 7500, 0]
    b = p.buckets.set_index("Bucket")
    assert b.loc["Won", "Change EUR"] == -3000 and b.loc["Amount down", "Change EUR"] == -2000


def test_one_sourcing_team(moves_db):
    m = pv.pipeline_part(Q1, T1, T2, "marketing", None, call=pv.direct(moves_db))
    # Marketing-sourced and open at T2: O_NEW 1,000 + O_FORWARD 5,500 = EUR 6,500; at T1: O_WON
    # 3,000 + O_FORWARD 5,000 = 8,000.
    assert m.heading == "Open pipeline on 14 Mar 2025 · marketing-sourced only"
    assert [m.value for m in m.metrics] == ["2", "EUR 6,500", "EUR 8,000"]


def test_the_waterfall_and_the_bar_box(moves_db):
    v = pv.pipeline_part(Q1, T1, T2, None, None, call=pv.direct(moves_db)).view
    wf = pv.waterfall(v, "EUR")
    assert wf.title == "Open pipeline from 07 Mar to 14 Mar 2025 · EUR amounts only" and wf.unit == "EUR"
    # One opportunity per bucket: the first bucket, New, is listed first.
    assert wf.default == "new"
    assert wf.bar_label("won") == "Won (1)" and wf.bar_label("start") == "Pipeline at T1 (9)"
    assert pv.measure_label(v, "count") == "Opportunities (count)"
    assert pv.waterfall(v, "count").title == "Open pipeline from 07 Mar to 14 Mar 2025"


def test_one_bars_opportunities(moves_db):
    b = pv.bar_part(Q1, "won", T1, T2, None, None, {}, call=pv.direct(moves_db))
    assert b.message == "" and b.caption == ""
    assert b.table["Opportunity"].tolist() == ["O_Won deal"]
    assert b.table[["At T1", "At T2"]].values.tolist() == [["Negotiation", "Won (closed)"]]
    assert b.table["Sourced by"].tolist() == ["Marketing-sourced"]  # its first event's owner, M2


def test_the_stage_history(history_db):
    h = pv.history(pipeline.history_filters(Q1), {}, call=pv.direct(history_db))
    assert h.heading == "Stage history: opportunities that started 01 Jan 2025 – 31 Mar 2025"
    # Discovery: O_A, O_B, O_L. Backward: O_A to Discovery on 16 Jan and, re-opened from lost, to
    # Proposal on 19 Feb (back from Negotiation): 2 moves by 1 opportunity, 1 re-opened.
    assert not h.empty
    assert [(m.label, m.value) for m in h.metrics] == [
        ("Opportunities in the cohort", "3"),
        ("Backward moves", "2"),
        ("Re-opened opportunities", "1"),
    ]
    assert h.moved_back == "in 1 opportunity" and h.has_days
    # Proposal: 2 of Discovery's 3 opportunities = 66.7%.
    visits = h.visits.set_index("Stage")
    assert visits.loc["Proposal", "% of previous"] == pytest.approx(2 / 3)
    # The page shows the visits as two tables that each fit at 1280 px: every column is in one.
    from ui import pipeline_tables as pt

    assert set(pt.VISITS_REACH) | set(pt.VISITS_ENDS) == set(h.visits.columns)
    # Newest first: the 19 Feb re-open is also a move back; the 16 Jan move only goes back.
    assert h.moves["What"].tolist() == ["re-opened, moved back", "moved back"]
    assert h.moves["Opportunity"].iloc[0] == "=HYPERLINK(evil)"  # CRM text: a plain table cell
    assert "HYPERLINK" not in h.heading + "".join(m.help for m in h.metrics)
