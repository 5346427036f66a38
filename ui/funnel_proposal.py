"""The funnel proposed from an upload, as plain choices on the Data page: each name's order,
label, owner and what it is (a stage, won, an exit of some kind), and the window, with the
records in the data per stage; returns the confirmed contract for the import.

Labels come from the export: they are shown in a table editor (plain text), never as Markdown.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from data import contract as contract_mod
from data import propose
from data.contract import Contract, Exit, Stage

KINDS = {
    "stage": "a stage",
    "won": "won (the last stage)",
    "lost": "an exit: lost (an outcome)",
    "rejected": "an exit: rejected by Sales",
    "disqualified": "an exit: disqualified",
    "recycled": "an exit: recycled to nurture",
    "other": "an exit: other",
    "drop": "not part of the funnel",
}
LABELS = {v: k for k, v in KINDS.items()}


def _rows(proposal: propose.Proposal) -> pd.DataFrame:
    c = proposal.contract
    rows = []
    for s in c.stages:
        rows.append(
            {
                "Order": s.order,
                "Name in your data": s.label,
                "Label": s.label,
                "Is": KINDS["won" if s.order == len(c.stages) else "stage"],
                "Owner of the move on": (s.owner or "sales").capitalize(),
                "Records": proposal.counts.get(s.key, 0),
                "_key": s.key,
            }
        )
    for i, e in enumerate(c.exits, start=len(c.stages) + 1):
        rows.append(
            {
                "Order": i,
                "Name in your data": e.label,
                "Label": e.label,
                "Is": KINDS[e.kind],
                "Owner of the move on": "—",
                "Records": proposal.exit_counts.get(e.key, 0),
                "_key": e.key,
            }
        )
    return pd.DataFrame(rows)


def edit(proposal: propose.Proposal, key: str) -> tuple[str, Contract] | None:
    """Draw the proposal as choices; return (contract text, contract) as confirmed, or None
    (with the reason shown) when the choices do not make a funnel."""
    base = proposal.contract
    st.text(" ".join(proposal.notes))  # quotes the export's stage names: plain text
    table = st.data_editor(
        _rows(proposal),
        key=f"{key}-editor",
        hide_index=True,
        disabled=["Name in your data", "Records"],
        column_order=["Order", "Name in your data", "Label", "Is", "Owner of the move on", "Records"],
        # "_key" (the contract key) travels with each row but is not shown.
        column_config={
            "Order": st.column_config.NumberColumn(min_value=1, step=1, help="Where it sits in the journey"),
            "Label": st.column_config.TextColumn(help="What the pages call it"),
            "Is": st.column_config.SelectboxColumn(options=list(KINDS.values()), required=True),
            "Owner of the move on": st.column_config.SelectboxColumn(
                options=[t.capitalize() for t in base.teams] + ["—"],
                help="The team that owns moving a record on from this stage",
            ),
            "Records": st.column_config.NumberColumn(
                help="Records in your files with a dated entry into it (a stage or an exit)",
                format="%d",
            ),
        },
    )
    window = st.number_input(
        "Conversion window (days; 0 for none)",
        min_value=0,
        max_value=3650,
        value=base.conversion_window_days or 0,
        step=30,
        key=f"{key}-window",
        help="A stage counts as reached when a record gets there within this many days of its start.",
    )
    kinds = [LABELS.get(v, "stage") for v in table["Is"]]
    kept = table.assign(_kind=kinds).sort_values("Order", kind="stable")
    stage_rows = kept[kept["_kind"].isin(["stage", "won"])]
    won_rows = kept[kept["_kind"] == "won"]
    if len(won_rows) > 1:
        st.warning("Only one name can be won: choose which one.", icon=":material/rule:")
        return None
    if len(stage_rows) < 2:
        st.warning("A funnel needs at least two stages: mark more names as stages.", icon=":material/rule:")
        return None
    if len(won_rows) == 1:  # won is always the last stage
        stage_rows = pd.concat([stage_rows[stage_rows["_kind"] != "won"], won_rows])

    def label(r: dict) -> str:
        return str(r["Label"] or "").strip() or str(r["Name in your data"])

    def definition(r: dict, old) -> str:
        return old.definition if old else f"Proposed from the export: '{r['Name in your data']}'."

    stages = []
    records = stage_rows.to_dict("records")
    for i, r in enumerate(records, start=1):
        team = str(r["Owner of the move on"]).lower()
        owner = None if i == len(records) else (team if team in base.teams else "sales")
        old = next((s for s in base.stages if s.key == r["_key"]), None)
        stages.append(
            Stage(
                order=i,
                key=r["_key"],
                label=label(r),
                definition=definition(r, old),
                owner=owner,
                expected_days=None,
                grain=old.grain if old else base.stages[0].grain,
            )
        )
    exits = []
    for r in kept.to_dict("records"):
        if r["_kind"] in ("stage", "won", "drop"):
            continue
        old = next((e for e in base.exits if e.key == r["_key"]), None)
        exits.append(Exit(r["_key"], label(r), definition(r, old), r["_kind"]))
    edited = dataclasses.replace(
        base, stages=tuple(stages), exits=tuple(exits), conversion_window_days=int(window) or None
    )
    text = contract_mod.dumps(
        edited, header="A funnel proposed from the export and confirmed on the Data page."
    )
    try:
        confirmed = contract_mod.loads(text)
    except contract_mod.ContractError as exc:
        st.warning("These choices do not make a valid funnel yet.", icon=":material/rule:")
        st.code(str(exc), language=None)
        return None
    return text, confirmed
