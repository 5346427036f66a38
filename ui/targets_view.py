"""The Targets page's view: everything the page draws for a month and its choices, labelled and
formatted for display, as plain data (no Streamlit: tests/test_targets_view.py reads it).

The numbers come from queries/targets.py and the plan arithmetic from queries/plan.py; labels and
number formats from reports/format.py. `view()` reads its queries through `run` (the page passes
queries.cache.call, so a what-if change recomputes the plan without a query); the page only lays
the result out.

Texts are Markdown of our own words (the page draws them with st.caption, st.warning...): the
labels they quote are the funnel contract's stage names and the targets' metric names. No CRM
record text (owners, leads, companies) and no typed name reaches them: who changed a target is
shown only in the history table, as plain cells.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from data import targets as targets_mod
from data.contract import Contract
from queries import options, plan
from queries import targets as qt
from queries.filters import Filters
from queries.stats import SMALL_GROUP
from reports import format as fmt

# The day profiles the month can be paced by, as the page offers them.
PROFILES: dict[str, plan.DayProfile | None] = {
    "Linear (every day counts)": None,
    "Working days (weekends count zero)": plan.working_days,
}
DEFAULT_PROFILE = next(iter(PROFILES))  # the pace the page opens on

Run = Callable[..., object]


@dataclass(frozen=True)
class Figure:
    """One headline figure (st.metric): its label, value as shown, delta and help text."""

    label: str
    value: str
    delta: str | None = None
    help: str | None = None


@dataclass(frozen=True)
class Message:
    """A finding told in a box: kind "warning" or "success", its Markdown text and icon."""

    kind: str
    text: str
    icon: str


@dataclass(frozen=True)
class StepControl:
    """The two what-if sliders of one step (stage -> next stage): labels and what was observed."""

    stage: str  # the stage key the rate and lag start from
    rate_label: str
    rate_help: str
    lag_label: str
    lag_help: str


@dataclass(frozen=True)
class Controls:
    """The what-if controls: the deal size slider and one StepControl per step."""

    deal_label: str
    deal_help: str
    deal_max: float
    steps: list[StepControl]


@dataclass
class TargetsView:
    """What the Targets page draws for a month, an as-of moment, a pace profile, a look-back
    and what-if values.

    currency          " (USD)" when the store's won amounts are in one currency, else ""
    pacing_heading, pacing_figures (the four shared-revenue figures), currency_warning (None
                      unless amounts are in several currencies), pacing_caption
    share             share of the month passed (0..1) at the chosen pace
    pacing            qt.pacing_table: one row per target, exact (the CSV download)
    pacing_chart      the targets that are set: name ("Team · metric"), attainment (0..1),
                      actual, target, status
    pacing_table      pacing as shown: team names, counts and amounts rounded, attainment x 100
    intro_heading, intro_caption, small_deals_warning (None with enough won deals)
    controls          the what-if sliders' labels and observed values
    plan, plan_error  the reverse waterfall at the what-if values, or why it cannot be computed
                      (then every field below is empty)
    plan_figures      revenue to plan for, deal size, deals needed, handoff entries needed
    verdicts          each team's consistency with the shared revenue target
    gap_figures       the revenue gap each team's quotas leave (its tightest quota)
    waterfall         qt.plan_table: one row per stage, exact (the CSV download)
    waterfall_chart   waterfall's rows with quota_name (whose quota of which month, or none)
    waterfall_title, early_info (None unless lags push stages into earlier months)
    waterfall_table   waterfall as shown: owner names, volumes rounded, step rate x 100, small_n
    checks            qt.checks_table: one row per quota held against the target (the CSV)
    checks_table      checks as shown: team names, numbers rounded, coverage x 100
    checks_caption
    """

    period: dt.date
    as_of: dt.datetime
    currency: str
    pacing_heading: str
    pacing_figures: list[Figure]
    currency_warning: str | None
    pacing_caption: str
    share: float
    pacing: pd.DataFrame
    pacing_chart: pd.DataFrame
    pacing_table: pd.DataFrame
    intro_heading: str
    intro_caption: str
    small_deals_warning: str | None
    controls: Controls
    plan: plan.Plan | None
    plan_error: str | None
    plan_figures: list[Figure] = field(default_factory=list)
    verdicts: list[Message] = field(default_factory=list)
    gap_figures: list[Figure] = field(default_factory=list)
    waterfall: pd.DataFrame | None = None
    waterfall_chart: pd.DataFrame | None = None
    waterfall_title: str = ""
    early_info: str | None = None
    waterfall_table: pd.DataFrame | None = None
    checks: pd.DataFrame | None = None
    checks_table: pd.DataFrame | None = None
    checks_caption: str = ""


# --- labels -------------------------------------------------------------------------------------


def metric_label(metric: str) -> str:
    """A target metric by its name ("mqls" -> "MQLs passed to Sales"); an unknown key as it is."""
    return targets_mod.METRICS[metric].label if metric in targets_mod.METRICS else metric


def target_name(team: str, metric: str) -> str:
    """ "Marketing · MQLs passed to Sales": a target as the form and its messages name it."""
    return f"{fmt.team(team)} · {metric_label(metric)}"


def target_choices() -> list[tuple[str, str]]:
    """Every (team, metric) a target can be set for, each team's own first, the shared last."""
    return [(team, metric) for team, metrics in targets_mod.TEAM_METRICS.items() for metric in metrics]


def currency_suffix(currencies: list[str]) -> str:
    """An amount heading's currency: " (USD)" when the store's won amounts are in one."""
    return f" ({currencies[0]})" if len(currencies) == 1 and currencies[0] else ""


def title_caption(as_of: dt.datetime) -> str:
    return (
        "Do Marketing's and Sales' quotas add up to the shared target at the conversion rates and "
        f"lags the funnel really has? Computed as of {as_of:%Y-%m-%d %H:%M} UTC."
    )


def _rounded(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    df[columns] = df[columns].round(0)
    return df


# --- parts --------------------------------------------------------------------------------------


def controls(inputs: pd.DataFrame, deal: pd.DataFrame, currency: str) -> Controls:
    """The what-if sliders' labels and the observed values beside them (`inputs`:
    qt.plan_inputs, `deal`: qt.deal_size of the look-back; `currency`: currency_suffix())."""
    d = deal.iloc[0]
    deal_help = f"Observed mean {qt.observed_deal_size(deal):,.0f} over {int(d['n_deals'])} deals"
    if not math.isnan(d["low"]):
        deal_help += f" (95% interval {d['low']:,.0f} – {d['high']:,.0f})"
    steps = []
    rows = list(inputs.itertuples())
    for row, nxt in zip(rows[:-1], rows[1:], strict=True):
        rate_help = (
            f"Observed {100 * row.next_rate:.1f}% (95% interval {100 * row.next_low:.1f} – "
            f"{100 * row.next_high:.1f}%; {int(row.n_reached):,} leads reached {row.label})"
            if not math.isnan(row.next_rate)
            else "Not observed: no lead reached this stage in the look-back window"
        )
        lag_help = (
            f"Observed median {row.lag_median_days:.1f} days (p75 {row.lag_p75_days:.1f}, "
            f"p90 {row.lag_p90_days:.1f}; {int(row.lag_n):,} leads)"
            if not math.isnan(row.lag_median_days)
            else "Not observed: no lead made this move in the look-back window"
        )
        steps.append(
            StepControl(
                stage=row.stage,
                rate_label=f"{row.label} → {nxt.label}, step rate (%)",
                rate_help=rate_help,
                lag_label=f"{row.label} → {nxt.label}, median lag (days)",
                lag_help=lag_help,
            )
        )
    return Controls(
        deal_label=f"Average deal size{currency or ' (deal currency)'}",
        deal_help=deal_help,
        deal_max=qt.deal_size_max(deal),
        steps=steps,
    )


def history_table(hist: pd.DataFrame) -> pd.DataFrame:
    """qt.history as shown: teams and metrics by their names, not the table's keys."""
    return hist.assign(team=hist["team"].map(fmt.team), metric=hist["metric"].map(metric_label))


def _pacing_caption(share: float, profile_name: str) -> str:
    return (
        "Whole company: the targets are set for it, so these are the company's numbers. "
        f"{share:.0%} of the month has passed ({profile_name.split(' (')[0].lower()} pace). Expected by "
        "today = target × share of the month passed; projected = actual ÷ that share. Status: "
        f"**behind** below {1 - plan.TOLERANCE:.0%} of expected, **ahead** above "
        f"{1 + plan.TOLERANCE:.0%}, **on pace** in between. Gap in revenue = gap to pace × the "
        "revenue one unit brings at the plan's rates (below). Counts are first entries into a stage "
        "in the month; re-entries never count."
    )


def _intro_caption(lookback: Filters, inputs: pd.DataFrame, n_deals: int) -> str:
    return (
        f"Rates, lags and deal size observed on the leads that started {lookback.start:%d %b %Y} – "
        f"{lookback.end:%d %b %Y} ({int(inputs['n_reached'].iloc[0]):,} leads, "
        f"{n_deals:,} won deals, the whole company). Deals "
        "needed = target ÷ deal size; each stage needs the next stage's volume ÷ its step rate. "
        "Part of a stage's volume arrives as skips (for example Sales-sourced leads that start "
        "later in the funnel): a quota counts entries, so it is held against the entries needed. "
        "Each stage must be entered the sum of the median lags before the deals close."
    )


def _verdicts(checks: list[plan.QuotaCheck], teams: tuple[str, ...], period: dt.date) -> list[Message]:
    short = plan.inconsistent_teams(checks)
    out = []
    for team in teams:
        name = fmt.possessive(fmt.team(team))
        if team in short:
            parts = [
                f"its {metric_label(c.metric)} quota for {c.quota_period:%B %Y} "
                f"({c.quota:,.0f}) covers {c.coverage:.0%} of the {c.needed:,.0f} needed then: a gap "
                f"of {c.gap:,.0f}, about {c.revenue_gap:,.0f} of revenue"
                for c in short[team]
            ]
            # A warning, not an error box: the finding is about the plan, nothing failed.
            text = (
                f"**{name} quota is inconsistent with the shared revenue target** of {period:%B %Y}. "
                "At these rates, " + "; ".join(parts) + "."
            )
            out.append(Message("warning", text, ":material/report:"))
        elif any(c.team == team and c.verdict != plan.NO_TARGET for c in checks):
            text = (
                f"**{name} quotas are consistent with the shared revenue target** "
                f"(each covers at least {1 - plan.TOLERANCE:.0%} of what it needs)."
            )
            out.append(Message("success", text, ":material/check_circle:"))
    return out


def _gap_figures(checks: list[plan.QuotaCheck], teams: tuple[str, ...]) -> list[Figure]:
    binding = plan.binding_quotas(checks)
    out = []
    for team in teams:
        label = f"Gap {fmt.possessive(fmt.team(team))} quotas leave"
        c = binding.get(team)
        if c is None:
            out.append(Figure(label, "no quota set"))
            continue
        out.append(
            Figure(
                label,
                f"{max(c.revenue_gap, 0.0):,.0f}",
                help=f"Revenue of the shared target its tightest quota does not feed: "
                f"{metric_label(c.metric)} of {c.quota_period:%B %Y}, covering "
                f"{c.coverage:.0%} of what is needed.",
            )
        )
    return out


def _checks_caption(checks: list[plan.QuotaCheck], period: dt.date) -> str:
    return (
        f"Verdict: **short** when a quota met exactly covers less than {1 - plan.TOLERANCE:.0%} of "
        f"what the shared revenue target needs, **over** above {1 + plan.TOLERANCE:.0%}, "
        f"**consistent** in between. {period:%B}'s deals come from volume that entered the funnel "
        "earlier, so each quota is the one of the month its stage's volume is due (the month "
        "holding most of the stage's entry window above): "
        + "; ".join(f"{metric_label(c.metric)}: {c.quota_period:%B %Y}" for c in checks)
        + f". Revenue and deals won close in {period:%B %Y} itself. Pipeline needed = "
        "opportunities needed × deal size."
    )


# --- the view -----------------------------------------------------------------------------------


def view(
    period: dt.date,
    as_of: dt.datetime,
    profile_name: str,
    lookback: Filters,
    what_if: qt.WhatIf,
    contract: Contract,
    run: Run | None = None,
    db: Path | None = None,
) -> TargetsView:
    """Everything the Targets page draws for `period` as of `as_of`, paced by the profile named
    `profile_name` (a key of PROFILES), planned from the `lookback` cohort at the `what_if`
    values. Queries are read through run(fn, *args) (default: fn(*args, db=db))."""
    if run is None:

        def run(fn, *args):
            return fn(*args, db=db)

    currencies = run(options.currencies)
    currency = currency_suffix(currencies)
    targets = run(qt.targets_for, period)
    inputs = run(qt.plan_inputs, lookback)
    deal = run(qt.deal_size, lookback)
    n_deals = int(deal["n_deals"].iloc[0])
    the_plan, plan_error = qt.build_plan(targets, inputs, period, what_if)

    # Attainment and pacing.
    share = plan.elapsed_share(*plan.month_bounds(period), as_of, PROFILES.get(profile_name))
    pacing = qt.pacing_table(targets, run(qt.actuals, period, as_of), share, contract, the_plan)
    rev = pacing[(pacing["team"] == targets_mod.SHARED) & (pacing["metric"] == "revenue")].iloc[0]
    gap = rev["gap_to_pace"]
    figures = [
        Figure(
            f"Shared revenue to date{currency}",
            fmt.money(rev["actual"]),
            help="Won deal amounts, first win per deal",
        ),
        Figure(f"Shared revenue target{currency}", fmt.money(rev["target"])),
        Figure(
            f"Expected by today{currency}",
            fmt.money(rev["expected"]),
            delta=None if math.isnan(gap) else f"{gap:+,.0f} vs pace",
        ),
        Figure(
            f"Projected end of month{currency}",
            fmt.money(rev["projected"]),
            help="Run rate so far held to month end",
        ),
    ]
    currency_warning = (
        f"The store's won amounts are in {len(currencies)} currencies "
        f"({', '.join(c or '(none)' for c in currencies)}): "
        "the revenue targets and actuals add them up as they are, with no exchange rate."
        if len(currencies) > 1
        else None
    )
    chart = pacing.dropna(subset=["target"]).copy()
    chart["name"] = chart["team"].map(fmt.team) + " · " + chart["label"]
    shown = _rounded(
        pacing.assign(team=pacing["team"].map(fmt.team)),
        ["target", "actual", "expected", "projected", "gap_to_pace", "gap_to_pace_revenue", "projected_gap"],
    )
    shown["attainment"] = 100 * shown["attainment"]

    v = TargetsView(
        period=period,
        as_of=as_of,
        currency=currency,
        pacing_heading=f"Attainment and pacing, {period:%B %Y}",
        pacing_figures=figures,
        currency_warning=currency_warning,
        pacing_caption=_pacing_caption(share, profile_name),
        share=share,
        pacing=pacing,
        pacing_chart=chart[["name", "attainment", "actual", "target", "status"]],
        pacing_table=shown,
        intro_heading="Reverse waterfall: what the shared revenue target needs",
        intro_caption=_intro_caption(lookback, inputs, n_deals),
        small_deals_warning=(
            f"Only {n_deals} won deals in the look-back window (fewer than {SMALL_GROUP}): "
            "the deal size and rates are uncertain. Choose a longer look-back for a steadier plan."
            if n_deals < SMALL_GROUP
            else None
        ),
        controls=controls(inputs, deal, currency),
        plan=the_plan,
        plan_error=plan_error,
    )
    if the_plan is None:
        return v

    # The reverse waterfall and the quotas held against it. Earlier months' quotas too: the
    # target is held against the quotas of the months its volume is due.
    specs = qt.quota_specs(run(qt.targets_through, period), contract, the_plan)
    checks = plan.check_quotas(the_plan, specs)
    handoff = the_plan.stage(contract.handoff_stage)
    # Expected volumes: whole records, rounded up (nobody wins a fifth of a deal).
    v.plan_figures = [
        Figure(f"Revenue to plan for{currency}", fmt.money(the_plan.revenue_target)),
        Figure(f"Deal size used{currency}", fmt.money(the_plan.deal_size)),
        Figure(
            "Deals needed (expected)",
            f"{math.ceil(the_plan.deals_needed):,}",
            help=f"Target ÷ deal size = {the_plan.deals_needed:,.1f}, rounded up.",
        ),
        Figure(
            f"{handoff.label} entries needed (expected)",
            f"{math.ceil(handoff.n_entries_needed):,}",
            help=f"{handoff.n_entries_needed:,.1f} at the plan's rates, rounded up.",
        ),
    ]
    v.verdicts = _verdicts(checks, contract.teams, period)
    v.gap_figures = _gap_figures(checks, contract.teams)

    wf = qt.plan_table(the_plan, specs, checks)
    v.waterfall = wf
    v.waterfall_chart = wf.assign(
        quota_name=[
            f"{fmt.team(r.quota_team)} quota of {r.quota_period:%b %Y}"
            if r.quota_team
            else "no quota on this stage"
            for r in wf.itertuples()
        ]
    )
    v.waterfall_title = (
        f"Entries needed for {period:%B %Y}'s revenue target vs quotas, each stage on its own scale"
    )
    if wf["is_due_before_period"].any():
        early = ", ".join(wf.loc[wf["is_due_before_period"], "label"])
        v.early_info = (
            f"The lags push these stages' entry windows into earlier months: {early}. The volume "
            f"for {period:%B}'s deals had to enter them before the month began; what entered then is "
            "already the pipeline this month's deals come from."
        )
    wf_shown = _rounded(
        wf.assign(owner=wf["owner"].map(lambda t: fmt.team(t) if t else "")),
        ["n_needed", "n_entries_needed", "quota", "gap"],
    )
    wf_shown["step_rate"] = 100 * wf_shown["step_rate"]
    # A step rate learnt from fewer than 30 leads is flagged (the look-back's count at the stage).
    small = qt.small_rate_stages(inputs)
    wf_shown["small_n"] = [fmt.SMALL_TEXT if k in small else "" for k in wf_shown["stage"]]
    v.waterfall_table = wf_shown

    ct = qt.checks_table(checks)
    v.checks = ct
    ct_shown = _rounded(ct.assign(team=ct["team"].map(fmt.team)), ["quota", "needed", "gap", "revenue_gap"])
    ct_shown["coverage"] = 100 * ct_shown["coverage"]
    v.checks_table = ct_shown
    v.checks_caption = _checks_caption(checks, period)
    return v


@dataclass
class Page:
    """What the page shows when it opens: the view of its default choices and the history of
    that month's target changes."""

    view: TargetsView
    history: pd.DataFrame


def defaults(months: list[dt.date], as_of: dt.datetime) -> tuple[dt.date, int]:
    """The period and the look-back (in months) the page opens on, `months` those with targets:
    the as-of month when it has targets, else the last month with any (qt.default_period);
    DEFAULT_LOOKBACK_MONTHS of leads."""
    return qt.default_period(months, as_of), qt.DEFAULT_LOOKBACK_MONTHS


def page(as_of: dt.datetime, contract: Contract, run: Run) -> Page:
    """The page as of `as_of` on its default choices, the what-if at the observed values;
    `contract` the effective one."""
    period, months_back = defaults(list(run(qt.periods)["period"]), as_of)
    lookback = qt.lookback(as_of, contract.horizon_days, months_back)
    what_if = qt.observed_what_if(run(qt.plan_inputs, lookback), run(qt.deal_size, lookback))
    return Page(
        view=view(period, as_of, DEFAULT_PROFILE, lookback, what_if, contract, run=run),
        history=run(qt.history, period),
    )
