"""Data: load a CRM export, see every rejected row and why, the import history with rollback, and
the quality of the loaded data. For ops and admins (docs/import.md).

Text from an upload (its name, its header cells, a mapping's values, the importer's reasons
quoting them) is drawn as plain text only (st.text, st.code, tables), never inside Markdown.

The page lays out; its parts live beside it: ui/import_preview.py (detection, preview, a new
store's funnel, counts per stage), ui/import_report.py (the import and its validation report),
ui/import_history.py (history and rollback), ui/mapping_choices.py (the guided mapping).
"""

from __future__ import annotations

import hashlib

import streamlit as st

from data import contract as contract_mod
from data import importer, store
from data.import_mapping import MappingError, presets
from data.import_mapping import load as load_mapping
from data.import_mapping import parse as parse_mapping
from queries import cache, data_quality, executor, funnel
from ui import contract_editor, frame, import_history, import_preview, import_report, mapping_choices
from ui.auth import is_admin, user_name
from ui.state import run_in_frame
from ui.tables import download

run_in_frame()  # a link opened first on a freshly started server still runs in the frame

CUSTOM = "custom"  # the mapping choice that takes an uploaded .toml

st.title("Data")
st.caption(
    "Load a CRM export into the store, see what was rejected and why, undo the last import, and "
    "check the loaded data. Imports are all-or-nothing per file and safe to repeat: rows already "
    "stored are counted as duplicates and change nothing."
)
# Which engine answers the pages (HANDOFF_ENGINE): our own sentence, so plain caption text.
st.caption(f"Queries run on {executor.engine_description()}.")

# With sign-in configured, only the admins in secrets.toml may upload, import or roll back
# (ui/auth.py): nobody else gets an uploader, so no one else's file is ever parsed here.
can_write = is_admin()
if not can_write:
    st.info(
        "Uploading, importing and rolling back are limited to the dashboard's admins.",
        icon=":material/lock:",
    )

# A store that cannot be read says so once, here, with what to do (roll back or rebuild); the
# tabs below then skip what they would read from it.
readable = store.db_path().exists()
facts: dict = {}
if readable:
    try:
        facts = cache.call(funnel.store_facts)
    except store.StoreDamagedError as exc:
        frame.store_damaged(exc)
        readable = False
    except executor.StoreBusyError as exc:
        frame.alert_with_text(
            "The store cannot be read right now: wait a moment and reload.", str(exc), "warning"
        )
        readable = False
damaged = store.db_path().exists() and not readable

tab_import, tab_contract, tab_history, tab_quality = st.tabs(
    ["Import", "Funnel contract", "History and rollback", "Data quality"]
)

# --- import --------------------------------------------------------------------------------------
with tab_import:
    # Mappings are checked against the shipped default's keys here; the files are read under the
    # store's own contract, or for a new store the one confirmed below.
    contract = contract_mod.load()
    choices = dict(presets())
    if can_write:  # an uploaded mapping is an upload too: admins only
        choices[CUSTOM] = "your own mapping file (.toml): the format is in docs/import.md"
    mapping_name = st.selectbox(
        "Mapping (what kind of export this is)",
        list(choices),
        format_func=lambda n: f"{n}: {choices[n]}",
        key="data_mapping",
    )
    mapping = None
    mapping_key = mapping_name
    if mapping_name == CUSTOM:
        mapping_upload = st.file_uploader("Mapping file (.toml)", type=["toml"], key="data_mapping_file")
        if mapping_upload is None:
            st.info(
                "Upload a mapping: copy the closest preset from data/mappings/, rename its columns to "
                "your export's headers, and upload it here. It is checked before anything is read."
            )
        else:
            raw = mapping_upload.getvalue()
            mapping_key = "custom:" + hashlib.sha256(raw).hexdigest()
            try:
                mapping = parse_mapping(raw.decode("utf-8"), contract, origin="custom")
            except (MappingError, UnicodeDecodeError) as exc:
                # The message quotes the file's values: plain text below our own words.
                frame.alert_with_text(
                    "This mapping cannot be used. Fix the file and upload it again:", str(exc)
                )
    else:
        try:
            mapping = load_mapping(mapping_name, contract)
        except MappingError as exc:
            frame.alert_with_text(
                f"The mapping {mapping_name!r} is not valid. Fix data/mappings/{mapping_name}.toml:", str(exc)
            )
    if mapping is not None:
        import_preview.columns_read(mapping)

    if mapping is not None and can_write:
        uploads = st.file_uploader(
            "Export file(s), CSV",
            type=["csv", "txt"],
            accept_multiple_files=True,
            key="data_upload",
            help="Several files when the mapping has several (Salesforce: leads, opportunities, history).",
        )
        is_sample = facts.get("is_sample") == "true"
        fresh = st.checkbox(
            "Start from an empty store (drop what is loaded now)",
            value=is_sample or damaged,
            disabled=damaged,
            help="On for sample data, so your export is not mixed with generated leads, and for a "
            "store that cannot be read. The current version stays available for rollback.",
            key="data_fresh",
        )
        fresh = fresh or damaged
        uploads = uploads or []
        # Files no preset fits: read as plain choices make them (ui/mapping_choices.py).
        if mapping_name != CUSTOM and uploads and all(import_preview.detection(u).proposal for u in uploads):
            st.subheader("How to read your file", divider="gray")
            st.caption(
                "No preset fits these columns, so the mapping is made from the choices below (the one "
                "chosen above is not used). They start from what the file's first rows suggest."
            )
            guided = mapping_choices.guided(
                [u.name for u in uploads], [import_preview.detection(u) for u in uploads], contract
            )
            mapping, mapping_key = guided.mapping, guided.key
        # A new store (or a fresh start) takes the funnel its files propose, confirmed here;
        # otherwise the files are read under the store's own contract.
        is_new = fresh or not store.db_path().exists()
        contract = importer.store_contract(store.db_path(), fresh=is_new)
        contract_text = None
        ready = mapping is not None
        if is_new and uploads and ready:
            ready, contract, contract_text = import_preview.proposed_funnel(
                uploads, mapping, mapping_key, contract
            )
        contract_key = import_preview.contract_key(contract)
        chosen = None if mapping_name == CUSTOM else mapping_name
        into = None if is_new else store.db_path()  # a new store holds no files yet
        import_preview.files(uploads, mapping, mapping_key, chosen, contract, contract_key, into)
        if uploads and ready:
            import_preview.per_stage(uploads, mapping, mapping_key, contract, contract_key)

        if (
            st.button("Import", type="primary", disabled=not uploads or not ready, key="data_import")
            and is_admin()
        ):
            import_report.run(uploads, mapping, fresh, contract, contract_text)
        import_report.report()

# --- the funnel contract ------------------------------------------------------------------------
with tab_contract:
    if readable:
        contract_editor.render(can_write, user_name())
    else:
        st.info("No readable store yet: the first import proposes its funnel (Import tab).")

# --- history and rollback ----------------------------------------------------------------------
with tab_history:
    if import_history.rolled_back():
        st.success("Rolled back: the version before the last import is live again.")
    if not store.db_path().exists():
        st.info("No store yet: import a file or build the sample (`python -m data.store sample`).")
    elif damaged:
        st.info(
            "The store cannot be read (see above), so neither can its history: roll back or rebuild it first."
        )
    else:
        import_history.history()
        import_history.rollback(can_write)

# --- data quality ------------------------------------------------------------------------------
with tab_quality:
    if not store.db_path().exists():
        st.info("No store yet.")
    elif damaged:
        st.info("The store cannot be read (see above).")
    else:
        summary = cache.call(data_quality.summary)
        st.caption(
            "Each check is a count of failing rows with the rows behind it (first 1,000 shown, "
            "all counted). Zero means the check passes."
        )
        st.dataframe(
            summary.drop(columns="key"),
            hide_index=True,
            column_config={
                "title": "check",
                "n_failing": st.column_config.NumberColumn("failing rows", format="%d"),
                "detail": "of which",
                "meaning": "what it means",
            },
        )
        download(summary.drop(columns="key"), "data-quality.csv", label="Download summary")
        st.markdown("**Missing attributes by field and by the team that should fill them**")
        missing = cache.call(data_quality.missing_attributes)
        if missing.empty:
            st.text("No lead misses channel, campaign, region, segment or company.")
        else:
            st.dataframe(
                missing,
                hide_index=True,
                column_config={"missing_rate": st.column_config.NumberColumn(format="percent")},
            )
            download(missing, "missing-attributes.csv", label="Download missing attributes")
        for check in data_quality.CHECKS:
            n = int(summary.loc[summary["key"] == check.key, "n_failing"].iloc[0])
            with st.expander(f"{check.title}: {n:,}"):
                st.caption(check.meaning)
                rows = cache.call(data_quality.check_rows, check.key)
                if rows.empty:
                    st.text("No failing rows.")
                else:
                    st.dataframe(rows.drop(columns="n_total"), hide_index=True)
                    download(rows.drop(columns="n_total"), f"dq-{check.key}.csv", label="Download these rows")
