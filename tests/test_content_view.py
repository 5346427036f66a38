"""The Content page's view (reports/content_view.py) without Streamlit, against the hand-computed
stories of tests/test_content.py (Sales use, content advance) and tests/test_attribution.py
(credits, sourcing): the labelled values the page lays out, worked out by hand."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from queries import stats
from queries.filters import Filters
from reports import content_view as cv
from reports import format as fmt
from tests import test_attribution as story
from tests.test_attribution import build_store
from tests.test_content import ADVANCE_LEADS, ADVANCE_TOUCHES, SALES_USE_LEADS, SALES_USE_TOUCHES, YEAR


@pytest.fixture(scope="module")
def sales_use_db(tmp_path_factory) -> Path:
    return build_store(
        tmp_path_factory.mktemp("view-sales") / "story.duckdb", SALES_USE_LEADS, SALES_USE_TOUCHES
    )


@pytest.fixture(scope="module")
def advance_db(tmp_path_factory) -> Path:
    return build_store(
        tmp_path_factory.mktemp("view-advance") / "story.duckdb", ADVANCE_LEADS, ADVANCE_TOUCHES
    )


@pytest.fixture(scope="module")
def deals_db(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("view-deals") / "story.duckdb", story.LEADS, story.TOUCHES)


def test_view_module_needs_no_streamlit():
    code = "import sys, reports.content_view; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_head_and_the_default_look_back(sales_use_db):
    head = cv.intro(YEAR, db=sales_use_db)
    # As of 2025-12-31 with the 180-day window: opportunities opened 2024-07-04 .. 2025-07-03.
    assert head.caption.startswith(
        "As of 31 Dec 2025 00:00 UTC · 01 Jan 2025 – 31 Dec 2025 · sidebar filters apply to the leads."
    )
    assert "not proof" in head.caption
    assert head.range_choices == {
        "lookback": "12 months with the window closed (04 Jul 2024 – 03 Jul 2025)",
        "sidebar": "The sidebar's range (01 Jan 2025 – 31 Dec 2025)",
    }
    assert "opened at least 180 days" in head.range_help
    assert head.sales_filters("sidebar", YEAR) is YEAR
    assert (head.sales_filters("lookback", YEAR).start, head.lookback.end) == (
        dt.date(2024, 7, 4),
        dt.date(2025, 7, 3),
    )


def test_sales_use_on_the_sidebars_range_is_immature(sales_use_db):
    use = cv.sales_use(YEAR, db=sales_use_db)
    assert use.opened
    m = {x.label: x for x in use.metrics}
    assert list(m) == ["Using Marketing content", "Win rate with it", "Win rate without it"]
    # Opened in 2025: O1..O8; shared O1, O2, O7: 3 / 8 = 37.5%. Closed with it: O1 won, O2 lost,
    # 1 / 2 = 50.0%; without: O3, O8 won of O3, O4, O5, O6, O8: 2 / 5 = 40.0%; +10.0 pts.
    low, high = stats.wilson(3, 8)
    share = m["Using Marketing content"]
    assert share.value == "37.5%"
    assert share.caption == f"3 of 8 opened 01 Jan 2025 – 31 Dec 2025 · 95% CI {fmt.pct(low)}–{fmt.pct(high)}"
    with_ = m["Win rate with it"]
    assert (with_.value, with_.delta) == ("50.0%", "+10.0 pts")
    assert with_.delta_color == "off"  # 2 and 5 closed deals: too few to tell
    low, high = stats.wilson(1, 2)
    assert (
        with_.caption
        == f"1 won of 2 closed · 1 still open · 95% CI {fmt.pct(low)}–{fmt.pct(high)} (immature)"
    )
    assert m["Win rate without it"].value == "40.0%"
    assert m["Win rate without it"].caption.startswith("2 won of 5 closed · 0 still open · 95% CI ")
    # O7 (shared) is still open: 1 of the 8; 2025's window is still open on the as-of date.
    assert use.warning.startswith(
        "Immature: opportunities opened between 01 Jan 2025 – 31 Dec 2025 have not all had their "
        "180-day window to close, and 1 of 8 are still open."
    )
    assert (
        use.verdict == "Fewer than 30 closed deals on one side: too few to tell. Immature range: not final."
    )


def test_the_default_view_reads_the_mature_look_back(sales_use_db):
    v = cv.view(YEAR, db=sales_use_db)
    # Look-back: O1..O6, O8 and O9 (December 2024); shared O1, O2, O9: 2 won of 3 = 66.7%;
    # without: O3, O8 won of O3, O4, O5, O6, O8 = 2 / 5 = 40.0%. Every window closed: no warning.
    m = {x.label: x for x in v.sales_use.metrics}
    assert m["Win rate with it"].value == "66.7%"
    assert m["Win rate with it"].delta == "+26.7 pts"  # 2/3 - 2/5 = 0.2667
    assert not m["Win rate with it"].caption.endswith("(immature)")
    assert v.sales_use.warning is None
    assert v.sales_use.verdict == "Fewer than 30 closed deals on one side: too few to tell."
    g = v.sales_groups
    assert (g.span, g.is_mature, g.axis_title) == ("04 Jul 2024 – 03 Jul 2025", True, "")
    # The screen's copy in percent (x 100) and points; the CSV's rows keep the rates.
    row = g.table.shown.iloc[0]
    assert row["group_value"] == "All opportunities"
    assert row["win_rate_shared"] == pytest.approx(200 / 3)
    assert row["difference"] == pytest.approx(100 * (2 / 3 - 2 / 5))
    assert g.rows.iloc[0]["win_rate_shared"] == pytest.approx(2 / 3)
    assert list(g.table.spec)[:3] == ["group_value", "n_opportunities", "share_rate"]


def test_a_range_without_opportunities_says_what_to_do(sales_use_db):
    empty = Filters(start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 31), as_of=dt.datetime(2025, 12, 31))
    use = cv.sales_use(empty, db=sales_use_db)
    assert not use.opened and not use.metrics
    assert use.message.startswith("No opportunity was opened between 01 Jan 2020 – 31 Jan 2020.")
    assert cv.view(empty, sales_range="sidebar", db=sales_use_db).sales_groups is None


def test_reach_names_teams_and_counts_the_unused(sales_use_db, advance_db):
    r = cv.reach(YEAR, db=sales_use_db)
    # C1: 1 Marketing touch (T4), 4 Sales touches (T1, T5, T6, T7), 5 leads; C2 and C3 one each.
    assert list(r.top["content_id"]) == ["C3", "C2", "C1"]  # largest last: top of the chart
    assert (r.message, r.unused) == ("", "")
    shown = r.table.shown.set_index("content_id")
    assert (shown.loc["C1", "made_by"], shown.loc["C3", "made_by"]) == ("Marketing", "Sales")
    assert r.rows.set_index("content_id").loc["C3", "made_by"] == "sales"  # the CSV keeps the key
    # The advance story touches C1 and C2 only: C3 was published and never used.
    assert cv.reach(YEAR, db=advance_db).unused == (
        "1 published piece(s) were not used on any lead in the range (in the table)."
    )


def test_advance_per_stage_as_shown(advance_db):
    a = cv.advance_intro(YEAR, db=advance_db)
    assert a.stages == ["lead"] and a.message == ""
    assert a.stage_labels == {"lead": "Lead (inquiry) → Marketing qualified"}
    s = cv.advance_stage(YEAR, "lead", db=advance_db)
    # C1: 1 of 2 touched advanced (50%) vs baseline 1/4 (25%): +25 pts. C2: 1 of 1 (100%) vs
    # 1/5 (20%): +80 pts. Most negative difference first: C1, then C2.
    assert list(s.part["content_id"]) == ["C1", "C2"]
    shown = s.table.shown.set_index("content_id")
    assert tuple(shown.loc["C1", ["advance_rate", "baseline_rate", "difference"]]) == pytest.approx(
        (50, 25, 25)
    )
    assert shown.loc["C2", "difference"] == pytest.approx(80)
    assert s.transition == "Lead (inquiry) → Marketing qualified"
    assert s.small == "2 piece(s) have fewer than 30 touched leads to compare: read them as noise."
    assert not s.is_mature and "180-day window to advance" in s.warning


def test_credits_reconcile_and_read_as_people_write_them(deals_db):
    c = cv.credits(YEAR, "content", "revenue", 7.0, None, db=deals_db)
    # Won in 2025: D1..D6 = 1,000 + 2,000 + 3,000 + 500 + 800 + 900 = 8,200 (under 10,000: whole).
    assert (c.total, c.n_deals, c.adds_up) == (8200, 6, True)
    assert (
        c.check == ":material/check_circle: Every model's credits add up to 8,200, the amount of the 6 deals."
    )
    assert c.note == ""
    assert c.title == "Credit by content under each model"  # C1, C2, C3, (no touch): 4 <= 12
    assert c.axis_title == "Content"
    shown = c.table.shown.set_index("group_key")
    # C3: last touch from T5b and T6c = 800 + 900; linear 500 + 600 + 400 + 300 = 1,800.
    assert (shown.loc["C3", "credit_last_touch"], shown.loc["C3", "credit_linear"]) == (1700, 1800)
    assert shown.loc["C3", "label"] == "Battlecard"
    assert cv.CREDIT_SPEC["credit_u_shaped"] == "U-shaped ¤"
    # Credited to teams: keys by their names, "(no touch)" as it is.
    teams = cv.credits(YEAR, "touch_team", "revenue", 7.0, None, db=deals_db)
    assert set(teams.rows["label"]) == {"Marketing", "Sales", "(no touch)"}
    assert cv.credits(YEAR, "channel", "revenue", 7.0, None, db=deals_db).note == cv.CHANNEL_NOTE
    # No won deal was sourced by Sales (D9 is open): nothing to credit, and why.
    none = cv.credits(YEAR, "content", "revenue", 7.0, "sales", db=deals_db)
    assert none.rows is None
    assert none.message == (
        "No deal for “Revenue: deals won in the range” between 01 Jan 2025 – 31 Dec 2025 sourced by Sales. "
        "Widen the date range or choose every team."
    )


def test_sourced_and_influenced_as_shown(deals_db):
    s = cv.sourcing(YEAR, "pipeline", db=deals_db)
    shown = s.table.shown.set_index("sourced_by")
    # Pipeline, Marketing-sourced: D1..D6 and D8 = 8,200 + 400 = 8,600, influenced all but D4
    # (500): 8,100 / 8,600 = 94.2%. Sales-sourced: D9, 700, not influenced.
    assert list(shown.index) == ["Marketing", "Sales"]
    assert shown.loc["Marketing", "amount"] == 8600
    assert shown.loc["Marketing", "influenced_share"] == pytest.approx(100 * 8100 / 8600)
    assert (shown.loc["Sales", "n_deals"], shown.loc["Sales", "n_influenced"]) == (1, 0)
    assert cv.sourced_choices(cv._contract(None, deals_db)) == {
        None: "Every team",
        "marketing": "Marketing",
        "sales": "Sales",
    }
