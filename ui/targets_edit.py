"""The Targets page's edit forms: what saving one target or importing a CSV does, and what the
page then says. Edits go through data/targets.py, which validates them before anything is
written; the outcome waits in the session under MESSAGE_KEY for the page to show.

What a write can meet besides an invalid value: another save holding the team's edits file, a
file that cannot be read, no store at all, or the database refusing. Each is told as what
happened and what to do, never raised. Targets are saved beside the store (data/edits.py), so an
import never makes them wait.
"""

from __future__ import annotations

import duckdb
import streamlit as st

from data import store
from data import targets as targets_mod
from queries import executor
from ui.targets_view import target_name

MESSAGE_KEY = "targets-message"

STORE_ERRORS = (
    store.StoreLockedError,
    store.StoreDamagedError,
    executor.StoreBusyError,
    executor.StoreMissingError,
    FileNotFoundError,
    duckdb.Error,
)


def store_problem(exc: Exception) -> str:
    """A write that failed for the store's sake: what happened and what to do (no file paths)."""
    if isinstance(exc, store.StoreLockedError | executor.StoreBusyError):
        return (
            "the targets are being rewritten by another save right now. Nothing was written: "
            "try again in a moment."
        )
    if isinstance(exc, store.StoreDamagedError):
        return (
            "the file that keeps the team's targets and notes cannot be read (it is damaged or not a "
            "DuckDB file). Nothing was written: ask whoever runs the dashboard to restore the copy "
            "kept beside it (docs/deploy.md, section 5), then try again."
        )
    if isinstance(exc, FileNotFoundError | executor.StoreMissingError):
        return (
            "there is no data store to write to. Nothing was written: build or import the data first "
            "(Data page, or python -m data.store sample), then try again."
        )
    return (
        f"the database refused the write ({type(exc).__name__}). Nothing was written: try again; if "
        "it happens again, ask whoever runs the dashboard to check the store file."
    )


def save_target() -> None:
    """The "Set one target" form's callback: its widgets tf-period, tf-choice, tf-value, tf-by."""
    team, metric = st.session_state["tf-choice"]
    try:
        changed = targets_mod.set_target(
            st.session_state["tf-period"],
            team,
            metric,
            st.session_state["tf-value"],
            st.session_state["tf-by"],
        )
    except targets_mod.TargetError as exc:
        st.session_state[MESSAGE_KEY] = ("error", f"Not saved: {exc}. Nothing was written.")
        return
    except STORE_ERRORS as exc:
        st.session_state[MESSAGE_KEY] = ("error", f"Not saved: {store_problem(exc)}")
        return
    st.session_state[MESSAGE_KEY] = (
        "success",
        f"Saved {target_name(team, metric)} for {st.session_state['tf-period']:%B %Y}."
        if changed
        else "That target already had this value: nothing changed.",
    )


def import_targets() -> None:
    """The "Import targets from CSV" form's callback: its widgets tf-csv and tf-csv-by."""
    upload = st.session_state.get("tf-csv")
    if upload is None:
        st.session_state[MESSAGE_KEY] = (
            "error",
            "Choose a CSV file first (columns period,team,metric,value).",
        )
        return
    try:
        n = targets_mod.import_csv(upload.getvalue(), st.session_state["tf-csv-by"])
    except targets_mod.TargetError as exc:
        # The problems quote the file's cells: shown as plain text, never as markdown.
        st.session_state[MESSAGE_KEY] = ("error", "Import refused: nothing was written.", str(exc))
        return
    except STORE_ERRORS as exc:
        st.session_state[MESSAGE_KEY] = ("error", f"Not imported: {store_problem(exc)}")
        return
    st.session_state[MESSAGE_KEY] = ("success", f"Imported the file: {n} target(s) changed.")
