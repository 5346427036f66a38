"""Funnel health, the leadership view: is the funnel healthy, and where does it leak?

Headline figures against the previous period (with the win rate where the data records
outcomes), the funnel of the store's own stages, monthly cohorts, the conversion trend, time
between stages and a breakdown by one attribute with win rates. Cohort view by default; the
flow view (entries during the range) when the sidebar says so. Stages the data never records
are shown as such and never counted. Filters come from the frame, or defaults when opened alone.
"""

import dataclasses
import datetime as dt

import streamlit as st

from queries import cache, contracts, executor, funnel, options
from queries.filters import ATTRIBUTES
from ui import charts, glossary, headline, tables
from ui.sections import section
from ui.state import current_filters, current_view

filters = current_filters()
# The contract as the view's grain sees it: every stage for leads, the opportunity's own stages
# for opportunities.
contract = funnel.grain_view(filters, contracts.current())
view = current_view()
# Each section below is drawn once per (filters, choices, store version) and replayed for
# everyone else (ui/sections.py).
version = executor.store_version()
as_of = filters.as_of or cache.call(funnel.latest_event_at)
window = filters.window(contract)
tracked = contract.tracked_stages or contract.stages
untracked = [s.label for s in contract.stages if not contract.is_tracked(s.key)]
stage_labels = [s.label for s in tracked]
first_label, last_label = stage_labels[0], stage_labels[-1]
handoff = contract.handoff if contract.handoff_stage and contract.is_tracked(contract.handoff_stage) else None
range_text = f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y}"
as_of_text = (
    f"As of {as_of:%d %b %Y} (end of day, set in the sidebar)"
    if filters.as_of
    else f"As of {as_of:%d %b %Y %H:%M} UTC (latest event in the store)"
)
rate_choices = {}
for k, s in enumerate(tracked[1:], start=1):
    rate_choices[("overall", s.key)] = f"{first_label} → {s.label} (overall)"
    rate_choices[("step", s.key)] = f"{tracked[k - 1].label} → {s.label} (step)"

st.title("Funnel health")
st.caption(
    f"{as_of_text} · "
    + (
        f"cohort: leads who started {range_text} · {glossary.window_phrase(window)} · "
        f"skip policy {filters.policy(contract)}"
        if view == "cohort"
        else f"flow: stage entries during {range_text}, whoever the leads are"
    )
    + " · counting rules in the sidebar"
)
if untracked:
    st.caption(
        ":material/visibility_off: Not recorded in this data: "
        + ", ".join(untracked)
        + ". No event records these stages, so they are never counted or filled in; rates run "
        "between the stages the data records."
    )


@section
def cohort_headline(filters, version) -> None:
    """The headline figures against the previous period, with the noise verdicts, and the
    outcomes behind the win rate."""
    comparison = cache.call(funnel.compare_periods, filters).set_index("metric")
    outcome = cache.call(funnel.outcomes, filters)
    won_money = cache.call(funnel.revenue, filters)
    policy = filters.policy(contract)
    helps = {
        "leads": glossary.cohort(contract, window),
        "mqls": glossary.reached(contract, policy),
        "won": glossary.reached(contract, policy),
        "revenue": glossary.revenue(contract),
        "win_rate": glossary.win_rate(contract) + " " + glossary.wilson(),
        "overall_rate": glossary.overall_rate(contract) + " " + glossary.wilson(),
        "mql_rate": glossary.step_rate() + " " + glossary.wilson(),
    }
    several = len(comparison.attrs.get("currencies", [])) > 1
    # Two rows of at most four figures, so each label and value is whole at 1280 px: the counts
    # (and revenue) first, then the rates and the time to win.
    counts = [k for k in ("leads", "mqls", "won", "revenue") if k in comparison.index]
    if several:
        counts.append("revenue_by_currency")
    rates = [k for k in ("win_rate", "mql_rate", "overall_rate") if k in comparison.index]
    times = cache.call(funnel.time_to_win, filters)
    if times and times["n"]:
        rates.append("time_to_win")
    for keys in (counts, rates):
        for column, key in zip(st.columns(4), keys, strict=False):
            with column:
                if key == "revenue_by_currency":
                    st.metric(
                        "Revenue per currency",
                        headline.fmt_amounts(funnel.revenue_by_currency(won_money)),
                        help=glossary.revenue(contract),
                        border=True,
                    )
                    st.caption("amounts in different currencies are never added up")
                elif key == "time_to_win":
                    st.metric(
                        f"Median days to {contract.stages[-1].label}",
                        f"{times['median']:.1f}",
                        help=glossary.stage_time(),
                        border=True,
                    )
                    st.caption(
                        f"p75 {times['p75']:.1f} · p90 {times['p90']:.1f} days · {times['n']:,} records"
                        + (" · small group" if times["n"] < 30 else "")
                    )
                else:
                    _headline_metric(comparison, key, helps)
    _outcome_caption(filters, outcome, comparison)


def _headline_metric(comparison, key: str, helps: dict) -> None:
    """One headline figure with its change against the previous period and the noise verdict."""
    row = comparison.loc[key]
    currency = _currency(comparison, key)
    label = f"{row['label']} ({currency})" if currency else row["label"]
    p_value = (
        row["p_value"] if row["kind"] == "rate" else headline.count_change_p(row["current"], row["previous"])
    )
    st.metric(
        label,
        headline.fmt_value(row["current"], row["kind"]),
        delta=headline.fmt_change(row["change"], row["change_pct"], row["kind"]),
        help=helps.get(key, "") + "\n\n" + glossary.noise(),
        border=True,
    )
    if comparison.attrs.get("previous_before_data"):
        first = comparison.attrs.get("first_start")
        st.caption(
            f"no comparison: the previous {filters.n_days} days begin before the store's first "
            + (f"data ({first:%d %b %Y})" if first else "data")
        )
    else:
        st.caption(
            f"vs {headline.fmt_value(row['previous'], row['kind'])} in the previous {filters.n_days} days · "
            + headline.noise_verdict(row["kind"], p_value, bool(row["is_small"]))
        )


def _outcome_caption(filters, outcome, comparison) -> None:
    """The outcomes behind the win rate, and the immaturity note."""
    o = outcome.iloc[0]
    if outcome.attrs.get("is_recorded"):
        lo, hi = headline.fmt_value(o["win_low"], "rate"), headline.fmt_value(o["win_high"], "rate")
        text = (
            f"Outcomes of this cohort: **{o['n_won']:,} won**, **{o['n_lost']:,} lost** "
            f"(win rate {headline.fmt_value(o['win_rate'], 'rate')}, 95% CI {lo}–{hi}"
            + (", small group" if o["is_small"] else "")
            + f"), {o['n_open']:,} still open"
        )
    else:
        text = (
            f"Outcomes of this cohort: {o['n_won']:,} won, {o['n_open']:,} still open. No win rate: "
            "the data does not record lost deals, so won ÷ (won + lost) cannot be computed"
        )
    extras = []
    if o["n_other_exit"]:
        extras.append(f"{o['n_other_exit']:,} left by another exit")
    if o["n_after_window"]:
        extras.append(f"{o['n_after_window']:,} won or lost only after the window")
    st.caption(text + (" · " + ", ".join(extras) if extras else "") + ".")
    undated = cache.call(funnel.undated_open)
    if len(undated):
        st.caption(
            f"Besides this cohort, {int(undated['n_records'].sum()):,} open records have no date at all "
            "(undated open pipeline): they belong to no range and are counted apart."
        )
    if not comparison.attrs.get("is_mature_current", True):
        if window is None:
            st.caption(
                ":material/hourglass_top: With no conversion window this cohort stays open while "
                "any of its leads is in progress: its won and revenue figures can still rise."
            )
        else:
            window_end = filters.end + dt.timedelta(days=window + 1)
            st.caption(
                f":material/hourglass_top: This cohort is immature until {window_end:%d %b %Y}: leads "
                "still in progress can convert, so its later-stage, won and revenue figures can still "
                "rise. The previous period has had longer to convert, which alone makes later stages "
                "look lower now."
            )


def _currency(comparison, key: str) -> str:
    currencies = comparison.attrs.get("currencies") or []
    return currencies[0] if key == "revenue" and len(currencies) == 1 else ""


@section
def cohort_funnel(filters, version):
    """The funnel chart of the recorded stages, marked when immature; returns its table."""
    funnel_df = cache.call(funnel.cohort_funnel, filters)
    mature = bool(funnel_df.attrs.get("is_mature", False))
    st.subheader(
        "Funnel",
        help=glossary.cohort(contract, window)
        + "\n\n"
        + glossary.step_rate()
        + " "
        + glossary.overall_rate(contract)
        + "\n\n"
        + glossary.wilson()
        + "\n\n"
        + glossary.dropped(contract, window),
    )
    if not mature:
        st.warning(glossary.immature(contract, window), icon=":material/hourglass_top:")
    shown = funnel_df[funnel_df["tracked"]]
    st.plotly_chart(
        charts.funnel_figure(shown, f"Cohort funnel: leads who started {range_text}", mature),
        key="funnel_chart",
    )
    table = funnel_df.drop(columns=["stage_order"]).rename(columns=tables.FUNNEL_COLUMNS)
    table["Recorded in the data"] = funnel_df["tracked"].map({True: "yes", False: "not recorded"})
    return table.drop(columns=[tables.FUNNEL_COLUMNS["tracked"]])


@section
def monthly_cohorts(filters, version):
    """One row per month the leads started: their funnel and outcomes; returns the table."""
    months = cache.call(funnel.breakdown, filters, funnel.MONTH)
    outcome = cache.call(funnel.outcomes, filters, funnel.MONTH)
    table = tables.monthly_cohorts(months, outcome, stage_labels, window, as_of)
    st.subheader(
        "Monthly cohorts",
        help="The cohort split by the month its leads started. "
        + glossary.immature(contract, window)
        + " "
        + glossary.win_rate(contract),
    )
    if table.empty:
        st.info("No leads started in this period with these filters.")
        return table
    tables.show(table, hide_index=True, column_config=tables.percent_columns(table))
    return table


@section
def conversion_trend(filters, choice, grain, version):
    """A year of the chosen rate by month or week of start; returns its table (None if empty)."""
    trend_table = None
    # A year of context ending with the range, so a short range still shows a trend.
    trend_filters = dataclasses.replace(
        filters, start=min(filters.start, filters.end - dt.timedelta(days=364))
    )
    trend_df = cache.call(funnel.trend, trend_filters, grain or "month")
    kind, stage_key = choice
    series = charts.trend_series(trend_df, stage_key, kind)
    if series.empty:
        st.info("No leads started in this period with these filters.")
    else:
        st.plotly_chart(
            charts.trend_figure(
                series,
                f"{kind}_rate",
                rate_choices[choice],
                grain or "month",
                f"{rate_choices[choice]} by {grain} of start, 12 months to {filters.end:%d %b %Y}",
            ),
            key="trend_chart",
        )
        st.caption(
            "Dotted line, hollow markers and the shaded band: immature periods whose "
            f"window is still open on the as-of date ({glossary.window_phrase(window)}). Their "
            "rates are not final and usually rise; compare final periods with each other. "
            "Whiskers: 95% Wilson interval."
        )
        trend_table = series[
            [
                "period_start",
                "period_end",
                "label",
                "n_base",
                "n_reached",
                f"{kind}_rate",
                "is_mature",
                "is_small",
            ]
        ]
    return trend_table


@section
def stage_times(filters, version):
    """Days between recorded stages as a chart and a table; returns the table (None if no moves)."""
    times_table = None
    st.subheader("Time between stages", help=glossary.stage_time())
    times = cache.call(funnel.stage_times, filters)
    if times["n_leads"].sum() == 0:
        st.info("No lead in this cohort has moved between stages yet.")
    else:
        st.plotly_chart(
            charts.times_figure(times, contract, f"Days between stages, leads who started {range_text}"),
            key="times_chart",
        )
        total = times.iloc[-1]
        if total["n_leads"]:
            st.caption(
                f"Median days from {first_label} to {last_label}: **{total['median_days']:.1f}** "
                f"(p75 {total['p75_days']:.1f}, p90 {total['p90_days']:.1f}; {int(total['n_leads']):,} leads)"
                + (" · small group" if total["n_leads"] < 30 else "")
            )
        times_table = times[["label", "n_leads", "median_days", "p75_days", "p90_days"]]
        tables.show(
            times_table,
            hide_index=True,
            column_config={
                "label": "Move",
                "n_leads": st.column_config.NumberColumn("Leads that moved", format="%d"),
                "median_days": st.column_config.NumberColumn("Median days", format="%.1f"),
                "p75_days": st.column_config.NumberColumn("p75 days", format="%.1f"),
                "p90_days": st.column_config.NumberColumn("p90 days", format="%.1f"),
            },
        )
    return times_table


@section
def flow_view(filters, version):
    """The flow metrics against the previous period and the flow chart; returns its table."""
    st.info(glossary.flow(), icon=":material/swap_horiz:")
    flow_now = cache.call(funnel.flow_funnel, filters)
    flow_before = cache.call(funnel.flow_funnel, filters.previous())
    keys = list(dict.fromkeys([tracked[0].key, *([handoff.key] if handoff else []), tracked[-1].key]))
    now_by, before_by = flow_now.set_index("stage"), flow_before.set_index("stage")
    figures = [
        (
            f"{contract.stage(k).label} entries",
            int(now_by.loc[k, "n_entries"]),
            int(before_by.loc[k, "n_entries"]),
        )
        for k in keys
    ]
    columns = st.columns(len(figures) + 1)
    for column, (label, cur, prev) in zip(columns, figures, strict=False):
        with column:
            change_pct = (cur - prev) / prev if prev else float("nan")
            st.metric(
                label,
                headline.fmt_value(cur, "count"),
                delta=headline.fmt_change(cur - prev, change_pct, "count"),
                help=glossary.flow() + "\n\n" + glossary.noise(),
                border=True,
            )
            st.caption(
                f"vs {prev:,} in the previous {filters.n_days} days · "
                + headline.noise_verdict("count", headline.count_change_p(cur, prev), min(cur, prev) < 30)
            )
    with columns[-1]:
        revenue_now = float(flow_now["revenue"].iloc[-1] or 0)
        revenue_before = float(flow_before["revenue"].iloc[-1] or 0)
        st.metric(
            "Revenue won in the range",
            headline.fmt_amount(revenue_now),
            delta=headline.fmt_change(
                revenue_now - revenue_before,
                (revenue_now - revenue_before) / revenue_before if revenue_before else float("nan"),
                "amount",
            ),
            help="Deal amounts of every deal won during the range, whenever its lead started.",
            border=True,
        )
        st.caption(
            f"vs {headline.fmt_amount(revenue_before)} in the previous {filters.n_days} days · "
            + headline.noise_verdict("amount", 0, False)
        )
    st.subheader("Flow", help=glossary.flow())
    shown = flow_now[flow_now["tracked"]]
    st.plotly_chart(charts.flow_figure(shown, f"Stage entries during {range_text}"), key="funnel_chart")
    return flow_now.drop(columns=["stage_order", "tracked"]).rename(columns=tables.FLOW_COLUMNS)


if view == "cohort":
    cohort_headline(filters, version)
    funnel_table = cohort_funnel(filters, version)
    with st.expander("Funnel as a table"):
        tables.show(funnel_table, hide_index=True, column_config=tables.rate_columns(funnel_table))
        tables.download(funnel_table, "funnel.csv")

    months_table = monthly_cohorts(filters, version)
    if not months_table.empty:
        tables.download(months_table, "monthly_cohorts.csv")

    # ---- Conversion trend ----------------------------------------------------------------------
    st.subheader("Conversion trend", help=glossary.immature(contract, window) + "\n\n" + glossary.wilson())
    if rate_choices:
        left, right = st.columns([3, 1])
        choice = left.selectbox(
            "Rate",
            list(rate_choices),
            index=list(rate_choices).index(("overall", tracked[-1].key)),
            format_func=rate_choices.get,
            key="health_trend_rate",
        )
        grain = right.segmented_control(
            "Per", ["month", "week"], default="month", key="health_trend_grain", required=True
        )
        trend_table = conversion_trend(filters, choice, grain, version)
        if trend_table is not None:
            tables.download(trend_table, "conversion_trend.csv", key="dl-trend")
    else:
        st.info("The data records only one stage, so there is no conversion between stages to show.")

    times_table = stage_times(filters, version)
    if times_table is not None:
        tables.download(times_table, "time_between_stages.csv")
else:
    flow_table = flow_view(filters, version)
    with st.expander("Flow as a table"):
        tables.show(flow_table, hide_index=True)
        tables.download(flow_table, "flow.csv")
    st.caption("Conversion trend and time between stages follow leads, so they are in the cohort view.")

# ---- Breakdown by one attribute --------------------------------------------------------------------
st.subheader(
    "Breakdown",
    help=(glossary.overall_rate(contract) + " " + glossary.win_rate(contract) + " " + glossary.wilson())
    if view == "cohort"
    else glossary.flow(),
)
by = st.selectbox(
    "Break down by",
    list(ATTRIBUTES),
    format_func=lambda a: {"team": "owner's team", "size": "account size"}.get(a, a),
    key="health_breakdown_by",
)
# A record can have owners in several roles (an SDR and a closing rep): the owner breakdown says
# which it counts, the record's own owner unless another role is chosen.
owner_roles = cache.call(options.owner_roles) if by == "owner" else []
breakdown_filters = filters
if owner_roles:
    owner_role = st.selectbox(
        "Owner counted",
        [None, *owner_roles],
        format_func=lambda r: "the record's owner" if r is None else f"the {r}",
        key="health_owner_role",
        help="Each record is counted under its owner in this role; records with no owner in it are "
        "grouped as none.",
    )
    breakdown_filters = dataclasses.replace(filters, owner_role=owner_role)


@section
def breakdown_table(filters, by, view, version):
    """One row per value of the chosen attribute; returns the table (empty if no leads)."""
    breakdown = cache.call(funnel.breakdown, filters, by, view)
    outcome = cache.call(funnel.outcomes, filters, by) if view == "cohort" else None
    names = options.choices(cache.call(options.filter_options), "owner") if by == "owner" else {}
    if by == "channel":
        names = {v: contract.channel_label(v) for v in breakdown.get("group_value", []) if v is not None}
    table = tables.breakdown_table(
        breakdown, stage_labels, handoff.label if handoff else None, view, names, outcome
    )
    if table.empty:
        st.info("No leads match these filters in this date range. Widen the range or clear a filter.")
    else:
        tables.show(
            table,
            hide_index=True,
            column_config={
                "group": st.column_config.TextColumn(
                    f"Owner ({filters.owner_role})"
                    if by == "owner" and filters.owner_role
                    else by.capitalize()
                ),
                **tables.percent_columns(table),
            },
        )
    return table


table = breakdown_table(breakdown_filters, by, view, version)
if not table.empty:
    tables.download(table, f"breakdown_by_{by}.csv")
