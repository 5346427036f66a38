"""The Targets page's tables: the column order and headings of each table the view
(ui/targets_view.py) gives, one display format per column.

Every count and amount shows with thousands separators in the reader's locale (the view rounds
them for display; the CSV keeps them exact); shares are shown x 100 with one decimal, so every
row has the same shape.
"""

from __future__ import annotations

import streamlit as st

NUMBER = "localized"
PERCENT = "%.1f%%"

# The verdict first: whole at 1280 px, the gaps after it.
PACING_ORDER = [
    "team",
    "label",
    "status",
    "attainment",
    "actual",
    "target",
    "expected",
    "projected",
    "gap_to_pace",
    "gap_to_pace_revenue",
    "projected_gap",
]


def pacing_config(currency: str = "") -> dict:
    """Headings of the pacing table; `currency`: the store's one currency code, if it has one."""
    return {
        "team": "Team",
        "label": "Metric",
        "target": st.column_config.NumberColumn("Target", format=NUMBER),
        "actual": st.column_config.NumberColumn("Actual to date", format=NUMBER),
        "attainment": st.column_config.NumberColumn("Attained", format=PERCENT),
        "expected": st.column_config.NumberColumn("Expected by today", format=NUMBER),
        "projected": st.column_config.NumberColumn("Projected", format=NUMBER),
        "status": "Status",
        "gap_to_pace": st.column_config.NumberColumn("Gap to pace (units)", format=NUMBER),
        "gap_to_pace_revenue": st.column_config.NumberColumn(
            f"Gap to pace (revenue{', ' + currency if currency else ''})", format=NUMBER
        ),
        "projected_gap": st.column_config.NumberColumn("Projected vs target", format=NUMBER),
    }


WATERFALL_ORDER = [
    "label",
    "owner",
    "step_rate",
    "lag_days",
    "n_needed",
    "n_entries_needed",
    "quota_period",
    "quota",
    "gap",
    "enter_from",
    "enter_by",
    "is_due_before_period",
    "small_n",
]


def waterfall_config() -> dict:
    """Headings of the reverse waterfall's stage table."""
    return {
        "label": "Stage",
        "owner": "Moves it on",
        "step_rate": st.column_config.NumberColumn("Step rate to next", format=PERCENT),
        "lag_days": st.column_config.NumberColumn("Median lag to next (days)", format="%.1f"),
        "n_needed": st.column_config.NumberColumn("Volume needed (incl. skips)", format=NUMBER),
        "n_entries_needed": st.column_config.NumberColumn("Entries needed", format=NUMBER),
        "quota_period": st.column_config.DateColumn("Quota of", format="MMM YYYY"),
        "quota": st.column_config.NumberColumn("Quota", format=NUMBER),
        "gap": st.column_config.NumberColumn("Gap (needed − quota)", format=NUMBER),
        "enter_from": st.column_config.DateColumn("Enter from"),
        "enter_by": st.column_config.DateColumn("Enter by"),
        "is_due_before_period": st.column_config.CheckboxColumn("Due before the month"),
        "small_n": "Step rate small n (<30)",
    }


CHECKS_ORDER = [
    "team",
    "label",
    "quota_period",
    "quota",
    "target_period",
    "needed",
    "coverage",
    "gap",
    "revenue_gap",
    "verdict",
]


def checks_config() -> dict:
    """Headings of the quotas-against-the-target table."""
    return {
        "team": "Team",
        "label": "Quota",
        "quota_period": st.column_config.DateColumn("Quota of", format="MMM YYYY"),
        "quota": st.column_config.NumberColumn("Quota", format=NUMBER),
        "target_period": st.column_config.DateColumn("Held against the target of", format="MMM YYYY"),
        "needed": st.column_config.NumberColumn("Needed by the shared target", format=NUMBER),
        "coverage": st.column_config.NumberColumn("Covers", format=PERCENT),
        "gap": st.column_config.NumberColumn("Gap (units)", format=NUMBER),
        "revenue_gap": st.column_config.NumberColumn("Gap (revenue)", format=NUMBER),
        "verdict": "Verdict",
    }


def history_config() -> dict:
    """Headings of the target changes' table."""
    return {
        "set_at": st.column_config.DatetimeColumn("Changed at (UTC)", format="YYYY-MM-DD HH:mm"),
        "set_by": "By",
        "period": st.column_config.DateColumn("Month", format="MMM YYYY"),
        "team": "Team",
        "metric": "Metric",
        "old_value": st.column_config.NumberColumn("Old value", format=NUMBER),
        "new_value": st.column_config.NumberColumn("New value", format=NUMBER),
    }
