"""The Content page's tables: one display format per column, from the headings of a table the
view gives (reports.content_view.Table: its spec's heading endings say the format), and the
one call that draws it."""

from __future__ import annotations

import streamlit as st

from reports.content_view import Table
from ui import tables

TEXT_COLUMNS = ("group_value", "title", "label", "sourced_by")  # text gets room


def column_config(spec: dict[str, str]) -> dict:
    """Headings and formats: a heading ending " %" a percent with one decimal, " pts" signed
    points, " ¤" a whole amount in the reader's locale (the ending is not shown); dates as
    dates, p-values with two significant digits. Numbers size to their header and values."""
    config = {}
    for col, label in spec.items():
        width = "medium" if col in TEXT_COLUMNS else None
        if label.endswith(" %"):
            config[col] = st.column_config.NumberColumn(
                label.removesuffix(" %"), format="%.1f%%", width=width
            )
        elif label.endswith(" pts"):
            config[col] = st.column_config.NumberColumn(label, format="%+.1f", width=width)
        elif label.endswith(" ¤"):
            config[col] = st.column_config.NumberColumn(
                label.removesuffix(" ¤"),
                format="localized",
                width="small" if col.startswith("credit_") else width,
            )
        elif col == "published_at":
            config[col] = st.column_config.DatetimeColumn(label, format="YYYY-MM-DD", width=width)
        elif col == "p_value":
            config[col] = st.column_config.NumberColumn(label, format="%.2g", width=width)
        else:
            config[col] = st.column_config.Column(label, width=width)
    return config


def show(table: Table) -> None:
    """A view's table on screen: the spec's columns in its order (others hidden; the CSV
    download keeps them all), never cut at the right edge (ui/tables.show, fit=True)."""
    tables.show(
        table.shown,
        hide_index=True,
        column_order=list(table.spec),
        column_config=column_config(table.spec),
        fit=True,
    )
