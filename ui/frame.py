"""The picture frame around every page: first-start sample build, the sample-data note and
friendly messages when the store is missing or busy. Used by dashboard.py only; pages stay
plain scripts that also run on their own (AppTest, a pasted page URL).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import duckdb
import streamlit as st

from data import store
from data.contract import ContractError
from queries import cache, executor, funnel

# One sample build per server process: two browser tabs opening a fresh install at the same
# moment would otherwise both write `<db>.tmp`. Module state lives as long as the process.
_BUILD_LOCK = threading.Lock()


def ensure_store() -> None:
    """Build the sample store on first start (no store file yet), with a progress bar."""
    if store.db_path().exists():
        return
    with _BUILD_LOCK:
        if store.db_path().exists():  # another session built it while this one waited
            return
        bar = st.progress(0.0, text="First start: building the sample store")

        def progress(fraction: float, text: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=f"First start: {text}")

        store.ensure_store(progress=progress)
        bar.empty()
        cache.clear()


def sample_note() -> None:
    """A visible note while the store holds generated sample data, saying how to load real data."""
    facts = cache.call(funnel.store_facts)
    if facts.get("is_sample") == "true":
        leads = facts.get("sample_leads")
        size = f" ({int(leads):,} generated leads)" if leads and leads.isdigit() else ""
        st.info(
            f"You are looking at sample data{size}, not your CRM. Load a CRM export on the "
            "**Data** page or with `python -m data.importer`.",
            icon=":material/science:",
        )


@contextlib.contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn store problems into a message that says what happened and what to do."""
    try:
        yield
    except executor.StoreMissingError:
        st.error(
            f"There is no data store at `{store.db_path()}` yet. Build the sample with "
            "`python -m data.store sample` or load a CRM export with `python -m data.importer`, "
            "then reload this page.",
            icon=":material/database_off:",
        )
    except (duckdb.CatalogException, duckdb.BinderException):
        # A store written by an older version lacks a table or column the queries now read.
        st.error(
            f"The data store at `{store.db_path()}` was built by an older version of Handoff: a "
            "table or column the dashboard needs is missing. Rebuild its derived tables with "
            "`python -m data.store rebuild` (your data is kept), then reload this page.",
            icon=":material/build:",
        )
    except ContractError as exc:
        # The store's contract and its journeys disagree, or its contract text is not valid.
        st.error(
            f"The data store at `{store.db_path()}` cannot be shown as it is: {exc}. Your data is "
            "kept; rebuild its derived tables with `python -m data.store rebuild`, then reload.",
            icon=":material/build:",
        )
    except executor.StoreBusyError:
        st.warning(
            "The data store is being updated by an import right now. Wait a few seconds and "
            "reload the page; nothing is lost.",
            icon=":material/hourglass_top:",
        )
