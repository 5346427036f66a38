"""Pacing and the reverse waterfall (queries/plan.py), against numbers worked out by hand."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from queries import plan

AUG = dt.date(2026, 8, 1)
SEP = dt.date(2026, 9, 1)
OCT = dt.date(2026, 10, 1)
NOV = dt.date(2026, 11, 1)


# --- periods and pacing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 10, 17), (dt.date(2026, 10, 1), dt.date(2026, 11, 1))),
        (dt.date(2026, 12, 31), (dt.date(2026, 12, 1), dt.date(2027, 1, 1))),  # year boundary
    ],
)
def test_month_bounds(day, expected):
    assert plan.month_bounds(day) == expected


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 5, 4), -6, dt.date(2025, 11, 4)),
        (dt.date(2026, 3, 31), -1, dt.date(2026, 2, 28)),  # clamped to the shorter month
        (dt.date(2026, 11, 15), 3, dt.date(2027, 2, 15)),
    ],
)
def test_add_months(day, months, expected):
    assert plan.add_months(day, months) == expected


@pytest.mark.parametrize(
    ("as_of", "profile", "share"),
    [
        # October 2026 has 31 days; midnight of the 11th: 10 whole days gone.
        (dt.datetime(2026, 10, 11), None, 10 / 31),
        # Noon on the 11th: half of the 11th day counts too.
        (dt.datetime(2026, 10, 11, 12), None, 10.5 / 31),
        # Working days: 1 Oct 2026 is a Thursday. Days 1-10 hold 7 working days (1, 2, 5-9);
        # the month holds 22 (1-2, 5-9, 12-16, 19-23, 26-30).
        (dt.datetime(2026, 10, 11), plan.working_days, 7 / 22),
        # Saturday the 10th at noon: a weekend day weighs nothing, still 7 of 22.
        (dt.datetime(2026, 10, 10, 12), plan.working_days, 7 / 22),
        (dt.datetime(2026, 9, 30, 23), None, 0.0),  # before the period
        (dt.datetime(2026, 11, 1), None, 1.0),  # over
        (dt.datetime(2027, 1, 1), None, 1.0),
    ],
)
def test_elapsed_share(as_of, profile, share):
    assert plan.elapsed_share(OCT, NOV, as_of, profile) == pytest.approx(share)


def test_profile_with_no_weight_is_refused():
    with pytest.raises(plan.PlanError, match="zero weight"):
        plan.elapsed_share(OCT, NOV, dt.datetime(2026, 10, 5), lambda d: 0.0)


def test_pace_story_behind():
    # October MQL quota 310; on the morning of the 11th (10 of 31 days gone) a steady pace is at
    # 310 x 10/31 = 100. Marketing has 90: below 95 (100 - 5%), so behind by 10; at this run rate
    # the month ends at 90 x 31/10 = 279, 31 short of the quota.
    p = plan.pace(310, 90, 10 / 31)
    assert p.expected == pytest.approx(100)
    assert p.status == plan.BEHIND
    assert p.gap_to_pace == pytest.approx(-10)
    assert p.projected == pytest.approx(279)
    assert p.projected_gap == pytest.approx(-31)


@pytest.mark.parametrize(
    ("actual", "status"),
    [
        (94, plan.BEHIND),  # under 95% of the 100 expected
        (95, plan.ON_PACE),  # the band's edges are on pace
        (104, plan.ON_PACE),
        (105, plan.ON_PACE),
        (106, plan.AHEAD),  # over 105% of expected
    ],
)
def test_pace_tolerance_band(actual, status):
    assert plan.pace(310, actual, 10 / 31).status == status


def test_pace_before_the_period_and_without_target():
    # Nothing expected before the month starts, and no run rate to project from.
    p = plan.pace(310, 0, 0.0)
    assert (p.status, p.expected, p.projected) == (plan.NOT_STARTED, 0.0, None)
    # No target: the actual and projection still show, but no status against a target.
    q = plan.pace(None, 40, 0.5)
    assert (q.status, q.expected, q.projected) == (plan.NO_TARGET, None, 80)


def test_pace_with_working_day_profile():
    # Target 220 over the 22 working days of October; 7 working days gone by the 11th: 70
    # expected. 77 is 110% of that: ahead; projected 77 / (7/22) = 242.
    share = plan.elapsed_share(OCT, NOV, dt.datetime(2026, 10, 11), plan.working_days)
    p = plan.pace(220, 77, share)
    assert p.expected == pytest.approx(70)
    assert p.status == plan.AHEAD
    assert p.projected == pytest.approx(242)


# --- the reverse waterfall --------------------------------------------------------------------


def small_funnel(**changes) -> list[plan.StageInput]:
    """lead -> mql -> opportunity -> won with rates 40%, 50%, 25% and lags 5, 10, 30 days;
    a quarter of MQL volume arrives as skips (Sales-sourced)."""
    rates = {"lead": 0.4, "mql": 0.5, "opportunity": 0.25, **changes.get("rates", {})}
    lags = {"lead": 5.0, "mql": 10.0, "opportunity": 30.0, **changes.get("lags", {})}
    return [
        plan.StageInput("lead", "Lead", "marketing", rates["lead"], lags["lead"]),
        plan.StageInput("mql", "MQL", "sales", rates["mql"], lags["mql"], entered_share=0.75),
        plan.StageInput("opportunity", "Opportunity", "sales", rates["opportunity"], lags["opportunity"]),
        plan.StageInput("won", "Won", None),
    ]


def test_reverse_waterfall_by_hand():
    # 100,000 of revenue at 10,000 a deal: 10 deals. At 25% opportunity -> won that is 40
    # opportunities; at 50% MQL -> opportunity 80 MQLs; at 40% lead -> MQL 200 leads.
    # A quarter of MQL volume is skips, so Marketing must deliver 80 x 0.75 = 60 MQL entries.
    p = plan.reverse_waterfall(100_000, 10_000, small_funnel(), OCT, NOV)
    assert p.deals_needed == pytest.approx(10)
    needed = {s.key: s.n_needed for s in p.stages}
    assert needed == pytest.approx({"won": 10, "opportunity": 40, "mql": 80, "lead": 200})
    assert p.stage("mql").n_entries_needed == pytest.approx(60)
    assert p.stage("lead").n_entries_needed == pytest.approx(200)
    # One MQL entry is worth 100,000 / 60 of revenue at these rates.
    assert p.revenue_per_entry("mql") == pytest.approx(100_000 / 60)


def test_reverse_waterfall_due_dates_cross_into_the_previous_month():
    # Deals close in October. Opportunities lead wins by 30 days: they must open between
    # 1 Sep and 1 Oct (= 31 Oct - 30). MQLs lead by 10 + 30 = 40 days: 22 Aug - 21 Sep, wholly
    # in September, so due before the month begins. Leads: 45 days, 17 Aug - 16 Sep.
    p = plan.reverse_waterfall(100_000, 10_000, small_funnel(), OCT, NOV)
    won, opp, mql, lead = p.stage("won"), p.stage("opportunity"), p.stage("mql"), p.stage("lead")
    assert (won.enter_from, won.enter_by, won.is_due_before_period) == (OCT, dt.date(2026, 10, 31), False)
    assert (opp.days_before_close, opp.enter_from, opp.enter_by) == (30, dt.date(2026, 9, 1), OCT)
    assert not opp.is_due_before_period  # its window still reaches 1 October
    assert (mql.days_before_close, mql.enter_from, mql.enter_by) == (
        40,
        dt.date(2026, 8, 22),
        dt.date(2026, 9, 21),
    )
    assert mql.is_due_before_period
    # The month each stage's volume is due: the one holding the window's middle day. MQLs:
    # 22 Aug + 15 = 6 Sep; leads: 17 Aug + 15 = 1 Sep; opportunities: 1 Sep + 15 = 16 Sep, so
    # September though the window's last day is 1 October; won: 16 October.
    assert mql.due_period == SEP
    assert (lead.enter_from, lead.enter_by, lead.due_period) == (
        dt.date(2026, 8, 17),
        dt.date(2026, 9, 16),
        SEP,
    )
    assert opp.due_period == SEP
    assert won.due_period == OCT


def test_quota_month_follows_the_lags():
    # October's revenue is fed by earlier months' volume. With lags 5, 10 and 30 days the
    # opportunities for October's deals are due in September (window 1 Sep - 1 Oct, middle
    # 16 Sep), the MQLs too (22 Aug - 21 Sep, middle 6 Sep); revenue and deals won in October.
    p = plan.reverse_waterfall(100_000, 10_000, small_funnel(), OCT, NOV)
    assert plan.quota_period(p, plan.STAGE, "mql") == SEP
    assert plan.quota_period(p, plan.STAGE, "opportunity") == SEP
    assert plan.quota_period(p, plan.PIPELINE, "opportunity") == SEP
    assert plan.quota_period(p, plan.STAGE, "won") == OCT
    assert plan.quota_period(p, plan.REVENUE, None) == OCT
    # About 69 days from MQL to won (the sample's funnel): 9 + 60 days. MQLs must enter
    # 24 Jul - 23 Aug (1 Oct - 69, 31 Oct - 69), middle 8 Aug: October's target holds
    # August's MQL quota, not October's.
    longer = plan.reverse_waterfall(
        100_000, 10_000, small_funnel(lags={"mql": 9.0, "opportunity": 60.0}), OCT, NOV
    )
    mql = longer.stage("mql")
    assert (mql.days_before_close, mql.enter_from, mql.enter_by) == (
        69,
        dt.date(2026, 7, 24),
        dt.date(2026, 8, 23),
    )
    assert plan.quota_period(longer, plan.STAGE, "mql") == AUG
    # No lag at all: every quota is the target month's own.
    flat = plan.reverse_waterfall(
        100_000, 10_000, small_funnel(lags={"lead": 0.0, "mql": 0.0, "opportunity": 0.0}), OCT, NOV
    )
    assert {plan.quota_period(flat, plan.STAGE, k) for k in ("lead", "mql", "opportunity", "won")} == {OCT}


def test_fractional_lags_round_to_whole_days_after_summing():
    # Lags are summed first and rounded once: from MQL 0.6 + 29.8 = 30.4 -> 30 days; from lead
    # 0.6 + 0.6 + 29.8 = 31.0 -> 31 (rounding each lag first would give 1 + 1 + 30 = 32).
    p = plan.reverse_waterfall(
        100_000, 10_000, small_funnel(lags={"lead": 0.6, "mql": 0.6, "opportunity": 29.8}), OCT, NOV
    )
    assert p.stage("mql").days_before_close == 30  # 0.6 + 29.8 = 30.4
    assert p.stage("lead").days_before_close == 31  # 0.6 + 0.6 + 29.8 = 31.0


@pytest.mark.parametrize(
    ("rates", "match"),
    [
        ({"mql": 0.0}, "step rate from MQL to Opportunity is 0%"),
        ({"mql": None}, "step rate from MQL to Opportunity is unknown"),
        ({"opportunity": math.nan}, "step rate from Opportunity to Won is unknown"),
    ],
)
def test_zero_or_missing_rate_is_a_clear_message(rates, match):
    with pytest.raises(plan.PlanError, match=match) as info:
        plan.reverse_waterfall(100_000, 10_000, small_funnel(rates=rates), OCT, NOV)
    assert "what-if" in str(info.value)  # says what to do about it


@pytest.mark.parametrize(
    ("target", "deal", "match"),
    [
        (None, 10_000, "no shared revenue target for October 2026"),
        (100_000, 0, "deal size is missing or zero"),
        (100_000, math.nan, "deal size is missing or zero"),
        (0, 10_000, "nothing to plan"),
    ],
)
def test_missing_target_or_deal_size_is_a_clear_message(target, deal, match):
    with pytest.raises(plan.PlanError, match=match):
        plan.reverse_waterfall(target, deal, small_funnel(), OCT, NOV)


def test_missing_lag_is_a_clear_message():
    with pytest.raises(plan.PlanError, match="median time from Lead to MQL is unknown"):
        plan.reverse_waterfall(100_000, 10_000, small_funnel(lags={"lead": None}), OCT, NOV)


def test_what_if_overrides_replace_observed_values():
    # Doubling MQL -> opportunity to 100% halves the MQLs needed (80 -> 40) and the leads
    # (200 -> 100); the opportunities stay at 40.
    stages = plan.with_overrides(small_funnel(), rates={"mql": 1.0}, lags={"opportunity": 60.0})
    p = plan.reverse_waterfall(100_000, 10_000, stages, OCT, NOV)
    assert p.stage("mql").n_needed == pytest.approx(40)
    assert p.stage("lead").n_needed == pytest.approx(100)
    assert p.stage("opportunity").n_needed == pytest.approx(40)
    assert p.stage("opportunity").days_before_close == 60


# --- quotas against the plan ------------------------------------------------------------------


def specs(mql_quota: float, won_quota: float) -> list[plan.QuotaSpec]:
    """The quotas October's target is held against in small_funnel(): MQLs and opportunities
    (and the pipeline opened with them) of September, deals and revenue of October."""
    return [
        plan.QuotaSpec("marketing", "mqls", plan.STAGE, "mql", mql_quota, SEP),
        plan.QuotaSpec("sales", "opportunities", plan.STAGE, "opportunity", 40, SEP),
        plan.QuotaSpec("sales", "deals_won", plan.STAGE, "won", won_quota, OCT),
        plan.QuotaSpec("sales", "revenue", plan.REVENUE, None, 100_000, OCT),
        plan.QuotaSpec("shared", "pipeline", plan.PIPELINE, "opportunity", 400_000, SEP),
    ]


def test_marketing_quota_short_sales_consistent():
    # October's target needs 60 MQL entries in September; Marketing's September quota of 45
    # covers 45/60 = 75%: short by 15 MQLs, which at 100,000/60 a MQL is 25,000 of revenue.
    # Sales: 40 September opportunities of 40 needed and 100,000 of 100,000 October revenue are
    # consistent; 12 October deals for 10 needed is over (120%). Pipeline: 40 opportunities x
    # 10,000 = 400,000 needed in September, the shared target asks exactly that.
    p = plan.reverse_waterfall(100_000, 10_000, small_funnel(), OCT, NOV)
    checks = {c.metric: c for c in plan.check_quotas(p, specs(45, 12))}
    mql = checks["mqls"]
    assert (mql.needed, mql.coverage, mql.gap, mql.verdict) == pytest.approx((60, 0.75, 15, plan.SHORT))
    # Which month's quota was held against which month's target, for the page to say so.
    assert (mql.quota_period, mql.target_period) == (SEP, OCT)
    assert (checks["revenue"].quota_period, checks["revenue"].target_period) == (OCT, OCT)
    assert mql.revenue_fed == pytest.approx(75_000)
    assert mql.revenue_gap == pytest.approx(25_000)
    assert checks["opportunities"].verdict == plan.CONSISTENT
    assert checks["revenue"].verdict == plan.CONSISTENT
    assert checks["deals_won"].verdict == plan.OVER
    assert checks["deals_won"].coverage == pytest.approx(1.2)
    assert checks["pipeline"].needed == pytest.approx(400_000)
    assert checks["pipeline"].verdict == plan.CONSISTENT
    short = plan.inconsistent_teams(list(checks.values()))
    assert list(short) == ["marketing"]
    assert [c.metric for c in short["marketing"]] == ["mqls"]


def test_sales_quota_short_marketing_consistent():
    # The other direction: Marketing's 60 MQLs is exactly what is needed, Sales' 8 deals cover
    # 8/10 = 80% of the 10 needed: short by 2 deals = 20,000 of revenue.
    p = plan.reverse_waterfall(100_000, 10_000, small_funnel(), OCT, NOV)
    checks = plan.check_quotas(p, specs(60, 8))
    short = plan.inconsistent_teams(checks)
    assert list(short) == ["sales"]
    (won,) = short["sales"]
    assert (won.metric, won.coverage, won.gap, won.revenue_gap) == pytest.approx(
        ("deals_won", 0.8, 2, 20_000)
    )
    assert next(c for c in checks if c.metric == "mqls").verdict == plan.CONSISTENT


def test_binding_quota_is_the_gap_each_team_leaves():
    # Sales holds 40 opportunities (100%), 8 deals (80%) and 100,000 revenue (100%): its tightest
    # quota is the 8 deals, leaving 20,000 of the target uncovered. Marketing's 45 MQLs (75%)
    # leave 25,000. A quota without a value is not a constraint.
    p = plan.reverse_waterfall(100_000, 10_000, small_funnel(), OCT, NOV)
    checks = plan.check_quotas(p, specs(45, 8))
    checks.append(plan.check_quota(p, plan.QuotaSpec("marketing", "leads", plan.STAGE, "lead", None)))
    binding = plan.binding_quotas(checks)
    assert {t: (c.metric, c.revenue_gap) for t, c in binding.items()} == {
        "marketing": ("mqls", pytest.approx(25_000)),
        "sales": ("deals_won", pytest.approx(20_000)),
        "shared": ("pipeline", pytest.approx(0)),
    }


def test_missing_quota_is_not_a_verdict():
    p = plan.reverse_waterfall(100_000, 10_000, small_funnel(), OCT, NOV)
    c = plan.check_quota(p, plan.QuotaSpec("marketing", "mqls", plan.STAGE, "mql", None))
    assert (c.verdict, c.needed, c.coverage) == (plan.NO_TARGET, pytest.approx(60), None)


def test_revenue_per_unit():
    # Revenue one unit brings: an MQL entry 100,000/60; a deal 10,000; pipeline at the win rate
    # (100,000 of revenue from 400,000 of pipeline: 0.25); revenue itself 1.
    p = plan.reverse_waterfall(100_000, 10_000, small_funnel(), OCT, NOV)
    assert plan.revenue_per_unit(p, plan.STAGE, "mql") == pytest.approx(100_000 / 60)
    assert plan.revenue_per_unit(p, plan.STAGE, "won") == pytest.approx(10_000)
    assert plan.revenue_per_unit(p, plan.PIPELINE, "opportunity") == pytest.approx(0.25)
    assert plan.revenue_per_unit(p, plan.REVENUE, None) == 1
