"""Definitions: the store's shared contract written out for people.

What each stage means, who owns moving a lead on, whether the data records it, the handoff SLA
and expected time in each stage; how a journey can end; which team each reason code is charged
to; how the numbers are computed; the dated change log and the contract's version history.
Nothing here is typed by hand: it is all read from the contract kept in the store.
"""

import pandas as pd
import streamlit as st

from data import contract as contract_mod
from queries import cache, contracts, executor
from ui import glossary, tables
from ui.state import run_in_frame

run_in_frame()  # a link opened first on a freshly started server still runs in the frame

try:
    contract = contracts.current()
    versions = cache.call(contracts.history)
except executor.StoreMissingError:  # no store yet: the default a new store starts from
    contract, versions = contract_mod.load(), []
handoff = contract.handoff
stages = contract.stages

st.title("Definitions")
version_text = (
    f"version {versions[0]['version']}, applied {versions[0]['applied_at']:%d %b %Y} by "
    f"{versions[0]['applied_by']}"
    if versions
    else "the shipped default, data/funnel.toml: no store keeps its own yet"
)
st.caption(
    f"The shared contract both teams sign: “{contract.name}” ({version_text}). It belongs to this "
    "store: every number in this dashboard is computed from it. Change it on the Data page or with "
    "`python -m data.contract apply FILE`; every version is kept below."
)

left, middle, right = st.columns(3)
left.metric(
    "Conversion window",
    "none" if contract.conversion_window_days is None else f"{contract.conversion_window_days} days",
    help=glossary.cohort(contract),
)
middle.metric(
    "Handoff SLA",
    f"{contract.handoff_sla_hours:g} hours" if handoff else "no handoff",
    help=(
        f"Sales accepts or rejects a lead within this many hours of it reaching '{handoff.label}'. "
        + (
            "Measured: the data records Sales' first action."
            if contract.sla_measured
            else "Not measured: the data does not record Sales' first action (the stage after the "
            "handoff), so nothing is charged for the SLA."
        )
        if handoff
        else "This journey has no stage where Marketing hands leads to Sales."
    ),
)
right.metric("Skip policy", contract.skip_policy, help=glossary.reached(contract))

# ---- Stages ------------------------------------------------------------------------------------
st.subheader(
    "Stages", help="In journey order. The owner is the team that owns moving a lead to the next stage."
)
stage_rows = []
for k, s in enumerate(stages):
    next_label = stages[k + 1].label if k + 1 < len(stages) else None
    owner = s.owner.capitalize() if s.owner else "—"
    if s.owner_note:
        owner += f" ({s.owner_note})"
    stage_rows.append(
        {
            "#": s.order,
            "Stage": s.label,
            "Key": s.key,
            "Definition": s.definition,
            "Moves on to": next_label or "— (last stage)",
            "Owner of the move": owner,
            "Recorded in this data": "yes" if contract.is_tracked(s.key) else "not recorded",
            "SLA": f"{contract.handoff_sla_hours:g} h to accept or reject"
            if handoff and s.key == handoff.key
            else "",
            "Expected days here": s.expected_days,
        }
    )
stage_table = pd.DataFrame(stage_rows)
tables.show(
    stage_table,
    hide_index=True,
    column_config={
        "Definition": st.column_config.TextColumn(width="large"),
        "Expected days here": st.column_config.NumberColumn(format="%g"),
    },
)
tables.download(stage_table, "stages.csv")
if handoff:
    st.caption(
        f"The handoff happens at **{handoff.label}**: Marketing hands the lead to Sales, and Sales "
        f"accepts or rejects it within {contract.handoff_sla_hours:g} hours. An MQL Sales never "
        "acted on within the SLA is charged to Sales (follow-through)"
        + ("." if contract.sla_measured else ", once the data records Sales' first action.")
    )

# ---- Exits -------------------------------------------------------------------------------------
st.subheader("Exits", help="A journey can end early in one of these ways; each carries a reason code.")
EXIT_KINDS = {
    "lost": "Lost (an outcome: counts in the win rate)",
    "rejected": "Rejected by Sales",
    "recycled": "Recycled to nurture",
    "disqualified": "Disqualified",
    "other": "Other exit",
}
exit_table = pd.DataFrame(
    [
        {"Exit": e.label, "Key": e.key, "Kind": EXIT_KINDS[e.kind], "Definition": e.definition}
        for e in contract.exits
    ]
)
tables.show(
    exit_table, hide_index=True, column_config={"Definition": st.column_config.TextColumn(width="large")}
)
tables.download(exit_table, "exits.csv")

# ---- Reason codes ------------------------------------------------------------------------------
st.subheader(
    "Reason codes and who they are charged to",
    help="A lead that dropped is charged to the owner of the move it did not make, unless its "
    "exit reason is charged to the other team here.",
)
reason_table = pd.DataFrame(
    [
        {"Reason": r.label, "Code": r.key, "Charged to": r.charged_to.capitalize()}
        for r in contract.reason_codes
    ]
)
tables.show(reason_table, hide_index=True)
tables.download(reason_table, "reason_codes.csv")
examples = [
    f"a lead that ended with `{r.key}` ({r.label.lower()}) is charged to {r.charged_to.capitalize()}"
    for r in (next((r for r in contract.reason_codes if r.charged_to == t), None) for t in contract.teams)
    if r is not None
]
if examples:
    st.caption("For example: " + "; ".join(examples) + ".")

# ---- How the numbers are computed ---------------------------------------------------------------
st.subheader("How the numbers are computed")
for text in (
    glossary.cohort(contract),
    glossary.reached(contract),
    glossary.step_rate() + " " + glossary.overall_rate(contract),
    glossary.dropped(contract),
    glossary.win_rate(contract),
    glossary.immature(contract),
    glossary.flow(),
    glossary.stage_time(),
    glossary.wilson(),
    glossary.noise(),
):
    st.markdown(f"- {text}")
st.caption(
    "As of: every view is computed as of the latest event in the store, so a sample from the past "
    "still reads as live. Re-entries (a recycled lead coming back) count as recycling, never as a "
    "second conversion."
)

# ---- Change log ---------------------------------------------------------------------------------
st.subheader("Change log", help="Dated changes to the definitions, newest first.")
change_table = pd.DataFrame(
    [
        {"Date": c.date, "Change": c.change}
        for c in sorted(contract.changelog, key=lambda c: c.date, reverse=True)
    ]
)
tables.show(
    change_table,
    hide_index=True,
    column_config={
        "Date": st.column_config.DateColumn(format="YYYY-MM-DD"),
        "Change": st.column_config.TextColumn(width="large"),
    },
)
tables.download(change_table, "changelog.csv")

# ---- Versions -----------------------------------------------------------------------------------
if versions:
    st.subheader("Versions of this contract", help="Every version applied to this store, newest first.")
    version_table = pd.DataFrame(
        [
            {
                "Version": v["version"],
                "Applied (UTC)": v["applied_at"],
                "By": v["applied_by"],
                "From": v["source"],
                "Id": v["contract_hash"],
            }
            for v in versions
        ]
    )
    tables.show(
        version_table,
        hide_index=True,
        column_config={"Applied (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")},
    )
    tables.download(version_table, "contract_versions.csv")
