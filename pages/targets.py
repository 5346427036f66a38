"""Targets: each team's quotas and the shared targets, pacing, and the reverse waterfall planner.

Arranges widgets and charts only: the numbers come from queries/targets.py (cached) and the
plan arithmetic from queries/plan.py, so moving a what-if slider recomputes without a query.
Edits go through data/targets.py, which validates them before anything is written.
"""

from __future__ import annotations

import math

import duckdb
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from data import store
from data import targets as targets_mod
from queries import cache, contracts, executor, funnel, options, plan
from queries import targets as qt
from queries.stats import SMALL_GROUP
from reports.format import SMALL_TEXT
from ui import tables
from ui.sections import section
from ui.state import (
    current_filters,
    run_in_frame,
)

run_in_frame()  # a link opened first on a freshly started server still runs in the frame

contract = contracts.current().effective()
filters = current_filters()
# Each section below is drawn once per (as-of date, choices, what-if values, store version and
# targets' version: a saved target is drawn at once, a saved note changes nothing here) and
# replayed for everyone else (ui/sections.py). The sidebar filters do not apply on this page: the
# targets are set for the whole company, so only the as-of date is read from them.
version = executor.store_version(edits=("targets",))
as_of = filters.as_of or cache.call(funnel.latest_event_at)
TEAM_NAMES = {"marketing": "Marketing", "sales": "Sales", "shared": "Shared"}
# Amounts carry their currency in their headings: " (USD)" when the store's won amounts are in one.
currencies = cache.call(options.currencies)
CURRENCY = f" ({currencies[0]})" if len(currencies) == 1 and currencies[0] else ""
MSG_KEY = "targets-message"
MAX_LAG_DAYS = 365.0
# One display format per column: every count and amount with thousands separators in the
# reader's locale (values rounded for display; the CSV keeps them exact).
NUMBER = "localized"
PERCENT = "%.1f%%"  # shares are shown x 100 with one decimal, so every row has the same shape


def wrapped(label: str, width: int = 12) -> str:
    """A stage name broken onto lines for a narrow chart title (plotly wraps nothing itself)."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def team_name(team: str) -> str:
    return TEAM_NAMES.get(team, team.capitalize())


def possessive(team: str) -> str:
    name = team_name(team)
    return name + ("'" if name.endswith("s") else "'s")


def fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.0f}"


# Three lines of text, drawn directly: a section's lookup and replay would cost more than they do.
st.title("Targets")
st.caption(
    "Do Marketing's and Sales' quotas add up to the shared target at the conversion rates and "
    f"lags the funnel really has? Computed as of {as_of:%Y-%m-%d %H:%M} UTC."
)

# --- period and options -------------------------------------------------------------------------
period_df = cache.call(qt.periods)
months = list(period_df["period"])
this_month = as_of.date().replace(day=1)
if not months:
    st.info("No targets are set yet. Add the first one under **Edit targets** below, or import a CSV.")
    months = [this_month]
default_month = this_month if this_month in months else months[-1]

c1, c2, c3 = st.columns([2, 2, 3])
period = c1.selectbox(
    "Period",
    months,
    index=months.index(default_month),
    format_func=lambda d: f"{d:%B %Y}",
    key="targets-period",
)
lookback_months = c2.selectbox(
    "Learn rates from (look-back)",
    qt.LOOKBACK_MONTHS,
    index=qt.LOOKBACK_MONTHS.index(qt.DEFAULT_LOOKBACK_MONTHS),
    format_func=lambda m: f"{m} months of leads",
    key="targets-lookback",
    help="The plan uses the step rates, lags and deal size of the leads that started in these "
    "months, ending one conversion window before the as-of date so every lead has had its full "
    "window to convert.",
)
profile_name = c3.radio(
    "Pace within the month",
    ("Linear (every day counts)", "Working days (weekends count zero)"),
    horizontal=True,
    key="targets-profile",
)

lookback = qt.lookback(as_of, contract.horizon_days, lookback_months)
inputs = cache.call(qt.plan_inputs, lookback)
deal = cache.call(qt.deal_size, lookback).iloc[0]
observed_stages = qt.stage_inputs(inputs)

# --- what-if state: one slider per step rate and lag, one for deal size ---------------------
# Keys carry the look-back so a different window starts from its own observed values.
sig = f"{lookback.start:%Y%m%d}-{lookback.end:%Y%m%d}"
steps = observed_stages[:-1]
rate_keys = {s.key: f"wf-rate-{s.key}-{sig}" for s in steps}
lag_keys = {s.key: f"wf-lag-{s.key}-{sig}" for s in steps}
deal_key = f"wf-deal-{sig}"
observed_deal = 0.0 if math.isnan(deal["avg_amount"]) else float(deal["avg_amount"])
deal_max = float(max(observed_deal * 3, 1000.0))


def observed_values() -> dict[str, float]:
    values = {deal_key: round(observed_deal, -1)}
    for s in steps:
        # Clamped to the sliders' ranges; a missing observation starts at 0 (the plan says so).
        values[rate_keys[s.key]] = min(round(100 * (s.step_rate or 0.0), 1), 100.0)
        values[lag_keys[s.key]] = min(round(s.lag_days or 0.0, 1), MAX_LAG_DAYS)
    return values


def reset_to_observed() -> None:
    st.session_state.update(observed_values())


for key, value in observed_values().items():
    st.session_state.setdefault(key, value)

# The what-if values the plan is drawn from (the sliders further down write them): part of the
# keys of the sections that draw the plan.
what_if = (
    st.session_state[deal_key],
    tuple((k, st.session_state[v]) for k, v in rate_keys.items()),
    tuple((k, st.session_state[v]) for k, v in lag_keys.items()),
)


def build_plan(period, lookback, what_if) -> tuple[plan.Plan | None, str | None]:
    """The reverse waterfall for `period` at the what-if values, or why it cannot be computed.

    Reads only its arguments and the cached queries they name; called inside the sections."""
    deal_size, rates, lags = what_if
    try:
        stages = plan.with_overrides(
            qt.stage_inputs(cache.call(qt.plan_inputs, lookback)),
            rates={k: v / 100 for k, v in rates},
            lags=dict(lags),
        )
        return (
            plan.reverse_waterfall(
                qt.target_value(cache.call(qt.targets_for, period), "shared", "revenue"),
                deal_size,
                stages,
                *plan.month_bounds(period),
            ),
            None,
        )
    except plan.PlanError as exc:
        return None, str(exc)


# --- attainment and pacing ------------------------------------------------------------------
@section
def attainment(period, as_of, profile_name, lookback, what_if, version):
    """Pacing of every target of the month: headline figures, chart and table; returns the table."""
    targets = cache.call(qt.targets_for, period)
    actual = cache.call(qt.actuals, period, as_of)
    profile = plan.working_days if profile_name.startswith("Working") else None
    share = plan.elapsed_share(*plan.month_bounds(period), as_of, profile)
    what_if_plan, _ = build_plan(period, lookback, what_if)
    st.header(f"Attainment and pacing, {period:%B %Y}")
    pacing = qt.pacing_table(targets, actual, share, contract, what_if_plan)
    shared_rev = pacing[(pacing["team"] == "shared") & (pacing["metric"] == "revenue")].iloc[0]
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(
        f"Shared revenue to date{CURRENCY}",
        fmt(shared_rev["actual"]),
        help="Won deal amounts, first win per deal",
    )
    m2.metric(f"Shared revenue target{CURRENCY}", fmt(shared_rev["target"]))
    m3.metric(
        f"Expected by today{CURRENCY}",
        fmt(shared_rev["expected"]),
        delta=None if math.isnan(shared_rev["gap_to_pace"]) else f"{shared_rev['gap_to_pace']:+,.0f} vs pace",
    )
    m4.metric(
        f"Projected end of month{CURRENCY}",
        fmt(shared_rev["projected"]),
        help="Run rate so far held to month end",
    )
    if len(currencies) > 1:
        st.warning(
            f"The store's won amounts are in {len(currencies)} currencies ({', '.join(c or '(none)' for c in currencies)}): "
            "the revenue targets and actuals add them up as they are, with no exchange rate.",
            icon=":material/currency_exchange:",
        )
    st.caption(
        "Whole company: the targets are set for it, so these are the company's numbers. "
        f"{share:.0%} of the month has passed ({profile_name.split(' (')[0].lower()} pace). Expected by "
        "today = target × share of the month passed; projected = actual ÷ that share. Status: "
        f"**behind** below {1 - plan.TOLERANCE:.0%} of expected, **ahead** above "
        f"{1 + plan.TOLERANCE:.0%}, **on pace** in between. Gap in revenue = gap to pace × the "
        "revenue one unit brings at the plan's rates (below). Counts are first entries into a stage "
        "in the month; re-entries never count."
    )

    chart_df = pacing.dropna(subset=["target"]).copy()
    chart_df["name"] = chart_df["team"].map(team_name) + " · " + chart_df["label"]
    fig = go.Figure()
    fig.add_bar(
        y=chart_df["name"],
        x=100 * chart_df["attainment"],
        orientation="h",
        name="Actual, % of target",
        customdata=chart_df[["actual", "target", "status"]].to_numpy(),
        hovertemplate="%{y}<br>actual %{customdata[0]:,.0f} of %{customdata[1]:,.0f}"
        "<br>%{x:.0f}% of target (%{customdata[2]})<extra></extra>",
    )
    fig.add_bar(
        y=chart_df["name"],
        x=[100 * share] * len(chart_df),
        orientation="h",
        name="Expected by today, %",
        hovertemplate="%{y}<br>expected by today: %{x:.0f}% of target<extra></extra>",
    )
    fig.update_layout(
        title=f"Attainment against pace, {period:%B %Y}",
        xaxis_title="% of the month's target",
        yaxis={"autorange": "reversed"},
        barmode="group",
        height=120 + 40 * len(chart_df),
        legend={"orientation": "h", "y": -0.2},
    )
    st.plotly_chart(fig, width="stretch")

    number_columns = [
        "target",
        "actual",
        "expected",
        "projected",
        "gap_to_pace",
        "gap_to_pace_revenue",
        "projected_gap",
    ]
    pacing_view = pacing.assign(team=pacing["team"].map(team_name))
    pacing_view[number_columns] = pacing_view[number_columns].round(0)
    pacing_view["attainment"] = 100 * pacing_view["attainment"]
    tables.show(
        pacing_view,
        hide_index=True,
        fit=True,
        raw=True,  # formatted here: every count and amount localized, missing gaps blank
        # The verdict first: whole at 1280 px, the gaps after it.
        column_order=[
            "team",
            "label",
            "status",
            "attainment",
            "actual",
            "target",
            "expected",
            "projected",
            "gap_to_pace",
            "gap_to_pace_revenue",
            "projected_gap",
        ],
        column_config={
            "team": "Team",
            "label": "Metric",
            "target": st.column_config.NumberColumn("Target", format=NUMBER),
            "actual": st.column_config.NumberColumn("Actual to date", format=NUMBER),
            "attainment": st.column_config.NumberColumn("Attained", format=PERCENT),
            "expected": st.column_config.NumberColumn("Expected by today", format=NUMBER),
            "projected": st.column_config.NumberColumn("Projected", format=NUMBER),
            "status": "Status",
            "gap_to_pace": st.column_config.NumberColumn("Gap to pace (units)", format=NUMBER),
            "gap_to_pace_revenue": st.column_config.NumberColumn(
                f"Gap to pace (revenue{', ' + currencies[0] if CURRENCY else ''})", format=NUMBER
            ),
            "projected_gap": st.column_config.NumberColumn("Projected vs target", format=NUMBER),
        },
    )
    return pacing


pacing = attainment(period, as_of, profile_name, lookback, what_if, version)
tables.download(pacing, f"pacing-{period:%Y-%m}.csv")


# --- reverse waterfall ------------------------------------------------------------------------
@section
def waterfall_intro(lookback, version) -> None:
    """What the plan learns from (the look-back cohort), warned when it has few won deals."""
    inputs = cache.call(qt.plan_inputs, lookback)
    deal = cache.call(qt.deal_size, lookback).iloc[0]
    st.header("Reverse waterfall: what the shared revenue target needs")
    st.caption(
        f"Rates, lags and deal size observed on the leads that started {lookback.start:%d %b %Y} – "
        f"{lookback.end:%d %b %Y} ({int(inputs['n_reached'].iloc[0]):,} leads, "
        f"{int(deal['n_deals']):,} won deals, the whole company). Deals "
        "needed = target ÷ deal size; each stage needs the next stage's volume ÷ its step rate. "
        "Part of a stage's volume arrives as skips (for example Sales-sourced leads that start "
        "later in the funnel): a quota counts entries, so it is held against the entries needed. "
        "Each stage must be entered the sum of the median lags before the deals close."
    )
    if int(deal["n_deals"]) < SMALL_GROUP:
        st.warning(
            f"Only {int(deal['n_deals'])} won deals in the look-back window (fewer than {SMALL_GROUP}): "
            "the deal size and rates are uncertain. Choose a longer look-back for a steadier plan."
        )


waterfall_intro(lookback, version)

with st.expander("What-if: step rates, deal size and lags (start at the observed values)", expanded=True):
    st.button("Reset to observed", on_click=reset_to_observed, key="wf-reset", icon=":material/restart_alt:")
    deal_help = f"Observed mean {observed_deal:,.0f} over {int(deal['n_deals'])} deals"
    if not math.isnan(deal["low"]):
        deal_help += f" (95% interval {deal['low']:,.0f} – {deal['high']:,.0f})"
    st.slider(
        f"Average deal size{CURRENCY or ' (deal currency)'}",
        0.0,
        deal_max,
        step=100.0,
        format=NUMBER,
        key=deal_key,
        help=deal_help,
    )
    st.caption(deal_help)
    by_stage = inputs.set_index("stage")
    for s, nxt in zip(steps, observed_stages[1:], strict=False):
        row = by_stage.loc[s.key]
        rc, lc = st.columns(2)
        rate_help = (
            f"Observed {100 * row['next_rate']:.1f}% (95% interval {100 * row['next_low']:.1f} – "
            f"{100 * row['next_high']:.1f}%; {int(row['n_reached']):,} leads reached {s.label})"
            if not math.isnan(row["next_rate"])
            else "Not observed: no lead reached this stage in the look-back window"
        )
        rc.slider(
            f"{s.label} → {nxt.label}, step rate (%)",
            0.0,
            100.0,
            step=0.1,
            format="%.1f%%",
            key=rate_keys[s.key],
        )
        rc.caption(rate_help)
        lag_help = (
            f"Observed median {row['lag_median_days']:.1f} days (p75 {row['lag_p75_days']:.1f}, "
            f"p90 {row['lag_p90_days']:.1f}; {int(row['lag_n']):,} leads)"
            if not math.isnan(row["lag_median_days"])
            else "Not observed: no lead made this move in the look-back window"
        )
        lc.slider(
            f"{s.label} → {nxt.label}, median lag (days)",
            0.0,
            MAX_LAG_DAYS,
            step=0.5,
            format="%.1f days",
            key=lag_keys[s.key],
        )
        lc.caption(lag_help)


@section
def waterfall(period, lookback, what_if, version):
    """The plan: its figures, each team's verdict, the gap chart and the stage table; returns the
    table for the download (None when the plan cannot be computed, with the reason shown)."""
    what_if_plan, plan_error = build_plan(period, lookback, what_if)
    if plan_error:
        st.warning(f"The plan cannot be computed: {plan_error}", icon=":material/error:")
        return None
    quotas_through = cache.call(qt.targets_through, period)
    specs = qt.quota_specs(quotas_through, contract, what_if_plan)
    checks = plan.check_quotas(what_if_plan, specs)
    short = plan.inconsistent_teams(checks)
    handoff = what_if_plan.stage(contract.handoff_stage)
    w1, w2, w3, w4 = st.columns(4)
    w1.metric(f"Revenue to plan for{CURRENCY}", fmt(what_if_plan.revenue_target))
    w2.metric(f"Deal size used{CURRENCY}", fmt(what_if_plan.deal_size))
    # Expected volumes: whole records, rounded up (nobody wins a fifth of a deal).
    w3.metric(
        "Deals needed (expected)",
        f"{math.ceil(what_if_plan.deals_needed):,}",
        help=f"Target ÷ deal size = {what_if_plan.deals_needed:,.1f}, rounded up.",
    )
    w4.metric(
        f"{handoff.label} entries needed (expected)",
        f"{math.ceil(handoff.n_entries_needed):,}",
        help=f"{handoff.n_entries_needed:,.1f} at the plan's rates, rounded up.",
    )

    for team in contract.teams:
        if team in short:
            parts = [
                f"its {targets_mod.METRICS[c.metric].label} quota for {c.quota_period:%B %Y} "
                f"({c.quota:,.0f}) covers {c.coverage:.0%} of the {c.needed:,.0f} needed then: a gap "
                f"of {c.gap:,.0f}, about {c.revenue_gap:,.0f} of revenue"
                for c in short[team]
            ]
            # A warning, not an error box: the finding is about the plan, nothing failed.
            st.warning(
                f"**{possessive(team)} quota is inconsistent with the shared revenue target** "
                f"of {period:%B %Y}. "
                f"At these rates, " + "; ".join(parts) + ".",
                icon=":material/report:",
            )
        else:
            team_checks = [c for c in checks if c.team == team and c.verdict != plan.NO_TARGET]
            if team_checks:
                st.success(
                    f"**{possessive(team)} quotas are consistent with the shared revenue target** "
                    f"(each covers at least {1 - plan.TOLERANCE:.0%} of what it needs).",
                    icon=":material/check_circle:",
                )

    binding = plan.binding_quotas(checks)
    gap_cols = st.columns(len(contract.teams))
    for col, team in zip(gap_cols, contract.teams, strict=True):
        c = binding.get(team)
        if c is None:
            col.metric(f"Gap {possessive(team)} quotas leave", "no quota set")
            continue
        col.metric(
            f"Gap {possessive(team)} quotas leave",
            f"{max(c.revenue_gap, 0.0):,.0f}",
            help=f"Revenue of the shared target its tightest quota does not feed: "
            f"{targets_mod.METRICS[c.metric].label} of {c.quota_period:%B %Y}, covering "
            f"{c.coverage:.0%} of what is needed.",
        )

    wf = qt.plan_table(what_if_plan, specs, checks)
    # One small chart per stage, each on its own linear axis: a shared axis would make the won
    # deals (tens) invisible next to the leads (thousands), and a log axis hides the size of a gap.
    fig = make_subplots(
        rows=1, cols=len(wf), subplot_titles=[wrapped(x) for x in wf["label"]], horizontal_spacing=0.05
    )
    for i, r in enumerate(wf.itertuples(), start=1):
        quota_name = (
            f"{team_name(r.quota_team)} quota of {r.quota_period:%b %Y}"
            if r.quota_team
            else "no quota on this stage"
        )
        fig.add_bar(
            x=["Needed"],
            y=[r.n_entries_needed],
            name="Entries needed",
            legendgroup="needed",
            showlegend=i == 1,
            marker_color="#4c78a8",
            hovertemplate=f"{r.label}<br>entries needed %{{y:,.0f}} (volume incl. skips {r.n_needed:,.0f})"
            f"<br>must enter {r.enter_from:%d %b %Y} – {r.enter_by:%d %b %Y}<extra></extra>",
            row=1,
            col=i,
        )
        fig.add_bar(
            x=["Quota"],
            y=[r.quota],
            name="Quota of the month the stage is due",
            legendgroup="quota",
            showlegend=i == 1,
            marker_color="#f58518",
            hovertemplate=f"{r.label}<br>{quota_name}: %{{y:,.0f}}<extra></extra>",
            row=1,
            col=i,
        )
    fig.update_yaxes(rangemode="tozero", tickformat=",.0f")
    fig.update_yaxes(title_text="Entries (leads or deals)", row=1, col=1)
    fig.update_layout(
        title=f"Entries needed for {period:%B %Y}'s revenue target vs quotas, each stage on its own scale",
        legend={"orientation": "h", "y": -0.15},
        height=400,
        margin={"t": 110},
    )
    fig.update_annotations(font_size=12)  # the stage names above the small charts
    st.plotly_chart(fig, width="stretch")
    if wf["is_due_before_period"].any():
        early = ", ".join(wf.loc[wf["is_due_before_period"], "label"])
        st.info(
            f"The lags push these stages' entry windows into earlier months: {early}. The volume "
            f"for {period:%B}'s deals had to enter them before the month began; what entered then is "
            "already the pipeline this month's deals come from."
        )
    wf_view = wf.assign(owner=wf["owner"].map(lambda t: team_name(t) if t else ""))
    wf_view[["n_needed", "n_entries_needed", "quota", "gap"]] = wf_view[
        ["n_needed", "n_entries_needed", "quota", "gap"]
    ].round(0)
    wf_view["step_rate"] = 100 * wf_view["step_rate"]
    # A step rate learnt from fewer than 30 leads is flagged (the look-back's count at the stage).
    reached = cache.call(qt.plan_inputs, lookback).set_index("stage")["n_reached"]
    wf_view["small_n"] = [
        SMALL_TEXT
        if k in reached.index and reached[k] < SMALL_GROUP and k != wf_view["stage"].iloc[-1]
        else ""
        for k in wf_view["stage"]
    ]
    st.dataframe(
        wf_view,
        hide_index=True,
        width="stretch",
        column_order=[
            "label",
            "owner",
            "step_rate",
            "lag_days",
            "n_needed",
            "n_entries_needed",
            "quota_period",
            "quota",
            "gap",
            "enter_from",
            "enter_by",
            "is_due_before_period",
            "small_n",
        ],
        column_config={
            "label": "Stage",
            "owner": "Moves it on",
            "step_rate": st.column_config.NumberColumn("Step rate to next", format=PERCENT),
            "lag_days": st.column_config.NumberColumn("Median lag to next (days)", format="%.1f"),
            "n_needed": st.column_config.NumberColumn("Volume needed (incl. skips)", format=NUMBER),
            "n_entries_needed": st.column_config.NumberColumn("Entries needed", format=NUMBER),
            "quota_period": st.column_config.DateColumn("Quota of", format="MMM YYYY"),
            "quota": st.column_config.NumberColumn("Quota", format=NUMBER),
            "gap": st.column_config.NumberColumn("Gap (needed − quota)", format=NUMBER),
            "enter_from": st.column_config.DateColumn("Enter from"),
            "enter_by": st.column_config.DateColumn("Enter by"),
            "is_due_before_period": st.column_config.CheckboxColumn("Due before the month"),
            "small_n": "Step rate small n (<30)",
        },
    )
    return wf


@section
def quota_check(period, lookback, what_if, version):
    """Each quota against what the shared revenue target needs of it; returns the table."""
    what_if_plan, _ = build_plan(period, lookback, what_if)
    # Earlier months' quotas too: the target is held against the quotas of the months its volume is due.
    specs = qt.quota_specs(cache.call(qt.targets_through, period), contract, what_if_plan)
    checks = plan.check_quotas(what_if_plan, specs)
    ct = qt.checks_table(checks)
    st.subheader("Quotas against the shared revenue target")
    ct_view = ct.assign(team=ct["team"].map(team_name))
    ct_view[["quota", "needed", "gap", "revenue_gap"]] = ct_view[
        ["quota", "needed", "gap", "revenue_gap"]
    ].round(0)
    ct_view["coverage"] = 100 * ct_view["coverage"]
    st.dataframe(
        ct_view,
        hide_index=True,
        width="stretch",
        column_order=[
            "team",
            "label",
            "quota_period",
            "quota",
            "target_period",
            "needed",
            "coverage",
            "gap",
            "revenue_gap",
            "verdict",
        ],
        column_config={
            "team": "Team",
            "label": "Quota",
            "quota_period": st.column_config.DateColumn("Quota of", format="MMM YYYY"),
            "quota": st.column_config.NumberColumn("Quota", format=NUMBER),
            "target_period": st.column_config.DateColumn("Held against the target of", format="MMM YYYY"),
            "needed": st.column_config.NumberColumn("Needed by the shared target", format=NUMBER),
            "coverage": st.column_config.NumberColumn("Covers", format=PERCENT),
            "gap": st.column_config.NumberColumn("Gap (units)", format=NUMBER),
            "revenue_gap": st.column_config.NumberColumn("Gap (revenue)", format=NUMBER),
            "verdict": "Verdict",
        },
    )
    st.caption(
        f"Verdict: **short** when a quota met exactly covers less than {1 - plan.TOLERANCE:.0%} of "
        f"what the shared revenue target needs, **over** above {1 + plan.TOLERANCE:.0%}, "
        f"**consistent** in between. {period:%B}'s deals come from volume that entered the funnel "
        "earlier, so each quota is the one of the month its stage's volume is due (the month "
        "holding most of the stage's entry window above): "
        + "; ".join(f"{targets_mod.METRICS[c.metric].label}: {c.quota_period:%B %Y}" for c in checks)
        + f". Revenue and deals won close in {period:%B %Y} itself. Pipeline needed = "
        "opportunities needed × deal size."
    )
    return ct


wf = waterfall(period, lookback, what_if, version)
if wf is not None:
    tables.download(wf, f"reverse-waterfall-{period:%Y-%m}.csv")
    ct = quota_check(period, lookback, what_if, version)
    tables.download(ct, f"quota-check-{period:%Y-%m}.csv")

# --- edit targets -----------------------------------------------------------------------------
st.header("Edit targets")
CHOICES = [(team, metric) for team, metrics in targets_mod.TEAM_METRICS.items() for metric in metrics]
form_months = sorted({*months, *(plan.add_months(this_month, i) for i in range(0, 13))})


# What a write can meet besides an invalid value: another save holding the team's edits file,
# a file that cannot be read, no store at all, or the database refusing. Each is told as what
# happened and what to do, never raised. Targets are saved beside the store (data/edits.py), so
# an import never makes them wait.
STORE_ERRORS = (
    store.StoreLockedError,
    store.StoreDamagedError,
    executor.StoreBusyError,
    executor.StoreMissingError,
    FileNotFoundError,
    duckdb.Error,
)


def store_problem(exc: Exception) -> str:
    """A write that failed for the store's sake: what happened and what to do (no file paths)."""
    if isinstance(exc, store.StoreLockedError | executor.StoreBusyError):
        return (
            "the targets are being rewritten by another save right now. Nothing was written: "
            "try again in a moment."
        )
    if isinstance(exc, store.StoreDamagedError):
        return (
            "the file that keeps the team's targets and notes cannot be read (it is damaged or not a "
            "DuckDB file). Nothing was written: ask whoever runs the dashboard to restore the copy "
            "kept beside it (docs/deploy.md, section 5), then try again."
        )
    if isinstance(exc, FileNotFoundError | executor.StoreMissingError):
        return (
            "there is no data store to write to. Nothing was written: build or import the data first "
            "(Data page, or python -m data.store sample), then try again."
        )
    return (
        f"the database refused the write ({type(exc).__name__}). Nothing was written: try again; if "
        "it happens again, ask whoever runs the dashboard to check the store file."
    )


def save_target() -> None:
    team, metric = st.session_state["tf-choice"]
    try:
        changed = targets_mod.set_target(
            st.session_state["tf-period"],
            team,
            metric,
            st.session_state["tf-value"],
            st.session_state["tf-by"],
        )
    except targets_mod.TargetError as exc:
        st.session_state[MSG_KEY] = ("error", f"Not saved: {exc}. Nothing was written.")
        return
    except STORE_ERRORS as exc:
        st.session_state[MSG_KEY] = ("error", f"Not saved: {store_problem(exc)}")
        return
    label = targets_mod.METRICS[metric].label
    st.session_state[MSG_KEY] = (
        "success",
        f"Saved {team_name(team)} · {label} for {st.session_state['tf-period']:%B %Y}."
        if changed
        else "That target already had this value: nothing changed.",
    )


def import_targets() -> None:
    upload = st.session_state.get("tf-csv")
    if upload is None:
        st.session_state[MSG_KEY] = ("error", "Choose a CSV file first (columns period,team,metric,value).")
        return
    try:
        n = targets_mod.import_csv(upload.getvalue(), st.session_state["tf-csv-by"])
    except targets_mod.TargetError as exc:
        # The problems quote the file's cells: shown as plain text, never as markdown.
        st.session_state[MSG_KEY] = ("error", "Import refused: nothing was written.", str(exc))
        return
    except STORE_ERRORS as exc:
        st.session_state[MSG_KEY] = ("error", f"Not imported: {store_problem(exc)}")
        return
    st.session_state[MSG_KEY] = ("success", f"Imported the file: {n} target(s) changed.")


message = st.session_state.pop(MSG_KEY, None)
if message:
    (st.error if message[0] == "error" else st.success)(message[1])
    if len(message) > 2:
        st.text(message[2])

fc, ic = st.columns(2)
with fc, st.form("target-form"):
    st.markdown("**Set one target**")
    st.selectbox(
        "Month",
        form_months,
        index=form_months.index(period),
        format_func=lambda d: f"{d:%B %Y}",
        key="tf-period",
    )
    st.selectbox(
        "Target",
        CHOICES,
        format_func=lambda c: f"{team_name(c[0])} · {targets_mod.METRICS[c[1]].label}",
        key="tf-choice",
    )
    st.number_input("Value", value=0.0, step=1.0, format="%.0f", key="tf-value")
    st.text_input("Your name (recorded in the history)", max_chars=targets_mod.MAX_NAME, key="tf-by")
    st.form_submit_button("Save target", on_click=save_target)
with ic, st.form("target-import"):
    st.markdown("**Import targets from CSV**")
    st.caption(
        "Columns period,team,metric,value; period as 2026-10 or 2026-10-01. Every row is checked "
        "first: one bad row refuses the whole file and nothing is written."
    )
    st.file_uploader("CSV file", type=["csv"], key="tf-csv")
    st.text_input("Your name (recorded in the history)", max_chars=targets_mod.MAX_NAME, key="tf-csv-by")
    st.form_submit_button("Import", on_click=import_targets)
with ic:
    # This month's targets in the import format: a template to edit and upload again.
    tables.download(
        lambda period=period: cache.call(qt.targets_for, period)[["period", "team", "metric", "value"]],
        f"targets-{period:%Y-%m}.csv",
        label="Download this month's targets as a CSV template",
        key="targets-template",
    )


@section
def history(period, version) -> bool:
    """Target changes of the month (every month when `period` is None); returns whether any."""
    hist = cache.call(qt.history, period)
    if hist.empty:
        st.caption("No changes recorded for this month.")
    else:
        st.dataframe(
            hist.assign(
                team=hist["team"].map(team_name),
                metric=hist["metric"].map(
                    lambda m: targets_mod.METRICS[m].label if m in targets_mod.METRICS else m
                ),
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "set_at": st.column_config.DatetimeColumn("Changed at (UTC)", format="YYYY-MM-DD HH:mm"),
                "set_by": "By",
                "period": st.column_config.DateColumn("Month", format="MMM YYYY"),
                "team": "Team",
                "metric": "Metric",
                "old_value": st.column_config.NumberColumn("Old value", format=NUMBER),
                "new_value": st.column_config.NumberColumn("New value", format=NUMBER),
            },
        )
    return not hist.empty


st.subheader("History of target changes")
all_periods = st.toggle("All months", value=False, key="targets-history-all")
history_period = None if all_periods else period
if history(history_period, version):
    tables.download(lambda p=history_period: cache.call(qt.history, p), "target-history.csv")
