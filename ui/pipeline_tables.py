"""The Pipeline page's tables: query results (queries/pipeline.py) as a person reads them, each
with the same headers in its CSV download. Pure functions: no Streamlit except column help."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from queries import pipeline


def _amount_columns(df: pd.DataFrame, prefix: str) -> list[str]:
    return [c for c in df.columns if c.startswith(prefix)]


def stages_table(v: pipeline.View) -> pd.DataFrame:
    """The open pipeline at T2, one row per stage: counts, the split by sourcing team, and the
    amounts per currency (plus the base currency's when every amount is converted)."""
    df = v.stages
    out = pd.DataFrame(
        {
            "Stage": df["label"],
            "Open opportunities": df["n_opportunities"],
            "Marketing-sourced": df["n_marketing"],
            "Sales-sourced": df["n_sales"],
            "With an amount": df["n_with_amount"],
        }
    )
    for c in _amount_columns(df, "amount:"):
        out[f"Amount {c.removeprefix('amount:') or '(no currency)'}"] = df[c]
    if v.converted:
        out[f"All in {v.base}"] = df["amount_base"]
    # What a review reads first, the count and the amounts, before the split by team.
    first = ["Stage", "Open opportunities", *[c for c in out.columns if c.startswith(("All in ", "Amount "))]]
    return out[[*first, *[c for c in out.columns if c not in first]]]


def buckets_table(v: pipeline.View) -> pd.DataFrame:
    """The movement from T1 to T2, one row per bucket in the order they apply."""
    df = v.buckets
    out = pd.DataFrame(
        {
            "Bucket": df["label"],
            "Opportunities": df["n_opportunities"],
            "Marketing-sourced": df["n_marketing"],
            "Sales-sourced": df["n_sales"],
            "Open at T1": df["n_open_t1"],
            "Open at T2": df["n_open_t2"],
        }
    )
    for c in _amount_columns(df, "change:"):
        out[f"Change {c.removeprefix('change:') or '(no currency)'}"] = df[c]
    if v.converted:
        out[f"Change in {v.base}"] = df["change_base"]
    out["Definition"] = df["definition"]
    first = ["Bucket", "Opportunities", *[c for c in out.columns if c.startswith("Change ")]]
    return out[[*first, *[c for c in out.columns if c not in first]]]


def opportunities_table(df: pd.DataFrame, owners: dict[str, str], converted_to: str | None) -> pd.DataFrame:
    """The opportunities behind one bar (pipeline.opportunities) for people: names are CRM text,
    shown as plain text (st.dataframe never renders Markdown or HTML)."""
    labels = {k: v[0] for k, v in pipeline.BUCKETS.items()}
    out = pd.DataFrame(
        {
            "Opportunity": df["name"].where(df["name"].notna(), df["opportunity_id"]),
            "Account": df["account"],
            "Owner": [owners.get(o, o) if isinstance(o, str) else None for o in df["owner_id"]],
            "Sourced by": [
                pipeline.SOURCE_LABELS.get(s, s) if isinstance(s, str) else "not recorded"
                for s in df["sourced_by"]
            ],
            "Bucket": [labels.get(b, "") if isinstance(b, str) else "" for b in df["bucket"]],
            "At T1": [_state(s, o) for s, o in zip(df["stage_t1"], df["is_open_t1"], strict=True)],
            "At T2": [_state(s, o) for s, o in zip(df["stage_t2"], df["is_open_t2"], strict=True)],
            "Amount at T1": df["amount_t1"],
            "Currency at T1": df["currency_t1"],
            "Amount at T2": df["amount_t2"],
            "Currency at T2": df["currency_t2"],
        }
    )
    if converted_to:
        out[f"In {converted_to} at T1"] = df["amount_base_t1"]
        out[f"In {converted_to} at T2"] = df["amount_base_t2"]
    out["Close date at T1"] = df["close_t1"]
    out["Close date at T2"] = df["close_t2"]
    out["Created"] = df["created_at"]
    out["Opportunity id"] = df["opportunity_id"]
    return out


def _state(label, is_open) -> str:
    if not isinstance(label, str):
        return "not created yet"
    return label if bool(is_open) else f"{label} (closed)"


def visits_table(df: pd.DataFrame) -> pd.DataFrame:
    """Stage visits (pipeline.stage_visits) for people; the last stage (won) has no moves on
    and no days in it, so those cells are empty."""
    last = len(df) - 1

    def blank_last(values) -> list:
        return [math.nan if k == last else v for k, v in enumerate(values)]

    return pd.DataFrame(
        {
            "Stage": df["label"],
            "Opportunities": df["n_opportunities"],
            "% of previous": df["pct_of_previous"],
            "% of first": df["pct_of_first"],
            "Visits": df["n_visits"],
            "Moved on": blank_last(df["n_opportunities_forward"]),
            "Moved on (share)": blank_last(df["forward_rate"]),
            "Moved back (visits)": blank_last(df["n_back"]),
            "Lost (visits)": blank_last(df["n_lost"]),
            "Other exit (visits)": blank_last(df["n_other_exit"]),
            "Still there": blank_last(df["n_current"]),
            "Median days": df["median_days"],
            "p75 days": df["p75_days"],
            "p90 days": df["p90_days"],
        }
    )


def moves_table(df: pd.DataFrame, owners: dict[str, str]) -> pd.DataFrame:
    """Backward moves and re-opens (pipeline.stage_moves) for people, newest first."""
    kinds = []
    for back, reopen in zip(df["is_backward"], df["is_reopened"], strict=True):
        kinds.append("re-opened, moved back" if back and reopen else "re-opened" if reopen else "moved back")
    return pd.DataFrame(
        {
            "When": df["occurred_at"],
            "Opportunity": df["name"].where(df["name"].notna(), df["opportunity_id"]),
            "Owner": [owners.get(o, o) if isinstance(o, str) else None for o in df["owner_id"]],
            "What": kinds,
            "From stage": df["from_label"],
            "Came back from": df["came_back_label"],
            "To stage": df["to_label"],
            "Opportunity id": df["opportunity_id"],
        }
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
