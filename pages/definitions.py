"""Definitions: the store's shared contract written out for people.

What each stage means, who owns moving a lead on, whether the data records it, the handoff SLA
and expected time in each stage; how a journey can end; which team each reason code is charged
to; how the numbers are computed; the dated change log and the contract's version history.
Nothing here is typed by hand: it is all read from the contract kept in the store.
"""

import pandas as pd
import streamlit as st

from data import contract as contract_mod
from queries import cache, contracts, executor, teams
from reports import format as fmt
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
WRAP_ROW = 104  # px: a row this tall wraps its text (Streamlit wraps cells in rows over 4 rem)
WIDE = 460  # px for a column of definitions: whole sentences on four lines at 1280 px

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
stage_table = pd.DataFrame(stage_rows)[
    ["#", "Stage", "Definition", "Owner of the move", "Moves on to", "Recorded in this data", "SLA"]
    + ["Expected days here", "Key"]
]
# Definitions are the point of this page: they wrap in their cells (rows tall enough for four
# lines of a long definition), never cut off.
tables.show(
    stage_table,
    row_height=WRAP_ROW,
    fit=True,
    column_config={
        "#": st.column_config.NumberColumn("#", width=40),
        "Stage": st.column_config.TextColumn("Stage", width="small"),
        "Definition": st.column_config.TextColumn("Definition", width=WIDE),
        "Expected days here": st.column_config.NumberColumn("Expected days here", format="%g"),
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
    exit_table,
    row_height=WRAP_ROW,
    column_config={"Definition": st.column_config.TextColumn("Definition", width=WIDE)},
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
tables.show(reason_table)
tables.download(reason_table, "reason_codes.csv")
examples = [
    f"a lead that ended with `{r.key}` ({r.label.lower()}) is charged to {r.charged_to.capitalize()}"
    for r in (next((r for r in contract.reason_codes if r.charged_to == t), None) for t in contract.teams)
    if r is not None
]
if examples:
    st.caption("For example: " + "; ".join(examples) + ".")

# ---- Channel labels and alert rules -------------------------------------------------------------
if contract.channel_labels:
    st.subheader("Channel labels", help="What people read for the channel values the CRM stores.")
    channel_table = pd.DataFrame(contract.channel_labels, columns=["Value in the data", "Label"])
    tables.show(channel_table)
    tables.download(channel_table, "channel_labels.csv")
if contract.alerts:
    st.subheader(
        "Alert rules",
        help="Checked on the last complete week against the week before, after every import and by "
        "`python -m reports.alerts`; fired alerts show on Funnel health and Weekly and go to the "
        "team's webhook when one is configured.",
    )
    COMPARISONS = {
        "fell_by": "fell by at least",
        "rose_by": "rose by at least",
        "below": "is below",
        "above": "is above",
    }

    def threshold(a) -> str:
        if a.comparison in ("fell_by", "rose_by"):
            return f"{a.threshold * 100:g} points" if a.metric == "conversion" else f"{a.threshold * 100:g}%"
        return f"{a.threshold * 100:g}%" if a.metric == "conversion" else f"{a.threshold:g}"

    alert_table = pd.DataFrame(
        [
            {
                "Alert": a.name,
                "Watches": {
                    "conversion": f"{fmt.stage(contract, a.stage)}: decided leads that moved on",
                    "entries": f"entries into {fmt.stage(contract, a.stage)}",
                    "sla_breaches": "SLA breaches",
                }[a.metric],
                "Fires when it": f"{COMPARISONS[a.comparison]} {threshold(a)} against the week before"
                if a.comparison in ("fell_by", "rose_by")
                else f"{COMPARISONS[a.comparison]} {threshold(a)}",
                "Minimum n": a.min_n,
                "Noise test": "yes" if a.noise_test else "no",
            }
            for a in contract.alerts
        ]
    )
    tables.show(alert_table, column_config={"Watches": st.column_config.TextColumn(width="medium")})
    tables.download(alert_table, "alert_rules.csv")

# ---- How the numbers are computed ---------------------------------------------------------------
st.subheader("How the numbers are computed")
st.markdown(
    f"- **Blame rule** (sla_rule = “{contract.sla_rule}”). {fmt.md(teams.blame_rule(contract.effective()))}"
)
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
    glossary.mql_to_opportunity(contract) + " " + glossary.mql_to_opportunity_days(),
    glossary.sales_sourced(),
    glossary.buying_group(),
    glossary.account_matching(),
    glossary.fair_comparison(),
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
    row_height=76,
    column_config={
        "Date": st.column_config.DateColumn(format="YYYY-MM-DD", width=100),
        "Change": st.column_config.TextColumn(width=WIDE),
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
