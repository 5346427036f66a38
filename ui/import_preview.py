"""The Data page's Import tab before the click: which shape each upload's header says it is, a new
store's proposed funnel, each upload's first rows as they would be stored, and the records per
stage the import would add. Each is computed once per upload (and mapping, and funnel) and kept in
this session: every rerun (any click on the page) reuses it.

Only the start of an upload is read here (PREVIEW_BYTES, cut after a whole line); the whole files
are read at the click (ui/import_report.py). Text from an upload (its name, its headers, the
importer's reasons quoting them) is drawn as plain text only (st.text, tables), never Markdown.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from data import contract as contract_mod
from data import detect, importer
from data.import_mapping import MappingError
from data.import_read import reads_other_roles
from ui import frame, funnel_proposal
from ui.tables import download

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


def preview(key: tuple, upload, mapping, contract, others=(), into: Path | None = None) -> tuple:
    """("ok", role, rows) or ("refused", reason) for an upload's first rows, computed once per
    `key` (the upload, the other uploads, the mapping, funnel.toml, the store it goes into) and
    kept in this session: every rerun (any click on the page) reuses it. `others` and `into`
    are read as the import reads them: a file's rows may depend on the other files given with
    it or already stored (a field history's stage changes beside an OpportunityHistory)."""
    previews = st.session_state.setdefault(PREVIEW_KEY, {})
    if key not in previews:
        try:
            role, df = importer.preview(
                head(upload),
                mapping,
                n=PREVIEW_ROWS,
                contract=contract,
                others=[head(u) for u in others],
                db=into,
            )
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


def contract_key(contract) -> str:
    """The funnel a preview or a count was made under, as a key of the session's caches."""
    return contract_mod.text_hash(contract_mod.dumps(contract.with_tracked(None, None)))


def columns_read(mapping) -> None:
    """The expander listing the columns each file of the mapping reads, and which are required."""
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


def proposed_funnel(uploads, mapping, mapping_key, contract) -> tuple:
    """The "Your funnel" section for a new store: (ready, contract, contract_text). Ready is False
    while the files cannot propose a funnel or the proposal is not confirmed; contract_text is the
    confirmed funnel.toml when the files name stages of their own (None for the default's)."""
    st.subheader("Your funnel", divider="gray")
    result = proposal_for((tuple(u.file_id for u in uploads), mapping_key), uploads, mapping)
    if result[0] == "refused":
        frame.alert_with_text("The files cannot be read to propose a funnel:", result[1])
        return False, contract, None
    proposal = result[1]
    if proposal.contract == contract_mod.load():
        st.caption(
            "Your files use the default funnel's stages; those they never record are shown "
            "as not recorded and never counted."
        )
        st.text(" ".join(proposal.notes[1:]))  # may quote the files' names: plain text
        return True, contract, None
    st.caption(
        "Your files name stages of their own. This is the funnel they propose, in the "
        "order records usually reach each name, with the records that entered it. "
        "Check it, change what is wrong, then import: nothing is written before."
    )
    confirmed = funnel_proposal.edit(proposal, key="data-proposal")
    if confirmed is None:
        return False, contract, None
    contract_text, contract = confirmed
    st.download_button(
        "Download this funnel (.toml)",
        contract_text.encode("utf-8"),
        "funnel.toml",
        "text/plain",
        key="dl-proposal",
    )
    return True, contract, contract_text


def files(
    uploads, mapping, mapping_key, chosen: str | None, contract, ckey: str, into: Path | None = None
) -> None:
    """A "Preview of file N" section per upload: its name, what its columns look like, and with a
    mapping its first rows as they will be stored (or why it would be refused). `chosen` is the
    preset chosen on the page, None for an uploaded mapping. Only the previews and detections of
    the files on screen are kept in the session."""
    # Upload names are shown as text only; the bytes go to the importer in memory, never to a path.
    shown = set()
    for i, upload in enumerate(uploads):
        st.subheader(f"Preview of file {i + 1}", divider="gray")
        st.text(upload.name)
        # What its header says it is: a preset's file, or an unknown shape with a proposal.
        # The text quotes the file's name and headers: plain text only.
        found = detection(upload)
        st.caption("What its columns look like:")
        st.text(found.text())
        best = found.best
        fits_chosen = any(m.preset == chosen for m in found.matches)
        if best is not None and chosen is not None and not fits_chosen:
            st.caption(f"Its columns fit the preset {best.preset}, not the one chosen: choose it above.")
        if found.proposal is not None and chosen is None:
            st.caption("Its columns fit no preset: choose a preset above to pick them on this page.")
        if mapping is None:
            continue
        # The other files and the store matter only to a mapping whose rows depend on them.
        depends = reads_other_roles(mapping)
        others = [u for u in uploads if u.file_id != upload.file_id] if depends else []
        into_key = str(into) if depends else None
        key = (upload.file_id, tuple(u.file_id for u in others), mapping_key, ckey, into_key)
        shown.add(key)
        result = preview(key, upload, mapping, contract, others, into if depends else None)
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


def per_stage(uploads, mapping, mapping_key, contract, ckey: str) -> None:
    """The "What the import would add, per stage" section: records entering each stage and exit
    in the files' starts, before anything is written, and any file that would be refused whole."""
    st.subheader("What the import would add, per stage", divider="gray")
    result = stage_counts((tuple(u.file_id for u in uploads), mapping_key, ckey), uploads, mapping, contract)
    if result[0] == "refused":
        frame.alert_with_text("The files cannot be counted:", result[1])
        return
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
