"""Downloads: every table a page shows can be downloaded as CSV that a spreadsheet opens safely."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from queries import executor
from queries.teams import MAX_ROWS

# Lead lists on screen hold the most relevant rows (most overdue, slowest first): a person reads
# a few dozen, and every row shown travels to every browser on every rerun (5,000-row lists made
# Teams 2 MB a run). Their CSV download runs the same query for every row when clicked.
SCREEN_ROWS = 500
CSV_ROWS = MAX_ROWS  # the most a lead-list query returns (50,000)

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets; a
# leading NUL is dropped by some of them on import, which would leave the formula behind it.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\x00")


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
    # CRLF line ends (RFC 4180) make pandas quote a cell holding a bare carriage return, which
    # spreadsheets read as a line break: unquoted, "a\r=HYPERLINK(...)" became a formula row.
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


# Query columns -> what a person reads, for the funnel tables (CSV keeps the same headers).
FUNNEL_COLUMNS = {
    "stage": "Stage key",
    "label": "Stage",
    "n_reached": "Reached",
    "n_skipped": "Skipped into",
    "n_in_progress": "Stopped here, in progress",
    "n_dropped": "Stopped here, dropped",
    "revenue": "Revenue",
    "step_rate": "Step rate",
    "step_low": "Step rate 95% CI low",
    "step_high": "Step rate 95% CI high",
    "overall_rate": "Overall rate",
    "overall_low": "Overall rate 95% CI low",
    "overall_high": "Overall rate 95% CI high",
}
FLOW_COLUMNS = {
    "stage": "Stage key",
    "label": "Stage",
    "n_entries": "First entries in the range",
    "n_reentries": "Re-entries in the range",
    "revenue": "Revenue won in the range",
    "ratio_to_previous": "Ratio to the stage before (different leads)",
}


def rate_columns(df: pd.DataFrame) -> dict:
    """column_config showing every rate column (0–1) of `df` as a percentage."""
    return {c: st.column_config.NumberColumn(format="percent") for c in df.columns if "rate" in c.lower()}


def show(df: pd.DataFrame, **kwargs) -> None:
    """st.dataframe of a query result, without its attrs (as-of dates and the like are shown
    in captions; Arrow cannot carry them and would warn). Tables offer no download or copy of
    their own (client.disableDataExport in .streamlit/config.toml: Streamlit's would write
    formula cells as they are); the CSV buttons next to them go through safe_csv()."""
    plain = df.copy()
    plain.attrs = {}
    st.dataframe(plain, **kwargs)


def download(
    df: pd.DataFrame | Callable[[], pd.DataFrame],
    filename: str,
    label: str = "Download CSV",
    key: str | None = None,
) -> None:
    """A download button for `df` as spreadsheet-safe CSV. `filename` is ours, never user text.

    The CSV is built when the button is clicked, not on every run, and the click does not rerun
    the page: building every table's CSV on each run was 40% of a warm Teams page's time, which
    twenty people changing a filter at once all wait for. `df` may be a function returning the
    frame (a cached result the page does not otherwise load, or a query): it is called at the
    click, on the store version this run read (the live one if the page was left open so long
    after an import that its version is no longer kept)."""
    if callable(df):
        make, db = df, executor.current_path()

        def build() -> bytes:
            with executor.reading(db):
                return safe_csv(make())
    else:

        def build() -> bytes:
            return safe_csv(df)

    st.download_button(
        label,
        build,
        file_name=filename,
        mime="text/csv",
        key=key or f"dl-{filename}",
        on_click="ignore",
    )


def download_all(
    fn: Callable[..., pd.DataFrame],
    *args,
    filename: str,
    key: str,
    label: str = "Download CSV (all rows)",
    **kwargs,
) -> None:
    """A download button for every row of a lead list that shows only SCREEN_ROWS: the query
    runs (uncached, up to CSV_ROWS rows) when the button is clicked, on the store version the
    page was drawn from (see download), so the file matches the numbers on screen."""
    download(lambda: fn(*args, limit=CSV_ROWS, **kwargs), filename, label=label, key=key)


def breakdown_table(
    df: pd.DataFrame, stage_labels: list[str], handoff_label: str, view: str, names: dict | None = None
) -> pd.DataFrame:
    """funnel.breakdown pivoted for people: one row per group, largest first.

    Cohort columns: group, leads per stage (one column per stage label), handoff rate
    (first stage → handoff stage), overall rate with its 95% Wilson bounds, small group.
    Flow columns: group, entries per stage, re-entries. `names` maps a group value to what a
    person reads (owner ids to names).
    """
    if df.empty:
        return pd.DataFrame(columns=["group", *stage_labels])
    names = names or {}
    count_col = "n_reached" if view == "cohort" else "n_entries"
    order = list(dict.fromkeys(df["group_value"]))  # breakdown() sorts largest first
    wide = df.pivot(index="group_value", columns="label", values=count_col).reindex(order)[stage_labels]
    out = wide.reset_index(names="group")
    out["group"] = [names.get(g, g) for g in out["group"]]
    first, last = stage_labels[0], stage_labels[-1]
    if view == "cohort":
        last_rows = df[df["stage_order"] == df["stage_order"].max()].set_index("group_value").reindex(order)
        out[f"{first} → {handoff_label}"] = (out[handoff_label] / out[first]).where(out[first] > 0).to_numpy()
        out[f"Overall {first} → {last}"] = last_rows["overall_rate"].to_numpy()
        out["95% CI low"] = last_rows["overall_low"].to_numpy()
        out["95% CI high"] = last_rows["overall_high"].to_numpy()
        out["Small group (<30)"] = last_rows["is_small"].to_numpy()
    else:
        out["Re-entries"] = df.groupby("group_value")["n_reentries"].sum().reindex(order).to_numpy()
    return out
