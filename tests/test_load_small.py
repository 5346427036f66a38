"""The load test in small (tests/load.py): 3 sessions over Streamlit's websocket protocol against
`streamlit run dashboard.py` on a 2,000-lead store, alone, during two imports, and with the
negative control; plus the per-run store pin that keeps a page on one store version.

The full run (20 sessions, 1,000,000 leads) is `make load`; its figures are in docs/deploy.md.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil

import pytest

from data import store
from queries import executor, funnel
from tests import load

LEADS = 2000


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("load")


def run(workdir, sessions=3, **kwargs) -> load.Result:
    lines: list[str] = []
    result = load.run_load(
        leads=LEADS, sessions=sessions, workdir=workdir, jitter=0.5, think=0.2, say=lines.append, **kwargs
    )
    load.report(result, say=lines.append)
    print("\n".join(lines))
    return result


def test_three_sessions(workdir):
    result = run(workdir)
    # 3 sessions x (3 pages opened + 3 filter changes), every one finished without an error.
    assert result.errors == []
    assert sorted((r.kind, r.page) for r in result.runs) == sorted(
        [(kind, page) for page in load.PAGES for kind in ("first", "rerun")] * 3
    )
    # Each filter change really changed what a page that uses the filters shows (the harness is
    # not just re-reading the same page); the weekly meeting's page, which no sidebar filter
    # applies to, stays as it was.
    for n in range(3):
        prints = {(r.page, r.kind): r.fingerprint for r in result.runs if r.session == n}
        for page in load.PAGES:
            changed = prints[(page, "first")] != prints[(page, "rerun")]
            assert changed == (page != "weekly"), page
        assert len({prints[(page, "first")] for page in load.PAGES}) == 3
    assert result.peak_mb and result.peak_mb > 50


def test_three_sessions_during_two_imports(workdir):
    # Both imports swap a store in while the sessions run; each page is one version, never a
    # mix (checked element by element against what a lone session sees on each version).
    result = run(workdir, imports=2, import_delay=0.5)
    assert result.errors == [] and result.mixes == 0
    assert len(result.runs) == 18


def test_negative_control_is_detected(workdir):
    # The live store overwritten in place (no atomic switch) while the sessions run: they must
    # report errors, or the two tests above would prove nothing.
    result = run(workdir, control=True, import_delay=0.5, control_hold=12)
    assert result.errors
    print(result.errors[:5])


def test_random_views_are_seeded_and_inside_the_store(workdir):
    import random
    from urllib.parse import parse_qs

    db = load.ensure_store(workdir / f"store-{LEADS}-seed7.duckdb", LEADS, 7)
    values = load.store_values(db)
    views = load.random_views(random.Random(5), values, 60)
    assert views == load.random_views(random.Random(5), values, 60)  # the seed says it all
    assert views != load.random_views(random.Random(6), values, 60)
    for view in views:
        params = parse_qs(view.query)
        start, end = (dt.date.fromisoformat(params[k][0]) for k in ("start", "end"))
        assert values.first <= start < end <= values.last and 14 <= (end - start).days <= 364
        for name in load.RANDOM_LISTS:
            assert set(params.get(name, [])) <= set(values.lists[name]) and len(params.get(name, [])) <= 3
        assert "flow" not in params.get("view", []) or view.page == "health"
        assert view.rerun in (values.breakdowns if view.page == "health" else load.RERUN_PRESETS)
    # Every page, the flow view and each list filter come up in 60 views.
    assert {v.page for v in views} == set(load.RANDOM_PAGES)
    assert any("view=flow" in v.query for v in views)
    assert all(any(f"{name}=" in v.query for v in views) for name in load.RANDOM_LISTS)


def test_two_sessions_on_random_views(workdir):
    # Cold (no warm-up), each session opening 3 links no cache has seen, then changing one thing.
    result = run(workdir, sessions=2, warm=False, random_views_seed=11)
    assert result.errors == []
    assert sorted(r.kind for r in result.runs) == ["first"] * 6 + ["rerun"] * 6
    for r in result.runs:
        assert r.view.startswith(f"{r.page}?")
    # Each link's filters reached the page: six different links draw six different pages, and
    # each change redraws its page.
    firsts = {r.view: r.fingerprint for r in result.runs if r.kind == "first"}
    assert len(set(firsts.values())) == len(firsts) == 6
    for r in result.runs:
        if r.kind == "rerun":
            assert r.fingerprint != firsts[r.view], r.view


# --- the per-run pin ----------------------------------------------------------------------------


@pytest.fixture
def two_versions(workdir, use_store):
    """HANDOFF_DB -> a live store (seed 7); returns (live path, the seed 8 store to swap in)."""
    a = load.ensure_store(workdir / f"store-{LEADS}-seed7.duckdb", LEADS, 7)
    b = load.ensure_store(workdir / f"store-{LEADS}-seed8.duckdb", LEADS, 8)
    live = workdir / "pin-live.duckdb"
    shutil.copyfile(a, live)
    use_store(live)
    yield live, b
    executor.unpin()


def seed_read() -> str:
    return funnel.store_facts()["sample_seed"]


def swap(new, live):
    tmp = live.with_name("pin-swap.tmp")
    shutil.copyfile(new, tmp)
    os.replace(tmp, live)


def test_a_pinned_run_reads_one_version_across_a_swap(two_versions):
    live, other = two_versions
    executor.pin()
    version = executor.store_version()
    assert seed_read() == "7"
    swap(other, live)  # an import lands halfway through the run
    assert seed_read() == "7" and executor.store_version() == version
    executor.pin()  # the next run
    assert seed_read() == "8" and executor.store_version() != version


def test_without_a_pin_a_swap_shows_at_once(two_versions):
    # The control: this is how a run could mix versions before the pin.
    live, other = two_versions
    executor.unpin()
    assert seed_read() == "7"
    swap(other, live)
    assert seed_read() == "8"


def test_a_pin_follows_the_configured_store(two_versions, tmp_path, monkeypatch):
    # A pin taken for one store is never used for another (tests and tools switch HANDOFF_DB).
    live, other = two_versions
    executor.pin()
    monkeypatch.setenv(store.ENV_DB, str(other))
    assert seed_read() == "8"


def test_old_pins_are_removed(two_versions, monkeypatch):
    live, other = two_versions
    first = executor.pin()
    swap(other, live)
    executor.pin()  # the first version is no longer live, but a run may still be reading it
    assert first.exists()
    monkeypatch.setattr(executor, "PIN_KEEP_SECONDS", -1)  # ... until PIN_KEEP_SECONDS later
    executor.pin()
    assert not first.exists()
    # Nothing but pins (ignored like every .duckdb file) is left beside the store.
    assert all(p.suffix == ".duckdb" for p in first.parent.iterdir())


def test_a_download_built_at_the_click_reads_the_version_its_page_showed(two_versions, monkeypatch):
    import threading

    import pandas as pd
    import streamlit as st

    from ui import tables

    live, other = two_versions
    buttons = []
    monkeypatch.setattr(st, "download_button", lambda label, data, **kwargs: buttons.append(data))
    executor.pin()  # the page's run: it shows seed 7
    tables.download(lambda: pd.DataFrame({"seed": [seed_read()]}), "seed.csv")
    executor.unpin()
    swap(other, live)  # an import lands before the click
    out = []
    click = threading.Thread(target=lambda: out.append(buttons[0]()))  # the click: another thread
    click.start()
    click.join()
    assert out[0].decode("utf-8-sig").splitlines() == ["seed", "7"]
    assert seed_read() == "8"  # while the live store is the new one


def test_a_store_kept_for_other_code_is_not_reused(tmp_path):
    """The load test keeps its sample stores between runs, named by the digest of the code that
    writes stores: one kept for other code (which may lack a table the pages now read) is
    removed and built afresh, never measured."""
    stale = tmp_path / "store-300-seed7-0000000000.duckdb"
    stale.write_bytes(b"built by other code")
    digest = load.store_code_digest()
    assert len(digest) == 10 and digest != "0000000000"
    path = load.ensure_store(tmp_path / f"store-300-seed7-{digest}.duckdb", 300, 7)
    assert not stale.exists()
    assert funnel.store_facts(path)["sample_leads"] == "300"
    assert load.store_code_digest() == digest  # the same code, the same name: reused next time
