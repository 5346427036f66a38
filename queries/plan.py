"""Planning arithmetic for the Targets page: pacing within a period and the reverse waterfall.

Pure functions on plain numbers and dates: no SQL, no streamlit. The page feeds them the
observed funnel once (cached queries) and the what-if sliders then recompute the plan here
without a single query. Every function is tested against a hand computation
(tests/test_plan.py).

Pacing
    expected by today = target x elapsed share of the period (linear in time, or weighted by a
    day profile such as "working days only"); projected end value = actual / elapsed share (the
    run rate so far held to the end); status compares actual with expected inside a tolerance
    band of +/- TOLERANCE (5%): behind below 95% of expected, ahead above 105%, on pace between.

Reverse waterfall
    deals needed = revenue target / average deal size; going up the funnel, the volume that must
    reach stage k is the volume of stage k+1 divided by the step rate k -> k+1. Part of a stage's
    volume arrives without an event of its own (a skip, e.g. Sales-sourced leads that start at a
    later stage); `entered_share` is the observed share that enters with its own event, and
    only that part is a team's work (a quota counts entries). A stage must be entered
    `days_before_close` = the sum of the median lags from it to the last stage before the deals
    close, so its entry window is the period shifted back by that many days.

Quotas against the plan
    A month's revenue target is fed by volume that entered the funnel earlier: with about 69
    days from MQL to won, October's deals come from the MQLs of August. So each quota is taken
    from the month its stage's volume is due (`due_period`: the month holding the middle day of
    the stage's entry window, hence most of it) and held against what the target month needs.
    Revenue and deals won are due in the target month itself.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

TOLERANCE = 0.05  # the "on pace" / "consistent" band: within +/- 5% of what is needed

AHEAD, ON_PACE, BEHIND = "ahead", "on pace", "behind"
NOT_STARTED, NO_TARGET = "not started", "no target"
SHORT, CONSISTENT, OVER = "short", "consistent", "over"

DayProfile = Callable[[dt.date], float]


class PlanError(ValueError):
    """The plan cannot be computed from these inputs; the message says why and what to do."""


def _missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


# --- periods and pacing -----------------------------------------------------------------------


def month_bounds(period: dt.date) -> tuple[dt.date, dt.date]:
    """(first day, first day of the next month) of the month containing `period`."""
    start = period.replace(day=1)
    nxt = dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, nxt


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole calendar months, clamped to the last day of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = month_bounds(dt.date(year, month + 1, 1))[1] - dt.timedelta(days=1)
    return dt.date(year, month + 1, min(day.day, last.day))


def working_days(day: dt.date) -> float:
    """A day profile: Monday to Friday count fully, weekends not at all."""
    return 0.0 if day.weekday() >= 5 else 1.0


def elapsed_share(
    start: dt.date, end: dt.date, as_of: dt.datetime, profile: DayProfile | None = None
) -> float:
    """Share (0..1) of the period [start, end) that has passed at `as_of`.

    Linear in time by default, counting the current day by the hours gone. With a profile each
    day weighs profile(day) (a seasonal or working-day shape); the share is the weight passed
    over the period's total weight.
    """
    t0 = dt.datetime.combine(start, dt.time.min)
    t1 = dt.datetime.combine(end, dt.time.min)
    if as_of <= t0:
        return 0.0
    if as_of >= t1:
        return 1.0
    weigh = profile or (lambda _day: 1.0)
    total = passed = 0.0
    day = start
    while day < end:
        w = weigh(day)
        total += w
        day_start = dt.datetime.combine(day, dt.time.min)
        frac = min(max((as_of - day_start).total_seconds() / 86400.0, 0.0), 1.0)
        passed += w * frac
        day += dt.timedelta(days=1)
    if total <= 0:
        raise PlanError("The day profile gives the whole period zero weight: choose another profile.")
    return passed / total


def pace_status(actual: float, expected: float, tolerance: float = TOLERANCE) -> str:
    """ahead / on pace / behind: actual against expected, within +/- tolerance of expected."""
    if actual < expected * (1 - tolerance):
        return BEHIND
    if actual > expected * (1 + tolerance):
        return AHEAD
    return ON_PACE


@dataclass(frozen=True)
class Pace:
    """Where one metric stands in its period."""

    target: float | None
    actual: float
    share: float  # elapsed share of the period (0..1)
    expected: float | None  # target x share: where a steady pace would be today
    projected: float | None  # actual / share: the end value if the run rate so far holds
    status: str  # ahead, on pace, behind, not started, no target
    gap_to_pace: float | None  # actual - expected (negative: behind pace)
    projected_gap: float | None  # projected - target (negative: the period would end short)


def pace(target: float | None, actual: float, share: float, tolerance: float = TOLERANCE) -> Pace:
    """Pacing of one metric: `share` is elapsed_share() of its period."""
    projected = actual / share if share > 0 else None
    if _missing(target):
        return Pace(None, actual, share, None, projected, NO_TARGET, None, None)
    expected = target * share
    if share <= 0:
        return Pace(target, actual, share, 0.0, None, NOT_STARTED, None, None)
    return Pace(
        target=target,
        actual=actual,
        share=share,
        expected=expected,
        projected=projected,
        status=pace_status(actual, expected, tolerance),
        gap_to_pace=actual - expected,
        projected_gap=projected - target,
    )


# --- reverse waterfall ------------------------------------------------------------------------


@dataclass(frozen=True)
class StageInput:
    """One funnel stage as the plan sees it, in funnel order."""

    key: str
    label: str
    owner: str | None  # team owning the move to the next stage (None for the last)
    step_rate: float | None = None  # share of this stage's volume that reaches the next
    lag_days: float | None = None  # median days from entering this stage to reaching the next
    entered_share: float = 1.0  # share of the stage's volume that enters it with its own event


@dataclass(frozen=True)
class PlanStage:
    key: str
    label: str
    owner: str | None
    step_rate: float | None
    lag_days: float | None
    n_needed: float  # volume that must reach this stage (entries and skips)
    n_entries_needed: float  # n_needed x entered_share: entries a quota should count
    days_before_close: int  # sum of median lags from here to the last stage, whole days
    enter_from: dt.date  # first day of the window in which this volume must enter
    enter_by: dt.date  # last day of that window
    due_period: dt.date  # the month (first day) holding the window's middle day: most of it
    is_due_before_period: bool  # the whole entry window lies before the planned period


@dataclass(frozen=True)
class Plan:
    period_start: dt.date
    period_end: dt.date  # exclusive
    revenue_target: float
    deal_size: float
    deals_needed: float
    stages: tuple[PlanStage, ...]

    def stage(self, key: str) -> PlanStage:
        for s in self.stages:
            if s.key == key:
                return s
        raise KeyError(f"no stage {key!r} in the plan")

    def revenue_per_entry(self, key: str) -> float:
        """Revenue one entry into stage `key` brings at the plan's rates and deal size."""
        return self.revenue_target / self.stage(key).n_entries_needed


def reverse_waterfall(
    revenue_target: float | None,
    deal_size: float | None,
    stages: Sequence[StageInput],
    period_start: dt.date,
    period_end: dt.date,
) -> Plan:
    """Volume each stage needs, and by when, to close `revenue_target` in [period_start, end).

    Raises PlanError with a message naming the missing or zero input instead of dividing by it.
    """
    period_name = f"{period_start:%B %Y}"
    if _missing(revenue_target):
        raise PlanError(f"There is no shared revenue target for {period_name}: set one under Edit targets.")
    if revenue_target <= 0:
        raise PlanError(
            f"The shared revenue target for {period_name} is {revenue_target:,.0f}: nothing to plan."
        )
    if _missing(deal_size) or deal_size <= 0:
        raise PlanError(
            "The average deal size is missing or zero (no won deal with an amount in the look-back "
            "window): widen the look-back window or set a deal size in the what-if controls."
        )
    if len(stages) < 2:
        raise PlanError("The funnel needs at least two stages to plan.")
    for i, s in enumerate(stages[:-1]):
        nxt = stages[i + 1].label
        if _missing(s.step_rate):
            raise PlanError(
                f"The step rate from {s.label} to {nxt} is unknown (no lead reached {s.label} in "
                "the look-back window): widen the look-back window or set the rate in the what-if "
                "controls."
            )
        if s.step_rate <= 0:
            raise PlanError(
                f"The step rate from {s.label} to {nxt} is 0%: no volume of {s.label} leads "
                "produces a won deal at that rate. Widen the look-back window or set a rate above "
                "zero in the what-if controls."
            )
        if _missing(s.lag_days) or s.lag_days < 0:
            raise PlanError(
                f"The median time from {s.label} to {nxt} is unknown (no lead made that move in the "
                "look-back window): widen the look-back window or set it in the what-if controls."
            )
        if not 0 < s.entered_share <= 1:
            raise PlanError(f"The share of {s.label} volume entering with its own event must be in (0, 1].")

    deals = revenue_target / deal_size
    needed = [0.0] * len(stages)
    lag_after = [0.0] * len(stages)  # days from entering stage k to the last stage
    needed[-1] = deals
    for k in range(len(stages) - 2, -1, -1):
        needed[k] = needed[k + 1] / stages[k].step_rate
        lag_after[k] = lag_after[k + 1] + stages[k].lag_days
    rows = []
    for k, s in enumerate(stages):
        days = round(lag_after[k])
        enter_from = period_start - dt.timedelta(days=days)
        enter_by = period_end - dt.timedelta(days=days + 1)
        # The quota that must deliver this volume is the one of the month holding most of the
        # window: the month of its middle day (a window of up to 31 days spans two months).
        middle = enter_from + dt.timedelta(days=(enter_by - enter_from).days // 2)
        rows.append(
            PlanStage(
                key=s.key,
                label=s.label,
                owner=s.owner,
                step_rate=s.step_rate,
                lag_days=s.lag_days,
                n_needed=needed[k],
                n_entries_needed=needed[k] * s.entered_share,
                days_before_close=days,
                enter_from=enter_from,
                enter_by=enter_by,
                due_period=middle.replace(day=1),
                is_due_before_period=enter_by < period_start,
            )
        )
    return Plan(period_start, period_end, float(revenue_target), float(deal_size), deals, tuple(rows))


# --- quotas against the plan ------------------------------------------------------------------

STAGE, REVENUE, PIPELINE = "stage", "revenue", "pipeline"


@dataclass(frozen=True)
class QuotaSpec:
    """A team's quota and what it measures: entries into a stage, revenue, or pipeline amount."""

    team: str
    metric: str
    kind: str  # STAGE, REVENUE or PIPELINE
    stage_key: str | None  # the stage a STAGE quota counts entries into; PIPELINE: the stage
    # whose entries carry the pipeline amount (opportunities)
    quota: float | None
    period: dt.date | None = None  # the month whose quota this is (quota_period() of the plan)


@dataclass(frozen=True)
class QuotaCheck:
    team: str
    metric: str
    quota: float | None
    quota_period: dt.date | None  # the month whose quota is held against the target
    target_period: dt.date  # the month of the shared revenue target it is held against
    needed: float  # what the shared target needs in this metric's units
    coverage: float | None  # quota / needed
    gap: float | None  # needed - quota (positive: the quota leaves this much uncovered)
    revenue_fed: float | None  # revenue the quota produces at the plan's rates
    revenue_gap: float | None  # revenue target - revenue_fed (positive: short)
    verdict: str  # short, consistent, over, no target


def needed_for(plan: Plan, kind: str, stage_key: str | None) -> float:
    """What the shared revenue target needs in a metric's units."""
    if kind == REVENUE:
        return plan.revenue_target
    if kind == PIPELINE:
        # Pipeline amount opened = opportunities needed x the average deal size.
        return plan.stage(stage_key).n_entries_needed * plan.deal_size
    if kind == STAGE:
        return plan.stage(stage_key).n_entries_needed
    raise ValueError(f"unknown quota kind {kind!r}")


def quota_period(plan: Plan, kind: str, stage_key: str | None) -> dt.date:
    """The month whose quota must deliver what the plan's target month needs in this metric.

    Revenue closes in the target month itself; a stage count or the pipeline opened on a stage
    is due in that stage's due_period (the lags shift it into earlier months).
    """
    if kind == REVENUE:
        return plan.period_start
    if kind in (STAGE, PIPELINE):
        return plan.stage(stage_key).due_period
    raise ValueError(f"unknown quota kind {kind!r}")


def revenue_per_unit(plan: Plan, kind: str, stage_key: str | None) -> float:
    """Revenue one unit of a metric brings at the plan's rates (1 for revenue itself)."""
    return plan.revenue_target / needed_for(plan, kind, stage_key)


def check_quota(plan: Plan, spec: QuotaSpec, tolerance: float = TOLERANCE) -> QuotaCheck:
    """Does this quota, met exactly, feed the shared revenue target at the plan's rates?

    The spec's quota should be the one of quota_period() (the month the volume is due), and the
    need is the plan's target month's. short: it covers less than 1 - tolerance of what the
    target needs; over: more than 1 + tolerance; consistent in between. Revenue fed is
    proportional: coverage x target.
    """
    needed = needed_for(plan, spec.kind, spec.stage_key)
    target_period = plan.period_start
    if _missing(spec.quota):
        return QuotaCheck(
            spec.team,
            spec.metric,
            None,
            spec.period,
            target_period,
            needed,
            None,
            None,
            None,
            None,
            NO_TARGET,
        )
    coverage = spec.quota / needed
    if coverage < 1 - tolerance:
        verdict = SHORT
    elif coverage > 1 + tolerance:
        verdict = OVER
    else:
        verdict = CONSISTENT
    fed = coverage * plan.revenue_target
    return QuotaCheck(
        team=spec.team,
        metric=spec.metric,
        quota=spec.quota,
        quota_period=spec.period,
        target_period=target_period,
        needed=needed,
        coverage=coverage,
        gap=needed - spec.quota,
        revenue_fed=fed,
        revenue_gap=plan.revenue_target - fed,
        verdict=verdict,
    )


def check_quotas(plan: Plan, specs: Sequence[QuotaSpec], tolerance: float = TOLERANCE) -> list[QuotaCheck]:
    return [check_quota(plan, s, tolerance) for s in specs]


def inconsistent_teams(checks: Sequence[QuotaCheck]) -> dict[str, list[QuotaCheck]]:
    """Teams with at least one quota that falls short of the shared target, with those quotas."""
    out: dict[str, list[QuotaCheck]] = {}
    for c in checks:
        if c.verdict == SHORT:
            out.setdefault(c.team, []).append(c)
    return out


def binding_quotas(checks: Sequence[QuotaCheck]) -> dict[str, QuotaCheck]:
    """Each team's binding quota: the one with the lowest coverage of what the target needs.

    A funnel delivers no more than its tightest stage allows, so the gap a team's quotas leave
    is the revenue gap of this quota (none when it covers the need: revenue_gap <= 0).
    """
    out: dict[str, QuotaCheck] = {}
    for c in checks:
        if c.coverage is None:
            continue
        if c.team not in out or c.coverage < out[c.team].coverage:
            out[c.team] = c
    return out


def with_overrides(
    stages: Sequence[StageInput],
    rates: Mapping[str, float] | None = None,
    lags: Mapping[str, float] | None = None,
) -> list[StageInput]:
    """The stages with what-if step rates and lags (by stage key) in place of the observed ones."""
    rates, lags = rates or {}, lags or {}
    return [
        StageInput(
            s.key,
            s.label,
            s.owner,
            rates.get(s.key, s.step_rate),
            lags.get(s.key, s.lag_days),
            s.entered_share,
        )
        for s in stages
    ]
