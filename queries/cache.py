"""Result caching for pages: the only module in queries/ that imports streamlit.

One `st.cache_data` function serves every query, keyed on the query function's module and name,
its arguments and the store's version (inode, mtime, size), so a swapped-in store is never
served stale results. A function marked `@executor.reads_edits(...)` is keyed on the version of
those team edits too (a saved target retires what shows targets; a saved note only what shows
notes), and may read no other kind. Connections are never cached (see executor).

    from queries import cache, funnel
    df = cache.call(funnel.cohort_funnel, filters)
"""

from __future__ import annotations

import importlib
import threading
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from queries import executor
from queries.filters import Filters

T = TypeVar("T")

# Queries actually run (cache misses) in this process, by "module.name": how the warmer and
# its test tell what a page still had to compute.
MISSES: Counter[str] = Counter()
_MISSES_BY_THREAD: Counter[int] = Counter()
_MISSES_LOCK = threading.Lock()


def misses_in_this_thread() -> int:
    """Queries this thread has run (cache misses) so far."""
    return _MISSES_BY_THREAD[threading.get_ident()]


# No time limit: the store version in the key retires results after an import (old entries are
# never asked for again and are the first pushed out, least recently used first, once there are
# MAX_ENTRIES), and an expiry would undo the warm-up (ui/warm.py) an hour after each import.
# Filters: a frozen dataclass whose repr names every field, so its repr is an exact and cheap key.
MAX_ENTRIES = 1024


@st.cache_data(show_spinner=False, max_entries=MAX_ENTRIES, ttl=None, hash_funcs={Filters: repr})
def _call(module: str, name: str, args: tuple, kwargs: tuple, version: str):
    # `version` is part of the cache key only: a new store file (or a saved edit the function
    # reads) means new entries.
    with _MISSES_LOCK:
        MISSES[f"{module}.{name}"] += 1
        _MISSES_BY_THREAD[threading.get_ident()] += 1
    fn = getattr(importlib.import_module(module), name)
    with executor.declared_edits(getattr(fn, "reads_edits", ())):
        return fn(*args, **dict(kwargs))


def call(fn: Callable[..., T], *args, **kwargs) -> T:
    """fn(*args, **kwargs), cached until the store (or an edit it reads) changes. fn must live in
    a queries module."""
    if not fn.__module__.startswith("queries."):
        raise ValueError("only query functions are cached")
    version = executor.store_version(edits=getattr(fn, "reads_edits", ()))
    return _call(fn.__module__, fn.__name__, args, tuple(sorted(kwargs.items())), version)


def clear() -> None:
    """Forget every cached result (tests; after an import the version key does this anyway)."""
    _call.clear()
