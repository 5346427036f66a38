"""Funnel health's help texts and table settings: the page lays out what reports/health_view.py
gathers, with these words (ui/glossary.py) and column settings."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from reports.health_view import TIME_COLUMNS, Context, Figure
from ui import glossary, tables


def figure_help(ctx: Context, policy: str, figure: Figure) -> str:
    """The help of one headline figure: its definition, then (for a compared figure) how the
    noise and the fair comparison are judged, and its mark."""
    contract, window = ctx.contract, ctx.window
    if figure.key == "revenue_by_currency":
        return glossary.revenue(contract)
    if figure.key == "time_to_win":
        return glossary.stage_time()
    if figure.key == "flow_entries":
        return glossary.flow() + "\n\n" + glossary.noise()
    if figure.key == "flow_revenue":
        return "Deal amounts of every deal won during the range, whenever its lead started."
    helps = {
        "leads": glossary.cohort(contract, window),
        "mqls": glossary.reached(contract, policy),
        "won": glossary.reached(contract, policy),
        "revenue": glossary.revenue(contract),
        "win_rate": glossary.win_rate(contract) + " " + glossary.wilson(),
        "overall_rate": glossary.overall_rate(contract) + " " + glossary.wilson(),
        "mql_rate": glossary.step_rate() + " " + glossary.wilson(),
        "mql_to_won": glossary.step_rate() + " " + glossary.wilson(),
    }
    return (
        helps.get(figure.key, "")
        + "\n\n"
        + glossary.noise()
        + "\n\n"
        + glossary.fair_comparison()
        + (f"\n\nMarked: {figure.mark}." if figure.mark else "")
    )


def show_figure(ctx: Context, policy: str, figure: Figure) -> None:
    """One headline figure and the caption under it."""
    st.metric(
        figure.label,
        figure.value,
        delta=figure.delta,
        # Coloured only when the change is outside the noise; grey otherwise.
        delta_color="normal" if figure.coloured else "off",
        help=figure_help(ctx, policy, figure),
        border=True,
    )
    st.caption(figure.caption)


def funnel_help(ctx: Context) -> str:
    contract, window = ctx.contract, ctx.window
    return (
        glossary.cohort(contract, window)
        + "\n\n"
        + glossary.step_rate()
        + " "
        + glossary.overall_rate(contract)
        + "\n\n"
        + glossary.wilson()
        + "\n\n"
        + glossary.dropped(contract, window)
    )


def monthly_help(ctx: Context) -> str:
    return (
        "The cohort split by the month its leads started. "
        + glossary.immature(ctx.contract, ctx.window)
        + " "
        + glossary.win_rate(ctx.contract)
    )


def trend_help(ctx: Context) -> str:
    return glossary.immature(ctx.contract, ctx.window) + "\n\n" + glossary.wilson()


def breakdown_help(ctx: Context) -> str:
    if ctx.view != "cohort":
        return glossary.flow()
    return (
        glossary.overall_rate(ctx.contract) + " " + glossary.win_rate(ctx.contract) + " " + glossary.wilson()
    )


DRILL_HELP = (
    "Every count of the funnel table, the monthly cohorts and the breakdown opens here: "
    "the same cohort, the same rules, so the list has exactly as many leads as the number."
)
OWNER_ROLE_HELP = (
    "Each record is counted under its owner in this role; records with no owner in it are grouped as none."
)
CLICK_A_COUNT = "Click a count to list the leads behind it (below)."


def funnel_config() -> dict:
    """The funnel table's columns at the widths that keep it whole at 1280 px."""
    return {c: {"label": c, "width": w} for c, w in tables.FUNNEL_WIDTHS.items()}


def times_config() -> dict:
    """The time-between-stages table: days with one decimal."""
    return {c: st.column_config.NumberColumn(c, format="%.1f") for c in TIME_COLUMNS}


def flow_table(frame: pd.DataFrame) -> pd.DataFrame:
    """funnel.flow_funnel as people read it (shown in an expander and downloaded)."""
    return frame.drop(columns=["stage_order", "tracked"]).rename(columns=tables.FLOW_COLUMNS)
