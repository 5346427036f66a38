"""The global filters in the sidebar, kept in session state and mirrored in the URL.

The frame calls `render()` on every run. It reads the URL once per browser session (a pasted
link reproduces the view), draws the widgets, stores a validated `Filters` in
st.session_state["filters"] and the view ("cohort" or "flow") in st.session_state["view"],
then writes the choice back to the URL (moving between pages drops the query string).

Nothing from the URL reaches a query unchecked: dates must parse and fall inside the store's
range, list values must be among the values the store holds, anything else is ignored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

import streamlit as st

from data.contract import SKIP_POLICIES
from queries import cache, contracts, funnel, options, ranges
from queries.filters import LIST_FILTERS, NO_WINDOW, FilterError, Filters
from ui.state import FILTERS_KEY, VIEW_KEY, last_full_quarter

PRESETS = {
    "auto": "Default",
    "last_quarter": "Last full quarter",
    "last_30": "Last 30 days",
    "last_90": "Last 90 days",
    "ytd": "Year to date",
    "last_month": "Last full month",
    "all": "All data",
    "custom": "Custom range",
}
DEFAULT_PRESET = "auto"
# Conversion windows on offer besides the contract's own: None = the contract's, 0 = no window.
WINDOW_CHOICES = (None, 30, 60, 90, 120, 180, 270, 365, 540, 730, NO_WINDOW)
SKIP_LABELS = {
    "implied": "Implied: reaching a later stage counts for the ones skipped",
    "strict": "Strict: only in-order progress from the first stage",
}
VIEWS = {"cohort": "Cohort", "flow": "Flow"}

# URL parameter -> (widget key, options attribute) for the list filters (queries/filters.py
# LIST_FILTERS: the one list of them).
LIST_PARAMS = {attribute: (f"f_{attribute}", attribute) for attribute in LIST_FILTERS}
_URL_READ = "_filters_url_read"
MAX_PARAM_VALUES = 200  # a longer list in a URL is not a real selection: ignored

# The groups of sidebar filters, and which each page uses (a page not listed uses them all).
# The sidebar draws only a page's own; a page that uses none says so there, once.
GROUPS = ("grain", "range", "view", "attributes", "window", "skip", "as_of")
ALL = GROUPS
PAGE_FILTERS: dict[str, tuple[tuple[str, ...], str]] = {
    "pages/health.py": (ALL, ""),
    "pages/teams.py": (
        ("range", "attributes", "window", "skip", "as_of"),
        "Teams follows the cohort of leads (no flow view).",
    ),
    "pages/content.py": (
        ("range", "attributes", "window", "skip", "as_of"),
        "Content follows the cohort of leads (no flow view).",
    ),
    "pages/pipeline.py": (
        ("range", "attributes", "as_of"),
        "The pipeline counts opportunities at its two dates; the range applies to the stage history only.",
    ),
    "pages/targets.py": (
        ("as_of",),
        "Targets are set for the whole company: of the sidebar's filters only the as-of date applies here.",
    ),
    "pages/weekly.py": (
        (),
        "The weekly meeting shares one set of numbers: no sidebar filter applies here (pick the week on the page).",
    ),
    "pages/data_admin.py": ((), "Loading data and the contract: no sidebar filter applies here."),
    "pages/definitions.py": ((), "The contract as written: no sidebar filter applies here."),
}
# Widget keys of each group: their values are kept while a page that does not draw them is open
# (Streamlit forgets the state of a widget that a run does not draw).
GROUP_KEYS = {
    "grain": ("f_grain",),
    "range": ("f_preset", "f_range"),
    "view": ("f_view",),
    "attributes": tuple(key for key, _ in LIST_PARAMS.values()),
    "window": ("f_window",),
    "skip": ("f_skip",),
    "as_of": ("f_asof",),
}
GROUP_PARAMS = {
    "grain": ("grain",),
    "range": ("preset", "start", "end"),
    "view": ("view",),
    "attributes": tuple(LIST_PARAMS),
    "window": ("window",),
    "skip": ("skip",),
    "as_of": ("asof",),
}
_SAVED = "_filters_saved"


def page_filters(page_file: str | None) -> tuple[tuple[str, ...], str]:
    """(the filter groups a page uses, the sentence its sidebar shows about the rest)."""
    return PAGE_FILTERS.get(page_file or "", (ALL, ""))


# --- the drill-down in the URL: ?drill=stage:mql&drill=status:dropped ----------------------------

DRILL_PARAM = "drill"
MAX_DRILL_TEXT = 400


def parse_drill(values: list[str], allowed: Mapping[str, object]) -> dict[str, str]:
    """The drill-down a link names, each part "name:value" kept only when `allowed[name]` holds
    the value (a collection of values, or a function that says yes or no); anything else is
    ignored, like every other URL parameter. The first valid value of each name wins."""
    out: dict[str, str] = {}
    for raw in (values or [])[:MAX_PARAM_VALUES]:
        if not isinstance(raw, str) or len(raw) > MAX_DRILL_TEXT or ":" not in raw:
            continue
        name, _, value = raw.partition(":")
        check = allowed.get(name)
        if name in out or check is None:
            continue
        if check(value) if callable(check) else value in check:
            out[name] = value
    return out


def drill_params(selection: Mapping[str, str | None]) -> list[str]:
    """The URL's drill parameter for a selection (empty parts left out)."""
    return [f"{k}:{v}" for k, v in selection.items() if v not in (None, "")]


def read_drill(page: str, allowed: Mapping[str, object]) -> dict[str, str] | None:
    """The drill-down of the link this session opened `page` with, once per session (None
    after that: the widgets hold it)."""
    flag = f"_drill_read_{page}"
    if st.session_state.get(flag):
        return None
    st.session_state[flag] = True
    return parse_drill(st.query_params.get_all(DRILL_PARAM), allowed)


def write_drill(selection: Mapping[str, str | None]) -> None:
    """Put the drill-down in the URL, so the link on screen opens the same list."""
    wanted = drill_params(selection)
    if not wanted:
        if DRILL_PARAM in st.query_params:
            del st.query_params[DRILL_PARAM]
    elif st.query_params.get_all(DRILL_PARAM) != wanted:
        st.query_params[DRILL_PARAM] = wanted


def preset_range(
    preset: str,
    latest: dt.date,
    default: tuple[dt.date, dt.date] | None = None,
    bounds: tuple[dt.date, dt.date] | None = None,
) -> tuple[dt.date, dt.date]:
    """The inclusive date range a preset means, counted back from the latest event's day.

    `default` is the store's default range (queries.ranges), `bounds` its first and last start;
    without them "auto" means the last full quarter and "all" the latest year."""
    if preset == "auto":
        return default or last_full_quarter(latest)
    if preset == "all":
        return bounds or (latest - dt.timedelta(days=364), latest)
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


@dataclasses.dataclass(frozen=True)
class Bounds:
    """What the date range is chosen within, for one grain: the latest event's day, the first
    and last start (first at most, last at least the latest day) and the store's default range
    (queries.ranges; None when it has none)."""

    latest: dt.date
    first: dt.date
    last: dt.date
    chosen: ranges.DefaultRange | None

    @property
    def default(self) -> tuple[dt.date, dt.date] | None:
        return (self.chosen.start, self.chosen.end) if self.chosen else None

    def preset(self, preset: str) -> tuple[dt.date, dt.date]:
        """The range `preset` means on this store."""
        return preset_range(preset, self.latest, self.default, (self.first, self.last))


def bounds(grain: str) -> Bounds:
    """The sidebar's date bounds for `grain`, read through the cache as every page's run reads
    them (the warm-up too, ui/warm.py)."""
    latest = cache.call(funnel.latest_event_at).date()
    first, last = cache.call(options.date_bounds, grain=grain)
    return Bounds(
        latest, first or latest, max(last or latest, latest), cache.call(ranges.default_range, grain=grain)
    )


def preset_filters(preset: str) -> Filters:
    """The filters the sidebar gives for `preset` with every other filter on its default, and
    the choices the sidebar offers read too: what a page opened on that preset reads first."""
    cache.call(options.filter_choices)
    return Filters(*bounds(contracts.current().default_grain).preset(preset))


def _date(text: str | None, first: dt.date, last: dt.date) -> dt.date | None:
    """A date from the URL if it is an ISO day inside [first, last]; None otherwise."""
    if not isinstance(text, str) or len(text) != 10:
        return None
    try:
        value = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return value if first <= value <= last else None


def _window_from_url(text: str | None) -> int | None:
    """A window in the URL: "none" (no window) or one of WINDOW_CHOICES in days."""
    if text == "none":
        return NO_WINDOW
    if isinstance(text, str) and text.isdigit() and int(text) in WINDOW_CHOICES:
        return int(text)
    return None


def state_from_url(
    params: Mapping[str, list[str]],
    choices: Mapping[str, Mapping[str, str]],
    latest: dt.date,
    bounds: tuple[dt.date, dt.date],
    default: tuple[dt.date, dt.date] | None = None,
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
        preset in PRESETS
        and preset != "custom"
        and preset_range(preset, latest, default, bounds) == (start, end)
    )
    if start and end and start <= end and not is_same_as_preset:
        out["f_preset"] = "custom"
        out["f_range"] = (start, end)
    view = one("view")
    if view in VIEWS:
        out["f_view"] = view
    window = _window_from_url(one("window"))
    if window is not None:
        out["f_window"] = window
    skip = one("skip")
    if skip in SKIP_POLICIES:
        out["f_skip"] = skip
    as_of = _date(one("asof"), first, latest)
    if as_of is not None and as_of < latest:
        out["f_asof"] = as_of
    for name, (key, attribute) in LIST_PARAMS.items():
        values = params.get(name) or []
        if not values or len(values) > MAX_PARAM_VALUES:
            continue
        allowed = choices.get(attribute, {})
        valid = [v for v in dict.fromkeys(values) if v in allowed]
        if valid:
            out[key] = valid
    return out


def url_from_state(
    preset: str,
    start: dt.date,
    end: dt.date,
    view: str,
    lists: dict[str, list[str]],
    window_days: int | None = None,
    skip_policy: str | None = None,
    as_of: dt.date | None = None,
) -> dict:
    """The URL parameters for a view; lists become repeated keys. The counting rules appear
    only where they differ from the contract (window_days 0 is written "none")."""
    params: dict[str, object] = {"preset": preset, "start": start.isoformat(), "end": end.isoformat()}
    if view != "cohort":
        params["view"] = view
    if window_days is not None:
        params["window"] = "none" if window_days == NO_WINDOW else str(window_days)
    if skip_policy is not None:
        params["skip"] = skip_policy
    if as_of is not None:
        params["asof"] = as_of.isoformat()
    for name, values in lists.items():
        if values:
            params[name] = list(values)
    return params


def _read_url(choices, latest, bounds, default) -> None:
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    for key, value in state_from_url(params, choices, latest, bounds, default).items():
        st.session_state[key] = value


MANAGED_PARAMS = ("preset", "start", "end", "view", "window", "skip", "asof", "grain", *LIST_PARAMS)
GRAIN_NOUNS = {"lead": "leads", "opportunity": "opportunities"}


def _write_url(params: dict, managed: tuple[str, ...] = MANAGED_PARAMS) -> None:
    for name in managed:
        if name not in params and name in st.query_params:
            del st.query_params[name]
    for name, value in params.items():
        current = st.query_params.get_all(name)
        wanted = value if isinstance(value, list) else [value]
        if current != wanted:
            st.query_params[name] = value


def window_label(days: int | None, contract_days: int | None) -> str:
    """How a window choice reads in the sidebar."""
    if days is None:
        shown = "no window" if contract_days is None else f"{contract_days} days"
        return f"{shown} (the contract's)"
    return "No window (all time)" if days == NO_WINDOW else f"{days} days"


def _keep(groups: tuple[str, ...]) -> None:
    """Restore the values of filter widgets this run will not draw from the saved copy (and
    save the ones it will draw, after): moving through a page without them changes nothing."""
    saved = st.session_state.setdefault(_SAVED, {})
    for group in GROUPS:
        for key in GROUP_KEYS[group]:
            if key not in st.session_state and key in saved:
                st.session_state[key] = saved[key]


def _save() -> None:
    saved = st.session_state.setdefault(_SAVED, {})
    for keys in GROUP_KEYS.values():
        for key in keys:
            if key in st.session_state:
                saved[key] = st.session_state[key]


def render(uses: tuple[str, ...] = ALL, note: str = "") -> Filters:
    """Draw the sidebar filters the page uses (`uses`: groups of GROUPS); return (and store in
    session state) the chosen Filters. Filters the page does not use keep their values (from
    the URL or an earlier page) but are neither drawn nor written to the URL; `note` says so."""
    choices = cache.call(options.filter_choices)
    contract = contracts.current()
    _keep(uses)
    # What is counted (leads or opportunities) decides the range's bounds and default, so it
    # is read first: from the URL on a first visit, then from its widget.
    if not st.session_state.get(_URL_READ) and st.query_params.get("grain") in contract.grains:
        st.session_state["f_grain"] = st.query_params.get("grain")
    if st.session_state.get("f_grain") not in contract.grains:
        st.session_state["f_grain"] = contract.default_grain
    # A page that does not offer the choice (Teams, Content follow leads) counts the default grain.
    grain = st.session_state["f_grain"] if "grain" in uses else contract.default_grain
    b = bounds(grain)
    latest, first, last, chosen, default = b.latest, b.first, b.last, b.chosen, b.default

    if not st.session_state.get(_URL_READ):
        _read_url(choices, latest, (first, last), default)
        st.session_state[_URL_READ] = True

    st.session_state.setdefault("f_preset", DEFAULT_PRESET)
    st.session_state.setdefault("f_view", "cohort")

    def preset_name(key: str) -> str:
        if key == "auto" and chosen is not None:
            return f"Default: {chosen.label}"
        return PRESETS[key]

    noun = GRAIN_NOUNS[grain]
    sidebar = st.sidebar
    if uses:
        sidebar.header("Filters", divider="gray")
    if note:
        sidebar.caption(f":material/filter_alt_off: {note}")
    with sidebar:
        if "grain" in uses and len(contract.grains) > 1:
            st.radio(
                "Count",
                list(contract.grains),
                format_func=lambda g: GRAIN_NOUNS[g].capitalize(),
                key="f_grain",
                horizontal=True,
                help="Leads: people, through every stage (a lead's journey goes on through its "
                "opportunity's stages). Opportunities: each deal once, through its own stages; its "
                "revenue and win rate count every opportunity once, whatever its contacts.",
            )
        preset = st.session_state.get("f_preset", DEFAULT_PRESET)
        preset = preset if preset in PRESETS else DEFAULT_PRESET
        if "range" in uses:
            preset = st.selectbox(
                f"{noun.capitalize()} that started in",
                list(PRESETS),
                format_func=preset_name,
                key="f_preset",
                help="Default: "
                + (chosen.reason if chosen else "the last full quarter")
                + f". Other ranges count back from the latest event in the store ({latest:%d %b %Y}). "
                "In the cohort view, the leads whose journey started in this range; in the flow "
                "view, the stage entries that happened in it.",
            )
        start, end = b.preset(preset)
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
            if "range" in uses:
                picked = st.date_input(
                    "From – to", min_value=first, max_value=last, key="f_range", format="YYYY-MM-DD"
                )
            else:
                picked = st.session_state["f_range"]
            picked = tuple(picked) if isinstance(picked, list | tuple) else (picked,)
            if len(picked) == 2:
                start, end = picked
            elif len(picked) == 1:  # the second day is not picked yet: one day for now
                start = end = picked[0]
        elif "range" in uses:
            st.caption(f"{start:%d %b %Y} – {end:%d %b %Y}")

        view = st.session_state.get("f_view", "cohort")
        if "view" in uses:
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
            if "attributes" in uses:
                lists[name] = st.multiselect(
                    attribute.capitalize(),
                    list(allowed),
                    format_func=lambda v, allowed=allowed: allowed.get(v, v),
                    key=key,
                    placeholder="All",
                )
            else:
                lists[name] = list(st.session_state.get(key) or [])
        window, skip, as_of = _counting_rules(contract, first, latest, uses)
    _save()

    try:
        filters = Filters(
            start=start,
            end=end,
            **{LIST_FILTERS[attribute]: lists[attribute] for attribute in LIST_PARAMS},
            window_days=window,
            skip_policy=skip,
            as_of=as_of,
            grain=grain if grain != contract.default_grain else None,
        )
    except FilterError as exc:  # cannot happen through the widgets; keep the last good view
        st.sidebar.warning(f"{exc}. Showing the previous selection.")
        filters = st.session_state.get(FILTERS_KEY) or Filters(*preset_range(DEFAULT_PRESET, latest, default))
    st.session_state[FILTERS_KEY] = filters
    st.session_state[VIEW_KEY] = view
    managed = tuple(p for g in uses for p in GROUP_PARAMS[g])
    params = url_from_state(preset, filters.start, filters.end, view, lists, window, skip, as_of)
    if filters.grain:
        params["grain"] = filters.grain
    params = {k: v for k, v in params.items() if k in managed}
    # A page's link carries only the filters it uses: the others are taken off the URL.
    _write_url(params, MANAGED_PARAMS)
    return filters


def _counting_rules(
    contract, first: dt.date, latest: dt.date, uses: tuple[str, ...] = ALL
) -> tuple[int | None, str | None, dt.date | None]:
    """The conversion window, skip policy and as-of date of this view: the contract's unless
    changed here. Returns (window_days, skip_policy, as_of) as Filters takes them (None: the
    contract's, or the latest event for the as-of). Only the rules in `uses` are drawn; the
    others keep their values."""
    if any(g in uses for g in ("window", "skip", "as_of")):
        st.subheader("Counting rules", divider="gray")
    if "window" in uses:
        window = st.selectbox(
            "Conversion window",
            WINDOW_CHOICES,
            format_func=lambda d: window_label(d, contract.conversion_window_days),
            key="f_window",
            help="A stage counts as reached when a lead gets there within this many days of its "
            "start. No window: whenever it happened, by the as-of date (recent cohorts then stay "
            "open longer).",
        )
    else:
        window = st.session_state.get("f_window")
        window = window if window in WINDOW_CHOICES else None
    if window is not None and window != NO_WINDOW and window == contract.conversion_window_days:
        window = None
    if window == NO_WINDOW and contract.conversion_window_days is None:
        window = None
    st.session_state.setdefault("f_skip", contract.skip_policy)
    if "skip" in uses:
        skip = st.radio(
            "Skip policy",
            list(SKIP_POLICIES),
            format_func=lambda p: p.capitalize() + (" (the contract's)" if p == contract.skip_policy else ""),
            key="f_skip",
            horizontal=True,
            help=" ".join(SKIP_LABELS.values()) + " Stages the data never records are never filled in.",
        )
    else:
        skip = st.session_state.get("f_skip")
        skip = skip if skip in SKIP_POLICIES else contract.skip_policy
    skip = None if skip == contract.skip_policy else skip
    # Empty means "the latest event", so a view left open follows new imports.
    current = st.session_state.get("f_asof")
    if not isinstance(current, dt.date) or not first <= current <= latest:
        st.session_state["f_asof"] = None
    if "as_of" in uses:
        picked = st.date_input(
            "As of",
            min_value=first,
            max_value=latest,
            key="f_asof",
            format="YYYY-MM-DD",
            help=f"Count only what was known by the end of this day. Empty: the latest event in the "
            f"store ({latest:%d %b %Y}), so the view follows new imports.",
        )
    else:
        picked = st.session_state.get("f_asof")
    as_of = picked if isinstance(picked, dt.date) and picked < latest else None
    return window, skip, as_of
