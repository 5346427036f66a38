"""The filters every page reads: set by the frame's sidebar (and the URL), with defaults so a
page opened on its own (or under AppTest) still renders.

    from ui.state import current_filters
    filters = current_filters()          # a validated queries.filters.Filters
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from queries import cache, funnel, ranges
from queries.filters import Filters


def run_in_frame() -> None:
    """Every page's first call. On a freshly started server, until the frame (dashboard.py) has
    once called st.navigation, Streamlit still treats pages/ as its old pages folder
    (PagesManager.uses_pages_directory) and runs a requested page's file straight: a shared link
    opened first showed the page without the sidebar, in a narrow layout, with the menu listing
    file names. This switches that off and runs again, through the frame, to the same page.
    Nothing happens inside the frame or under AppTest."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


FILTERS_KEY = "filters"  # st.session_state[FILTERS_KEY] holds the Filters the frame chose
VIEW_KEY = "view"  # st.session_state[VIEW_KEY]: "cohort" (default) or "flow"


def last_full_quarter(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The last calendar quarter that ended on or before `as_of`."""
    q_start = dt.date(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1)
    if as_of == _quarter_end(q_start):
        return q_start, as_of
    end = q_start - dt.timedelta(days=1)
    return dt.date(end.year, 3 * ((end.month - 1) // 3) + 1, 1), end


def _quarter_end(q_start: dt.date) -> dt.date:
    month = q_start.month + 3
    year = q_start.year + (month > 12)
    month = month - 12 if month > 12 else month
    return dt.date(year, month, 1) - dt.timedelta(days=1)


def default_filters() -> Filters:
    """The store's default range (queries.ranges: the latest full quarter in which cohorts
    start, mature where possible), everything else unfiltered."""
    chosen = cache.call(ranges.default_range)
    if chosen is None:  # no journeys yet: any range shows the same empty store
        start, end = last_full_quarter(cache.call(funnel.latest_event_at).date())
        return Filters(start=start, end=end)
    return Filters(start=chosen.start, end=chosen.end)


def current_filters() -> Filters:
    value = st.session_state.get(FILTERS_KEY)
    return value if isinstance(value, Filters) else default_filters()


def current_view() -> str:
    return "flow" if st.session_state.get(VIEW_KEY) == "flow" else "cohort"
