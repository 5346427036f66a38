"""Downloads: every table a page shows can be downloaded as CSV that a spreadsheet opens safely."""

from __future__ import annotations

import pandas as pd
import streamlit as st

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Prefix text that a spreadsheet would run as a formula with a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_csv(df: pd.DataFrame) -> bytes:
    """CSV bytes (UTF-8 with BOM so Excel reads accents) with formula-like text neutralised.

    Numbers stay numbers: only text cells are touched, so -5 is still -5.
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out.to_csv(index=False).encode("utf-8-sig")


def download(df: pd.DataFrame, filename: str, label: str = "Download CSV", key: str | None = None) -> None:
    """A download button for `df` as spreadsheet-safe CSV. `filename` is ours, never user text."""
    st.download_button(label, safe_csv(df), file_name=filename, mime="text/csv", key=key or f"dl-{filename}")
