"""Funnel health, the leadership view: is the funnel healthy, and where does it leak?

Headline figures against the previous period, the funnel, the conversion trend, time between
stages and a breakdown by one attribute. Cohort view by default; the flow view (entries during
the range) when the sidebar says so. Filters come from the frame, or defaults when opened alone.
"""

import dataclasses
import datetime as dt

import streamlit as st

from data import contract as contract_mod
from queries import cache, executor, funnel, options
from queries.filters import ATTRIBUTES
from ui import charts, glossary, headline, tables
from ui.sections import section
from ui.state import current_filters, current_view

HEADLINE_KEYS = ("leads", "mqls", "won", "revenue", "overall_rate")

contract = contract_mod.load()
filters = current_filters()
view = current_view()
# Each section below is drawn once per (filters, choices, store version) and replayed for
# everyone else (ui/sections.py).
version = executor.store_version()
as_of = filters.as_of or cache.call(funnel.latest_event_at)
window = filters.window(contract)
stage_labels = [s.label for s in contract.stages]
first_label, last_label = stage_labels[0], stage_labels[-1]
handoff_label = contract.handoff.label
range_text = f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y}"
rate_choices = {}
for k, s in enumerate(contract.stages[1:], start=1):
    rate_choices[("overall", s.key)] = f"{first_label} → {s.label} (overall)"
    rate_choices[("step", s.key)] = f"{contract.stages[k - 1].label} → {s.label} (step)"

st.title("Funnel health")
st.caption(
    f"As of {as_of:%d %b %Y %H:%M} UTC (latest event in the store) · "
    + (
        f"cohort: leads who started {range_text} · {window}-day conversion window · "
        f"skip policy {filters.policy(contract)}"
        if view == "cohort"
        else f"flow: stage entries during {range_text}, whoever the leads are"
    )
)


@section
def cohort_headline(filters, version) -> None:
    """The five headline figures against the previous period, with the noise verdicts."""
    # ---- Headline figures against the previous period -------------------------------------
    comparison = cache.call(funnel.compare_periods, filters).set_index("metric")
    helps = {
        "leads": glossary.cohort(contract, window),
        "mqls": glossary.reached(contract, filters.policy(contract)),
        "won": glossary.reached(contract, filters.policy(contract)),
        "revenue": glossary.revenue(contract),
        "overall_rate": glossary.overall_rate(contract) + " " + glossary.wilson(),
    }
    for column, key in zip(st.columns(len(HEADLINE_KEYS)), HEADLINE_KEYS, strict=True):
        row = comparison.loc[key]
        p_value = (
            row["p_value"]
            if row["kind"] == "rate"
            else headline.count_change_p(row["current"], row["previous"])
        )
        with column:
            st.metric(
                row["label"],
                headline.fmt_value(row["current"], row["kind"]),
                delta=headline.fmt_change(row["change"], row["change_pct"], row["kind"]),
                help=helps[key] + "\n\n" + glossary.noise(),
                border=True,
            )
            st.caption(
                f"vs {headline.fmt_value(row['previous'], row['kind'])} in the previous {filters.n_days} days · "
                + headline.noise_verdict(row["kind"], p_value, bool(row["is_small"]))
            )
    if not comparison.attrs.get("is_mature_current", True):
        window_end = filters.end + dt.timedelta(days=window + 1)
        st.caption(
            f":material/hourglass_top: This cohort is immature until {window_end:%d %b %Y}: leads "
            "still in progress can convert, so its MQL, won and revenue figures can still rise. "
            "The previous period has had longer to convert, which alone makes later stages look "
            "lower now."
        )


@section
def cohort_funnel(filters, version):
    """The funnel chart, marked when immature; returns its table for the expander."""
    # ---- The funnel ------------------------------------------------------------------------
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
    st.plotly_chart(
        charts.funnel_figure(funnel_df, f"Cohort funnel: leads who started {range_text}", mature),
        key="funnel_chart",
    )
    return funnel_df.drop(columns=["stage_order"]).rename(columns=tables.FUNNEL_COLUMNS)


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
            f"{window}-day window is still open on the as-of date. Their rates are not final and "
            "usually rise; compare final periods with each other. Whiskers: 95% Wilson interval."
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
    """Days between stages as a chart and a table; returns the table (None if no moves)."""
    times_table = None
    # ---- Time between stages ---------------------------------------------------------------------
    st.subheader("Time between stages", help=glossary.stage_time())
    times = cache.call(funnel.stage_times, filters)
    if times["n_leads"].sum() == 0:
        st.info("No lead in this cohort has moved between stages yet.")
    else:
        st.plotly_chart(
            charts.times_figure(times, contract, f"Days between stages, leads who started {range_text}"),
            key="times_chart",
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
    # ---- Flow view ------------------------------------------------------------------------------
    st.info(glossary.flow(), icon=":material/swap_horiz:")
    flow_now = cache.call(funnel.flow_funnel, filters)
    flow_before = cache.call(funnel.flow_funnel, filters.previous())
    keys = [contract.stage_keys[0], contract.handoff_stage, contract.stage_keys[-1]]
    now_by, before_by = flow_now.set_index("stage"), flow_before.set_index("stage")
    figures = [
        (f"{contract.stage(k).label} entries", now_by.loc[k, "n_entries"], before_by.loc[k, "n_entries"])
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
        revenue_now = float(flow_now["revenue"].iloc[-1])
        revenue_before = float(flow_before["revenue"].iloc[-1])
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
    st.plotly_chart(charts.flow_figure(flow_now, f"Stage entries during {range_text}"), key="funnel_chart")
    return flow_now.drop(columns=["stage_order"]).rename(columns=tables.FLOW_COLUMNS)


if view == "cohort":
    cohort_headline(filters, version)
    funnel_table = cohort_funnel(filters, version)
    with st.expander("Funnel as a table"):
        tables.show(funnel_table, hide_index=True, column_config=tables.rate_columns(funnel_table))
        tables.download(funnel_table, "funnel.csv")

    # ---- Conversion trend ----------------------------------------------------------------------
    st.subheader("Conversion trend", help=glossary.immature(contract, window) + "\n\n" + glossary.wilson())
    left, right = st.columns([3, 1])
    choice = left.selectbox(
        "Rate",
        list(rate_choices),
        index=list(rate_choices).index(("overall", contract.stage_keys[-1])),
        format_func=rate_choices.get,
        key="health_trend_rate",
    )
    grain = right.segmented_control(
        "Per", ["month", "week"], default="month", key="health_trend_grain", required=True
    )
    trend_table = conversion_trend(filters, choice, grain, version)
    if trend_table is not None:
        tables.download(trend_table, "conversion_trend.csv", key="dl-trend")

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
    help=(glossary.overall_rate(contract) + " " + glossary.wilson()) if view == "cohort" else glossary.flow(),
)
by = st.selectbox(
    "Break down by",
    list(ATTRIBUTES),
    format_func=lambda a: {"team": "owner's team"}.get(a, a),
    key="health_breakdown_by",
)


@section
def breakdown_table(filters, by, view, version):
    """One row per value of the chosen attribute; returns the table (empty if no leads)."""
    breakdown = cache.call(funnel.breakdown, filters, by, view)
    names = options.choices(cache.call(options.filter_options), "owner") if by == "owner" else {}
    table = tables.breakdown_table(breakdown, stage_labels, handoff_label, view, names)
    if table.empty:
        st.info("No leads match these filters in this date range. Widen the range or clear a filter.")
    else:
        rate_format = st.column_config.NumberColumn(format="percent")
        tables.show(
            table,
            hide_index=True,
            column_config={
                "group": st.column_config.TextColumn(by.capitalize()),
                **{c: rate_format for c in table.columns if "→" in c or c.startswith("95%")},
            },
        )
    return table


table = breakdown_table(filters, by, view, version)
if not table.empty:
    tables.download(table, f"breakdown_by_{by}.csv")
