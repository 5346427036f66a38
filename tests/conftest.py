"""Shared fixtures: a small sample store built once per session, a clean Streamlit cache, and
HANDOFF_DB pointed at a store for page tests.

    def test_x(sample_db):          # HANDOFF_DB -> a 3,000-lead sample, caches cleared
        at = page_app("pages/x.py").run()
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from data import store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_LEADS = 3000  # small: the machine's two cores are shared; big enough for every chart

# No background cache warmer (ui/warm.py) in the page and browser tests: it would query each
# test's store behind the test's back. tests/test_warm.py and the load test switch it on.
os.environ.setdefault("HANDOFF_WARM", "0")


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory) -> Path:
    """A deterministic sample store (3,000 leads, seed 7), built once per test session.
    Read it; do not write it (other tests share it)."""
    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    return store.build_sample(path, n_leads=SAMPLE_LEADS)


@pytest.fixture
def clear_cache():
    """Streamlit's st.cache_data outlives an AppTest: clear it before and after a test."""
    import streamlit as st

    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture
def use_store(monkeypatch, clear_cache):
    """use_store(path): point HANDOFF_DB at `path` for this test (caches cleared)."""

    def point(path: Path) -> Path:
        monkeypatch.setenv(store.ENV_DB, str(path))
        return Path(path)

    return point


@pytest.fixture
def sample_db(sample_store, use_store) -> Path:
    """HANDOFF_DB pointed at the shared sample store for this test."""
    return use_store(sample_store)


@pytest.fixture
def page_app():
    """page_app("pages/x.py"): an AppTest for a file in the repository, with a timeout that
    survives first imports on a slow machine."""
    from streamlit.testing.v1 import AppTest

    def make(relative: str, timeout: float = 120) -> AppTest:
        return AppTest.from_file(str(ROOT / relative), default_timeout=timeout)

    return make
