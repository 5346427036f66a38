"""The global filters in the sidebar, kept in session state and mirrored in the URL.

The frame calls `render()` on every run. It reads the URL once per browser session (a pasted
link reproduces the view), draws the widgets, stores a validated `Filters` in
st.session_state["filters"] and the view ("cohort" or "flow") in st.session_state["view"],
then writes the choice back to the URL (moving between pages drops the query string).

Nothing from the URL reaches a query unchecked: dates must parse and fall inside the store's
range, list values must be among the values the store holds, anything else is ignored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import streamlit as st

from queries import cache, funnel, options
from queries.filters import FilterError, Filters
from ui.state import FILTERS_KEY, VIEW_KEY, last_full_quarter

PRESETS = {
    "last_quarter": "Last full quarter",
    "last_30": "Last 30 days",
    "last_90": "Last 90 days",
    "ytd": "Year to date",
    "last_month": "Last full month",
    "custom": "Custom range",
}
DEFAULT_PRESET = "last_quarter"
VIEWS = {"cohort": "Cohort", "flow": "Flow"}

# URL parameter -> (widget key, options attribute) for the list filters.
LIST_PARAMS = {
    "channel": ("f_channel", "channel"),
    "region": ("f_region", "region"),
    "segment": ("f_segment", "segment"),
    "owner": ("f_owner", "owner"),
}
_URL_READ = "_filters_url_read"
MAX_PARAM_VALUES = 200  # a longer list in a URL is not a real selection: ignored


def preset_range(preset: str, latest: dt.date) -> tuple[dt.date, dt.date]:
    """The inclusive date range a preset means, counted back from the latest event's day."""
    if preset == "last_30":
        return latest - dt.timedelta(days=29), latest
    if preset == "last_90":
        return latest - dt.timedelta(days=89), latest
    if preset == "ytd":
        return dt.date(latest.year, 1, 1), latest
    if preset == "last_month":
        month_start = latest.replace(day=1)
        next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
        if latest == next_month - dt.timedelta(days=1):  # the latest day closes its month
            return month_start, latest
        prev_end = month_start - dt.timedelta(days=1)
        return prev_end.replace(day=1), prev_end
    return last_full_quarter(latest)


def _date(text: str | None, first: dt.date, last: dt.date) -> dt.date | None:
    """A date from the URL if it is an ISO day inside [first, last]; None otherwise."""
    if not isinstance(text, str) or len(text) != 10:
        return None
    try:
        value = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return value if first <= value <= last else None


def state_from_url(
    params: Mapping[str, list[str]],
    choices: Mapping[str, Mapping[str, str]],
    latest: dt.date,
    bounds: tuple[dt.date, dt.date],
) -> dict[str, object]:
    """Widget values from URL parameters (each a list of strings), keeping only valid ones.

    Returns {widget key: value} for the keys the URL sets validly; the rest keep defaults.
    """
    out: dict[str, object] = {}
    first, last = bounds

    def one(name: str) -> str | None:
        values = params.get(name) or []
        return values[-1] if values else None

    preset = one("preset")
    if preset in PRESETS:
        out["f_preset"] = preset
    start, end = _date(one("start"), first, last), _date(one("end"), first, last)
    # The dates are the exact view the link was made from: if a preset now means a different
    # range (newer data since), the link's dates win.
    is_same_as_preset = (
        preset in PRESETS and preset != "custom" and preset_range(preset, latest) == (start, end)
    )
    if start and end and start <= end and not is_same_as_preset:
        out["f_preset"] = "custom"
        out["f_range"] = (start, end)
    view = one("view")
    if view in VIEWS:
        out["f_view"] = view
    for name, (key, attribute) in LIST_PARAMS.items():
        values = params.get(name) or []
        if not values or len(values) > MAX_PARAM_VALUES:
            continue
        allowed = choices.get(attribute, {})
        valid = [v for v in dict.fromkeys(values) if v in allowed]
        if valid:
            out[key] = valid
    return out


def url_from_state(preset: str, start: dt.date, end: dt.date, view: str, lists: dict[str, list[str]]) -> dict:
    """The URL parameters for a view; lists become repeated keys."""
    params: dict[str, object] = {"preset": preset, "start": start.isoformat(), "end": end.isoformat()}
    if view != "cohort":
        params["view"] = view
    for name, values in lists.items():
        if values:
            params[name] = list(values)
    return params


def _read_url(choices, latest, bounds) -> None:
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    for key, value in state_from_url(params, choices, latest, bounds).items():
        st.session_state[key] = value


def _write_url(params: dict) -> None:
    managed = ("preset", "start", "end", "view", *LIST_PARAMS)
    for name in managed:
        if name not in params and name in st.query_params:
            del st.query_params[name]
    for name, value in params.items():
        current = st.query_params.get_all(name)
        wanted = value if isinstance(value, list) else [value]
        if current != wanted:
            st.query_params[name] = value


def render() -> Filters:
    """Draw the sidebar filters; return (and store in session state) the chosen Filters."""
    latest = cache.call(funnel.latest_event_at).date()
    choices = cache.call(options.filter_choices)
    first, last = cache.call(options.date_bounds)
    first = first or latest
    last = max(last or latest, latest)

    if not st.session_state.get(_URL_READ):
        _read_url(choices, latest, (first, last))
        st.session_state[_URL_READ] = True

    st.session_state.setdefault("f_preset", DEFAULT_PRESET)
    st.session_state.setdefault("f_view", "cohort")

    with st.sidebar:
        st.header("Filters", divider="gray")
        preset = st.selectbox(
            "Leads who started in",
            list(PRESETS),
            format_func=PRESETS.get,
            key="f_preset",
            help=f"Counted back from the latest event in the store ({latest:%d %b %Y}). In the "
            "cohort view, the leads whose journey started in this range; in the flow view, the "
            "stage entries that happened in it.",
        )
        start, end = preset_range(preset, latest)
        if preset == "custom":
            if "f_range" not in st.session_state:
                # Start from the range on screen, so switching to custom changes nothing yet.
                shown = st.session_state.get(FILTERS_KEY)
                if isinstance(shown, Filters):
                    start, end = shown.start, shown.end
                st.session_state["f_range"] = (
                    min(max(start, first), last),
                    min(max(end, first), last),
                )
            picked = st.date_input(
                "From – to", min_value=first, max_value=last, key="f_range", format="YYYY-MM-DD"
            )
            picked = tuple(picked) if isinstance(picked, list | tuple) else (picked,)
            if len(picked) == 2:
                start, end = picked
            elif len(picked) == 1:  # the second day is not picked yet: one day for now
                start = end = picked[0]
        else:
            st.caption(f"{start:%d %b %Y} – {end:%d %b %Y}")

        view = st.radio(
            "View",
            list(VIEWS),
            format_func=VIEWS.get,
            key="f_view",
            horizontal=True,
            help="Cohort: follows the leads who started in the range through every stage; its "
            "rates compare the same leads. Flow: counts entries into each stage during the "
            "range, whoever the leads are; its ratios compare different leads.",
        )
        lists: dict[str, list[str]] = {}
        for name, (key, attribute) in LIST_PARAMS.items():
            allowed = choices[attribute]
            if key in st.session_state:  # drop values the store no longer holds
                st.session_state[key] = [v for v in st.session_state[key] if v in allowed]
            lists[name] = st.multiselect(
                attribute.capitalize(),
                list(allowed),
                format_func=lambda v, allowed=allowed: allowed.get(v, v),
                key=key,
                placeholder="All",
            )

    try:
        filters = Filters(
            start=start,
            end=end,
            channels=lists["channel"],
            regions=lists["region"],
            segments=lists["segment"],
            owners=lists["owner"],
        )
    except FilterError as exc:  # cannot happen through the widgets; keep the last good view
        st.sidebar.warning(f"{exc}. Showing the previous selection.")
        filters = st.session_state.get(FILTERS_KEY) or Filters(*preset_range(DEFAULT_PRESET, latest))
    st.session_state[FILTERS_KEY] = filters
    st.session_state[VIEW_KEY] = view
    _write_url(url_from_state(preset, filters.start, filters.end, view, lists))
    return filters
