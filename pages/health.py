"""Funnel health, the leadership view: is the funnel healthy, and where does it leak?

The alerts fired for the last complete week; headline figures against the previous period,
compared at equal age (with the win rate where the data records outcomes); the funnel of the
store's own stages, whose every count opens to the records behind it; monthly cohorts; the
conversion trend with the contract's dated changes marked; time between stages; a breakdown by
one attribute with win rates, each cell drillable too; then the bridge between the grains (MQLs
to opportunities, Sales-sourced opportunities, buying groups, leads' accounts). Cohort view by
default; the flow view (entries during the range) when the sidebar says so. Stages the data
never records are shown as such and never counted. Filters come from the frame, or defaults
when opened alone; the drill-down is in the URL (?drill=stage:mql&drill=status:dropped).
"""

import dataclasses
import datetime as dt

import streamlit as st

from queries import bridge, cache, contracts, currency, drill, executor, funnel, options
from queries.filters import ATTRIBUTES, MAX_TEXT
from reports import format as fmt
from ui import alerts, charts, glossary, tables
from ui import bridge as ui_bridge
from ui import filters as ui_filters
from ui.sections import section
from ui.state import (
    current_filters,
    current_view,
    run_in_frame,
)

run_in_frame()  # a link opened first on a freshly started server still runs in the frame

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
alerts.show(contract.effective())
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
spanned = funnel.changes_within(contract, filters.start, filters.end)
if spanned:
    st.caption(
        ":material/change_circle: This range spans a definition change: "
        + "; ".join(f"{d:%Y-%m-%d}, {fmt.md(text.rstrip('.'))}." for d, text in spanned)
        + " Its leads started under two definitions; the charts mark each change."
    )
if untracked:
    st.caption(
        ":material/visibility_off: Not recorded in this data: "
        + ", ".join(untracked)
        + ". No event records these stages, so they are never counted or filled in; rates run "
        "between the stages the data records."
    )


MARK_ICONS = {
    "immature": ":material/hourglass_top:",
    "no earlier data": ":material/block:",
    "too young to compare": ":material/hourglass_empty:",
}


@section
def cohort_headline(filters, version) -> None:
    """The headline figures against the previous period, compared at equal age, with the noise
    verdicts, and the outcomes behind the win rate."""
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
        "mql_to_won": glossary.step_rate() + " " + glossary.wilson(),
    }
    several = len(comparison.attrs.get("currencies", [])) > 1
    # Three figures a row, so each whole label and its mark fit at 1280 px: the counts, then
    # revenue, the win rate and the time to win, then the conversion rates.
    keys = [k for k in ("leads", "mqls", "won") if k in comparison.index]
    keys += ["revenue_by_currency"] if several else [k for k in ("revenue",) if k in comparison.index]
    keys += [k for k in ("win_rate",) if k in comparison.index]
    times = cache.call(funnel.time_to_win, filters)
    if times and times["n"]:
        keys.append("time_to_win")
    keys += [k for k in ("mql_rate", "mql_to_won", "overall_rate") if k in comparison.index]
    for start in range(0, len(keys), 3):
        for column, key in zip(st.columns(3), keys[start : start + 3], strict=False):
            with column:
                if key == "revenue_by_currency":
                    st.metric(
                        "Revenue per currency",
                        fmt.amounts(funnel.revenue_by_currency(won_money)),
                        help=glossary.revenue(contract),
                        border=True,
                    )
                    st.caption(
                        "amounts in different currencies are never added up" + _in_one_currency(filters)
                    )
                elif key == "time_to_win":
                    st.metric(
                        f"Median days to {contract.stages[-1].label}",
                        fmt.days(times["median"]),
                        help=glossary.stage_time(),
                        border=True,
                    )
                    st.caption(
                        f"p75 {fmt.days(times['p75'])} · p90 {fmt.days(times['p90'])} · "
                        f"{fmt.whole(times['n'])} records"
                        + (f" · {fmt.SMALL_TEXT}" if fmt.is_small(times["n"]) else "")
                    )
                else:
                    _headline_metric(comparison, key, helps)
    _comparison_note(comparison)
    _outcome_caption(filters, outcome, comparison)


def _in_one_currency(filters) -> str:
    """The cohort's revenue in the store's one base currency at dated rates (queries/currency.py),
    or what keeps it from being given; '' when the store holds no rates or several bases."""
    bases = cache.call(currency.bases)
    if len(bases) != 1:
        return ""
    money = cache.call(currency.revenue_in, filters, bases[0])
    if money["total"] is None:
        return f"; no total in {bases[0]}: " + currency.missing_text(bases[0], money["missing"])
    return f"; in {bases[0]} at dated rates: {fmt.amount(money['total'], bases[0])}"


def _headline_metric(comparison, key: str, helps: dict) -> None:
    """One headline figure as it stands, marked when immature or not comparable, with its change
    against the previous period at equal age and the noise verdict (none for an immature
    figure, nor against a period before the first data)."""
    row = comparison.loc[key]
    currency = _currency(comparison, key)
    label = f"{row['label']} ({currency})" if currency else row["label"]
    mark = row["mark"]
    if mark:
        label = f"{MARK_ICONS[mark]} {label}"
    kind = row["kind"]
    verdict_given = not (mark or row["is_immature"])
    p_value = row["p_value"] if kind == "rate" else fmt.count_change_p(row["current_at_age"], row["previous"])
    p_value = p_value if verdict_given else float("nan")
    outside = kind != "amount" and not fmt.missing(p_value) and p_value < fmt.ALPHA
    st.metric(
        label,
        fmt.value(row["current"], kind),
        delta=fmt.change(row["change"], row["change_pct"], kind),
        # Coloured only when the change is outside the noise; grey otherwise.
        delta_color="normal" if outside else "off",
        help=helps.get(key, "")
        + "\n\n"
        + glossary.noise()
        + "\n\n"
        + glossary.fair_comparison()
        + (f"\n\nMarked: {mark}." if mark else ""),
        border=True,
    )
    attrs = comparison.attrs
    if attrs.get("previous_before_data"):
        first = attrs.get("first_start")
        st.caption(
            f"no comparison: the previous {filters.n_days} days begin before the store's first "
            + (f"data ({first:%d %b %Y})" if first else "data")
        )
        return
    if mark == "too young to compare":
        st.caption("no comparison yet: the period has not had a whole day since it ended")
        return
    age = row["age_days"]
    ageless = key in funnel.AGELESS
    previous = fmt.value(row["previous"], kind, currency)
    when = f"{attrs['previous_start']:%d %b} – {attrs['previous_end']:%d %b %Y}"
    at_age = "" if ageless or fmt.missing(age) else f", both at {int(age)} days since start"
    now_at_age = (
        ""
        if ageless or fmt.missing(age) or row["current_at_age"] == row["current"]
        else f" (now {fmt.value(row['current_at_age'], kind, currency)} at that age)"
    )
    if verdict_given:
        verdict = fmt.noise_verdict(kind, p_value, bool(row["is_small"]))
    else:
        verdict = "immature: no noise verdict, it can still change" + (
            f" · {fmt.SMALL_TEXT}" if row["is_small"] else ""
        )
    st.caption(f"vs {previous} in {when}{at_age}{now_at_age} · {verdict}")


def _comparison_note(comparison) -> None:
    """What the comparison is: its period, its age, and any definition change it spans."""
    attrs = comparison.attrs
    if attrs.get("previous_before_data"):
        return
    age = attrs.get("age_days")
    if age is not None and not attrs.get("is_mature_current"):
        st.caption(
            f":material/hourglass_top: Compared at equal age: this cohort's window is still open, so "
            f"both periods are counted within {age} days of each lead's start (the youngest lead's "
            f"age), not against the previous period's longer time to convert."
        )
    if attrs.get("changes"):
        st.caption(
            ":material/change_circle: The comparison spans a definition change: "
            + "; ".join(f"{d:%Y-%m-%d}, {fmt.md(text.rstrip('.'))}" for d, text in attrs["changes"])
            + "."
        )


def _outcome_caption(filters, outcome, comparison) -> None:
    """The outcomes behind the win rate, and the immaturity note."""
    o = outcome.iloc[0]
    if outcome.attrs.get("is_recorded"):
        lo, hi = fmt.pct(o["win_low"]), fmt.pct(o["win_high"])
        text = (
            f"Outcomes of this cohort: **{fmt.whole(o['n_won'])} won**, **{fmt.whole(o['n_lost'])} lost** "
            f"(win rate {fmt.pct(o['win_rate'])}, 95% CI {lo}–{hi}"
            + (f", {fmt.SMALL_TEXT}" if o["is_small"] else "")
            + f"), {fmt.whole(o['n_open'])} still open"
        )
    else:
        text = (
            f"Outcomes of this cohort: {fmt.whole(o['n_won'])} won, {fmt.whole(o['n_open'])} still open. "
            "No win rate: the data does not record lost deals, so won ÷ (won + lost) cannot be computed"
        )
    extras = []
    if o["n_other_exit"]:
        extras.append(f"{fmt.whole(o['n_other_exit'])} left by another exit")
    if o["n_after_window"]:
        extras.append(f"{fmt.whole(o['n_after_window'])} won or lost only after the window")
    st.caption(text + (" · " + ", ".join(extras) if extras else "") + ".")
    undated = cache.call(funnel.undated_open)
    if len(undated):
        st.caption(
            f"Besides this cohort, {fmt.whole(undated['n_records'].sum())} open records have no date at all "
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
                "rise."
            )


def _currency(comparison, key: str) -> str:
    currencies = comparison.attrs.get("currencies") or []
    return currencies[0] if key == "revenue" and len(currencies) == 1 else ""


@section
def cohort_funnel(filters, version):
    """The funnel chart of the recorded stages, marked when immature."""
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
    else:
        st.caption("Click a count to list the leads behind it (below).")
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
        changes = funnel.changes_within(contract, series["period_start"].min(), series["period_end"].max())
        st.plotly_chart(
            charts.trend_figure(
                series,
                f"{kind}_rate",
                rate_choices[choice],
                grain or "month",
                f"{rate_choices[choice]} by {grain} of start, 12 months to {filters.end:%d %b %Y}",
                changes=[(c.date, c.change) for c in contract.changelog],
            ),
            key="trend_chart",
        )
        st.caption(
            "Dotted line, hollow markers and the shaded band: immature periods whose "
            f"window is still open on the as-of date ({glossary.window_phrase(window)}). Their "
            "rates are not final and usually rise; compare final periods with each other. "
            f"Whiskers: 95% Wilson interval; squares: {fmt.SMALL_TEXT}."
            + (
                " Dashed lines: the contract's dated changes (hover for the text); a period that "
                "spans one was computed across it."
                if changes
                else ""
            )
        )
        trend_table = series[
            ["period_start", "period_end", "label", "n_base", "n_reached", f"{kind}_rate", "is_mature"]
        ].rename(
            columns={
                "period_start": "Period start",
                "period_end": "Period end",
                "label": "Stage",
                "n_base": "Leads in the base",
                "n_reached": "Reached",
                f"{kind}_rate": rate_choices[choice],
                "is_mature": "Final (window closed)",
            }
        )
        trend_table["Small n (<30)"] = [fmt.small_flag(n) for n in series["n_base"]]
        trend_table["Across a definition change"] = [
            "; ".join(f"{d:%Y-%m-%d}" for d, _ in funnel.changes_within(contract, a, b))
            for a, b in zip(series["period_start"], series["period_end"], strict=True)
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
                f"Median days from {first_label} to {last_label}: **{fmt.days(total['median_days'])}** "
                f"(p75 {fmt.days(total['p75_days'])}, p90 {fmt.days(total['p90_days'])}; "
                f"{fmt.whole(total['n_leads'])} leads)"
                + (f" · {fmt.SMALL_TEXT}" if fmt.is_small(total["n_leads"]) else "")
            )
        times_table = times[["label", "n_leads", "median_days", "p75_days", "p90_days"]].rename(
            columns={
                "label": "Move",
                "n_leads": "Leads that moved",
                "median_days": "Median (days)",
                "p75_days": "p75 (days)",
                "p90_days": "p90 (days)",
            }
        )
        times_table["Small n (<30)"] = [fmt.small_flag(n) for n in times["n_leads"]]
        tables.show(
            times_table,
            column_config={
                c: st.column_config.NumberColumn(c, format="%.1f")
                for c in ("Median (days)", "p75 (days)", "p90 (days)")
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
                fmt.value(cur, "count"),
                delta=fmt.change(cur - prev, change_pct, "count"),
                help=glossary.flow() + "\n\n" + glossary.noise(),
                border=True,
            )
            st.caption(
                f"vs {prev:,} in the previous {filters.n_days} days · "
                + fmt.noise_verdict("count", fmt.count_change_p(cur, prev), min(cur, prev) < 30)
            )
    with columns[-1]:
        revenue_now = float(flow_now["revenue"].iloc[-1] or 0)
        revenue_before = float(flow_before["revenue"].iloc[-1] or 0)
        st.metric(
            "Revenue won in the range",
            fmt.amount(revenue_now),
            delta=fmt.change(
                revenue_now - revenue_before,
                (revenue_now - revenue_before) / revenue_before if revenue_before else float("nan"),
                "amount",
            ),
            help="Deal amounts of every deal won during the range, whenever its lead started.",
            border=True,
        )
        st.caption(
            f"vs {fmt.amount(revenue_before)} in the previous {filters.n_days} days · "
            + fmt.noise_verdict("amount", 0, False)
        )
    st.subheader("Flow", help=glossary.flow())
    shown = flow_now[flow_now["tracked"]]
    st.plotly_chart(charts.flow_figure(shown, f"Stage entries during {range_text}"), key="funnel_chart")
    return flow_now.drop(columns=["stage_order", "tracked"]).rename(columns=tables.FLOW_COLUMNS)


# ---- The records behind a number: the drill-down's state --------------------------------------
# Clicking a count (the funnel table, monthly cohorts, the breakdown) sets these; so does a link
# (?drill=stage:mql&drill=status:dropped&drill=by:channel&drill=group:webinar), checked like
# every URL parameter (ui/filters.parse_drill); the boxes at the bottom show and change them.
DRILL_KEYS = {"stage": "health_drill_stage", "status": "health_drill_status", "by": "health_drill_by"}
GROUP_KEY = "health_drill_group"
ANY = ""  # the "All" choice
NO_GROUP_VALUE = "\x00"  # the records without a value (kept apart from any literal value)
tracked_keys = [s.key for s in tracked]
linked = ui_filters.read_drill(
    "health",
    {
        "stage": tracked_keys,
        "status": list(drill.STATUSES),
        "by": [*ATTRIBUTES, funnel.MONTH],
        "group": lambda v: 0 < len(v) <= MAX_TEXT,
        "nogroup": ["yes"],
    },
)
if linked:
    for part, key in DRILL_KEYS.items():
        if part in linked:
            st.session_state[key] = linked[part]
    if "by" in linked and ("group" in linked or "nogroup" in linked):
        st.session_state[GROUP_KEY] = linked.get("group", NO_GROUP_VALUE)


def open_records(stage: str, status: str, by: str | None = None, group=ANY) -> None:
    """Point the drill-down at one count (a clicked cell)."""
    st.session_state[DRILL_KEYS["stage"]] = stage
    st.session_state[DRILL_KEYS["status"]] = status
    st.session_state[DRILL_KEYS["by"]] = by or ANY
    st.session_state[GROUP_KEY] = (NO_GROUP_VALUE if group is None else group) if by else ANY


def clicked_stage_cell(cell, table, group_keys=None, by=None) -> None:
    """A clicked cell of a table whose columns are stage labels (monthly cohorts, breakdown):
    its row's group, its column's stage, reached."""
    if cell is None:
        return
    row, column = cell
    labels = {s.label: s.key for s in tracked}
    if column in labels and group_keys is not None and row < len(group_keys):
        open_records(labels[column], "reached", by, group_keys[row])


if view == "cohort":
    cohort_headline(filters, version)
    cohort_funnel(filters, version)
    funnel_df = cache.call(funnel.cohort_funnel, filters)
    st.caption("Click a count to list the leads behind it (below).")
    shown_funnel = tables.funnel_table(funnel_df)
    cell = tables.clickable(
        shown_funnel,
        key="health_funnel_table",
        column_config={c: {"label": c, "width": w} for c, w in tables.FUNNEL_WIDTHS.items()},
        fit=True,
    )
    if cell is not None:
        row, column = cell
        stage_key = funnel_df["stage"].iloc[row]
        last_key = tracked_keys[-1]
        status = tables.FUNNEL_COUNTS.get(column)
        if (
            status
            and stage_key in tracked_keys
            and not (status in ("in_progress", "dropped") and stage_key == last_key)
        ):
            open_records(stage_key, status)
    tables.download(lambda: tables.funnel_table(funnel_df, for_csv=True), "funnel.csv", key="dl-funnel")

    months_table = monthly_cohorts(filters, version)
    if not months_table.empty:
        cell = tables.clickable(
            months_table,
            key="health_months_table",
            column_order=tables.screen_columns(months_table, stage_labels),
            fit=True,
        )
        clicked_stage_cell(cell, months_table, months_table.attrs.get("group_keys"), funnel.MONTH)
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
        tables.show(flow_table)
        tables.download(flow_table, "flow.csv")
    st.caption("Conversion trend and time between stages follow leads, so they are in the cohort view.")

# ---- Bridge between the grains ----------------------------------------------------------------------


@section
def bridge_section(filters, version):
    """MQLs to opportunities, Sales-sourced opportunities, buying groups, leads' accounts;
    returns the roles and matched-leads tables for their downloads."""
    view_ = cache.call(bridge.view, filters)
    return ui_bridge.draw(view_, cache.call(bridge.matched_leads), contracts.current(), range_text)


roles_table, matched_table = bridge_section(filters, version)
if not roles_table.empty:
    tables.download(roles_table, "buying_group_roles.csv", key="dl-roles")
if not matched_table.empty:
    tables.download(matched_table, "matched_accounts.csv", key="dl-matched")

# ---- Breakdown by one attribute --------------------------------------------------------------------
st.subheader(
    "Breakdown",
    help=(glossary.overall_rate(contract) + " " + glossary.win_rate(contract) + " " + glossary.wilson())
    if view == "cohort"
    else glossary.flow(),
)
BY_LABELS = {"team": "Owner's team", "owner": "Owner", "size": "Account size"}
by = st.selectbox(
    "Break down by",
    list(ATTRIBUTES),
    format_func=lambda a: BY_LABELS.get(a, a.capitalize()),
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


def breakdown_table(filters, by, view):
    """One row per value of the chosen attribute (empty if no leads); group keys in attrs."""
    breakdown = cache.call(funnel.breakdown, filters, by, view)
    outcome = cache.call(funnel.outcomes, filters, by) if view == "cohort" else None
    names = options.choices(cache.call(options.filter_options), "owner") if by == "owner" else {}
    if by == "channel":
        names = {v: fmt.channel(contract, v) for v in breakdown.get("group_value", []) if v is not None}
    if by == "team":
        names = {v: fmt.team(v) for v in breakdown.get("group_value", []) if v is not None}
    return tables.breakdown_table(
        breakdown, stage_labels, handoff.label if handoff else None, view, names, outcome
    )


table = breakdown_table(breakdown_filters, by, view)
if table.empty:
    st.info("No leads match these filters in this date range. Widen the range or clear a filter.")
else:
    group_label = BY_LABELS.get(by, by.capitalize())
    if by == "owner" and breakdown_filters.owner_role:
        group_label = f"Owner ({breakdown_filters.owner_role})"
    config = {"group": st.column_config.TextColumn(group_label)}
    if view == "cohort":
        st.caption("Click a count to list the leads behind it (below).")
        cell = tables.clickable(
            table,
            fit=True,
            key=f"health_breakdown_{by}",
            column_config=config,
            column_order=tables.screen_columns(table, stage_labels, handoff.label if handoff else None),
        )
        clicked_stage_cell(cell, table, table.attrs.get("group_keys"), by)
    else:
        tables.show(table, column_config=config)
    tables.download(table, f"breakdown_by_{by}.csv")

# ---- The records behind a number ------------------------------------------------------------
if view == "cohort":
    st.subheader(
        "The leads behind a number",
        help="Every count of the funnel table, the monthly cohorts and the breakdown opens here: "
        "the same cohort, the same rules, so the list has exactly as many leads as the number.",
    )
    stage_names = {s.key: s.label for s in tracked}
    d1, d2, d3 = st.columns([2, 2, 3])
    for key, options_ in (
        (DRILL_KEYS["stage"], [ANY, *tracked_keys]),
        (DRILL_KEYS["status"], list(drill.STATUSES)),
    ):
        if st.session_state.get(key) not in options_:
            st.session_state[key] = options_[0]
    drill_stage = d1.selectbox(
        "Stage",
        [ANY, *tracked_keys],
        format_func=lambda k: stage_names.get(k, "Choose a stage, or click a count"),
        key=DRILL_KEYS["stage"],
    )
    drill_status = d2.selectbox(
        "Leads that",
        list(drill.STATUSES),
        format_func=lambda k: drill.STATUSES[k][1],
        key=DRILL_KEYS["status"],
    )
    drill_by = st.session_state.get(DRILL_KEYS["by"]) or ANY
    drill_by = drill_by if drill_by in (*ATTRIBUTES, funnel.MONTH) else ANY
    group_value = st.session_state.get(GROUP_KEY, ANY) if drill_by else ANY
    group_text = (
        "All leads"
        if not drill_by
        else f"{BY_LABELS.get(drill_by, drill_by.capitalize())}: "
        + ("(no value)" if group_value == NO_GROUP_VALUE else str(group_value))
    )
    if d3.button(f"{group_text} · show all", key="health_drill_all", disabled=not drill_by):
        st.session_state[DRILL_KEYS["by"]] = ANY
        st.session_state[GROUP_KEY] = ANY
        st.rerun()
    selection = {"stage": drill_stage, "status": drill_status}
    if drill_by:
        selection["by"] = drill_by
        if group_value == NO_GROUP_VALUE:
            selection["nogroup"] = "yes"
        else:
            selection["group"] = group_value
    ui_filters.write_drill(selection if drill_stage else {})
    if not drill_stage:
        st.caption("Click a count in a table above, or choose a stage, to list its leads.")
    elif drill_status in ("in_progress", "dropped") and drill_stage == tracked_keys[-1]:
        st.info(f"{stage_names[drill_stage]} is the last stage: no lead stops there in progress or dropped.")
    else:
        grouped = bool(drill_by)
        group = None if group_value == NO_GROUP_VALUE else group_value
        args = dict(
            status=drill_status, by=drill_by or None, group=group if grouped else None, grouped=grouped
        )
        records = cache.call(drill.cohort_records, filters, drill_stage, limit=tables.SCREEN_ROWS, **args)
        n_total = records.attrs["n_total"]
        st.caption(
            f"**{fmt.whole(n_total)}** leads {drill.STATUSES[drill_status][1]} at {fmt.md(stage_names[drill_stage])}"
            + (f" · {fmt.md(group_text)}" if grouped else "")
            + (
                f"; the first {fmt.whole(len(records))} are listed, the CSV has them all"
                if n_total > len(records)
                else ""
            )
        )
        tables.show(tables.records_table(records, contract), column_config=tables.RECORD_COLUMNS)
        tables.download_all(
            drill.cohort_records,
            filters,
            drill_stage,
            filename=f"leads-{drill_stage}-{drill_status}.csv",
            key="dl-health-drill",
            **args,
        )
