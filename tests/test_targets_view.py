"""The Targets page's view (ui/targets_view.py) on the hand-built story of tests/test_targets.py,
without Streamlit: the figures, captions, verdicts and tables the page lays out, checked against
numbers worked out by hand.
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys

import pytest

from queries import plan
from queries import targets as qt
from queries.filters import Filters
from tests import test_targets as story
from ui import targets_view as tv

story_db = story.story_db  # the story store: October 2026's four targets and five leads
AS_OF, OCT, CONTRACT = story.AS_OF, story.OCT, story.CONTRACT
LOOKBACK = Filters(start=dt.date(2026, 9, 1), end=dt.date(2026, 10, 31), as_of=AS_OF)
LINEAR = "Linear (every day counts)"
STEPS = ("lead", "mql", "sal", "sql", "opportunity")  # every stage but the last has a step


def what_if(deal=10_000.0, rate=50.0, opportunity_lag=60.0):
    """Every step rate `rate` percent, no lag but `opportunity_lag` days from opportunity to won."""
    return (
        deal,
        tuple((k, rate) for k in STEPS),
        tuple((k, opportunity_lag if k == "opportunity" else 0.0) for k in STEPS),
    )


def test_view_module_needs_no_streamlit():
    code = "import sys, ui.targets_view; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_pacing_figures_and_table(story_db):
    v = tv.view(OCT, AS_OF, LINEAR, LOOKBACK, what_if(), CONTRACT, db=story_db)
    # 19.5 of October's 31 days gone at noon on the 20th (63%). Revenue to date 48,000 (L1) +
    # 31,000 (L5) = 79,000; expected 100,000 x 19.5/31 = 62,903.2, so 79,000 - 62,903.2 =
    # +16,096.8 ahead of pace; projected 79,000 x 31/19.5 = 125,589.7. The story's amounts name
    # no currency: no currency in the headings.
    assert v.currency == "" and v.currency_warning is None
    assert v.pacing_heading == "Attainment and pacing, October 2026"
    assert [(f.label, f.value, f.delta) for f in v.pacing_figures] == [
        ("Shared revenue to date", "79,000", None),
        ("Shared revenue target", "100,000", None),
        ("Expected by today", "62,903", "+16,097 vs pace"),
        ("Projected end of month", "125,590", None),
    ]
    assert v.share == pytest.approx(19.5 / 31)
    assert v.pacing_caption.startswith("Whole company") and "63% of the month has passed (linear pace)" in (
        v.pacing_caption
    )
    # MQLs: 2 of 6 = 33.3% attained, shown x 100; expected 6 x 19.5/31 = 3.774, shown rounded (4)
    # and kept exact for the download.
    mql = v.pacing_table.set_index("metric").loc["mqls"]
    assert (mql["team"], mql["attainment"], mql["expected"]) == ("Marketing", pytest.approx(100 / 3), 4.0)
    assert v.pacing.set_index("metric").loc["mqls", "expected"] == pytest.approx(6 * 19.5 / 31)
    # The chart shows only the four targets that are set, each named by its team.
    assert list(v.pacing_chart["name"]) == [
        "Marketing · Content pieces published",
        "Marketing · MQLs passed to Sales",
        "Sales · Deals won",
        "Shared · Revenue (won deal amounts)",
    ]


def test_plan_figures_verdicts_and_tables(story_db):
    v = tv.view(OCT, AS_OF, LINEAR, LOOKBACK, what_if(), CONTRACT, db=story_db)
    assert v.plan_error is None
    # 100,000 at 10,000 a deal: 10 deals; at 50% a step the stages above need 20, 40, 80, 160
    # and 320. Half the MQL volume arrives as skips (L3 and L5 start at SQL: 2 of the 4 leads
    # reaching MQL), so 160 x 0.5 = 80 MQL entries.
    assert [(f.label, f.value) for f in v.plan_figures] == [
        ("Revenue to plan for", "100,000"),
        ("Deal size used", "10,000"),
        ("Deals needed (expected)", "10"),
        ("Marketing qualified entries needed (expected)", "80"),
    ]
    assert list(v.waterfall_table["n_needed"]) == [320, 160, 80, 40, 20, 10]
    assert list(v.waterfall_table["step_rate"][:-1]) == [50.0] * 5  # shown in percent
    # Every step rate is learnt from fewer than 30 leads: all flagged but the last stage's.
    assert list(v.waterfall_table["small_n"]) == ["small n (<30)"] * 5 + [""]
    assert v.small_deals_warning.startswith("Only 2 won deals in the look-back window (fewer than 30)")
    # 60 days from opportunity to won: every earlier stage must be entered 2 Aug - 1 Sep (1 Oct
    # - 60, 31 Oct - 61), before October, so its quota is August's, and August has none.
    assert v.early_info.startswith(
        "The lags push these stages' entry windows into earlier months: Lead (inquiry), Marketing "
        "qualified, Sales accepted, Sales qualified, Opportunity."
    )
    # Sales' deals won close in October: its quota of 3 covers 3 / 10 = 30% of the deals
    # needed, a gap of 7 deals and 100,000 - 0.3 x 100,000 = 70,000 of revenue.
    assert [(m.kind, m.text) for m in v.verdicts] == [
        (
            "warning",
            "**Sales' quota is inconsistent with the shared revenue target** of October 2026. At these "
            "rates, its Deals won quota for October 2026 (3) covers 30% of the 10 needed then: a gap of "
            "7, about 70,000 of revenue.",
        )
    ]
    assert [(f.label, f.value) for f in v.gap_figures] == [
        ("Gap Marketing's quotas leave", "no quota set"),
        ("Gap Sales' quotas leave", "70,000"),
    ]
    won = v.checks_table.set_index("metric").loc["deals_won"]
    assert (won["team"], won["coverage"], won["gap"], won["revenue_gap"], won["verdict"]) == (
        "Sales",
        pytest.approx(30.0),
        7.0,
        70_000.0,
        plan.SHORT,
    )
    assert "Deals won: October 2026" in v.checks_caption and "MQLs passed to Sales: August 2026" in (
        v.checks_caption
    )
    hover_names = dict(zip(v.waterfall_chart["stage"], v.waterfall_chart["quota_name"], strict=True))
    assert hover_names["won"] == "Sales quota of Oct 2026" and hover_names["sal"] == "no quota on this stage"


def test_a_zero_rate_leaves_no_plan_and_says_why(story_db):
    v = tv.view(OCT, AS_OF, LINEAR, LOOKBACK, what_if(rate=0.0), CONTRACT, db=story_db)
    assert v.plan is None and v.waterfall is None and v.plan_figures == []
    assert v.plan_error.startswith("The step rate from Lead (inquiry) to Marketing qualified is 0%")
    # Pacing does not need the plan: it is all there, without a gap in revenue.
    assert math.isnan(v.pacing.set_index("metric").loc["mqls", "gap_to_pace_revenue"])


def test_what_if_starts_at_the_observed_values(story_db):
    # The look-back's leads: L1, L2, L3, L5 reach Lead (L3 and L5 skip into it) and MQL: 100%;
    # 3 of 4 reach SAL (L2 was rejected): 75%; all 3 reach SQL and an opportunity; 2 of the 3
    # opportunities are won by the as-of moment (L1, L5): 66.7%. Opportunity to won took 9 days
    # (L1, 6 -> 15 Oct) and 4 days (L5, 28 Sep -> 2 Oct): median 6.5. Deal size (48,000 +
    # 31,000) / 2 = 39,500.
    inputs = qt.plan_inputs(LOOKBACK, db=story_db, contract=CONTRACT)
    deal = qt.deal_size(LOOKBACK, db=story_db, contract=CONTRACT)
    deal_size, rates, lags = qt.observed_what_if(inputs, deal)
    assert deal_size == 39_500
    assert dict(rates) == {"lead": 100.0, "mql": 75.0, "sal": 100.0, "sql": 100.0, "opportunity": 66.7}
    assert dict(lags)["opportunity"] == 6.5
    c = tv.controls(inputs, deal, "")
    assert c.deal_label == "Average deal size (deal currency)"
    assert c.deal_help.startswith("Observed mean 39,500 over 2 deals (95% interval")
    assert c.deal_max == 3 * 39_500
    assert [s.rate_label for s in c.steps][-1] == "Opportunity → Closed won, step rate (%)"
    assert c.steps[-1].lag_help == "Observed median 6.5 days (p75 7.8, p90 8.5; 2 leads)"


def test_months_offered():
    # With no targets the page opens on the as-of month; otherwise on it when it has targets,
    # else on the last month that has some. The form offers those and the 12 months ahead.
    sep, aug = dt.date(2026, 9, 1), dt.date(2026, 8, 1)
    assert qt.default_period([], AS_OF) == OCT
    assert qt.default_period([aug, sep], AS_OF) == sep
    assert qt.default_period([sep, OCT], AS_OF) == OCT
    months = qt.edit_months([aug], AS_OF)
    assert (months[0], months[1], months[-1], len(months)) == (aug, OCT, dt.date(2027, 10, 1), 14)


def test_history_and_form_labels(story_db):
    hist = tv.history_table(qt.history(OCT, db=story_db))
    assert set(hist["team"]) == {"Marketing", "Sales", "Shared"}
    assert "MQLs passed to Sales" in set(hist["metric"]) and "mqls" not in set(hist["metric"])
    assert tv.target_name("marketing", "mqls") == "Marketing · MQLs passed to Sales"
    assert ("shared", "revenue") in tv.target_choices()
