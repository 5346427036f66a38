"""The cache warmer (ui/warm.py) and drawn sections (ui/sections.py): after a warm-up the meeting
pages run no query at all, a section drawn once is replayed with the same elements, and a new
store version is warmed again and never shows the old drawing."""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest

from data import store
from queries import cache, funnel
from queries.filters import Filters
from ui import warm
from ui.filters import preset_range
from ui.state import FILTERS_KEY

PAGES = (
    "pages/health.py",
    "pages/teams.py",
    "pages/weekly.py",
    "pages/pipeline.py",
    "pages/targets.py",
    "pages/content.py",
)


def shown(at) -> list[tuple[str, str]]:
    """What a page drew, element by element: metric values, captions and text, table shapes."""
    out = []
    for el in at.main:
        kind = type(el).__name__
        if kind == "Metric":
            out.append((kind, f"{el.label}={el.value}"))
        elif kind in ("Markdown", "Caption", "Header", "Subheader", "Title", "Info", "Warning"):
            out.append((kind, str(el.value)))
        elif kind == "Dataframe":
            out.append((kind, str(el.value.shape)))
        else:
            out.append((kind, ""))
    return out


@pytest.mark.parametrize("preset", ["last_quarter", "ytd"])
def test_after_a_warm_up_the_pages_run_no_query(sample_db, page_app, preset):
    result = warm.warm(presets=(preset,))
    assert result["presets"] == [preset] and result["computed"] > 0
    latest = cache.call(funnel.latest_event_at).date()
    filters = Filters(*preset_range(preset, latest))
    before_by_name = dict(cache.MISSES)
    before = sum(before_by_name.values())
    for page in PAGES:
        at = page_app(page)
        at.session_state[FILTERS_KEY] = filters
        at.run()
        assert not at.exception, page
    # Every query the pages make for this preset was computed by the warm-up (each page's view
    # on its defaults): a page that needed one more would show here by name.
    assert sum(cache.MISSES.values()) == before, {
        k: v - before_by_name.get(k, 0) for k, v in cache.MISSES.items() if v != before_by_name.get(k, 0)
    }


def test_a_second_warm_up_of_the_same_store_computes_nothing(sample_db):
    assert warm.warm(presets=("last_90",))["computed"] > 0
    assert warm.warm(presets=("last_90",))["computed"] == 0


def test_a_section_drawn_once_is_replayed_the_same(sample_db, page_app):
    first = page_app("pages/teams.py").run()
    misses = sum(cache.MISSES.values())
    second = page_app("pages/teams.py").run()  # another person, same view
    assert not first.exception and not second.exception
    assert sum(cache.MISSES.values()) == misses  # nothing computed again
    assert shown(second) == shown(first)
    # The replay carries everything: four loss-kind metrics, all drops and the rejections after
    # the SLA, five handoff metrics.
    assert len(second.metric) == 11
    assert len(second.get("plotly_chart")) == 2


def test_a_new_store_version_is_never_shown_an_old_drawing(tmp_path, use_store, page_app):
    live = use_store(tmp_path / "live.duckdb")
    store.build_sample(tmp_path / "seed7.duckdb", n_leads=1500, seed=7)
    store.build_sample(tmp_path / "seed8.duckdb", n_leads=1500, seed=8)
    shutil.copyfile(tmp_path / "seed7.duckdb", live)
    old = shown(page_app("pages/teams.py").run())
    # An import swaps a new file in (os.replace, as data.store.replacing does).
    shutil.copyfile(tmp_path / "seed8.duckdb", tmp_path / "next.duckdb")
    os.replace(tmp_path / "next.duckdb", live)
    after_swap = shown(page_app("pages/teams.py").run())
    cache.clear()
    import streamlit as st

    st.cache_data.clear()
    fresh = shown(page_app("pages/teams.py").run())
    assert after_swap == fresh  # exactly what a cold server shows on the new store
    assert after_swap != old  # and the two stores do differ


def test_the_watcher_warms_at_start_and_again_after_an_import(tmp_path, use_store, monkeypatch):
    live = use_store(tmp_path / "live.duckdb")
    store.build_sample(tmp_path / "seed7.duckdb", n_leads=1000, seed=7)
    store.build_sample(tmp_path / "seed8.duckdb", n_leads=1000, seed=8)
    shutil.copyfile(tmp_path / "seed7.duckdb", live)
    lines: list[str] = []
    monkeypatch.setattr(warm, "_say", lines.append)
    monkeypatch.setattr(warm, "WARM_PRESETS", ("last_quarter",))
    stop = threading.Event()
    thread = threading.Thread(target=warm._watch, args=(stop, 0.1), daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: len(lines) >= 1), lines
        first = lines[0]
        time.sleep(0.5)
        assert len(lines) == 1  # the same store is not warmed twice
        shutil.copyfile(tmp_path / "seed8.duckdb", tmp_path / "next.duckdb")
        os.replace(tmp_path / "next.duckdb", live)
        assert wait_for(lambda: len(lines) >= 2), lines
    finally:
        stop.set()
        thread.join(timeout=30)
    assert all(line.startswith("cache warm for store version ") for line in lines), lines
    assert lines[1].split(":")[0] != first.split(":")[0]  # a different store version


def test_the_warmer_is_off_when_told(monkeypatch):
    monkeypatch.setenv("HANDOFF_WARM", "0")
    monkeypatch.setattr(warm, "_THREAD", None)
    warm.start()
    assert warm._THREAD is None


def wait_for(condition, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_presets_warmed_are_the_sidebar_presets():
    from ui.filters import PRESETS

    assert set(warm.WARM_PRESETS) == set(PRESETS) - {"custom"}
    assert warm.WARM_PRESETS[0] == "auto"  # the default view first


def test_filters_repr_names_every_field_so_it_can_key_the_caches():
    # Caches hash a Filters by its repr (queries/cache.py, ui/sections.py): a field left out of
    # it would let two different views share one cached result.
    import dataclasses
    import datetime as dt

    f = Filters(dt.date(2025, 1, 1), dt.date(2025, 3, 31), channels=("web",), window_days=90)
    assert all(field.repr for field in dataclasses.fields(Filters))
    assert repr(f) != repr(dataclasses.replace(f, skip_policy="strict"))


def test_no_two_sections_of_the_app_share_a_name():
    # Every page runs as the module __main__ and Streamlit keys a section's cache on its name
    # and source (ui/sections.py): two same-named sections would rely on their source alone.
    import re

    from tests.conftest import ROOT

    names = []
    for page in sorted((ROOT / "pages").glob("*.py")):
        names += re.findall(r"^@section\ndef (\w+)\(", page.read_text(encoding="utf-8"), flags=re.M)
    assert len(names) > 30  # the five pages' sections were found
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_results_and_drawings_do_not_expire(tmp_path):
    # An expiry would undo the warm-up an hour after each import: the store version in the key
    # is what retires an entry (and max_entries bounds memory).
    from queries import cache as cache_mod
    from ui import sections

    assert cache_mod._call._info.ttl is None
    assert sections.section(lambda version: None)._info.ttl is None


def test_applying_a_contract_retires_cached_results_and_drawings(tmp_path, use_store):
    # Labels, the SLA and windows come from the store's contract: applying a new one writes a
    # new store version, so no old result or drawing is replayed under the new definitions.
    from data import contract as contract_mod
    from data import store as store_mod
    from queries import executor

    db = use_store(store_mod.build_sample(tmp_path / "s.duckdb", n_leads=300))
    before = executor.store_version()
    text = contract_mod.default_text().replace("conversion_window_days = 180", "conversion_window_days = 90")
    store_mod.rebuild(db, contract_text=text, source="test")
    assert executor.store_version() != before
