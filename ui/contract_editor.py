"""The Data page's contract tab: read the store's contract, propose one from its data, and apply
a changed one (validated, journeys rebuilt in the same atomic swap, the old version kept).

Only admins may apply (ui/auth.py); everybody may read and download. The contract text is shown
as code, never rendered as Markdown: stage labels and definitions come from users and CRMs.
"""

from __future__ import annotations

import streamlit as st

from data import contract as contract_mod
from data import contract_store, propose, store
from queries import cache, contracts, executor

UPLOAD_KEY = "contract_upload"
PROPOSAL_KEY = "contract_proposal"


def _stage_rows(contract: contract_mod.Contract) -> list[dict]:
    return [
        {
            "#": s.order,
            "Stage": s.label,
            "Key": s.key,
            "Owner of the move": (s.owner or "—").capitalize(),
            "Recorded": "yes" if s.recorded else "declared not recorded",
        }
        for s in contract.stages
    ]


def render(can_write: bool, user: str | None) -> None:
    """Draw the tab. `user` is who applies a change (the signed-in user, or None: the OS account)."""
    current = contracts.current()
    versions = cache.call(contracts.history)
    with store.reading(executor.current_path()) as con:
        text = contract_store.text_of(con)
    head = versions[0] if versions else None
    st.caption(
        "The funnel contract belongs to this store: its stages, labels, owners, window, skip "
        "policy, SLA, exits and reason codes. "
        + (
            f"In force: version {head['version']}, applied {head['applied_at']:%d %b %Y %H:%M} UTC by "
            f"{head['applied_by']} (from {head['source']})."
            if head
            else "This store keeps none yet: the shipped default applies."
        )
    )
    st.dataframe(_stage_rows(current), hide_index=True)
    with st.expander("The contract as a file (TOML)"):
        st.code(text, language="toml")
    st.download_button(
        "Download the contract", text.encode("utf-8"), "funnel.toml", "text/plain", key="dl-contract"
    )

    st.subheader("Propose from the data", divider="gray")
    st.caption(
        "The contract in force, revised by this store's data: stages its events never record are "
        "marked not recorded, and the window is measured from its outcomes. Nothing changes until "
        "you apply it."
    )
    if st.button("Propose", key="contract_propose"):
        with store.reading(executor.current_path()) as con:
            st.session_state[PROPOSAL_KEY] = propose.revise(contract_store.of_store(con), con).toml()
    proposal = st.session_state.get(PROPOSAL_KEY)
    if proposal:
        st.code(proposal, language="toml")
        st.download_button(
            "Download the proposal",
            proposal.encode("utf-8"),
            "funnel.proposed.toml",
            "text/plain",
            key="dl-contract-proposal",
        )

    st.subheader("Apply a changed contract", divider="gray")
    if not can_write:
        st.info("Changing the contract is limited to the dashboard's admins.", icon=":material/lock:")
        return
    upload = st.file_uploader("Contract file (.toml)", type=["toml"], key=UPLOAD_KEY)
    candidate = None
    if upload is not None:
        try:
            candidate_text = upload.getvalue().decode("utf-8")
            candidate = contract_mod.loads(candidate_text, origin="the uploaded contract")
        except (UnicodeDecodeError, contract_mod.ContractError) as exc:
            st.error(
                "This contract cannot be used. Fix the file and upload it again.", icon=":material/block:"
            )
            st.code(str(exc), language=None)
    elif proposal and st.checkbox("Apply the proposal above", key="contract_use_proposal"):
        candidate_text, candidate = proposal, contract_mod.loads(proposal)
    if candidate is None:
        return
    st.caption("The stages after the change:")
    st.dataframe(_stage_rows(candidate), hide_index=True)
    if st.button("Apply and rebuild the journeys", type="primary", key="contract_apply"):
        with st.spinner("Rebuilding the journeys under the new contract"):
            try:
                applied = store.rebuild(
                    store.db_path(), contract_text=candidate_text, source="data page", user=user
                )
            except (contract_mod.ContractError, store.StoreLockedError) as exc:
                st.error("The contract was not applied; nothing changed.", icon=":material/block:")
                st.code(str(exc), language=None)
                return
        st.session_state.pop(PROPOSAL_KEY, None)
        executor.pin()  # read the new version for the rest of this run
        st.success(
            f"Applied. The journeys now follow {len(applied.tracked_stages)} recorded stages; every "
            "page shows the new contract.",
            icon=":material/check_circle:",
        )
