"""Pipeline, the Sales leader's weekly review: the open pipeline at a date by stage, what moved
between two dates (a waterfall from the first date's pipeline to the second's, each bar down to
its opportunities), and how the opportunities really moved through their stages.

Counts opportunities whatever the sidebar counts; the sidebar's channel, region, segment and
owner filters apply, its date range only to the stage history. The two dates (T1, T2), the
currency, the sourcing team, the waterfall's measure and the bar drilled into are in the URL
(?t1=&t2=&cur=&src=&show=&bar=), each checked against what the store offers. Computation lives
in queries/pipeline.py, figures in ui/charts.py, tables in ui/pipeline_tables.py.
"""

import datetime as dt

import streamlit as st

from queries import cache, contracts, currency, executor, funnel, options, pipeline
from reports import format as fmt
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
    st.info(
        "This store's data records no stage of an opportunity (a deal), only the stages of leads, "
        "so there is no pipeline to show. Import an export of opportunities with their stage history "
        "(for example Salesforce Opportunity and OpportunityHistory) on the Data page."
    )
    st.stop()

as_of = filters.as_of or cache.call(funnel.latest_event_at)
last_day = as_of.date()
first_day = cache.call(options.date_bounds, grain=pipeline.GRAIN)[0] or last_day
first_day = min(first_day, last_day - dt.timedelta(days=1))
moment = pipeline.moment_filters(filters)
owners = options.choices(cache.call(options.filter_options), "owner")
rate_bases = cache.call(currency.bases)

CUR_EACH = "each"
SOURCE_CHOICES = {"all": "All", "marketing": "Marketing-sourced", "sales": "Sales-sourced"}


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
    t1_url = _url_day("t1", first_day, last_day - dt.timedelta(days=1))
    t2_url = _url_day("t2", first_day + dt.timedelta(days=1), last_day)
    if t1_url and t2_url and t1_url < t2_url:
        st.session_state["pl_t1"], st.session_state["pl_t2"] = t1_url, t2_url
    elif t2_url:
        st.session_state["pl_t2"] = t2_url
        st.session_state["pl_t1"] = max(first_day, t2_url - dt.timedelta(days=pipeline.DEFAULT_DAYS))
    if st.query_params.get("cur") in (CUR_EACH, *rate_bases):
        st.session_state["pl_cur"] = st.query_params.get("cur")
    if st.query_params.get("src") in SOURCE_CHOICES:
        st.session_state["pl_src"] = st.query_params.get("src")
    for name, key in (("show", "pl_show_url"), ("bar", "pl_bar_url")):
        if isinstance(st.query_params.get(name), str):
            st.session_state[key] = st.query_params.get(name)  # checked once the choices are known

# Dates outside the store's span (a newer import, an as-of set in the sidebar) are put back in.
default_t1, default_t2 = pipeline.default_dates(filters)
for key, default, low, high in (
    ("pl_t2", default_t2, first_day + dt.timedelta(days=1), last_day),
    ("pl_t1", max(first_day, default_t1), first_day, last_day - dt.timedelta(days=1)),
):
    value = st.session_state.get(key)
    if not isinstance(value, dt.date) or not low <= value <= high:
        st.session_state[key] = min(max(default, low), high)
if st.session_state.get("pl_cur") not in (CUR_EACH, *rate_bases):
    st.session_state["pl_cur"] = rate_bases[0] if len(rate_bases) == 1 else CUR_EACH
st.session_state.setdefault("pl_src", "all")

as_of_text = (
    f"as of {as_of:%d %b %Y} (end of day, set in the sidebar)"
    if filters.as_of
    else f"as of {as_of:%d %b %Y %H:%M} UTC (latest event in the store)"
)
st.caption(
    f"Opportunities, {as_of_text}. The sidebar's channel, region, segment and owner filters apply; "
    "its date range applies to the stage history below only. Each date means the end of that day.",
    help=pipeline.DEFINITIONS["state"],
)

c1, c2, c3, c4 = st.columns([1, 1, 1.5, 2.2])
t1 = c1.date_input(
    "From (T1)",
    key="pl_t1",
    min_value=first_day,
    max_value=last_day - dt.timedelta(days=1),
    format="YYYY-MM-DD",
    help="The first date of the movement: the pipeline as it stood at the end of this day. "
    "Default: a week before T2.",
)
t2 = c2.date_input(
    "To (T2)",
    key="pl_t2",
    min_value=first_day + dt.timedelta(days=1),
    max_value=last_day,
    format="YYYY-MM-DD",
    help="The date of the pipeline by stage and the end of the movement. Default: the as-of day.",
)
cur = c3.selectbox(
    "Amounts",
    [CUR_EACH, *rate_bases],
    format_func=lambda c: "Each currency apart" if c == CUR_EACH else f"All in {c}, at dated rates",
    key="pl_cur",
    help=pipeline.DEFINITIONS["currencies"]
    + (
        ""
        if rate_bases
        else " The store holds no exchange rates yet: import them with python -m data.rates FILE --base EUR."
    ),
)
src = c4.segmented_control(
    "Sourced by",
    list(SOURCE_CHOICES),
    format_func=SOURCE_CHOICES.get,
    key="pl_src",
    required=True,
    help=pipeline.DEFINITIONS["sourced"],
)
base = None if cur == CUR_EACH else cur
sourced = None if src == "all" else src
if not (isinstance(t1, dt.date) and isinstance(t2, dt.date)) or t1 >= t2:
    st.query_params["t1"], st.query_params["t2"] = str(t1), str(t2)
    st.warning("T1 must be a day before T2: pick an earlier From date or a later To date.")
    st.stop()

v = cache.call(pipeline.view, moment, t1, t2, sourced, base)
if base and v.missing_rates:
    st.warning(
        f"Amounts are shown per currency: {pipeline.missing_text(v)}", icon=":material/currency_exchange:"
    )
unit = v.base if v.converted else None
who = "" if sourced is None else f" · {SOURCE_CHOICES[src].lower()} only"


def _money(v: pipeline.View, end: dict) -> str:
    if v.converted:
        return fmt.amount(end["converted"], v.base)
    amounts = {c: a for c, a in end["amounts"].items() if a}
    return fmt.amounts(amounts) if amounts else "no amounts"


# ---- The open pipeline at T2 ----------------------------------------------------------------------


@section
def pipeline_at(moment, t1, t2, sourced, base, version):
    """The headline of the open pipeline at T2 and its table by stage; returns the table."""
    v = cache.call(pipeline.view, moment, t1, t2, sourced, base)
    st.subheader(f"Open pipeline on {v.t2:%d %b %Y}{who}", help=pipeline.DEFINITIONS["pipeline"])
    left, mid, right = st.columns(3)
    change = v.end["n"] - v.start["n"]
    left.metric(
        "Open opportunities",
        f"{v.end['n']:,}",
        delta=f"{change:+,} since {v.t1:%d %b}",
        delta_color="off",
        help=pipeline.DEFINITIONS["pipeline"] + " " + pipeline.DEFINITIONS["state"],
        border=True,
    )
    mid.metric(
        "Open amount" + (f" ({v.base})" if v.converted else " per currency"),
        _money(v, v.end),
        help=pipeline.DEFINITIONS["currencies"],
        border=True,
    )
    right.metric(
        f"Open amount on {v.t1:%d %b %Y}",
        _money(v, v.start),
        help="The same pipeline at the end of T1: the waterfall below starts here.",
        border=True,
    )
    right.caption(f"{v.start['n']:,} open opportunities then")
    if not v.converted and len([c for c in v.currencies if c]) > 1:
        st.caption(
            "Amounts in different currencies are never added up; choose a currency with rates above to see one total."
        )
    table = pt.stages_table(v)
    tables.show(
        table,
        hide_index=True,
        fit=True,
        column_config=pt.column_help(
            table,
            {
                "Stage": "The stage the opportunity was in at the end of T2 (its latest stage event by then).",
                "Open opportunities": pipeline.DEFINITIONS["pipeline"],
                "Marketing-sourced": pipeline.DEFINITIONS["sourced"],
                "Sales-sourced": pipeline.DEFINITIONS["sourced"],
                "With an amount": "Open opportunities whose events carried an amount by T2.",
                "Amount": "The sum of their latest amounts by T2, in this currency only.",
                "All in": pipeline.DEFINITIONS["currencies"],
            },
        ),
    )
    return table


stage_table = pipeline_at(moment, t1, t2, sourced, base, version)
tables.download(stage_table, f"pipeline_{v.t2}.csv", key="dl-pipeline")

# ---- Movement from T1 to T2 ------------------------------------------------------------------------

st.subheader(
    f"What moved from {v.t1:%d %b %Y} to {v.t2:%d %b %Y}{who}", help=pipeline.DEFINITIONS["movement"]
)
measures = (["base"] if v.converted else []) + [c for c in v.currencies if c] + ["count"]
shown_url = st.session_state.pop("pl_show_url", None)
if shown_url in measures:
    st.session_state["pl_show"] = shown_url
if st.session_state.get("pl_show") not in measures:
    st.session_state["pl_show"] = measures[0]
show = st.segmented_control(
    "Waterfall of",
    measures,
    format_func=lambda m: (
        f"All in {v.base}"
        if m == "base"
        else "Opportunities (count)"
        if m == "count"
        else f"{m} amounts only"
    ),
    key="pl_show",
    required=True,
    help="Count: open opportunities. A currency: only the amounts in that currency (the others are "
    "never added in). All in a base currency: every amount converted at its dated rate.",
)
wf = pipeline.waterfall(v, show)
measure_unit = "count" if show == "count" else (v.base if show == "base" else show)
picked = st.plotly_chart(
    charts.waterfall_figure(
        wf,
        f"Open pipeline from {v.t1:%d %b} to {v.t2:%d %b %Y}"
        + ("" if show in ("count", "base") else f" · {show} amounts only"),
        measure_unit,
    ),
    key="pl_waterfall",
    on_select="rerun",
    selection_mode="points",
)
st.caption(
    "Each bucket's bar is what its opportunities did to the open pipeline; a bucket that moves "
    "opportunities without changing the measure (a stage move leaves the amount as it was) is flat, "
    "with its count above it. Pick a bar below (or click it) to list its opportunities."
)


@section
def movement_table(moment, t1, t2, sourced, base, version):
    """The buckets as a table, with their definitions; returns it."""
    v = cache.call(pipeline.view, moment, t1, t2, sourced, base)
    table = pt.buckets_table(v)
    tables.show(
        table,
        hide_index=True,
        fit=True,
        column_config=pt.column_help(
            table,
            {
                "Bucket": pipeline.DEFINITIONS["movement"],
                "Opportunities": "Opportunities counted in this bucket (each opportunity is in one bucket only).",
                "Marketing-sourced": pipeline.DEFINITIONS["sourced"],
                "Sales-sourced": pipeline.DEFINITIONS["sourced"],
                "Open at T1": "Of them, open at the end of T1.",
                "Open at T2": "Of them, open at the end of T2.",
                "Change": "Their open amounts at T2 minus their open amounts at T1, in this currency only.",
                "Definition": "The rule that puts an opportunity in this bucket; buckets apply in this order.",
            },
        ),
    )
    return table


with st.expander("Movement as a table, with each bucket's definition"):
    bucket_table = movement_table(moment, t1, t2, sourced, base, version)
    tables.download(bucket_table, f"pipeline_movement_{v.t1}_{v.t2}.csv", key="dl-movement")

# ---- One bar's opportunities -------------------------------------------------------------------------

counts = dict(zip(wf["bar"], wf["n_opportunities"], strict=True))
bar_url = st.session_state.pop("pl_bar_url", None)
if bar_url in pipeline.BARS:
    st.session_state["pl_bar"] = bar_url
clicked = [p.get("customdata") for p in (picked.selection.points if picked else []) if p.get("customdata")]
if clicked and clicked[0] in pipeline.BARS and clicked[0] != st.session_state.get("_pl_clicked"):
    st.session_state["pl_bar"] = clicked[0]
st.session_state["_pl_clicked"] = clicked[0] if clicked else None
if st.session_state.get("pl_bar") not in pipeline.BARS:
    st.session_state["pl_bar"] = next((k for k in pipeline.BUCKETS if counts.get(k)), "end")
bar = st.selectbox(
    "Opportunities of",
    list(pipeline.BARS),
    format_func=lambda b: f"{pipeline.BARS[b]} ({counts.get(b, 0):,})",
    key="pl_bar",
    help="The opportunities behind one bar of the waterfall: the pipeline at T1 or T2, or one bucket.",
)


@section
def bar_opportunities(moment, bar, t1, t2, sourced, base, version):
    """The bar's opportunities, the first SCREEN_ROWS of them; returns the table."""
    v = cache.call(pipeline.view, moment, t1, t2, sourced, base)
    rows = cache.call(pipeline.opportunities, moment, bar, t1, t2, sourced, base, limit=pipeline.SCREEN_ROWS)
    table = pt.opportunities_table(rows, owners, base if v.converted else None)
    if table.empty:
        st.info(f"No opportunity in '{pipeline.BARS[bar]}' between these dates.")
        return table
    if len(table) == pipeline.SCREEN_ROWS:
        st.caption(f"The {pipeline.SCREEN_ROWS:,} largest are shown; the download holds every one.")
    tables.show(
        table,
        hide_index=True,
        column_config=pt.column_help(
            table,
            {
                "Opportunity": "Its name in the CRM (its id when it has none).",
                "Sourced by": pipeline.DEFINITIONS["sourced"],
                "Bucket": pipeline.DEFINITIONS["movement"],
                "At T1": "Its stage at the end of T1 (or the exit that had closed it).",
                "At T2": "Its stage at the end of T2 (or the exit that had closed it).",
                "Amount at": "Its latest amount by that date, in the currency beside it.",
                "In ": pipeline.DEFINITIONS["currencies"],
                "Close date": "Its latest expected close date by that date.",
                "Created": "Its first stage event: when it entered the pipeline.",
            },
        ),
    )
    return table


bar_opportunities(moment, bar, t1, t2, sourced, base, version)
tables.download(
    lambda: pt.opportunities_table(
        pipeline.opportunities(moment, bar, t1, t2, sourced, base, limit=pipeline.MAX_ROWS),
        owners,
        base if v.converted else None,
    ),
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
range_text = f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y}"


@section
def stage_history(history_filters, version):
    """How the cohort's opportunities really moved: visits per stage, days in each stage, and
    the backward moves and re-opens; returns the two tables."""
    st.subheader(
        f"Stage history: opportunities that started {range_text}", help=pipeline.DEFINITIONS["visits"]
    )
    visits = cache.call(pipeline.stage_visits, history_filters)
    counts = cache.call(funnel.stage_history, history_filters)
    if not int(visits["n_opportunities"].sum()):
        st.info(
            "No opportunity started in this date range with these filters: widen the range in the sidebar."
        )
        return None, None
    left, mid, right = st.columns(3)
    left.metric(
        "Opportunities in the cohort",
        f"{int(visits['n_opportunities'].iloc[0]) if len(visits) else 0:,}",
        help="Opportunities whose first stage event falls in the sidebar's date range (with its filters), "
        "followed to the as-of.",
        border=True,
    )
    mid.metric(
        "Backward moves",
        f"{counts['backward_moves']:,}",
        help=pipeline.DEFINITIONS["backward"]
        + f" {counts['moved_back']:,} opportunities moved back at least once.",
        border=True,
    )
    if counts["moved_back"]:
        mid.caption(
            f"in {counts['moved_back']:,} "
            + ("opportunity" if counts["moved_back"] == 1 else "opportunities")
        )

    right.metric(
        "Re-opened opportunities",
        f"{counts['reopened']:,}",
        help=pipeline.DEFINITIONS["reopened"],
        border=True,
    )
    table = pt.visits_table(visits)
    tables.show(
        table,
        hide_index=True,
        column_config=pt.column_help(
            table,
            {
                "Stage": pipeline.DEFINITIONS["visits"],
                "Opportunities": "Opportunities with at least one real visit to the stage (a skipped stage is not filled in).",
                "% of previous": "Opportunities in this stage ÷ opportunities in the stage before.",
                "% of first": "Opportunities in this stage ÷ opportunities in the first stage.",
                "Visits": "Visits to the stage; an opportunity that came back counts each visit.",
                "Moved on (share)": "Opportunities that moved on to a later stage at least once ÷ opportunities in the stage.",
                "Moved on": "Opportunities that moved on from this stage to a later one at least once (their real path).",
                "Moved back": "Visits that ended with a move to an earlier stage.",
                "Lost": "Visits that ended with a lost exit.",
                "Other exit": "Visits that ended with another exit.",
                "Still there": "Visits still going on at the as-of.",
                "Median days": pipeline.DEFINITIONS["time_in_stage"],
                "p75 days": pipeline.DEFINITIONS["time_in_stage"],
                "p90 days": pipeline.DEFINITIONS["time_in_stage"],
            },
            percent=("% of previous", "% of first", "Moved on (share)"),
        ),
    )
    if visits["median_days"].notna().any():
        st.plotly_chart(
            charts.stage_days_figure(visits, "Days in each stage, per visit that ended"), key="pl_days_chart"
        )
    moves = cache.call(pipeline.stage_moves, history_filters)
    moves_table = pt.moves_table(moves, owners)
    st.markdown(
        "**Backward moves and re-opens**",
        help=pipeline.DEFINITIONS["backward"] + " " + pipeline.DEFINITIONS["reopened"],
    )
    if moves_table.empty:
        st.caption("None: every opportunity of the cohort moved only forward and none was re-opened.")
    else:
        tables.show(moves_table, hide_index=True)
    return table, moves_table


visits_table, moves_table = stage_history(history_filters, version)
if visits_table is not None:
    tables.download(visits_table, "stage_visits.csv", key="dl-visits")
if moves_table is not None and not moves_table.empty:
    tables.download(
        lambda: pt.moves_table(pipeline.stage_moves(history_filters, limit=pipeline.MAX_ROWS), owners),
        "backward_moves_and_reopens.csv",
        label="Download CSV (all rows)",
        key="dl-moves",
    )
