"""Warm the result cache before anyone asks: each date preset of the dashboard's pages, computed
in the background after the server starts and again after every import.

At a million leads a page's queries take seconds the first time a view is asked for, and the
whole team asks for the same few views in the same minute (the weekly meeting). One thread per
server process watches the store's version; when it changes (first start, an import, a
rollback) it runs, on one DuckDB thread and at low priority, every query Funnel health, Teams
and handoff, Weekly meeting, Pipeline, Targets and Content make for each date preset with the pages'
default choices, so the first person to open them reads cached results. Results go into the
same st.cache_data entries the pages read (queries/cache.py), keyed on the store version, so
nothing stale is ever served. Then it opens each page once per preset in sessions of its own
over the server's websocket (`draw()`, what a browser does), so the pages' sections
(ui/sections.py) are drawn too: twenty people opening a view at the same instant all replay it
instead of waiting for the first of them to draw it.

`calls()` must name exactly the calls the pages make (same function, same positional and
keyword arguments): tests/test_warm.py runs each page after warm() and fails if a page still
had to run a query. Off with HANDOFF_WARM=0 (the test suite sets it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sys
import threading
import time
from collections.abc import Callable

from data import store
from queries import (
    alerts,
    attribution,
    bridge,
    cache,
    content,
    contracts,
    currency,
    executor,
    funnel,
    options,
    pipeline,
    ranges,
    teams,
    weekly,
)
from queries import targets as qt
from queries.filters import Filters
from reports import health_view
from ui import tables
from ui.filters import DEFAULT_PRESET, PRESETS, preset_range

# Most used first: the default, then the other presets as the sidebar lists them.
WARM_PRESETS = (DEFAULT_PRESET, *(p for p in PRESETS if p not in (DEFAULT_PRESET, "custom")))
POLL_SECONDS = 5.0  # how soon after an import the warmer notices the new store version
WARM_EDITS = ("targets",)  # the team's edits whose saving warms the pages again
NICE = 10  # the warmer's thread yields the CPU to the pages

Call = tuple[Callable, tuple, dict]


def frame_calls() -> list[Call]:
    """What the frame (sidebar filters, sample note) reads on every page."""
    return [
        (funnel.latest_event_at, (), {}),
        (funnel.store_facts, (), {}),
        (options.filter_choices, (), {}),
        (options.date_bounds, (), {"grain": contracts.current().default_grain}),
        (ranges.default_range, (), {"grain": contracts.current().default_grain}),
        (options.currencies, (), {}),  # an amount's heading names its one currency
    ]


def alert_calls(week: dt.date | None) -> list[Call]:
    """The alerts shown atop Funnel health (week None: the last complete one) and Weekly (its
    week), when the contract has rules (ui/alerts.show)."""
    return [(alerts.evaluate, (week,), {})] if contracts.current().effective().alerts else []


def health_calls(filters: Filters) -> list[Call]:
    """Funnel health in the cohort view with its default rate, grain and breakdown, as the page
    asks for them through reports/health_view.py."""
    trend_filters = health_view.trend_filters(filters)
    return [
        (funnel.compare_periods, (filters,), {}),
        (funnel.outcomes, (filters,), {}),
        (funnel.revenue, (filters,), {}),
        (funnel.time_to_win, (filters,), {}),
        (funnel.undated_open, (), {}),
        (funnel.cohort_funnel, (filters,), {}),
        (funnel.breakdown, (filters, funnel.MONTH), {}),
        (funnel.outcomes, (filters, funnel.MONTH), {}),
        (funnel.trend, (trend_filters, "month"), {}),
        (funnel.stage_times, (filters,), {}),
        (bridge.view, (filters,), {}),
        (bridge.matched_leads, (), {}),
        (funnel.breakdown, (filters, "channel", "cohort"), {}),
        (funnel.outcomes, (filters, "channel"), {}),
    ]


def teams_calls(filters: Filters) -> list[Call]:
    """Teams and handoff with every box on its default ("All", grouped by channel)."""
    as_of = funnel.resolve_as_of(filters)
    return [
        (teams.leakage_by_owner, (filters,), {"by": "channel"}),
        (funnel.breakdown, (filters, "channel"), {}),
        (teams.handoff_health, (filters,), {}),
        (teams.handoff_leads, (filters,), {"owner_id": None, "status": None, "limit": tables.SCREEN_ROWS}),
        (teams.recycled, (filters,), {}),
        (teams.owner_conversion, (filters,), {}),
        (teams.stalled_leads, (as_of, filters), {"team": None, "limit": tables.SCREEN_ROWS}),
        (
            teams.drop_leads,
            (filters,),
            {
                "stage": None,
                "team": None,
                "loss_kind": None,
                "owner_id": None,
                "limit": tables.SCREEN_ROWS,
                "category_key": None,
                "by": None,
                "group": None,
            },
        ),
    ]


def targets_calls(filters: Filters) -> list[Call]:
    """Targets on its defaults: this month (else the last month with targets), a 6-month
    look-back of observed rates; the date presets do not change it (only the as-of does)."""
    as_of = funnel.resolve_as_of(filters)
    months = list(cache.call(qt.periods)["period"])
    this_month = as_of.date().replace(day=1)
    period = this_month if this_month in months or not months else months[-1]
    lookback = qt.lookback(as_of, contracts.current().effective().horizon_days, qt.DEFAULT_LOOKBACK_MONTHS)
    return [
        (qt.periods, (), {}),
        (qt.plan_inputs, (lookback,), {}),
        (qt.deal_size, (lookback,), {}),
        (qt.targets_for, (period,), {}),
        (qt.actuals, (period, as_of), {}),
        (qt.targets_through, (period,), {}),
        (qt.history, (period,), {}),
    ]


def content_calls(filters: Filters) -> list[Call]:
    """Content on its defaults: revenue credited per content piece, 7-day half-life, both
    teams' sourcing; Sales' content use over the mature look-back."""
    as_of = funnel.resolve_as_of(filters)
    lookback = content.mature_range(filters, contracts.current().effective(), as_of)
    return [
        (content.sales_content_use, (lookback,), {}),
        (content.content_reach, (filters,), {}),
        (content.content_advance, (filters,), {}),
        (
            attribution.credits,
            (filters,),
            {"by": "content", "basis": "revenue", "half_life_days": 7.0, "sourced_by": None},
        ),
        (attribution.sourcing, (filters,), {"basis": "revenue"}),
    ]


def pipeline_calls(filters: Filters) -> list[Call]:
    """Pipeline on its defaults (pages/pipeline.py): T2 the as-of day, T1 a week before (within
    the opportunities' span), every team, the store's one base currency if it has exactly one,
    the first bar with opportunities; the stage history of the range. Only the stage history
    follows the preset."""
    if not pipeline.has_opportunities(contracts.current()):
        return []
    moment = pipeline.moment_filters(filters)
    t1, t2 = pipeline.default_dates(filters)
    first = cache.call(options.date_bounds, grain=pipeline.GRAIN)[0] or t2
    first = min(first, t2 - dt.timedelta(days=1))
    t1 = min(max(t1, first), t2 - dt.timedelta(days=1))
    bases = cache.call(currency.bases)
    base = bases[0] if len(bases) == 1 else None
    view = cache.call(pipeline.view, moment, t1, t2, None, base)
    counts = dict(zip(view.buckets["bucket"], view.buckets["n_opportunities"], strict=True))
    bar = next((k for k in pipeline.BUCKETS if counts.get(k)), "end")
    history = pipeline.history_filters(filters)
    return [
        (options.date_bounds, (), {"grain": pipeline.GRAIN}),
        (options.filter_options, (), {}),
        (currency.bases, (), {}),
        (pipeline.view, (moment, t1, t2, None, base), {}),
        (pipeline.opportunities, (moment, bar, t1, t2, None, base), {"limit": pipeline.SCREEN_ROWS}),
        (pipeline.stage_visits, (history,), {}),
        (funnel.stage_history, (history,), {}),
        (pipeline.stage_moves, (history,), {}),
    ]


def weekly_calls() -> list[Call]:
    """Weekly meeting on its default week (the last complete one); the sidebar does not apply."""
    week = cache.call(weekly.week_choices)[0]
    return [(weekly.week_report, (week,), {}), (weekly.meeting_notes, (week,), {}), *alert_calls(week)]


def calls(preset: str) -> list[Call]:
    """Every query the pages make for one date preset, with their default choices."""
    latest = cache.call(funnel.latest_event_at).date()
    grain = contracts.current().default_grain
    chosen = cache.call(ranges.default_range, grain=grain)
    bounds = cache.call(options.date_bounds, grain=grain)
    default = (chosen.start, chosen.end) if chosen else None
    # The sidebar's bounds (ui/filters.render): first start to the later of last start and latest.
    first, last = bounds
    filters = Filters(*preset_range(preset, latest, default, (first or latest, max(last or latest, latest))))
    return (
        frame_calls()
        + alert_calls(None)
        + health_calls(filters)
        + teams_calls(filters)
        + weekly_calls()
        + pipeline_calls(filters)
        + targets_calls(filters)
        + content_calls(filters)
    )


# Pages (their URL paths: the default page's is "") whose drawn sections the warm-up prepares.
DRAW_PAGES = ("", "teams", "weekly", "pipeline", "targets", "content")
VISIT_TIMEOUT = 120.0  # seconds for one page run of the drawing visit


def own_address() -> str | None:
    """Where this server's websocket answers, as host:port/base-path, from its config; None
    outside a `streamlit run` server."""
    from streamlit import config, runtime

    if not runtime.exists() or type(runtime.get_instance()).__name__ != "Runtime":
        return None
    host = config.get_option("server.address") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"{host}:{config.get_option('server.port')}" + (f"/{base}" if base else "")


def draw(address: str, presets: tuple[str, ...], pages: tuple[str, ...] = DRAW_PAGES) -> list[tuple]:
    """Open each page once per preset in sessions of our own over the server's websocket, as a
    browser would (`/<page>?preset=...`), so their sections (ui/sections.py) are drawn before
    anyone asks and the first visitors replay them. Returns (page, preset, status, title) per
    visit; with sign-in configured the visits stop at the sign-in and draw nothing."""
    import asyncio

    return asyncio.run(_draw_all(address, presets, pages))


async def _draw_all(address: str, presets: tuple[str, ...], pages: tuple[str, ...]) -> list[tuple]:
    out = []
    for preset in presets:
        for page in pages:
            out.append((page, preset, *await _visit(address, page, preset)))
    return out


async def _visit(address: str, page: str, preset: str) -> tuple[str, str]:
    """One run of one page in a new session: (how the script finished, the page's title)."""
    import asyncio

    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async with websockets.connect(
        f"ws://{address}/_stcore/stream", subprotocols=["streamlit"], max_size=None, open_timeout=30
    ) as ws:
        msg = BackMsg()
        msg.rerun_script.query_string = f"preset={preset}"
        msg.rerun_script.page_name = page
        await ws.send(msg.SerializeToString())
        title = ""
        async with asyncio.timeout(VISIT_TIMEOUT):
            while True:
                fwd = ForwardMsg()
                fwd.ParseFromString(await ws.recv())
                kind = fwd.WhichOneof("type")
                if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                    el = fwd.delta.new_element
                    in_main = list(fwd.metadata.delta_path[:1]) == [0]  # not the sidebar
                    if in_main and el.WhichOneof("type") == "heading" and not title:
                        title = el.heading.body
                elif kind == "script_finished":
                    status = ForwardMsg.ScriptFinishedStatus.Name(fwd.script_finished)
                    if status != "FINISHED_EARLY_FOR_RERUN":
                        return status, title


def warm(presets: tuple[str, ...] | None = None, stop: Callable[[], bool] = lambda: False) -> dict:
    """Compute every call for `presets` into the cache, on the store version live now (pinned
    for the whole pass). Returns what it did: the version, results computed and seconds."""
    presets = WARM_PRESETS if presets is None else presets
    started = time.perf_counter()
    executor.pin()
    try:
        version = executor.store_version(edits=WARM_EDITS)
        before = cache.misses_in_this_thread()
        done = []
        for preset in presets:
            if stop():
                break
            for fn, args, kwargs in calls(preset):
                cache.call(fn, *args, **kwargs)
            done.append(preset)
    finally:
        executor.unpin()
    return {
        "version": version,
        "presets": done,
        "computed": cache.misses_in_this_thread() - before,
        "seconds": time.perf_counter() - started,
    }


# --- the background thread ----------------------------------------------------------------------

THREAD_NAME = "handoff-warm"
RETRY_MAX_SECONDS = 300.0  # a store that keeps failing is retried less and less often, up to this
_THREAD: threading.Thread | None = None
_START_LOCK = threading.Lock()


def enabled() -> bool:
    return os.environ.get("HANDOFF_WARM", "1") != "0"


def start() -> None:
    """Start this process's warmer once (later calls return at once). Called by the frame on
    every run, so the first visit or health check after the server starts sets it going."""
    global _THREAD
    if not enabled() or (_THREAD is not None and _THREAD.is_alive()):
        return
    with _START_LOCK:
        if _THREAD is None or not _THREAD.is_alive():
            _THREAD = threading.Thread(target=_watch, name=THREAD_NAME, daemon=True)
            _THREAD.start()


def _say(text: str) -> None:
    # The server's log (stderr); the load test waits for the "cache warm" line.
    print(f"handoff: {text}", file=sys.stderr, flush=True)


class _NotFromTheWarmer(logging.Filter):
    """st.cache_data called outside a script run logs a 'missing ScriptRunContext' warning per
    call; the warmer is meant to run there, so its lines (only its) would bury real ones."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != THREAD_NAME


def _draw_pages() -> str:
    """Draw every page once per preset (after the queries, so each visit only draws); says how
    that went, or nothing outside a `streamlit run` server."""
    address = own_address()
    if address is None:
        return ""
    started = time.perf_counter()
    try:
        visits = draw(address, WARM_PRESETS)
    except Exception as exc:  # the page still works; its first visitor draws it
        return f"; pages not drawn ({type(exc).__name__}: {exc})"
    ok = sum(status == "FINISHED_SUCCESSFULLY" for _, _, status, _ in visits)
    return f"; {ok} of {len(visits)} page views drawn in {time.perf_counter() - started:.1f} s"


def _live_version() -> str:
    """The version of the file live now (not the one this thread pinned for its last pass), and
    of the targets: a saved target changes the Targets and Weekly views, which are warmed again
    (only what reads targets is recomputed). A saved note warms nothing: one small query."""
    return executor.store_version(store.db_path(), edits=WARM_EDITS)


def _watch(stop: threading.Event | None = None, poll: float = POLL_SECONDS) -> None:
    """Warm whenever the live store version changes, until `stop` is set (the server's thread:
    never; it is a daemon)."""
    stop = stop or threading.Event()
    executor.background()
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        _NotFromTheWarmer()
    )
    warmed, wait, failures = None, poll, 0
    while not stop.is_set():
        try:
            live = _live_version()
            if live not in (warmed, "missing"):
                # Give up a pass as soon as another import lands: its results would be stale.
                result = warm(WARM_PRESETS, stop=lambda live=live: _live_version() != live)
                if result["version"] == live and len(result["presets"]) == len(WARM_PRESETS):
                    warmed = live
                    drawn = _draw_pages()
                    _say(
                        f"cache warm for store version {live}: {result['computed']} results computed "
                        f"in {result['seconds']:.1f} s ({len(WARM_PRESETS)} date presets x Funnel "
                        f"health, Teams and handoff, Weekly meeting, Targets, Content){drawn}"
                    )
            wait, failures = poll, 0
        except Exception as exc:  # a busy or half-written store: try again, less and less often
            failures += 1
            wait = min(poll * 2**failures, RETRY_MAX_SECONDS)
            _say(f"cache warming paused ({type(exc).__name__}: {exc}); trying again in {wait:.0f} s")
        stop.wait(wait)
