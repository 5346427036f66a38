"""Content, for marketing ops: does Sales use Marketing's content, which content is associated
with leads moving on, and how revenue is credited across touches under the usual models.

Every comparison here is an association, not proof of cause, and says so. Filters come from
the frame, or defaults when the page is opened on its own. Layout only: what is shown comes
from reports/content_view.py (computation in queries/content.py and queries/attribution.py,
definitions in docs/content.md), figures from ui/charts.py, table formats from
ui/content_tables.py. Content titles are text from the store: tables show them as plain text,
and charts get them HTML-escaped.
"""

import streamlit as st

from queries import attribution, cache, contracts, executor
from queries.attribution import MODELS
from reports import content_view as cv
from ui import charts, tables
from ui import content_tables as ct
from ui.sections import section
from ui.state import (
    current_filters,
    run_in_frame,
)

run_in_frame()  # a link opened first on a freshly started server still runs in the frame

# The boxes' labels come from the view's choices: value -> label (an unknown value is an error,
# never a blank label).

contract = contracts.current().effective()
filters = current_filters()
# Each section below is drawn once per (filters, choices, store version) and replayed for
# everyone else (ui/sections.py); widgets and download buttons stay outside them.
version = executor.store_version()


@section
def intro(filters, version) -> cv.Intro:
    """Title, the as-of line and the first question; returns the part (the win rates' default
    range and the range box's choices)."""
    head = cv.intro(filters, call=cache.call, contract=contract)
    st.title("Content")
    st.caption(head.caption)

    # ---- 1. Does Sales use Marketing's content? --------------------------------------------
    st.header("Does Sales use Marketing's content?")
    return head


head = intro(filters, version)
sales_range = st.radio(
    cv.RANGE_LABEL,
    list(head.range_choices),
    format_func=head.range_choices.__getitem__,
    horizontal=True,
    key="content-sales-range",
    help=head.range_help,
)
sales_filters = head.sales_filters(sales_range, filters)


@section
def sales_use(sales_filters, version) -> bool:
    """Share of opportunities using Marketing content and the win rates with and without it;
    returns whether any opportunity was opened in the range (False: a note says so)."""
    use = cv.sales_use(sales_filters, call=cache.call, contract=contract)
    if not use.opened:
        st.info(use.message)
        return False
    if use.warning:
        st.warning(use.warning, icon=":material/hourglass_top:")
    for column, m in zip(st.columns(3), use.metrics, strict=True):
        column.metric(m.label, m.value, delta=m.delta, delta_color=m.delta_color, help=m.help, border=True)
        column.caption(m.caption)
    st.caption(use.verdict)
    return True


@section
def sales_groups(sales_filters, by, version):
    """Win rates with and without Marketing content per group (one bar pair for all
    opportunities when `by` is None) and their table; returns the table for the download."""
    g = cv.sales_groups(sales_filters, by, call=cache.call)
    st.plotly_chart(
        charts.content_sales_figure(g.rows, g.span, g.is_mature, g.axis_title), key="content-sales-chart"
    )
    ct.show(g.table)
    return g.rows


if sales_use(sales_filters, version):
    sales_by = st.selectbox(
        "Compare within",
        list(cv.SALES_BY_CHOICES),
        format_func=cv.SALES_BY_CHOICES.__getitem__,
        key="content-sales-by",
        help=cv.SALES_BY_HELP,
    )
    groups = sales_groups(sales_filters, sales_by, version)
    tables.download(groups, "sales_use_of_marketing_content.csv", key="dl-content-sales")


@section
def reach_section(filters, version):
    """Who uses each piece of content (top 20 by leads reached) and the table of every piece;
    returns the table for the download."""
    # ---- 2. Which content reaches leads, and which moves them? -----------------------------
    st.header("Which content reaches leads, and which moves them?")
    r = cv.reach(filters, call=cache.call)
    if r.message:
        st.info(r.message)
    else:
        st.plotly_chart(charts.content_reach_figure(r.top), key="content-reach-chart")
    if r.unused:
        st.caption(r.unused)
    ct.show(r.table)
    return r.rows


reach = reach_section(filters, version)
tables.download(reach, "content_reach.csv", key="dl-content-reach")


@section
def advance_intro(filters, version) -> cv.AdvanceIntro:
    """How touched leads are compared with comparable ones; returns the part (the stages with
    touched content, in order, and their labels; no stage: a note says so)."""
    st.subheader("Leads touched by a piece of content vs comparable leads")
    a = cv.advance_intro(filters, call=cache.call, contract=contract)
    st.caption(a.caption)
    if a.message:
        st.info(a.message)
    return a


@section
def advance_stage(filters, stage, version):
    """Touched vs comparable leads' advance rate per piece of content for one stage, and its
    table; returns every stage's rows for the download."""
    a = cv.advance_stage(filters, stage, call=cache.call, contract=contract)
    if a.warning:
        st.warning(a.warning, icon=":material/hourglass_top:")
    st.plotly_chart(
        charts.content_advance_figure(a.part, a.transition, a.is_mature), key="content-advance-chart"
    )
    if a.small:
        st.caption(a.small)
    ct.show(a.table)
    return a.rows


stages = advance_intro(filters, version)
if stages.stages:
    stage = st.selectbox(
        "Stage",
        stages.stages,
        index=len(stages.stages) - 1,
        format_func=stages.stage_labels.__getitem__,
        key="content-advance-stage",
    )
    advance = advance_stage(filters, stage, version)
    tables.download(advance, "content_advance_all_stages.csv", key="dl-content-advance")

# ---- 3. Revenue attribution --------------------------------------------------------------
# One constant line between two rows of widgets: drawn directly (replaying it costs more).
st.header("Revenue attribution across touches")
c1, c2, c3, c4 = st.columns(4)
basis = c1.radio(
    "Deals",
    list(cv.BASIS_CHOICES),
    format_func=cv.BASIS_CHOICES.get,
    key="content-attr-basis",
)
by = c2.selectbox(
    "Credit to",
    list(cv.BY_CHOICES),
    format_func=cv.BY_CHOICES.get,
    key="content-attr-by",
    help=cv.BY_HELP,
)
half_life = c3.number_input(
    "Time-decay half-life (days)",
    min_value=0.5,
    max_value=attribution.MAX_HALF_LIFE_DAYS,
    value=attribution.DEFAULT_HALF_LIFE_DAYS,
    step=1.0,
    key="content-attr-half-life",
    help=cv.HALF_LIFE_HELP,
)
sourced_choices = cv.sourced_choices(contract)
sourced_by = c4.selectbox(
    "Deals sourced by",
    list(sourced_choices),
    format_func=sourced_choices.__getitem__,
    key="content-attr-sourced",
    help=cv.SOURCED_HELP,
)


@section
def credits_section(filters, by, basis, half_life, sourced_by, version):
    """How the models split a deal, the check that credits add up, the chart of each model's
    credit and its table; returns the table for the download (None when there is no deal)."""
    c = cv.credits(filters, by, basis, half_life, sourced_by, call=cache.call, contract=contract)
    st.caption(c.caption)
    if c.rows is None:
        st.info(c.message)
        return None
    if c.adds_up:
        st.caption(c.check)
    else:
        st.error(c.check)
    if c.note:
        st.info(c.note, icon=":material/info:")
    st.plotly_chart(
        charts.content_credits_figure(c.top, MODELS, c.total, c.title, c.axis_title), key="content-attr-chart"
    )
    ct.show(c.table)
    return c.rows


credits = credits_section(filters, by, basis, float(half_life), sourced_by, version)
if credits is not None:
    suffix = "" if sourced_by is None else f"_{sourced_by}_sourced"
    tables.download(credits, f"attribution_by_{by}_{basis}{suffix}.csv", key="dl-content-attr")


@section
def sourcing_section(filters, basis, version):
    """Deals per sourcing team and the share Marketing influenced; returns the deals for the
    download (None when there is none)."""
    s = cv.sourcing(filters, basis, call=cache.call)
    if s is None:
        return None
    st.subheader("Sourced and influenced")
    st.caption(s.caption)
    ct.show(s.table)
    return s.rows


sourcing = sourcing_section(filters, basis, version)
if sourcing is not None:
    tables.download(sourcing, f"sourced_influenced_{basis}.csv", key="dl-content-sourcing")
