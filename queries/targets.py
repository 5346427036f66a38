"""Readers for the Targets page: targets, their history, actuals to date and the plan inputs.

Each query function returns a DataFrame with the columns in its docstring; the counting happens
in DuckDB (queries/sql/targets_*.sql). The assembling functions at the end are pure pandas on a
handful of aggregated rows and call the arithmetic in queries/plan.py.

Metric names (leads, mqls, ...) are the targets table's vocabulary (data/targets.py); the stage
each one counts is resolved from the contract by role (first stage, handoff stage, the stage
before the last, the last stage), so no stage key is written here.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd

from data import targets as targets_mod
from data.contract import Contract
from queries import contracts, executor, funnel, plan, stats
from queries.filters import Filters

AMOUNT_EVENT = "amount"  # events.event_type of a deal amount being set (data/schema.sql)
CONTENT_TEAM = "marketing"  # content_published counts Marketing's pieces
LOOKBACK_MONTHS = (3, 6, 12)
DEFAULT_LOOKBACK_MONTHS = 6


def stage_for_role(role: str, contract: Contract) -> str | None:
    """The stage key a metric role counts entries into (None for content, revenue, pipeline)."""
    stages = contract.stages
    return {
        "first": stages[0].key,
        "handoff": contract.handoff_stage,
        "opportunity": stages[-2].key,
        "won": stages[-1].key,
    }.get(role)


# --- queries ----------------------------------------------------------------------------------


@executor.reads_edits("targets")
def periods(db: Path | None = None) -> pd.DataFrame:
    """Months with targets: one row per period. Columns: period (date), n_targets."""
    df = executor.run("targets_periods", db=db)
    df["period"] = pd.to_datetime(df["period"]).dt.date
    return df


@executor.reads_edits("targets")
def targets_for(period: dt.date, db: Path | None = None) -> pd.DataFrame:
    """Targets of one month: one row per (team, metric).

    Columns: period, team, metric, value, set_at, set_by.
    """
    return executor.run("targets_for_period", {"period": period}, db=db)


@executor.reads_edits("targets")
def targets_through(period: dt.date, db: Path | None = None) -> pd.DataFrame:
    """Targets of every month up to and including `period`: one row per (period, team, metric).

    Columns: period (date), team, metric, value, set_at, set_by. The quotas a month's target is
    held against are those of the months its stages' volume is due in (queries/plan.py).
    """
    df = executor.run("targets_through", {"period": period}, db=db)
    df["period"] = pd.to_datetime(df["period"]).dt.date
    return df


@executor.reads_edits("targets")
def history(period: dt.date | None = None, db: Path | None = None) -> pd.DataFrame:
    """Target changes, newest first (at most 500): one row per change.

    Columns: set_at, set_by, period, team, metric, old_value (null when first set), new_value.
    """
    return executor.run("targets_history", {"period": period}, db=db)


def actuals(
    period: dt.date, as_of: dt.datetime, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Actual value to date of every target metric in the month of `period`, up to `as_of`.

    One row per metric. Columns: metric, actual. Definitions in queries/sql/targets_actuals.sql:
    opportunities, deals won, revenue and pipeline count each opportunity once.
    """
    contract = contract or contracts.current(db).effective()
    start, end = plan.month_bounds(period)
    order = {s.key: s.order for s in contract.stages}
    params = {
        "period_start": dt.datetime.combine(start, dt.time.min),
        "period_end": dt.datetime.combine(end, dt.time.min),
        "as_of": as_of,
        "lead_order": order[stage_for_role("first", contract)],
        # No handoff stage in this journey: MQL actuals match no stage (0) and read 0.
        "handoff_order": order.get(stage_for_role("handoff", contract), 0),
        # Opportunities and deals won are counted per opportunity, not per lead reaching the
        # stage: its contacts reach it too.
        "opportunity_stage": stage_for_role("opportunity", contract),
        "won_stage": stage_for_role("won", contract),
        "amount_event": AMOUNT_EVENT,
        "content_team": CONTENT_TEAM,
    }
    return executor.run("targets_actuals", params, db=db)


def lookback(as_of: dt.datetime, window_days: int, months: int) -> Filters:
    """The look-back cohort the plan learns from: leads that started in the `months` months
    ending one conversion window before `as_of`, so every lead in it has had its full window
    to convert (a mature cohort: its rates are final, not understated by leads still in flight)."""
    end = as_of.date() - dt.timedelta(days=window_days)
    start = plan.add_months(end, -months) + dt.timedelta(days=1)
    return Filters(start=start, end=end, as_of=as_of)


def plan_inputs(filters: Filters, db: Path | None = None, contract: Contract | None = None) -> pd.DataFrame:
    """Observed funnel of the look-back cohort, as the plan needs it: one row per stage, in order.

    Columns: stage, label, owner, n_reached, n_skipped, entered_share (share reaching the stage
    with an event of its own), next_rate (reached(k+1) / reached(k)), next_low, next_high (95%
    Wilson), lag_n, lag_median_days, lag_p75_days, lag_p90_days (days from entering k until
    reaching k+1, from the funnel engine's stage times). The last stage has no next rate or lag.
    """
    contract = contract or contracts.current(db).effective()
    cf = funnel.cohort_funnel(filters, db=db, contract=contract).reset_index(drop=True)
    times = funnel.stage_times(filters, db=db, contract=contract)
    times = times[~times["is_total"]].set_index("from_stage")
    rows = []
    for k, s in enumerate(contract.stages):
        reached = int(cf.loc[k, "n_reached"])
        skipped = int(cf.loc[k, "n_skipped"])
        last = k == len(contract.stages) - 1
        nxt = None if last else cf.loc[k + 1]
        t = None if last or s.key not in times.index else times.loc[s.key]
        rows.append(
            {
                "stage": s.key,
                "label": s.label,
                "owner": s.owner,
                "n_reached": reached,
                "n_skipped": skipped,
                "entered_share": (reached - skipped) / reached if reached else 1.0,
                "next_rate": math.nan if last else float(nxt["step_rate"]),
                "next_low": math.nan if last else float(nxt["step_low"]),
                "next_high": math.nan if last else float(nxt["step_high"]),
                "lag_n": 0 if t is None else int(t["n_leads"]),
                "lag_median_days": math.nan if t is None else float(t["median_days"]),
                "lag_p75_days": math.nan if t is None else float(t["p75_days"]),
                "lag_p90_days": math.nan if t is None else float(t["p90_days"]),
            }
        )
    return pd.DataFrame(rows)


def deal_size(filters: Filters, db: Path | None = None, contract: Contract | None = None) -> pd.DataFrame:
    """Deal size of the look-back cohort's won deals: one row.

    Columns: n_deals, avg_amount, sd_amount, low, high (95% interval of the mean, normal
    approximation; nan with fewer than two deals).
    """
    contract = contract or contracts.current(db).effective()
    as_of = funnel.resolve_as_of(filters, db)
    params = {
        "start_at": dt.datetime.combine(filters.start, dt.time.min),
        "end_before": dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min),
        "as_of": as_of,
        # The window as an interval (portable SQL); none: null, and least() takes $as_of.
        "window": dt.timedelta(days=filters.window(contract)) if filters.window(contract) else None,
        "won_order": contract.stages[-1].order,
    }
    df = executor.run("targets_deal_size", params, db=db)
    n = int(df.loc[0, "n_deals"])
    avg = float(df.loc[0, "avg_amount"]) if n else math.nan
    sd = float(df.loc[0, "sd_amount"]) if n > 1 else math.nan
    half = stats.Z95 * sd / math.sqrt(n) if n > 1 else math.nan
    return pd.DataFrame(
        [{"n_deals": n, "avg_amount": avg, "sd_amount": sd, "low": avg - half, "high": avg + half}]
    )


# --- assembling (pure) ------------------------------------------------------------------------


def stage_inputs(inputs: pd.DataFrame) -> list[plan.StageInput]:
    """plan_inputs() rows as the plan's StageInput list (observed rates and median lags)."""
    out = []
    for r in inputs.itertuples():
        out.append(
            plan.StageInput(
                key=r.stage,
                label=r.label,
                owner=r.owner if isinstance(r.owner, str) else None,
                step_rate=None if math.isnan(r.next_rate) else float(r.next_rate),
                lag_days=None if math.isnan(r.lag_median_days) else float(r.lag_median_days),
                entered_share=float(r.entered_share),
            )
        )
    return out


def quota_specs(targets: pd.DataFrame, contract: Contract, the_plan: plan.Plan) -> list[plan.QuotaSpec]:
    """The quotas that can be held against the plan's shared revenue target, Marketing first.

    `targets` holds several months (targets_through()). Each quota is taken from the month its
    stage's volume is due for the plan's target month (plan.quota_period: the MQL quota of
    August for October's revenue when MQLs lead wins by about two months), not from the target
    month itself. Content pieces have no conversion path to revenue and the shared revenue
    target is the yardstick itself, so neither is checked.
    """
    specs = []
    for team in (*contract.teams, targets_mod.SHARED):
        for metric in targets_mod.TEAM_METRICS.get(team, ()):
            role = targets_mod.METRICS[metric].role
            if role == "content" or (team == targets_mod.SHARED and role == "revenue"):
                continue
            if role == "revenue":
                kind, key = plan.REVENUE, None
            elif role == "pipeline":
                kind, key = plan.PIPELINE, stage_for_role("opportunity", contract)
            else:
                kind, key = plan.STAGE, stage_for_role(role, contract)
            month = plan.quota_period(the_plan, kind, key)
            row = targets[
                (targets["period"] == month) & (targets["team"] == team) & (targets["metric"] == metric)
            ]
            quota = float(row["value"].iloc[0]) if len(row) else None
            specs.append(plan.QuotaSpec(team, metric, kind, key, quota, month))
    return specs


def target_value(targets: pd.DataFrame, team: str, metric: str) -> float | None:
    row = targets[(targets["team"] == team) & (targets["metric"] == metric)]
    return float(row["value"].iloc[0]) if len(row) else None


def pacing_table(
    targets: pd.DataFrame,
    actual: pd.DataFrame,
    share: float,
    contract: Contract,
    the_plan: plan.Plan | None = None,
) -> pd.DataFrame:
    """Attainment and pacing: one row per (team, metric) the teams set, Marketing, Sales, shared.

    Columns: team, metric, label, unit, target, actual, attainment (actual / target), expected,
    projected, status, gap_to_pace (actual - expected), gap_to_pace_revenue (that gap at the
    plan's revenue per unit; nan without a plan or for content), projected_gap (projected -
    target).
    """
    by_metric = dict(zip(actual["metric"], actual["actual"], strict=True))
    rows = []
    for team in (*contract.teams, targets_mod.SHARED):
        for metric in targets_mod.TEAM_METRICS.get(team, ()):
            m = targets_mod.METRICS[metric]
            p = plan.pace(target_value(targets, team, metric), float(by_metric.get(metric, 0.0)), share)
            per_unit = math.nan
            if the_plan is not None and m.role != "content":
                kind = {"revenue": plan.REVENUE, "pipeline": plan.PIPELINE}.get(m.role, plan.STAGE)
                role = "opportunity" if m.role == "pipeline" else m.role
                per_unit = plan.revenue_per_unit(the_plan, kind, stage_for_role(role, contract))
            gap = math.nan if p.gap_to_pace is None else p.gap_to_pace
            rows.append(
                {
                    "team": team,
                    "metric": metric,
                    "label": m.label,
                    "unit": m.unit,
                    "target": math.nan if p.target is None else p.target,
                    "actual": p.actual,
                    "attainment": p.actual / p.target if p.target else math.nan,
                    "expected": math.nan if p.expected is None else p.expected,
                    "projected": math.nan if p.projected is None else p.projected,
                    "status": p.status,
                    "gap_to_pace": gap,
                    "gap_to_pace_revenue": gap * per_unit,
                    "projected_gap": math.nan if p.projected_gap is None else p.projected_gap,
                }
            )
    return pd.DataFrame(rows)


def plan_table(
    the_plan: plan.Plan, specs: list[plan.QuotaSpec], checks: list[plan.QuotaCheck]
) -> pd.DataFrame:
    """The reverse waterfall: one row per stage, in funnel order.

    Columns: stage, label, owner, step_rate (to the next stage), lag_days, n_needed (volume that
    must reach the stage), n_entries_needed (of which entries; the rest arrive as skips),
    enter_from, enter_by, due_period, is_due_before_period, quota_team, quota (the quota that
    counts entries into this stage, if any), quota_period (the month of that quota: the month
    this stage's volume is due), gap (entries needed - quota).
    """
    by_stage = {
        spec.stage_key: check for spec, check in zip(specs, checks, strict=True) if spec.kind == plan.STAGE
    }
    rows = []
    for s in the_plan.stages:
        c = by_stage.get(s.key)
        rows.append(
            {
                "stage": s.key,
                "label": s.label,
                "owner": s.owner or "",
                "step_rate": math.nan if s.step_rate is None else s.step_rate,
                "lag_days": math.nan if s.lag_days is None else s.lag_days,
                "n_needed": s.n_needed,
                "n_entries_needed": s.n_entries_needed,
                "enter_from": s.enter_from,
                "enter_by": s.enter_by,
                "due_period": s.due_period,
                "is_due_before_period": s.is_due_before_period,
                "quota_team": c.team if c else "",
                "quota": math.nan if c is None or c.quota is None else c.quota,
                "quota_period": c.quota_period if c else None,
                "gap": math.nan if c is None or c.gap is None else c.gap,
            }
        )
    return pd.DataFrame(rows)


def checks_table(checks: list[plan.QuotaCheck]) -> pd.DataFrame:
    """Quotas against the shared revenue target: one row per quota checked.

    Columns: team, metric, label, quota_period (the month whose quota it is), quota,
    target_period (the month of the shared revenue target), needed (what that target needs),
    coverage, gap, revenue_fed, revenue_gap, verdict.
    """
    return pd.DataFrame(
        [
            {
                "team": c.team,
                "metric": c.metric,
                "label": targets_mod.METRICS[c.metric].label,
                "quota_period": c.quota_period,
                "quota": math.nan if c.quota is None else c.quota,
                "target_period": c.target_period,
                "needed": c.needed,
                "coverage": math.nan if c.coverage is None else c.coverage,
                "gap": math.nan if c.gap is None else c.gap,
                "revenue_fed": math.nan if c.revenue_fed is None else c.revenue_fed,
                "revenue_gap": math.nan if c.revenue_gap is None else c.revenue_gap,
                "verdict": c.verdict,
            }
            for c in checks
        ]
    )


# --- the planner's choices and the what-if plan (pure) ----------------------------------------

MAX_LAG_DAYS = 365.0  # the longest median lag a what-if may set

# The what-if values a plan is drawn from: (deal size, ((stage, step rate in percent), ...),
# ((stage, median lag in days), ...)); rates in percent as the sliders show them. A tuple of
# tuples, so it can key a cached drawing.
WhatIf = tuple[float, tuple[tuple[str, float], ...], tuple[tuple[str, float], ...]]


def default_period(months: list[dt.date], as_of: dt.datetime) -> dt.date:
    """The month the page opens on: the as-of date's month when it has targets, else the last
    month that has any (the as-of month when none has)."""
    this_month = as_of.date().replace(day=1)
    return this_month if this_month in months or not months else months[-1]


def edit_months(months: list[dt.date], as_of: dt.datetime, ahead: int = 12) -> list[dt.date]:
    """Months a target can be set for: every month with targets, and the as-of month with the
    `ahead` months after it, in order."""
    this_month = as_of.date().replace(day=1)
    return sorted({*months, *(plan.add_months(this_month, i) for i in range(0, ahead + 1))})


def observed_deal_size(deal: pd.DataFrame) -> float:
    """The look-back's mean won amount (deal_size()), 0 when no deal was won."""
    avg = deal["avg_amount"].iloc[0]
    return 0.0 if math.isnan(avg) else float(avg)


def deal_size_max(deal: pd.DataFrame) -> float:
    """The largest deal size a what-if may set: three times the observed one, at least 1,000."""
    return float(max(observed_deal_size(deal) * 3, 1000.0))


def observed_what_if(inputs: pd.DataFrame, deal: pd.DataFrame) -> WhatIf:
    """The what-if values the planner starts from: the observed deal size to the nearest 10,
    each step's observed rate in percent and median lag, one decimal, clamped to the sliders'
    ranges (at most 100% and MAX_LAG_DAYS). A step never observed starts at 0, which the plan
    then explains (build_plan)."""
    steps = stage_inputs(inputs)[:-1]
    return (
        round(observed_deal_size(deal), -1),
        tuple((s.key, min(round(100 * (s.step_rate or 0.0), 1), 100.0)) for s in steps),
        tuple((s.key, min(round(s.lag_days or 0.0, 1), MAX_LAG_DAYS)) for s in steps),
    )


def build_plan(
    targets: pd.DataFrame, inputs: pd.DataFrame, period: dt.date, what_if: WhatIf
) -> tuple[plan.Plan | None, str | None]:
    """The reverse waterfall of `period`'s shared revenue target (`targets`: targets_for(period))
    at the what-if values, over the observed stages (`inputs`: plan_inputs()); or None and why
    it cannot be computed (a missing target, a zero rate, ...)."""
    deal_size, rates, lags = what_if
    try:
        stages = plan.with_overrides(
            stage_inputs(inputs), rates={k: v / 100 for k, v in rates}, lags=dict(lags)
        )
        the_plan = plan.reverse_waterfall(
            target_value(targets, targets_mod.SHARED, "revenue"),
            deal_size,
            stages,
            *plan.month_bounds(period),
        )
    except plan.PlanError as exc:
        return None, str(exc)
    return the_plan, None


def small_rate_stages(inputs: pd.DataFrame) -> set[str]:
    """Stages whose step rate was learnt from fewer than SMALL_GROUP leads of the look-back (the
    last stage has no step rate, so it is never one)."""
    steps = inputs.iloc[:-1]
    return set(steps.loc[steps["n_reached"] < stats.SMALL_GROUP, "stage"])
