"""The Data page's import itself: the click that reads the whole uploads into the store
(data.importer.import_files, under a progress bar) and the validation report of the last import,
kept in this session until the next one or a rollback.

Text from an upload (its name, the importer's reasons quoting it) is drawn as plain text only
(st.text, tables, frame.alert_with_text), never inside Markdown.
"""

from __future__ import annotations

import streamlit as st

from data import importer
from queries import cache
from ui import frame
from ui.auth import user_name
from ui.tables import download

REPORT_KEY = "data_import_report"  # the last import's report, shown until the next one


def run(uploads, mapping, fresh: bool, contract, contract_text: str | None) -> None:
    """Import the uploads whole, now, at the click: the report is kept for `report()`; a busy
    store or an unexpected error is said so, and the store is left as it was."""
    bar = st.progress(0.0, text="Starting")

    def progress(fraction: float, text: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=text)

    # The whole files are read only now, at the click.
    sources = [importer.Source.from_bytes(u.name, u.getvalue()) for u in uploads]
    try:
        result = importer.import_files(
            sources,
            mapping,
            fresh=fresh,
            contract=None if contract_text else contract,
            contract_text=contract_text,
            contract_source="proposal, confirmed on the Data page",
            progress=progress,
            user=user_name(),
        )
    except importer.ImportBusyError as exc:
        st.warning(str(exc))
    except Exception as exc:  # the store is left as it was: say so, never a traceback
        frame.alert_with_text(
            "The import stopped on an unexpected error: nothing was imported and the store is "
            "unchanged. What the importer said:",
            f"{type(exc).__name__}: {exc}",
        )
    else:
        st.session_state[REPORT_KEY] = result
        cache.clear()
    bar.empty()


def forget() -> None:
    """Drop the last import's report (after a rollback undid it)."""
    st.session_state.pop(REPORT_KEY, None)


def report() -> None:
    """The "Validation report" of the last import, if any: what happened to the store, and per
    file its rows in, accepted, rejected and duplicate, the reconciliation and the issues."""
    last = st.session_state.get(REPORT_KEY)
    if last is None:
        return
    st.subheader("Validation report", divider="gray")
    if last.swapped:
        st.success(
            f"Imported in {last.seconds:.1f} s. The dashboard now shows the new data; the "
            "previous version is kept for rollback (History tab).",
            icon=":material/check_circle:",
        )
    elif last.unchanged:
        st.info(
            "Nothing new in these files: the store is unchanged (same bytes, same version, every view kept).",
            icon=":material/check_circle:",
        )
    else:
        st.error("Nothing was imported: the store is unchanged.", icon=":material/block:")
    for i, f in enumerate(last.files):
        st.markdown(f"**File {i + 1}**")
        st.text(f.name)  # the upload's name: text only
        if f.refused:
            frame.alert_with_text("Refused: nothing from this file was imported.", f.refused)
        if f.unchanged:
            st.text(f.unchanged)  # may quote the file's name: text only
        cols = st.columns(4)
        cols[0].metric("Rows in", f"{f.n_rows_in:,}")
        # A refused file imported nothing: its valid rows "would be" accepted, not "are".
        cols[1].metric("Would be accepted" if f.refused else "Accepted", f"{f.n_accepted:,}")
        cols[2].metric("Rejected", f"{f.n_rejected:,}")
        cols[3].metric("Duplicate", f"{f.n_duplicate:,}")
        check = "holds" if f.reconciles else "DOES NOT HOLD"
        st.text(
            f"Reconciliation: rows in {f.n_rows_in:,} = accepted {f.n_accepted:,} + rejected "
            f"{f.n_rejected:,} + duplicate {f.n_duplicate:,} ({check}). Added: "
            f"{f.n_events_added:,} events, {f.n_leads_added:,} leads; {f.n_leads_updated:,} leads "
            f"updated; {f.n_flagged:,} rows flagged; {f.n_ignored:,} accepted rows carry no funnel event; "
            f"{f.n_undated:,} open records with no date kept as undated open pipeline."
        )
        if len(f.issues):
            st.caption(
                "Rejected rows were not imported; flagged rows were, and are worth a look. Row "
                "numbers count the header as row 1."
            )
            st.dataframe(f.issues, hide_index=True)
            download(f.issues, f"rejected-rows-{i + 1}.csv", label="Download rejected and flagged rows")
