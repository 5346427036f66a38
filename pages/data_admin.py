"""Data: load a CRM export, see every rejected row and why, the import history with rollback, and
the quality of the loaded data. For ops and admins (docs/import.md).

Text from an upload (its name, its header cells, a mapping's values, the importer's reasons
quoting them) is drawn as plain text only (st.text, st.code, tables), never inside Markdown.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from data import contract as contract_mod
from data import detect, importer, store
from data.import_mapping import MappingError, presets
from data.import_mapping import load as load_mapping
from data.import_mapping import parse as parse_mapping
from queries import cache, data_quality, executor, funnel
from ui import contract_editor, frame, funnel_proposal, import_history, import_report, mapping_choices
from ui.auth import is_admin, user_name
from ui.state import run_in_frame
from ui.tables import download

run_in_frame()  # a link opened first on a freshly started server still runs in the frame

CUSTOM = "custom"  # the mapping choice that takes an uploaded .toml
PREVIEW_KEY = "data_previews"  # {(upload id, mapping key): preview} of the uploads on screen
PROPOSAL_KEY = "data_proposals"  # {(upload ids, mapping key): proposal} for a new store
DETECT_KEY = "data_detections"  # {upload id: Detection} of the uploads on screen
COUNTS_KEY = "data_stage_counts"  # {(upload ids, mapping key, contract key): counts per stage}
PREVIEW_ROWS = 20
# The preview reads the start of an upload only: 20 rows of even a wide export fit in far less,
# and a 200 MB upload (one long line, say) is never parsed whole inside the shared server.
PREVIEW_BYTES = 1 << 20


def head(upload) -> importer.Source:
    """The first PREVIEW_BYTES of an upload, cut after its last whole line, as a Source."""
    with upload.getbuffer() as buf:
        size = len(buf)
        data = bytes(buf[:PREVIEW_BYTES])
    if size > PREVIEW_BYTES and (cut := data.rfind(b"\n")) > 0:
        data = data[: cut + 1]
    return importer.Source.from_bytes(upload.name, data)


def proposal_for(key: tuple, uploads, mapping) -> tuple:
    """("ok", proposal) or ("refused", reason): the funnel proposed from the uploads for a new
    store, computed once per `key` (the uploads and the mapping) and kept in this session."""
    proposals = st.session_state.setdefault(PROPOSAL_KEY, {})
    if key not in proposals:
        sources = [importer.Source.from_bytes(u.name, u.getvalue()) for u in uploads]
        try:
            proposals[key] = ("ok", importer.propose_contract(sources, mapping))
        except (importer.ImportRefused, contract_mod.ContractError) as exc:
            proposals[key] = ("refused", str(exc))
    for old in [k for k in proposals if k != key]:
        del proposals[old]
    return proposals[key]


def preview(key: tuple, upload, mapping, contract) -> tuple:
    """("ok", role, rows) or ("refused", reason) for an upload's first rows, computed once per
    `key` (the upload, the mapping, funnel.toml) and kept in this session: every rerun (any
    click on the page) reuses it."""
    previews = st.session_state.setdefault(PREVIEW_KEY, {})
    if key not in previews:
        try:
            role, df = importer.preview(head(upload), mapping, n=PREVIEW_ROWS, contract=contract)
            previews[key] = ("ok", role, df)
        except importer.ImportRefused as exc:
            previews[key] = ("refused", str(exc))
    return previews[key]


def detection(upload) -> detect.Detection:
    """Which shape an upload is (data/detect.py), from its start, once per upload."""
    found = st.session_state.setdefault(DETECT_KEY, {})
    if upload.file_id not in found:
        found[upload.file_id] = detect.detect(head(upload))
    return found[upload.file_id]


def stage_counts(key: tuple, uploads, mapping, contract):
    """("ok", counts) or ("refused", reason): the records per stage the uploads' starts would
    enter (importer.stage_counts), computed once per `key` and kept in this session."""
    counts = st.session_state.setdefault(COUNTS_KEY, {})
    if key not in counts:
        try:
            counts[key] = (
                "ok",
                importer.stage_counts([head(u) for u in uploads], mapping, contract=contract),
            )
        except (importer.ImportRefused, MappingError) as exc:
            counts[key] = ("refused", str(exc))
    for old in [k for k in counts if k != key]:
        del counts[old]
    return counts[key]


st.title("Data")
st.caption(
    "Load a CRM export into the store, see what was rejected and why, undo the last import, and "
    "check the loaded data. Imports are all-or-nothing per file and safe to repeat: rows already "
    "stored are counted as duplicates and change nothing."
)

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
        with st.expander("Columns this mapping reads"):
            st.write(
                "Columns are matched by their header name (case and spacing do not matter), never by "
                "position. Optional columns may be missing. See docs/import.md for the mapping format."
            )
            for spec in mapping.files:
                st.text(f"{spec.role} ({spec.shape} file)")
                cols = spec.columns()
                st.dataframe(
                    {"column": cols, "required": [c in spec.required_columns() for c in cols]},
                    hide_index=True,
                )

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
        if mapping_name != CUSTOM and uploads and all(detection(u).proposal for u in uploads):
            st.subheader("How to read your file", divider="gray")
            st.caption(
                "No preset fits these columns, so the mapping is made from the choices below (the one "
                "chosen above is not used). They start from what the file's first rows suggest."
            )
            guided = mapping_choices.guided(
                [u.name for u in uploads], [detection(u) for u in uploads], contract
            )
            mapping, mapping_key = guided.mapping, guided.key
        # A new store (or a fresh start) takes the funnel its files propose, confirmed here;
        # otherwise the files are read under the store's own contract.
        is_new = fresh or not store.db_path().exists()
        contract = importer.store_contract(store.db_path(), fresh=is_new)
        contract_text = None
        ready = mapping is not None
        if is_new and uploads and ready:
            st.subheader("Your funnel", divider="gray")
            proposal_key = (tuple(u.file_id for u in uploads), mapping_key)
            result = proposal_for(proposal_key, uploads, mapping)
            if result[0] == "refused":
                frame.alert_with_text("The files cannot be read to propose a funnel:", result[1])
                ready = False
            else:
                proposal = result[1]
                if proposal.contract == contract_mod.load():
                    st.caption(
                        "Your files use the default funnel's stages; those they never record are shown "
                        "as not recorded and never counted."
                    )
                    st.text(" ".join(proposal.notes[1:]))  # may quote the files' names: plain text
                else:
                    st.caption(
                        "Your files name stages of their own. This is the funnel they propose, in the "
                        "order records usually reach each name, with the records that entered it. "
                        "Check it, change what is wrong, then import: nothing is written before."
                    )
                    confirmed = funnel_proposal.edit(proposal, key="data-proposal")
                    if confirmed is None:
                        ready = False
                    else:
                        contract_text, contract = confirmed
                        st.download_button(
                            "Download this funnel (.toml)",
                            contract_text.encode("utf-8"),
                            "funnel.toml",
                            "text/plain",
                            key="dl-proposal",
                        )

        # Upload names are shown as text only; the bytes go to the importer in memory, never to a path.
        shown = set()
        contract_key = contract_mod.text_hash(contract_mod.dumps(contract.with_tracked(None, None)))
        for i, upload in enumerate(uploads):
            st.subheader(f"Preview of file {i + 1}", divider="gray")
            st.text(upload.name)
            # What its header says it is: a preset's file, or an unknown shape with a proposal.
            # The text quotes the file's name and headers: plain text only.
            found = detection(upload)
            st.caption("What its columns look like:")
            st.text(found.text())
            best = found.best
            fits_chosen = any(m.preset == mapping_name for m in found.matches)
            if best is not None and mapping_name != CUSTOM and not fits_chosen:
                st.caption(f"Its columns fit the preset {best.preset}, not the one chosen: choose it above.")
            if found.proposal is not None and mapping_name == CUSTOM:
                st.caption("Its columns fit no preset: choose a preset above to pick them on this page.")
            if mapping is None:
                continue
            key = (upload.file_id, mapping_key, contract_key)
            shown.add(key)
            result = preview(key, upload, mapping, contract)
            if result[0] == "refused":
                frame.alert_with_text("This file would be refused:", result[1])
                continue
            _, role, df = result
            st.caption(
                f"Read as the '{role}' file of this mapping. The first {PREVIEW_ROWS} rows as they will "
                "be stored (times in UTC); one line per event, rejected rows with the reason; columns "
                "empty in all of them are left out (the download has them). The import reads the "
                "whole file."
            )
            # Columns empty in every row shown are left out here (the download has them all).
            st.dataframe(df.dropna(axis="columns", how="all"), hide_index=True)
            download(df, f"preview-{i + 1}.csv", label="Download preview", key=f"dl-preview-{i}")
        # Only the previews of the files on screen are kept.
        previews = st.session_state.get(PREVIEW_KEY, {})
        for key in [k for k in previews if k not in shown]:
            del previews[key]
        found = st.session_state.get(DETECT_KEY, {})
        for key in [k for k in found if k not in {u.file_id for u in uploads}]:
            del found[key]

        if uploads and ready:
            st.subheader("What the import would add, per stage", divider="gray")
            counts_key = (tuple(u.file_id for u in uploads), mapping_key, contract_key)
            result = stage_counts(counts_key, uploads, mapping, contract)
            if result[0] == "refused":
                frame.alert_with_text("The files cannot be counted:", result[1])
            else:
                counts = result[1]
                st.caption(
                    f"Records with an entry into each stage and exit in these files, before anything is "
                    f"written: {counts.attrs['rows']:,} rows read from the first 1 MB of each file "
                    f"({counts.attrs['rejected']:,} of them would be rejected). The dashboard then adds "
                    "the stages a record passed without a row (skipped stages) and applies the window."
                )
                st.dataframe(
                    counts[["label", "kind", "records"]].rename(
                        columns={"label": "stage or exit", "records": "records entering it"}
                    ),
                    hide_index=True,
                )
                for name, why in counts.attrs["refused"].items():
                    frame.alert_with_text("A file would be refused whole:", f"{name}: {why}")

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
