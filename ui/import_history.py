"""The Data page's History and rollback tab: every load of the store newest first, the rejected
and flagged rows of one import, and the rollback that makes the version before the last import
live again (data.importer.rollback). Rolling back is for the dashboard's admins only.

Load descriptions and issue rows may quote an upload: they are drawn as plain text and tables.
"""

from __future__ import annotations

import streamlit as st

from data import importer
from queries import cache, data_quality
from ui import frame, import_report
from ui.tables import download

ROLLED_BACK_KEY = "data_rolled_back"  # set just before the rerun that follows a rollback


def history() -> None:
    """The import history with its download, and the issues of the import chosen below it."""
    loads = cache.call(data_quality.import_history)
    st.caption("Every load, newest first. Rows in = accepted + rejected + duplicate for each import.")
    st.dataframe(loads, hide_index=True)
    download(loads, "import-history.csv", label="Download history")
    imports = loads[loads["kind"] == "import"]
    if not len(imports):
        return
    load_id = st.selectbox(
        "Rejected and flagged rows of an import",
        imports["load_id"].tolist(),
        format_func=lambda lid: imports.set_index("load_id").loc[lid, "description"],
        key="data_history_load",
    )
    issues = cache.call(data_quality.import_issues, load_id)
    total = int(issues["n_total"].iloc[0]) if len(issues) else 0
    st.text(f"{total:,} rows rejected or flagged" + (" (first 1,000 shown)" if total > len(issues) else ""))
    st.dataframe(issues.drop(columns="n_total"), hide_index=True)
    download(issues.drop(columns="n_total"), "import-issues.csv", label="Download these rows")


def rolled_back() -> bool:
    """Whether the last run rolled back (said once, after the rerun that shows the result)."""
    return st.session_state.pop(ROLLED_BACK_KEY, False)


def rollback(can_write: bool) -> None:
    """The "Roll back" section: the versions kept, the one a rollback makes live, and the button."""
    st.subheader("Roll back", divider="gray")
    kept = importer.versions()
    if not kept:
        st.caption("No earlier version is kept yet: each import keeps the version it replaced.")
        return
    last = data_quality.import_history(db=kept[0])
    shown = last["description"].iloc[0] if len(last) else "an empty store"
    st.write(
        f"{len(kept)} earlier version(s) kept. Rolling back makes the version before the last "
        "import live again; its latest load was:"
    )
    st.text(shown)
    sure = st.checkbox("Yes, undo the last import", key="data_rollback_sure")
    if st.button("Roll back", disabled=not sure or not can_write, key="data_rollback") and can_write:
        try:
            importer.rollback()
        except (FileNotFoundError, importer.ImportBusyError) as exc:
            frame.alert_with_text("Not rolled back:", str(exc))
        else:
            cache.clear()
            import_report.forget()
            # Rerun so the history above shows the restored version, then say so.
            st.session_state[ROLLED_BACK_KEY] = True
            st.rerun()
