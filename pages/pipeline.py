"""Pipeline, the Sales leader's weekly review: the open pipeline at a date by stage, what moved
between two dates (a waterfall from the first date's pipeline to the second's, each bar down to
its opportunities), and how the opportunities really moved through their stages.

Counts opportunities whatever the sidebar counts; the sidebar's channel, region, segment and
owner filters apply, its date range only to the stage history. The two dates (T1, T2), the
currency, the sourcing team, the waterfall's measure and the bar drilled into are in the URL
(?t1=&t2=&cur=&src=&show=&bar=), each checked against what the store offers. Layout only: what
is shown comes from reports/pipeline_view.py (computation in queries/pipeline.py), figures from
ui/charts.py, column help from ui/pipeline_tables.py.
"""

import datetime as dt

import streamlit as st

from queries import cache, contracts, currency, executor, pipeline
from reports import pipeline_view as pv
from ui import charts, tables
from ui import pipeline_tables as pt
from ui.sections import section
from ui.state import current_filters, run_in_frame

run_in_frame()  # a link opened first on a freshly started server still runs in the frame

filters = current_filters()
contract = contracts.current()
version = executor.store_version()
st.title("Pipeline")
if not pipeline.has_opportunities(contract):
    st.info(pv.NO_OPPORTUNITIES)
    st.stop()

# The days the date boxes offer and open on (reports/pipeline_view.py, which the warm-up runs).
days = pv.span(filters, cache.call)
as_of = days.as_of
moment = pipeline.moment_filters(filters)
owners = pv.owners(cache.call)
rate_bases = cache.call(currency.bases)

CUR_EACH = pv.CUR_EACH
SOURCE_CHOICES = pv.SOURCE_CHOICES


def _url_day(name: str, low: dt.date, high: dt.date) -> dt.date | None:
    text = st.query_params.get(name)
    if not isinstance(text, str) or len(text) != 10:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if low <= day <= high else None


# A link reproduces the view: read the URL once per session, keeping only valid values.
if not st.session_state.get("_pipeline_url_read"):
    st.session_state["_pipeline_url_read"] = True
    t1_url = _url_day("t1", *days.t1_bounds)
    t2_url = _url_day("t2", *days.t2_bounds)
    if t1_url and t2_url and t1_url < t2_url:
        st.session_state["pl_t1"], st.session_state["pl_t2"] = t1_url, t2_url
    elif t2_url:
        st.session_state["pl_t2"] = t2_url
        st.session_state["pl_t1"] = max(days.first_day, t2_url - dt.timedelta(days=pipeline.DEFAULT_DAYS))
    if st.query_params.get("cur") in (CUR_EACH, *rate_bases):
        st.session_state["pl_cur"] = st.query_params.get("cur")
    if st.query_params.get("src") in SOURCE_CHOICES:
        st.session_state["pl_src"] = st.query_params.get("src")
    for name, key in (("show", "pl_show_url"), ("bar", "pl_bar_url")):
        if isinstance(st.query_params.get(name), str):
            st.session_state[key] = st.query_params.get(name)  # checked once the choices are known

# Dates outside the store's span (a newer import, an as-of set in the sidebar) are put back in.
for key, default, (low, high) in (("pl_t2", days.t2, days.t2_bounds), ("pl_t1", days.t1, days.t1_bounds)):
    value = st.session_state.get(key)
    if not isinstance(value, dt.date) or not low <= value <= high:
        st.session_state[key] = default
if st.session_state.get("pl_cur") not in (CUR_EACH, *rate_bases):
    st.session_state["pl_cur"] = pv.default_currency(rate_bases)
st.session_state.setdefault("pl_src", pv.DEFAULT_SOURCE)

st.caption(pv.as_of_caption(filters, as_of), help=pipeline.DEFINITIONS["state"])

c1, c2, c3, c4 = st.columns([1, 1, 1.5, 2.2])
t1 = c1.date_input(
    "From (T1)",
    key="pl_t1",
    min_value=days.t1_bounds[0],
    max_value=days.t1_bounds[1],
    format="YYYY-MM-DD",
    help=pv.T1_HELP,
)
t2 = c2.date_input(
    "To (T2)",
    key="pl_t2",
    min_value=days.t2_bounds[0],
    max_value=days.t2_bounds[1],
    format="YYYY-MM-DD",
    help=pv.T2_HELP,
)
cur = c3.selectbox(
    "Amounts",
    [CUR_EACH, *rate_bases],
    format_func=pv.currency_label,
    key="pl_cur",
    help=pv.currency_help(rate_bases),
)
src = c4.segmented_control(
    "Sourced by",
    list(SOURCE_CHOICES),
    format_func=SOURCE_CHOICES.get,
    key="pl_src",
    required=True,
    help=pipeline.DEFINITIONS["sourced"],
)
base = pv.base_currency(cur)
sourced = pv.source_filter(src)
if not (isinstance(t1, dt.date) and isinstance(t2, dt.date)) or t1 >= t2:
    st.query_params["t1"], st.query_params["t2"] = str(t1), str(t2)
    st.warning(pv.BAD_DATES)
    st.stop()

p = pv.pipeline_part(moment, t1, t2, sourced, base, call=cache.call)
v = p.view
if p.warning:
    st.warning(p.warning, icon=":material/currency_exchange:")


def metrics(columns, shown) -> None:
    for column, m in zip(columns, shown, strict=True):
        column.metric(m.label, m.value, delta=m.delta, delta_color="off", help=m.help, border=True)


# ---- The open pipeline at T2 ----------------------------------------------------------------------


@section
def pipeline_at(moment, t1, t2, sourced, base, version):
    """The headline of the open pipeline at T2 and its table by stage; returns the table."""
    p = pv.pipeline_part(moment, t1, t2, sourced, base, call=cache.call)
    st.subheader(p.heading, help=pipeline.DEFINITIONS["pipeline"])
    left, mid, right = st.columns(3)
    metrics((left, mid, right), p.metrics)
    right.caption(p.start_caption)
    if p.currency_caption:
        st.caption(p.currency_caption)
    tables.show(p.stages, hide_index=True, fit=True, column_config=pt.column_help(p.stages, pt.STAGES))
    return p.stages


stage_table = pipeline_at(moment, t1, t2, sourced, base, version)
tables.download(stage_table, f"pipeline_{v.t2}.csv", key="dl-pipeline")

# ---- Movement from T1 to T2 ------------------------------------------------------------------------

st.subheader(p.movement_heading, help=pipeline.DEFINITIONS["movement"])
shown_url = st.session_state.pop("pl_show_url", None)
if shown_url in p.measures:
    st.session_state["pl_show"] = shown_url
if st.session_state.get("pl_show") not in p.measures:
    st.session_state["pl_show"] = p.default_measure
show = st.segmented_control(
    "Waterfall of",
    p.measures,
    format_func=lambda m: pv.measure_label(v, m),
    key="pl_show",
    required=True,
    help=pv.MEASURE_HELP,
)
wf = pv.waterfall(v, show)
picked = st.plotly_chart(
    charts.waterfall_figure(wf.bars, wf.title, wf.unit),
    key="pl_waterfall",
    on_select="rerun",
    selection_mode="points",
)
st.caption(pv.WATERFALL_CAPTION)


@section
def movement_table(moment, t1, t2, sourced, base, version):
    """The buckets as a table, with their definitions; returns it."""
    table = pv.pipeline_part(moment, t1, t2, sourced, base, call=cache.call).buckets
    tables.show(table, hide_index=True, fit=True, column_config=pt.column_help(table, pt.BUCKETS))
    return table


with st.expander("Movement as a table, with each bucket's definition"):
    bucket_table = movement_table(moment, t1, t2, sourced, base, version)
    tables.download(bucket_table, f"pipeline_movement_{v.t1}_{v.t2}.csv", key="dl-movement")

# ---- One bar's opportunities -------------------------------------------------------------------------

bar_url = st.session_state.pop("pl_bar_url", None)
if bar_url in pipeline.BARS:
    st.session_state["pl_bar"] = bar_url
points = picked.selection.points if picked else []
clicked = [x.get("customdata") for x in points if x.get("customdata")]
if clicked and clicked[0] in pipeline.BARS and clicked[0] != st.session_state.get("_pl_clicked"):
    st.session_state["pl_bar"] = clicked[0]
st.session_state["_pl_clicked"] = clicked[0] if clicked else None
if st.session_state.get("pl_bar") not in pipeline.BARS:
    st.session_state["pl_bar"] = wf.default
bar = st.selectbox(
    "Opportunities of", list(pipeline.BARS), format_func=wf.bar_label, key="pl_bar", help=pv.BAR_HELP
)


@section
def bar_opportunities(moment, bar, t1, t2, sourced, base, version):
    """The bar's opportunities, the first SCREEN_ROWS of them; returns the table."""
    b = pv.bar_part(moment, bar, t1, t2, sourced, base, owners, call=cache.call)
    if b.message:
        st.info(b.message)
        return b.table
    if b.caption:
        st.caption(b.caption)
    # Whole at 1280 px like the page's other tables: the columns that do not fit are named, and
    # are in the CSV below it.
    tables.show(
        b.table,
        hide_index=True,
        fit=True,
        column_order=pt.screen_order(b.table, pt.OPPORTUNITIES_FIRST),
        column_config=pt.column_help(b.table, pt.OPPORTUNITIES),
    )
    return b.table


bar_opportunities(moment, bar, t1, t2, sourced, base, version)
tables.download(
    lambda: pv.bar_download(moment, bar, t1, t2, sourced, base, owners, p.converted_to),
    f"pipeline_{bar}_{t1}_{t2}.csv",
    label="Download CSV (all rows)",
    key="dl-bar",
)

# The view is in the URL, so a link reproduces it (the frame keeps its own parameters).
st.query_params.update(
    {"t1": t1.isoformat(), "t2": t2.isoformat(), "cur": cur, "src": src, "show": show, "bar": bar}
)

# ---- Stage history ------------------------------------------------------------------------------------

history_filters = pipeline.history_filters(filters)


@section
def stage_history(history_filters, version):
    """How the cohort's opportunities really moved: visits per stage, days in each stage, and
    the backward moves and re-opens; returns the two tables."""
    h = pv.history(history_filters, owners, call=cache.call)
    st.subheader(h.heading, help=pipeline.DEFINITIONS["visits"])
    if h.empty:
        st.info(h.message)
        return None, None
    left, mid, right = st.columns(3)
    metrics((left, mid, right), h.metrics)
    if h.moved_back:
        mid.caption(h.moved_back)
    # Fourteen columns are too wide for one table at 1280 px: how far the visits went, then how
    # they ended and how long they took (the CSV below has them side by side).
    for part in (pt.VISITS_REACH, pt.VISITS_ENDS):
        shown = h.visits[[c for c in part if c in h.visits.columns]]
        tables.show(
            shown,
            hide_index=True,
            fit=True,
            column_config=pt.column_help(shown, pt.VISITS, percent=pt.VISITS_PERCENT),
        )
    if h.has_days:
        st.plotly_chart(charts.stage_days_figure(h.visit_rows, h.days_title), key="pl_days_chart")
    st.markdown(h.moves_heading, help=h.moves_help)
    if h.moves.empty:
        st.caption(h.no_moves)
    else:
        tables.show(h.moves, hide_index=True, fit=True, column_order=pt.screen_order(h.moves, pt.MOVES_FIRST))
    return h.visits, h.moves


visits_table, moves_table = stage_history(history_filters, version)
if visits_table is not None:
    tables.download(visits_table, "stage_visits.csv", key="dl-visits")
if moves_table is not None and not moves_table.empty:
    tables.download(
        lambda: pv.moves_download(history_filters, owners),
        "backward_moves_and_reopens.csv",
        label="Download CSV (all rows)",
        key="dl-moves",
    )
