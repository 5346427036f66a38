"""Parts of a page drawn once per (filters, store version) and replayed for everyone after.

Twenty people opening the same view at the meeting would each rebuild the same charts and
tables: plotly figures, labelled lead lists, Arrow conversions. Python runs one page script at a
time, so they wait for each other. A *section* is a page function decorated with `@section`:
its first call for a set of arguments draws as usual; Streamlit records the elements it drew
(st.cache_data's element replay) and every later call with the same arguments, from any session,
replays them without running the code.

    @section
    def leakage(filters, by, version):   # version: executor.store_version(), part of the key
        st.metric(...); st.plotly_chart(...); st.dataframe(...)
        return frame_for_the_download    # returned values are cached too

Rules (Streamlit's, for replay to be right):
- no widgets inside a section (selectboxes, buttons, download buttons): draw them outside and
  pass their values in as arguments;
- draw only on `st` (implicitly) or on columns and containers created inside the section; it
  may be called inside a `with` block created outside;
- everything the drawing depends on is an argument, and `version` is one of them, so a new
  store (an import) never replays an old drawing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from queries.filters import Filters

F = TypeVar("F", bound=Callable)

# Filters are frozen dataclasses whose repr names every field: hashing the repr is exact and
# ten times cheaper than Streamlit's generic walk through the object (each run hashes the
# arguments of every section).
HASH_FUNCS = {Filters: repr}

# No time limit, like query results: the version key already retires a drawing after an import
# (an entry of an old version is never asked for again, so it is the first pushed out when the
# section holds SECTION_MAX_ENTRIES drawings, least recently used first). An expiry would also
# undo the cache warm-up an hour after each import.
SECTION_MAX_ENTRIES = 256  # per section; a drawing holds its elements' protobufs (kB to a few MB)


def section(fn: F) -> F:
    """Cache a page function's drawing (and return value) per argument values; see module doc.

    Streamlit keys each cache on the function's module, name and source; every page runs as the
    module `__main__`, so two sections of the app must not share a name (tests/test_warm.py
    checks)."""
    return st.cache_data(
        fn,
        show_spinner=False,
        ttl=None,
        max_entries=SECTION_MAX_ENTRIES,
        hash_funcs=HASH_FUNCS,
    )
