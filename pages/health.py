"""Funnel health, the leadership view: is the funnel healthy, and where does it leak?

The alerts fired for the last complete week; headline figures against the previous period,
compared at equal age (with the win rate where the data records outcomes); the funnel of the
store's own stages, whose every count opens to the records behind it; monthly cohorts; the
conversion trend with the contract's dated changes marked; time between stages; a breakdown by
one attribute with win rates, each cell drillable too; then the bridge between the grains (MQLs
to opportunities, Sales-sourced opportunities, buying groups, leads' accounts). Cohort view by
default, flow view when the sidebar says so; stages the data never records are never counted.
Filters come from the frame (defaults alone); the drill-down is in the URL (?drill=stage:mql).
"""

import dataclasses

import streamlit as st

from queries import cache, contracts, drill, executor, funnel, options
from queries.filters import ATTRIBUTES, MAX_TEXT
from reports import format as fmt
from reports import health_view as hv
from ui import alerts, charts, glossary, tables
from ui import bridge as ui_bridge
from ui import filters as ui_filters
from ui import health_tables as ht
from ui.sections import section
from ui.state import current_filters, current_view, run_in_frame

run_in_frame()  # a link opened first on a freshly started server still runs in the frame

filters = current_filters()
view = current_view()
# The contract as the view's grain sees it, the range and the captions under the title; every
# number and text drawn below comes from reports/health_view.py, its queries through the cache.
ctx = hv.context(filters, view, contracts.current(), cache.call)
# Each section below is drawn once per (filters, choices, store version) and replayed for
# everyone else (ui/sections.py).
version = executor.store_version()

st.title("Funnel health")
alerts.show(ctx.contract.effective())
st.caption(ctx.scope)
if ctx.spanned:
    st.caption(ctx.spanned)
if ctx.untracked:
    st.caption(ctx.untracked)


@section
def cohort_headline(filters, version) -> None:
    """The headline figures against the previous period, compared at equal age, with the noise
    verdicts, and the outcomes behind the win rate."""
    headline = hv.headline(filters, ctx, cache.call)
    # Three figures a row, so each whole label and its mark fit at 1280 px: the counts, then
    # revenue, the win rate and the time to win, then the conversion rates.
    for start in range(0, len(headline.figures), 3):
        for column, figure in zip(st.columns(3), headline.figures[start : start + 3], strict=False):
            with column:
                ht.show_figure(ctx, headline.policy, figure)
    for text in headline.captions:
        st.caption(text)


@section
def cohort_funnel(filters, version):
    """The funnel chart of the recorded stages, marked when immature."""
    shown = hv.cohort_funnel(filters, ctx, cache.call)
    st.subheader("Funnel", help=ht.funnel_help(ctx))
    if not shown.is_mature:
        st.warning(glossary.immature(ctx.contract, ctx.window), icon=":material/hourglass_top:")
    st.plotly_chart(charts.funnel_figure(shown.shown, shown.title, shown.is_mature), key="funnel_chart")


@section
def monthly_cohorts(filters, version):
    """One row per month the leads started: their funnel and outcomes; returns the table."""
    months = hv.monthly(filters, cache.call)
    table = tables.monthly_cohorts(months.months, months.outcome, ctx.stage_labels, ctx.window, ctx.as_of)
    st.subheader("Monthly cohorts", help=ht.monthly_help(ctx))
    if table.empty:
        st.info(hv.NO_LEADS)
    else:
        st.caption(ht.CLICK_A_COUNT)
    return table


@section
def conversion_trend(filters, choice, grain, version):
    """A year of the chosen rate by month or week of start; returns its table (None if empty)."""
    trend = hv.trend(filters, ctx, choice, grain, cache.call)
    if trend.series.empty:
        st.info(hv.NO_LEADS)
        return None
    st.plotly_chart(
        charts.trend_figure(
            trend.series, trend.rate_col, trend.rate_name, trend.grain, trend.title, changes=trend.changes
        ),
        key="trend_chart",
    )
    st.caption(trend.caption)
    return trend.table


@section
def stage_times(filters, version):
    """Days between recorded stages as a chart and a table; returns the table (None if no moves)."""
    st.subheader("Time between stages", help=glossary.stage_time())
    times = hv.times(filters, ctx, cache.call)
    if not times.moved:
        st.info("No lead in this cohort has moved between stages yet.")
        return None
    st.plotly_chart(charts.times_figure(times.frame, ctx.contract, times.title), key="times_chart")
    if times.caption:
        st.caption(times.caption)
    tables.show(times.table, column_config=ht.times_config())
    return times.table


@section
def flow_view(filters, version):
    """The flow metrics against the previous period and the flow chart; returns its table."""
    st.info(glossary.flow(), icon=":material/swap_horiz:")
    flow = hv.flow(filters, ctx, cache.call)
    for column, figure in zip(st.columns(len(flow.figures)), flow.figures, strict=True):
        with column:
            ht.show_figure(ctx, "", figure)
    st.subheader("Flow", help=glossary.flow())
    st.plotly_chart(charts.flow_figure(flow.shown, flow.title), key="funnel_chart")
    return ht.flow_table(flow.frame)


# ---- The records behind a number: the drill-down's state --------------------------------------
# Clicking a count (the funnel table, monthly cohorts, the breakdown) sets these; so does a link
# (?drill=stage:mql&drill=status:dropped&drill=by:channel&drill=group:webinar), checked like
# every URL parameter (ui/filters.parse_drill); the boxes at the bottom show and change them.
DRILL_KEYS = {"stage": "health_drill_stage", "status": "health_drill_status", "by": "health_drill_by"}
GROUP_KEY = "health_drill_group"
ANY = ""  # the "All" choice
NO_GROUP_VALUE = hv.NO_GROUP_VALUE  # the records without a value (kept apart from any literal value)
tracked_keys = ctx.tracked_keys
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
    labels = dict(zip(ctx.stage_labels, tracked_keys, strict=True))
    if column in labels and group_keys is not None and row < len(group_keys):
        open_records(labels[column], "reached", by, group_keys[row])


if view == "cohort":
    cohort_headline(filters, version)
    cohort_funnel(filters, version)
    funnel_df = hv.cohort_funnel(filters, ctx, cache.call).frame
    st.caption(ht.CLICK_A_COUNT)
    cell = tables.clickable(
        tables.funnel_table(funnel_df), key="health_funnel_table", column_config=ht.funnel_config(), fit=True
    )
    if cell is not None:
        row, column = cell
        stage_key = funnel_df["stage"].iloc[row]
        status = tables.FUNNEL_COUNTS.get(column)
        if (
            status
            and stage_key in tracked_keys
            and not (status in ("in_progress", "dropped") and stage_key == tracked_keys[-1])
        ):
            open_records(stage_key, status)
    tables.download(lambda: tables.funnel_table(funnel_df, for_csv=True), "funnel.csv", key="dl-funnel")

    months_table = monthly_cohorts(filters, version)
    if not months_table.empty:
        cell = tables.clickable(
            months_table,
            key="health_months_table",
            column_order=tables.screen_columns(months_table, ctx.stage_labels),
            fit=True,
        )
        clicked_stage_cell(cell, months_table, months_table.attrs.get("group_keys"), funnel.MONTH)
        tables.download(months_table, "monthly_cohorts.csv")

    # ---- Conversion trend ----------------------------------------------------------------------
    st.subheader("Conversion trend", help=ht.trend_help(ctx))
    if ctx.rate_choices:
        left, right = st.columns([3, 1])
        choice = left.selectbox(
            "Rate",
            list(ctx.rate_choices),
            index=list(ctx.rate_choices).index(ctx.default_rate),
            format_func=ctx.rate_choices.get,
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
    b = hv.bridge(filters, cache.call)
    return ui_bridge.draw(b.view, b.matched, contracts.current(), ctx.range_text)


roles_table, matched_table = bridge_section(filters, version)
if not roles_table.empty:
    tables.download(roles_table, "buying_group_roles.csv", key="dl-roles")
if not matched_table.empty:
    tables.download(matched_table, "matched_accounts.csv", key="dl-matched")

# ---- Breakdown by one attribute --------------------------------------------------------------------
st.subheader("Breakdown", help=ht.breakdown_help(ctx))
by = st.selectbox("Break down by", list(ATTRIBUTES), format_func=hv.by_label, key="health_breakdown_by")
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
        help=ht.OWNER_ROLE_HELP,
    )
    breakdown_filters = dataclasses.replace(filters, owner_role=owner_role)

split = hv.breakdown(breakdown_filters, ctx, by, cache.call)
table = tables.breakdown_table(
    split.frame, ctx.stage_labels, ctx.handoff_label, view, split.names, split.outcome
)
if table.empty:
    st.info("No leads match these filters in this date range. Widen the range or clear a filter.")
else:
    config = {"group": st.column_config.TextColumn(split.group_label)}
    if view == "cohort":
        st.caption(ht.CLICK_A_COUNT)
        cell = tables.clickable(
            table,
            fit=True,
            key=f"health_breakdown_{by}",
            column_config=config,
            column_order=tables.screen_columns(table, ctx.stage_labels, ctx.handoff_label),
        )
        clicked_stage_cell(cell, table, table.attrs.get("group_keys"), by)
    else:
        tables.show(table, column_config=config)
    tables.download(table, f"breakdown_by_{by}.csv")

# ---- The records behind a number ------------------------------------------------------------
if view == "cohort":
    st.subheader("The leads behind a number", help=ht.DRILL_HELP)
    stage_names = dict(zip(tracked_keys, ctx.stage_labels, strict=True))
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
    group_text = hv.group_text(drill_by, group_value)
    if d3.button(f"{fmt.md(group_text)} · show all", key="health_drill_all", disabled=not drill_by):
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
        found = hv.records(
            filters, ctx, drill_stage, drill_status, drill_by, group_value, tables.SCREEN_ROWS, cache.call
        )
        st.caption(found.caption)
        tables.show(tables.records_table(found.records, ctx.contract), column_config=tables.RECORD_COLUMNS)
        tables.download_all(
            drill.cohort_records,
            filters,
            drill_stage,
            filename=f"leads-{drill_stage}-{drill_status}.csv",
            key="dl-health-drill",
            **found.args,
        )
