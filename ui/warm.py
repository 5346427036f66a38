"""Warm the result cache before anyone asks: each date preset of the dashboard's pages, computed
in the background after the server starts and again after every import.

At a million leads a page's queries take seconds the first time a view is asked for, and the
whole team asks for the same few views in the same minute (the weekly meeting). One thread per
server process watches the store's version; when it changes (first start, an import, a
rollback, a saved target) it runs, on one DuckDB thread and at low priority, each page's own
whole-page view on its default choices: Funnel health, Teams and handoff, Content and Pipeline
(reports/*_view.py) for each date preset, after what the frame reads (ui/filters.preset_filters);
Targets (ui/targets_view.py) and the Weekly meeting (reports/weekly_view.py, its last complete
week) once, as the presets do not change them. Their queries run through queries.cache.call, exactly
as the pages' do, so the results land in the st.cache_data entries the pages read, keyed on the
store version: the first person to open a page reads cached results, and nothing stale is ever
served. There is no list of the pages' queries to keep in step with them: each page and the
warm-up run the same view functions with the same defaults, and tests/test_warm.py runs every
page after warm() and fails, naming the query, if a page still had to compute one.

What it does not do any more: open each page over the server's own websocket to pre-draw the
pages' sections (ui/sections.py). st.cache_data already lets one session draw a section while
the others opening the same view wait for that drawing (Streamlit holds a lock per cache key
while it computes), so the visit only saved the first visitor the drawing time, once the
queries were cached, at the cost of a websocket client, a second set of page runs per preset
and a log of visits to keep working.

Off with HANDOFF_WARM=0 (the test suite sets it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable

from data import store
from queries import cache, contracts, executor, funnel
from reports import content_view, health_view, pipeline_view, teams_view, weekly_view
from ui import tables, targets_view
from ui.filters import DEFAULT_PRESET, PRESETS, preset_filters

# Most used first: the default, then the other presets as the sidebar lists them.
WARM_PRESETS = (DEFAULT_PRESET, *(p for p in PRESETS if p not in (DEFAULT_PRESET, "custom")))
POLL_SECONDS = 5.0  # how soon after an import the warmer notices the new store version
WARM_EDITS = ("targets",)  # the team's edits whose saving warms the pages again
NICE = 10  # the warmer's thread yields the CPU to the pages
PAGES = "Funnel health, Teams and handoff, Weekly meeting, Pipeline, Targets, Content"


def warm_preset(preset: str) -> None:
    """Open every page that follows the sidebar on `preset`, every other choice on its default,
    as far as their queries go: each page's view, its queries through the cache."""
    call = cache.call
    call(funnel.store_facts)  # the sample note over every page (ui/frame.sample_note)
    filters = preset_filters(preset)
    contract = contracts.current()
    effective = contract.effective()
    health_view.view(filters, contract, run=call)
    teams_view.view(filters, limit=tables.SCREEN_ROWS, call=call, contract=effective)
    content_view.view(filters, call=call, contract=effective)
    pipeline_view.page(filters, contract, call=call)


def warm_unfiltered() -> None:
    """The pages the date presets do not change, opened once: Targets (only the sidebar's as-of
    applies, unset by default) and the Weekly meeting (the sidebar does not apply)."""
    call = cache.call
    effective = contracts.current().effective()
    targets_view.page(call(funnel.latest_event_at), effective, run=call)
    weekly_view.page(effective, call=call)


def warm(presets: tuple[str, ...] | None = None, stop: Callable[[], bool] = lambda: False) -> dict:
    """Run every page's view for `presets` into the cache, on the store version live now (pinned
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
            warm_preset(preset)
            if not done:  # right after the default view: the meeting's page is the next asked for
                warm_unfiltered()
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
                    _say(
                        f"cache warm for store version {live}: {result['computed']} results computed "
                        f"in {result['seconds']:.1f} s ({len(WARM_PRESETS)} date presets x {PAGES})"
                    )
            wait, failures = poll, 0
        except Exception as exc:  # a busy or half-written store: try again, less and less often
            failures += 1
            wait = min(poll * 2**failures, RETRY_MAX_SECONDS)
            _say(f"cache warming paused ({type(exc).__name__}: {exc}); trying again in {wait:.0f} s")
        stop.wait(wait)
