"""The picture frame around every page: first-start sample build, the sample-data note and
friendly messages when the store is missing, busy or cannot be read. Used by dashboard.py (and
the Data page, for a store that cannot be read); pages stay plain scripts that also run on their
own (AppTest, a pasted page URL).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator

import duckdb
import streamlit as st

from data import edits, importer, store
from data.contract import ContractError
from queries import cache, executor, funnel
from ui import auth

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
        # Imports swap in a new file and edits have their own: only another program writing
        # the store in place (a DuckDB shell, a script) holds a lock on it.
        st.warning(
            "The data store is being written in place by another program (an import never does "
            "that: it swaps in a new file). Wait until it has finished and reload the page; "
            "nothing is lost.",
            icon=":material/hourglass_top:",
        )
    except store.StoreDamagedError as exc:
        store_damaged(exc)


def alert_with_text(message: str, detail: str, kind: str = "error") -> None:
    """An alert in our own words (Markdown), then text from an upload, a CRM or the system as
    plain text below it: such text never reaches Markdown, where a link or an image in it would
    be drawn (a tracking pixel works). kind: "error" or "warning"."""
    (st.warning if kind == "warning" else st.error)(message)
    st.code(detail, language=None, wrap_lines=True)


def _when(path) -> str:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def store_damaged(exc: store.StoreDamagedError) -> None:
    """A store or edits file that cannot be read (data.store.diagnose): what is wrong, that
    nothing was changed, and what to do. For the store: roll back to the newest kept version
    (a button for admins) or rebuild it; for the team's edits file: restore its kept copy. The
    system's own words follow as plain text."""
    problem = exc.problem
    live = store.db_path()
    if problem.path == edits.path_for(live):
        kept = edits.versions_kept(live)
        st.error(
            f"The team's notes and targets cannot be read: {problem.what(detail=False)} Nothing has "
            "been changed, and the analytics data is not affected.",
            icon=":material/report:",
        )
        if kept:
            st.write(
                f"Restore the copy kept before the last save ({kept[0].name}, saved {_when(kept[0])}) "
                "on the server, then reload the page (docs/deploy.md, section 5):"
            )
            st.code(f"mv {kept[0]} {problem.path}", language="bash")
        else:
            st.write(
                "No earlier copy is kept beside it: restore it from your backup (docs/deploy.md), or "
                "move it aside to start again without notes and targets."
            )
    else:
        _store_damaged(problem, importer.versions(live))
    st.caption("What DuckDB or the system said:")
    st.code(problem.detail, language=None, wrap_lines=True)


def _store_damaged(problem: store.StoreProblem, kept: list) -> None:
    st.error(
        f"The data store cannot be read: {problem.what(detail=False)} Nothing has been changed; the "
        "dashboard shows no numbers until the file is replaced.",
        icon=":material/report:",
    )
    if kept:
        st.write(
            f"**Roll back** to the version kept before the last import, {kept[0].name} (saved "
            f"{_when(kept[0])}): imports made since are undone. On the server:"
        )
        st.code('python -c "from data import importer; print(importer.rollback())"', language="bash")
        if auth.is_admin():
            sure = st.checkbox(f"Yes, make {kept[0].name} the live store", key="damaged_rollback_sure")
            if st.button("Roll back", disabled=not sure, key="damaged_rollback") and sure:
                try:
                    importer.rollback()
                except (FileNotFoundError, importer.ImportBusyError) as err:
                    st.error(f"Not rolled back: {err}")
                else:
                    cache.clear()
                    st.rerun()
    st.write(
        "**Or rebuild it** from your CRM exports, into a new store "
        "(`python -m data.importer FILE --mapping NAME --fresh`). The team's notes and targets are "
        f"kept in {edits.path_for(store.db_path()).name} and are not affected (building the sample "
        "data instead, `python -m data.store sample`, would start them afresh)."
    )
