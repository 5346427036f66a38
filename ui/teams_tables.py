"""The Teams and handoff page's tables: column headings, formats and orders, and the one call
that draws a Teams frame (already made readable by reports.teams_view) as people read it."""

from __future__ import annotations

import streamlit as st

from reports import format as fmt
from reports import teams_view
from ui import tables

# Column headings shared by every table of lead rows (a table may add or override its own).
COLUMNS = {
    "lead_id": "Lead id",
    "lead_name": st.column_config.TextColumn("Name", width="medium"),
    "company": st.column_config.TextColumn("Company", width="medium"),
    "channel": "Channel",
    "owner_id": None,  # ids are for the CSV; people read the name
    "owner_name": "Owner",
    "stage": "Stage",
    "stage_label": None,
    "from_stage": "From stage",
    "to_stage": "To stage",
    "team": "Team",
    "transition_team": "Owner of the move",
    "charged_team": "Charged to",
    "charged_to": "Charged to",
    "loss_kind": "Loss kind",
    "category": "Category",
    "start_at": "Started",
    "stage_reached_at": "Reached the stage",
    "first_action_at": "Sales' first action",
    "first_action_type": "First action",
    "first_action_reason": "Its reason",
    "exit_at": "Exit",
    "exit_type": "Exit",
    "exit_reason": "Exit reason",
    "handoff_at": "Handed over",
    "action_kind": "Kind of action",
    "sla_status": "SLA",
    "stage_since": "In the stage since",
    "expected_days": st.column_config.NumberColumn("Expected days", format="%d"),
    "days_in_stage": st.column_config.NumberColumn("Days in stage", format="%.1f"),
    "days_over": st.column_config.NumberColumn("Days over expected", format="%.1f"),
    "response_hours": st.column_config.NumberColumn("Response (h)", format="%.1f"),
    "sla_within_rate": st.column_config.NumberColumn("Within SLA", format="percent"),
    "is_small": "Under 30 leads",
    "hours_open": st.column_config.NumberColumn("Hours since handoff", format="%.1f"),
}

# Durations in hours (reports.teams_view.HOURS_COLUMNS, shown as text): their headings.
HOURS_HEADINGS = {
    "response_hours": "Response time",
    "hours_open": "Waiting since handoff",
    "median_hours": "Median response",
    "p75_hours": "p75 response",
    "p90_hours": "p90 response",
    "median_response_hours": "Median response",
}
assert set(HOURS_HEADINGS) == set(teams_view.HOURS_COLUMNS)


def percent(heading: str, **kwargs):
    return st.column_config.NumberColumn(heading, format="percent", **kwargs)


def show(shown, column_config: dict | None = None, key: str | None = None, **kwargs):
    """A readable Teams frame (reports.teams_view.readable) with the headings of COLUMNS, its
    own `column_config` over them, durations as text under their headings (ui/tables.show:
    missing values as "—", one percent format)."""
    config = {k: v for k, v in COLUMNS.items() if k in shown.columns}
    config.update(column_config or {})
    for col, heading in HOURS_HEADINGS.items():
        if col in shown.columns:
            config[col] = st.column_config.TextColumn(heading)
    return tables.show(shown, column_config=config, key=key, **kwargs)


# ---- each table -----------------------------------------------------------------------------------

BY_TEAM = {
    "charged_team": "Charged to",
    "category": None,
    "category_label": "Category",
    "n_dropped": "Dropped leads",
    "share_of_team": percent("Share of the team's drops"),
    "share_of_all": percent("Share of all drops"),
}

_GROUP_COUNTS = {
    "n_quality_after": "Quality losses after handoff",
    "n_late_rejection": "Rejected after the SLA",
    "n_follow_through": "Follow-through losses",
    "n_quality_before": "Quality losses before handoff",
    "n_other": "Other drops",
    "n_dropped": "All drops",
    "is_small": "Small n (<30 handed over)",
}


def group_columns(by: str, words: teams_view.Words) -> dict:
    """The losses-by-attribute table's headings: the attribute, the handoffs, the rate."""
    return {
        **_GROUP_COUNTS,
        "group_value": teams_view.GROUP_CHOICES[by],
        "n_handoffs": f"Reached {words.handoff_label}",
        "n_rejected_for_quality": "Rejected for quality after handoff",
        "quality_after_per_handoff": percent(
            "Rejected for quality per lead handed over",
            # A help is Markdown: the contract's labels are escaped (a heading is plain text).
            help=f"Leads rejected or disqualified for a reason charged to {fmt.md(words.quality_label)} at "
            f"{fmt.md(words.handoff_label)} or later, in time or after the SLA (whichever team the blame "
            f"rule charged), ÷ leads that reached {fmt.md(words.handoff_label)}",
        ),
        "quality_after_share": percent("Quality (after) share of drops"),
        "follow_through_share": percent("Follow-through share of drops"),
    }


HANDOFF_BY_OWNER = {
    "n_handoffs": "Handed over",
    "n_breached": "SLA breaches",
    "n_breached_no_action": "Never acted on",
    "acceptance_rate": percent("Accepted"),
    "rejection_rate": percent("Rejected"),
}
HANDOFF_LEADS_ORDER = [
    "lead_name",
    "company",
    "owner_name",
    "sla_status",
    "response_hours",
    "handoff_at",
    "first_action_at",
    "first_action_type",
    "first_action_reason",
    "hours_open",
    "action_kind",
    "channel",
    "lead_id",
]
REASONS = {
    "rejection_reason": None,
    "reason_label": "Reason",
    "charged_to": "Charged to",
    "n_rejected": "Rejected",
    "share": percent("Share"),
}
RECYCLED = {
    "reason_label": "Recycle reason",
    "n_recycled": "Recycled",
    "n_came_back": "Came back",
    "n_converted": "Converted",
    "n_won": "Won",
    "came_back_rate": percent("Came back"),
    "converted_rate": percent("Converted"),
}
# Whole at 1280 px: who, how many, how well, what is charged to them; the rest in the CSV.
OWNERS_ORDER = [
    "owner_name",
    "team",
    "n_handled",
    "conversion_rate",
    "conversion_ci",
    "n_dropped_charged",
    "n_follow_through",
    "n_quality_after",
    "n_sla_breaches",
    "median_response_hours",
    "is_small",
]
OWNERS = {
    "conversion_ci": "95% CI",
    "is_small": "Small n (<30)",
    "team": "Team",
    "from_stage": "From",
    "to_stage": "To",
    "n_handled": "Leads handled",
    "n_converted": "Converted",
    "conversion_rate": percent("Conversion"),
    "conversion_low": percent("95% CI low"),
    "conversion_high": percent("95% CI high"),
    "n_dropped_charged": "Drops charged",
    "n_quality_after": "Quality losses after handoff",
    "n_quality_before": "Quality losses before handoff",
    "n_follow_through": "Follow-through losses",
    "n_sla_breaches": st.column_config.NumberColumn("SLA breaches", format="%d"),
}
# Lead lists: who, their company and owner, and what is overdue first; ids last.
STALLED_ORDER = [
    "lead_name",
    "company",
    "owner_name",
    "stage",
    "days_over",
    "days_in_stage",
    "expected_days",
    "stage_since",
    "team",
    "channel",
    "start_at",
    "lead_id",
]
DROPS_ORDER = [
    "lead_name",
    "company",
    "owner_name",
    "charged_team",
    "loss_kind",
    "from_stage",
    "stage_reached_at",
    "first_action_at",
    "exit_at",
    "exit_type",
    "exit_reason",
    "days_in_stage",
    "channel",
    "start_at",
    "category",
    "lead_id",
]
