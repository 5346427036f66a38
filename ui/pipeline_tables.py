"""The Pipeline page's column help: each table's columns (reports/pipeline_view.py builds the
tables) with its definition as help, counts as whole numbers, shares as percentages and amounts
with thousands separators. A help is looked up by the column's first words (its prefix)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from queries import pipeline

D = pipeline.DEFINITIONS

STAGES = {
    "Stage": "The stage the opportunity was in at the end of T2 (its latest stage event by then).",
    "Open opportunities": D["pipeline"],
    "Marketing-sourced": D["sourced"],
    "Sales-sourced": D["sourced"],
    "With an amount": "Open opportunities whose events carried an amount by T2.",
    "Amount": "The sum of their latest amounts by T2, in this currency only.",
    "All in": D["currencies"],
}
BUCKETS = {
    "Bucket": D["movement"],
    "Opportunities": "Opportunities counted in this bucket (each opportunity is in one bucket only).",
    "Marketing-sourced": D["sourced"],
    "Sales-sourced": D["sourced"],
    "Open at T1": "Of them, open at the end of T1.",
    "Open at T2": "Of them, open at the end of T2.",
    "Change": "Their open amounts at T2 minus their open amounts at T1, in this currency only.",
    "Definition": "The rule that puts an opportunity in this bucket; buckets apply in this order.",
}
OPPORTUNITIES = {
    "Opportunity": "Its name in the CRM (its id when it has none).",
    "Sourced by": D["sourced"],
    "Bucket": D["movement"],
    "At T1": "Its stage at the end of T1 (or the exit that had closed it).",
    "At T2": "Its stage at the end of T2 (or the exit that had closed it).",
    "Amount at": "Its latest amount by that date, in the currency beside it.",
    "In ": D["currencies"],
    "Close date": "Its latest expected close date by that date.",
    "Created": "Its first stage event: when it entered the pipeline.",
}
VISITS = {
    "Stage": D["visits"],
    "Opportunities": "Opportunities with at least one real visit to the stage (a skipped stage is not filled in).",
    "% of previous": "Opportunities in this stage ÷ opportunities in the stage before.",
    "% of first": "Opportunities in this stage ÷ opportunities in the first stage.",
    "Visits": "Visits to the stage; an opportunity that came back counts each visit.",
    "Moved on (share)": "Opportunities that moved on to a later stage at least once ÷ opportunities in the stage.",
    "Moved on": "Opportunities that moved on from this stage to a later one at least once (their real path).",
    "Moved back": "Visits that ended with a move to an earlier stage.",
    "Lost": "Visits that ended with a lost exit.",
    "Other exit": "Visits that ended with another exit.",
    "Still there": "Visits still going on at the as-of.",
    "Median days": D["time_in_stage"],
    "p75 days": D["time_in_stage"],
    "p90 days": D["time_in_stage"],
}
VISITS_PERCENT = ("% of previous", "% of first", "Moved on (share)")
# The stage visits on screen, in two tables that each fit at 1280 px: how far the visits went,
# and how they ended and how long they took.
VISITS_REACH = (
    "Stage",
    "Opportunities",
    "% of previous",
    "% of first",
    "Visits",
    "Moved on",
    "Moved on (share)",
)
VISITS_ENDS = (
    "Stage",
    "Moved back (visits)",
    "Lost (visits)",
    "Other exit (visits)",
    "Still there",
    "Median days",
    "p75 days",
    "p90 days",
)


def column_help(table: pd.DataFrame, helps: dict[str, str], percent: tuple[str, ...] = ()) -> dict:
    """st.column_config with each column's definition as its help, counts as whole numbers,
    shares as percentages and amounts with thousands separators."""
    config = {}
    for c in table.columns:
        text = next((h for prefix, h in helps.items() if c.startswith(prefix)), None)
        if c in percent:
            config[c] = st.column_config.NumberColumn(c, help=text, format="percent")
        elif c.startswith(("Amount", "Change", "All in", "In ")):
            config[c] = st.column_config.NumberColumn(c, help=text, format="localized")
        elif c.endswith("days"):
            config[c] = st.column_config.NumberColumn(c, help=text, format="%.1f")
        elif pd.api.types.is_numeric_dtype(table[c]):
            config[c] = st.column_config.NumberColumn(c, help=text, format="%d")
        else:
            config[c] = st.column_config.Column(c, help=text)
    return config


# On screen, what a review reads first; the rest as the table orders it (and in its CSV).
OPPORTUNITIES_FIRST = ("Opportunity", "At T1", "At T2", "Amount at T2", "Currency at T2", "Amount at T1")
MOVES_FIRST = ("When", "Opportunity", "What", "From stage", "To stage", "Came back from")


def screen_order(df: pd.DataFrame, first: tuple[str, ...]) -> list[str]:
    """`df`'s columns with `first` (those it has) in front."""
    head = [c for c in first if c in df.columns]
    return head + [c for c in df.columns if c not in head]
