"""Downloads: every table a page shows can be downloaded as CSV that a spreadsheet opens safely."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import pandas as pd
import streamlit as st

from queries import executor
from queries.funnel import period_is_mature
from queries.teams import MAX_ROWS
from reports import format as fmt

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

    Numbers stay numbers (-5 is still -5), rounded to four decimals (no 0.9999999999999999);
    a small-group flag reads as on the page, "small n (<30)".
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
        elif pd.api.types.is_float_dtype(out[col]):
            # 0.9999999999999999 is 1.0: no float noise in a spreadsheet (4 decimals: 39.71%).
            out[col] = out[col].round(4)
        if pd.api.types.is_bool_dtype(df[col]) and _is_small_name(col):
            out[col] = small_flags(df[col])  # the flag reads the same as on the page
    out.columns = [neutralise(str(c)) for c in out.columns]
    # CRLF line ends (RFC 4180) make pandas quote a cell holding a bare carriage return, which
    # spreadsheets read as a line break: unquoted, "a\r=HYPERLINK(...)" became a formula row.
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


# Query columns -> what a person reads, for the funnel tables (CSV keeps the same headers).
FUNNEL_COLUMNS = {
    "stage": "Stage key",
    "label": "Stage",
    "tracked": "Recorded",
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


def percent_columns(df: pd.DataFrame) -> dict:
    """column_config for the rate columns of the pivoted tables (a "→" in the heading, a win
    rate or an interval bound): shown as percentages."""
    return {
        c: st.column_config.NumberColumn(format="percent")
        for c in df.columns
        if "→" in c or c.startswith("95%") or c.startswith("Win rate")
    }


NO_VALUE = "(no value)"  # a lead without the attribute: kept apart from a literal "unknown"

# The funnel table's count columns, each opening to its records (queries.drill.STATUSES).
FUNNEL_COUNTS = {
    "Reached": "reached",
    "In progress here": "in_progress",
    "Dropped here": "dropped",
    "Skipped into": "skipped",
}
FUNNEL_WIDTHS = {
    "Stage": 170,
    "Reached": 80,
    "Step rate": 80,
    "Overall rate": 90,
    "In progress here": 110,
    "Dropped here": 100,
    "Skipped into": 90,
    "Step 95% CI": 120,
    "Small n (<30)": 100,
}


def funnel_table(df: pd.DataFrame, for_csv: bool = False) -> pd.DataFrame:
    """funnel.cohort_funnel as people read it: one row per stage, the counts and rates first
    (each count opens to its records on the page), then the 95% intervals and the small-n flag
    (a step or overall rate over fewer than 30 records). The CSV has the interval bounds as
    numbers and the stage key too; the screen one interval column per rate."""
    tracked = df["tracked"].astype(bool)
    reached = [None if pd.isna(n) else int(n) for n in df["n_reached"]]
    bases_step, bases_first, previous = [], [], None
    first = next((n for n, t in zip(reached, tracked, strict=True) if t), None)
    for n, t in zip(reached, tracked, strict=True):
        bases_step.append((previous if previous is not None else n) if t else None)
        bases_first.append(first if t else None)
        if t:
            previous = n
    out = pd.DataFrame(
        {
            "Stage": df["label"],
            "Reached": df["n_reached"],
            "Step rate": df["step_rate"],
            "Overall rate": df["overall_rate"],
            "In progress here": df["n_in_progress"],
            "Dropped here": df["n_dropped"],
            "Skipped into": df["n_skipped"],
        }
    )
    if for_csv:
        out.insert(0, "Stage key", df["stage"])
        out["Step rate 95% CI low"] = df["step_low"]
        out["Step rate 95% CI high"] = df["step_high"]
        out["Overall rate 95% CI low"] = df["overall_low"]
        out["Overall rate 95% CI high"] = df["overall_high"]
    else:
        out["Step 95% CI"] = [
            interval(lo, hi) for lo, hi in zip(df["step_low"], df["step_high"], strict=True)
        ]
        out["Overall 95% CI"] = [
            interval(lo, hi) for lo, hi in zip(df["overall_low"], df["overall_high"], strict=True)
        ]
    out["Small n (<30)"] = [
        fmt.SMALL_TEXT if t and (fmt.is_small(a) or fmt.is_small(b)) else ""
        for t, a, b in zip(tracked, bases_step, bases_first, strict=True)
    ]
    if for_csv or not tracked.all():
        out["Recorded in the data"] = ["yes" if t else "not recorded" for t in tracked]
    return out


def interval(low, high) -> str:
    """A 95% interval as one cell: "30.2%–37.0%" (reports.format.interval)."""
    return fmt.interval(low, high)


def _win_columns(out: pd.DataFrame, outcome: pd.DataFrame | None, keys: list) -> None:
    """Add won, lost, win rate and its interval from funnel.outcomes, one row per group key."""
    if outcome is None or not outcome.attrs.get("is_recorded"):
        return
    by_group = {
        (None if pd.isna(g) else g): r
        for g, r in zip(outcome["group_value"], outcome.itertuples(), strict=True)
    }
    rows = [by_group.get(k) for k in keys]
    # Won is the last stage's count, already a column.
    out["Lost"] = [r.n_lost if r is not None else 0 for r in rows]
    out["Win rate"] = [r.win_rate if r is not None else float("nan") for r in rows]
    out["Win rate 95% CI low"] = [r.win_low if r is not None else float("nan") for r in rows]
    out["Win rate 95% CI high"] = [r.win_high if r is not None else float("nan") for r in rows]
    out["Win rate small n (<30 decided)"] = [bool(r.is_small) if r is not None else True for r in rows]


def monthly_cohorts(
    months: pd.DataFrame,
    outcome: pd.DataFrame,
    stage_labels: list[str],
    window_days: int | None,
    as_of,
) -> pd.DataFrame:
    """funnel.breakdown(by="month") and funnel.outcomes(by="month") as one row per month of
    start: leads per recorded stage, the overall rate, won, lost, win rate, and whether the
    month is final (its window closed by the as-of date)."""
    if months.empty:
        return pd.DataFrame(columns=["Month", *stage_labels])
    counts = months[months["tracked"]]
    wide = counts.pivot(index="group_value", columns="label", values="n_reached")[stage_labels].sort_index()
    keys = list(wide.index)
    out = wide.reset_index(names="Month")
    last_rows = counts[counts["label"] == stage_labels[-1]].set_index("group_value").reindex(keys)
    if len(stage_labels) > 1:
        out[f"{stage_labels[0]} → {stage_labels[-1]}"] = last_rows["overall_rate"].to_numpy()
    if "is_small" in last_rows:
        out["Small n (<30 leads)"] = last_rows["is_small"].fillna(True).astype(bool).to_numpy()
    _win_columns(out, outcome, keys)
    final = []
    for key in keys:
        start = pd.Timestamp(f"{key}-01")
        end = (start + pd.offsets.MonthEnd(1)).date()
        final.append("final" if period_is_mature(end, window_days, as_of) else "immature: can still rise")
    out.insert(1, "Status", final)
    # The interval bounds stay in the CSV of the breakdown; a month's row reads at a glance.
    out = out.drop(columns=[c for c in out.columns if "95% CI" in c])
    out = _key_columns_first(out, ["Month", "Status", stage_labels[0], stage_labels[-1], "Lost", "Win rate"])
    out.attrs["group_keys"] = keys
    return out


def screen_columns(df: pd.DataFrame, stage_labels: list[str], handoff_label: str | None = None) -> list[str]:
    """The columns a wide cohort table shows on screen, so it is whole at 1280 px: the first,
    handoff and last stage's counts among the stages (the others are in its CSV), every other
    column as it is."""
    keep = {stage_labels[0], stage_labels[-1], *([handoff_label] if handoff_label else [])}
    return [c for c in df.columns if c not in stage_labels or c in keep]


def _key_columns_first(df: pd.DataFrame, first: list[str]) -> pd.DataFrame:
    """The columns people compare first (group, cohort size, won, win rate, ...) on the left,
    where a 1280-px screen shows them; the rest after, in their order."""
    head = [c for c in dict.fromkeys(first) if c in df.columns]
    rates = [c for c in df.columns if c.startswith("Overall ")]
    return df[
        [*head, *[c for c in rates if c not in head], *[c for c in df.columns if c not in head + rates]]
    ]


# Column names that hold a rate (0–1): shown as "39.7%", one format in every table.
RATE_WORDS = ("rate", "→", "share", "95% ci", "win rate", "conversion", "within sla", "accepted", "rejected")


def _is_small_name(name) -> bool:
    """A column that flags a small denominator (is_small, "Small group (<30)", "Under 30 leads")."""
    low = str(name).lower()
    return "small" in low or "fewer than 30" in low or "under 30" in low


def small_flags(series: pd.Series) -> list[str]:
    """True/False small-group flags as the text every table and export shows: "small n (<30)"."""
    return [fmt.SMALL_TEXT if v is True or (not fmt.missing(v) and bool(v)) else "" for v in series]


def _is_rate_name(name: str) -> bool:
    low = str(name).lower()
    return any(w in low for w in RATE_WORDS)


def _config_kind(config) -> str | None:
    """What a column_config entry says a column is: "percent", "number" or None."""
    if not isinstance(config, dict):
        return None
    type_config = config.get("type_config") or {}
    if type_config.get("type") != "number":
        return None
    return "percent" if type_config.get("format") == "percent" else "number"


def readable(df: pd.DataFrame, column_config: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """A copy of `df` that reads at a glance, and its column_config (docs/design.md; the
    formats are reports.format's, the same as every export's):

    - rates (a "percent" NumberColumn, or a float column named like a rate with values 0–1)
      as "39.7%", one format in every table;
    - counts stored as floats (a count with gaps) as whole numbers;
    - missing values as "—", never None or nan; timestamps as "YYYY-MM-DD HH:MM".
    A column turned into text keeps its heading, help and width."""
    config = dict(column_config or {})
    out = df.copy()
    out.attrs = {}
    for col in out.columns:
        series = out[col]
        kind = _config_kind(config.get(col))
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        values = pd.to_numeric(series, errors="coerce") if numeric else None
        is_rate = kind == "percent" or (
            numeric
            and kind is None
            and pd.api.types.is_float_dtype(series)
            and _is_rate_name(col)
            and bool(((values.dropna() >= 0) & (values.dropna() <= 1)).all())
        )
        if (
            pd.api.types.is_bool_dtype(series)
            and _is_small_name(col)
            or (
                series.dtype == object
                and _is_small_name(col)
                and series.map(lambda v: isinstance(v, bool)).all()
            )
        ):
            out[col] = small_flags(series)
            config[col] = _as_text(config.get(col), col)
        elif is_rate:
            out[col] = [fmt.pct(v) for v in series]
            config[col] = _as_text(config.get(col), col)
        elif numeric and pd.api.types.is_float_dtype(series) and kind != "number":
            finite = values.dropna()
            if len(finite) and bool((finite == finite.round()).all()):
                if finite.size == values.size:
                    out[col] = values.astype("Int64")
                else:
                    out[col] = [fmt.whole(v) for v in series]
                    config[col] = _as_text(config.get(col), col)
            elif values.isna().any():
                out[col] = [fmt.count(round(v, 1)) if not fmt.missing(v) else fmt.DASH for v in series]
                config[col] = _as_text(config.get(col), col)
        elif numeric and values.isna().any() and kind == "number":
            fmt_text = ((config.get(col) or {}).get("type_config") or {}).get("format") or ""
            finite = values.dropna()
            integral = bool(len(finite)) and bool((finite == finite.round()).all())
            decimals = 0 if fmt_text in ("%d", "localized") or integral else 1
            out[col] = [
                fmt.DASH if fmt.missing(v) else (fmt.whole(v) if decimals == 0 else f"{v:,.1f}")
                for v in series
            ]
            config[col] = _as_text(config.get(col), col)
        elif (
            pd.api.types.is_integer_dtype(series) and not pd.api.types.is_bool_dtype(series) and kind is None
        ):
            # Counts with thousands separators: 1,949, not 1949.
            base = config.get(col)
            base = base if isinstance(base, dict) else ({"label": base} if isinstance(base, str) else {})
            config[col] = st.column_config.NumberColumn(
                base.get("label") or str(col),
                help=base.get("help"),
                width=base.get("width"),
                format="localized",
            )
        elif pd.api.types.is_datetime64_any_dtype(series):
            kind_of = (
                ((config.get(col) or {}).get("type_config") or {}).get("type")
                if isinstance(config.get(col), dict)
                else None
            )
            if kind_of not in ("datetime", "date", "time"):  # a Datetime column formats itself
                out[col] = [fmt.when(v) for v in series]
        elif _is_small_name(col):  # a flag column: empty where there is nothing to flag
            out[col] = ["" if fmt.missing(v) else v for v in series]
        elif series.dtype == object or pd.api.types.is_string_dtype(series):
            out[col] = [fmt.DASH if fmt.missing(v) or v == "" else v for v in series]
    return out, config


def _as_text(config, col) -> dict:
    """A TextColumn with what `config` said about the column's heading, help and width."""
    config = config if isinstance(config, dict) else ({"label": config} if isinstance(config, str) else {})
    return st.column_config.TextColumn(
        config.get("label") or str(col), help=config.get("help"), width=config.get("width")
    )


# A page's main table is whole on the narrowest screen people use (1280 px: the main block is
# about 818 px wide beside the sidebar); its other columns are in its CSV. Estimated widths, in
# px, of a cell's text and of the named widths Streamlit knows.
FIT_WIDTH_PX = 800
_CHAR_PX = 7.0
_CELL_PADDING_PX = 20
_NAMED_WIDTHS = {"small": 75, "medium": 200, "large": 400}
MAIN_TABLE_KEY = "main-table"  # the container class the browser test looks for


def _heading(config, col) -> str:
    if isinstance(config, str):
        return config
    if isinstance(config, dict):
        return config.get("label") or str(col)
    return str(col)


def _text_length(value) -> int:
    """How many characters a cell shows: floats as their one-decimal format, not their repr."""
    if isinstance(value, float):
        return 1 if value != value else len(f"{value:,.1f}")
    return len(str(value))


def _width_px(series: pd.Series, config) -> float:
    """The width a column takes: the one configured, else its longest heading word or cell."""
    width = config.get("width") if isinstance(config, dict) else None
    if isinstance(width, int):
        return width
    if width in _NAMED_WIDTHS:
        return _NAMED_WIDTHS[width]
    longest = max([_text_length(v) for v in series.head(200)] or [0])
    return max(len(_heading(config, series.name)), longest) * _CHAR_PX + _CELL_PADDING_PX


def fitted_columns(df: pd.DataFrame, config: dict | None, order: list[str] | None = None) -> list[str]:
    """The columns of `df` (in `order`, default its own) that fit FIT_WIDTH_PX side by side,
    from the left; always the first one."""
    config = config or {}
    shown, used = [], 0.0
    for col in order or list(df.columns):
        if col not in df.columns or (col in config and config[col] is None):
            continue  # (a column configured None is hidden)
        width = _width_px(df[col], config.get(col))
        if shown and used + width > FIT_WIDTH_PX:
            break
        shown.append(col)
        used += width
    return shown


def show(
    df: pd.DataFrame,
    column_config: dict | None = None,
    key: str | None = None,
    fit: bool = False,
    raw: bool = False,
    **kwargs,
):
    """st.dataframe of a query result as people read it (readable()), without its attrs (as-of
    dates and the like are shown in captions; Arrow cannot carry them and would warn). Tables
    offer no download or copy of their own (client.disableDataExport in .streamlit/config.toml:
    Streamlit's would write formula cells as they are); the CSV buttons next to them go through
    safe_csv(). With `key` and on_select, returns the selection event (see clicked()).

    fit=True: a page's main table, never cut at the right edge: it shows the columns (of
    column_order, else all, key columns first as the table orders them) that fit at 1280 px,
    and names the others, which are in its CSV. raw=True: the page formatted the table itself
    (its column_config says how); it is drawn as it is."""
    plain, config = (df.copy(), dict(column_config or {})) if raw else readable(df, column_config)
    plain.attrs = {}
    kwargs.setdefault("hide_index", True)
    if key is not None:
        kwargs["key"] = key
    if not fit:
        return st.dataframe(plain, column_config=config or None, **kwargs)
    order = kwargs.pop("column_order", None)
    shown = fitted_columns(plain, config, list(order) if order else None)
    hidden = [
        c
        for c in (order or plain.columns)
        if c in plain.columns and c not in shown and not (c in config and config[c] is None)
    ]
    # The container's key is its class in the page (st-key-...): the browser test finds it.
    name = key or zlib.crc32("|".join(map(str, plain.columns)).encode())
    with st.container(key=f"{MAIN_TABLE_KEY}-{name}"):
        event = st.dataframe(plain, column_config=config or None, column_order=shown, **kwargs)
    if hidden:
        names = [_heading(config.get(c), c) for c in hidden]
        listed = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        st.caption(f"Also in the CSV download: {listed}.")
    return event


def clickable(
    df: pd.DataFrame, key: str, column_config: dict | None = None, **kwargs
) -> tuple[int, str] | None:
    """show() with one cell selectable: returns (row position, column) of a cell clicked since
    the last run, once (a selection that stays selected is not a new click), else None."""
    event = show(df, column_config, key=key, on_select="rerun", selection_mode="single-cell", **kwargs)
    cells = list((event or {}).get("selection", {}).get("cells", [])) if event is not None else []
    seen_key = f"_{key}_seen"
    cell = tuple(cells[0]) if cells else None
    if cell == st.session_state.get(seen_key):
        return None
    st.session_state[seen_key] = cell
    return cell


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
    df: pd.DataFrame,
    stage_labels: list[str],
    handoff_label: str | None,
    view: str,
    names: dict | None = None,
    outcome: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """funnel.breakdown pivoted for people: one row per group, largest first.

    Cohort columns: group, leads per recorded stage (one column per stage label), handoff
    rate (first stage → handoff stage, when the handoff is recorded), overall rate with its
    95% Wilson bounds, small group, and with `outcome` (funnel.outcomes by the same attribute,
    where the data records outcomes) won, lost, win rate and its bounds. Flow columns: group,
    entries per stage, re-entries. `names` maps a group value to what a person reads (owner ids
    to names); a lead without a value is "(no value)".
    """
    if df.empty:
        return pd.DataFrame(columns=["group", *stage_labels])
    names = names or {}
    df = df[df["tracked"]].copy()
    count_col = "n_reached" if view == "cohort" else "n_entries"
    keys = list(dict.fromkeys(df["group_value"]))  # breakdown() sorts largest first
    df["group_key"] = [NO_VALUE if g is None else g for g in df["group_value"]]
    order = [NO_VALUE if g is None else g for g in keys]
    wide = df.pivot(index="group_key", columns="label", values=count_col).reindex(order)[stage_labels]
    out = wide.reset_index(names="group")
    out["group"] = [NO_VALUE if k is None else names.get(k, k) for k in keys]
    first, last = stage_labels[0], stage_labels[-1]
    if view == "cohort":
        last_rows = df[df["label"] == last].set_index("group_key").reindex(order)
        if handoff_label and handoff_label in stage_labels and handoff_label != first:
            out[f"{first} → {handoff_label}"] = (
                (out[handoff_label] / out[first]).where(out[first] > 0).astype(float).to_numpy()
            )
        if last != first:
            out[f"Overall {first} → {last}"] = last_rows["overall_rate"].to_numpy()
            out["95% CI low"] = last_rows["overall_low"].to_numpy()
            out["95% CI high"] = last_rows["overall_high"].to_numpy()
        out["Small n (<30 leads)"] = last_rows["is_small"].astype(bool).to_numpy()
        _win_columns(out, outcome, keys)
        out = _key_columns_first(out, ["group", first, last, "Lost", "Win rate"])
    else:
        out["Re-entries"] = df.groupby("group_key")["n_reentries"].sum().reindex(order).to_numpy()
    out.attrs["group_keys"] = keys  # the value behind each row, for the drill-down (None: no value)
    return out


# The records behind a number (queries.drill, queries.teams' lists) as people read them: who,
# their company and owner first, then the dates; ids last (they are for the CSV and the CRM).
RECORD_COLUMNS = {
    "Name": st.column_config.TextColumn("Name", width="medium"),
    "Company": st.column_config.TextColumn("Company", width="medium"),
    "Owner": st.column_config.TextColumn("Owner", width="small"),
}


def records_table(records: pd.DataFrame, contract) -> pd.DataFrame:
    """queries.drill.cohort_records with the contract's labels: Name, Company, Owner, Channel,
    Started, Entered the stage, Reached (when it counted as reaching it), Exit, Exit reason,
    Exited, Record id. CRM text stays plain text (st.dataframe draws no markup)."""
    return pd.DataFrame(
        {
            "Name": records["lead_name"],
            "Company": records["company"],
            "Owner": records["owner_name"],
            "Channel": [fmt.channel(contract, v) for v in records["channel"]],
            "Started": [fmt.when(t) for t in records["start_at"]],
            "Entered the stage": [fmt.when(t) for t in records["entered_at"]],
            "Reached": [fmt.when(t) for t in records["reached_at"]],
            "Exit": [fmt.exit_label(contract, v) for v in records["exit_type"]],
            "Exit reason": [fmt.reason(contract, v) for v in records["exit_reason"]],
            "Exited": [fmt.when(t) for t in records["exit_at"]],
            "Record id": records["lead_id"],
        }
    )
