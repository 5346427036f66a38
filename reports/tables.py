"""The report's tables as text, one function per section, shared by the page, the HTML and the
Markdown export so that all three print the same numbers.

Each returns a DataFrame of strings (already formatted, not yet escaped: each renderer escapes
for its own format).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math

import pandas as pd

from queries import weekly
from queries.weekly import WeeklyReport
from reports import format as f

DETAIL_PER_OWNER = 5  # stalled leads listed per owner in the exports; the CSV has all
PAGE_PER_OWNER = 10  # stalled leads shown per owner on the page; the CSV has all


def week_title(report: WeeklyReport) -> str:
    sunday = report.week_start + dt.timedelta(days=6)
    return f"{report.label} ({report.week_start:%a %Y-%m-%d} to {sunday:%a %Y-%m-%d})"


def entries_noise(report: WeeklyReport) -> list[tuple[float, bool]]:
    """Per stage, (p-value, outside the noise) of this week's entries against last week's: the
    Funnel health page's test for two counts over equal periods (reports.format.count_change_p)."""
    out = []
    for now, before in zip(report.headline["this_week"], report.headline["last_week"], strict=True):
        p = f.count_change_p(float(now), float(before))
        out.append((p, bool(p < f.ALPHA)))
    return out


def headline_table(report: WeeklyReport) -> pd.DataFrame:
    """One row per stage: entries this week, the change against last week and whether it is
    outside the noise (the columns a meeting reads first), last week, 4-week average, change
    vs it."""
    h = report.headline
    noise = entries_noise(report)
    return pd.DataFrame(
        {
            "Stage": h["label"],
            "This week": h["this_week"].map(f.count),
            "Change": [
                f"{f.signed(d)} ({f.signed_pct(p)})"
                for d, p in zip(h["change_vs_last"], h["change_vs_last_pct"], strict=True)
            ],
            "Noise check": [
                "no entries"
                if math.isnan(p)
                else ("CHANGED: outside the noise" if real else "within the noise")
                for p, real in noise
            ],
            "Last week": h["last_week"].map(f.count),
            "4-week avg": h["avg_4w"].map(f.count),
            "vs 4-week avg": h["change_vs_avg_pct"].map(f.signed_pct),
        }
    )


def conversions_table(report: WeeklyReport) -> pd.DataFrame:
    """One row per step: the rate, its change against last week and whether that is outside
    the noise first; then decided, moved on, dropped because the window ran out, the 95%
    interval and last week."""
    c = report.conversions
    return pd.DataFrame(
        {
            "Step": [f"{a} → {b}" for a, b in zip(c["label"], c["next_label"], strict=True)],
            "Rate": c["rate"].map(f.pct),
            "Change": c["change"].map(f.points),
            "Noise check": [
                ("CHANGED: " if real else "") + note
                for real, note in zip(c["is_change_real"], c["note"], strict=True)
            ],
            "Decided": c["n_decided"].map(f.count),
            "Moved on": c["n_moved"].map(f.count),
            "Window ran out": c["n_window_ended"].map(f.count),
            "95% interval": [
                f"{f.pct(lo)} – {f.pct(hi)}" for lo, hi in zip(c["low"], c["high"], strict=True)
            ],
            "Last week": [
                f"{f.pct(r)} of {f.count(n)}" for r, n in zip(c["prev_rate"], c["prev_decided"], strict=True)
            ],
            # The rate, its interval and the change rest on this week's and last week's bases.
            "Small n": [
                f.small_flag(min(n, p)) for n, p in zip(c["n_decided"], c["prev_decided"], strict=True)
            ],
        }
    )


def pace_line(report: WeeklyReport) -> str:
    """One sentence: won revenue against the shared target for the month, as of the week's end."""
    p = report.pace.iloc[0]
    month = f"{calendar.month_name[p['month_start'].month]} {p['month_start'].year}"
    if pd.isna(p["target"]) or p["target"] is None:
        return f"Shared revenue target for {month}: none set. Won so far: {f.money(p['won_revenue'])}."
    return (
        f"Shared revenue target for {month}: {f.money(p['target'])}. Won by the end of the week: "
        f"{f.money(p['won_revenue'])} ({f.count(p['n_won'])} {'deal' if p['n_won'] == 1 else 'deals'}) "
        f"with {f.pct(p['share'])} of the "
        f"month gone; a steady pace would be {f.money(p['expected'])}: {p['status']} "
        f"({f.money(p['gap_to_pace'])} against pace)."
    )


def movements_table(report: WeeklyReport) -> pd.DataFrame:
    m = report.movements
    return pd.DataFrame(
        {
            "Stage": m["label"],
            "Team": m["team"].map(f.team),
            "Entries": m["n_entries"].map(f.count),
            "Recycled leads back": m["n_reentry_leads"].map(f.count),
        }
    )


def exits_table(report: WeeklyReport) -> pd.DataFrame:
    e = report.exits
    return pd.DataFrame(
        {
            "Exit": e["exit_label"].fillna(e["exit_type"]),
            "Reason": e["reason_label"],
            "Charged to": [f.team(t) if t else "not in funnel.toml" for t in e["charged_to"]],
            "Exits": e["n_exits"].map(f.count),
            "Leads": e["n_leads"].map(f.count),
            "Recorded by": e["team"].map(f.team),
        }
    )


def owners_table(report: WeeklyReport) -> pd.DataFrame:
    o = report.actions_by_owner
    return pd.DataFrame(
        {
            "Owner": o["owner_name"],
            "Due this week": o["n_due"].map(f.count),
            "SLA waiting": o["n_sla_waiting"].map(f.count),
            "SLA acted late": o["n_sla_late"].map(f.count),
            "Stalled this week": o["n_stalled_new"].map(f.count),
            "Stalled in all": o["n_stalled"].map(f.count),
            "All actions": o["n_actions"].map(f.count),
            "Team": o["owner_team"].map(f.team),
        }
    )


def actions_table(actions: pd.DataFrame) -> pd.DataFrame:
    """Every action as text, in the order of the action list: who, what and what to do next
    first (they must be on screen), then the lead and since when."""
    return pd.DataFrame(
        {
            "Owner": actions["owner_name"],
            "What": actions["kind_label"],
            "Next action": actions["next_action"],
            "Lead": actions["lead_name"],
            "Stage": actions["stage"],
            "Overdue": actions["overdue"],
            "Since": actions["since"].map(f.when),
            "Company": actions["company"],
            "Lead id": actions["lead_id"],
        }
    )


def cap_per_owner(actions: pd.DataFrame, per_owner: int) -> tuple[pd.DataFrame, int]:
    """The first `per_owner` rows of each owner (in the list's order: most urgent first) and
    how many rows were left out."""
    if actions.empty:
        return actions, 0
    shown = actions.groupby("owner_name", sort=False, dropna=False).head(per_owner)
    return shown, len(actions) - len(shown)


# Column widths on the page in pixels (st.dataframe column_config, plain dicts: this module
# does not import streamlit). The main area is about 700 px wide at a 1400 px window: the
# columns a meeting reads first (they come first) get the room to show in full, counts stay
# narrow; the rest scroll.
_WIDTHS = {
    "Stage": 150,
    "Step": 200,
    "Rate": 60,
    "Change": 90,
    "Noise check": 160,
    "This week": 75,
    "Last week": 90,
    "4-week avg": 80,
    "vs 4-week avg": 95,
    "95% interval": 120,
    "Owner": 130,
    "Due this week": 100,
    "What": 150,
    "Next action": 420,
    "Exit": 140,
    "Reason": 250,
    "Charged to": 110,
    "Exits": 60,
    "Leads": 60,
    "Decided": 70,
    "Moved on": 75,
    "Small n": 100,
}
# The columns each table shows on the page, so that it is whole at 1280 px; the exports (HTML,
# Markdown) and the CSV downloads have them all.
SCREEN_COLUMNS = {
    "conversions": ["Step", "Rate", "95% interval", "Change", "Noise check", "Decided", "Small n"],
    "headline": ["Stage", "This week", "Change", "Noise check", "Last week", "4-week avg", "vs 4-week avg"],
}


def column_config(df: pd.DataFrame) -> dict:
    """st.dataframe column_config for one of this module's tables: widths by column."""
    return {c: {"label": c, "width": _WIDTHS[c]} for c in df.columns if c in _WIDTHS}


def detail_actions(
    report: WeeklyReport, per_owner: int = DETAIL_PER_OWNER
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """What the exports list: (every SLA breach of the week, all owners; the leads that stalled
    during the week, at most `per_owner` per owner, most overdue first; how many stalled leads
    were left out). The CSV on the page has them all."""
    a = report.actions
    if a.empty:
        return actions_table(a), actions_table(a), 0
    breaches = a[weekly.is_sla(a)]
    stalled, left_out = cap_per_owner(a[~weekly.is_sla(a) & weekly.is_due(a)], per_owner)
    return actions_table(breaches), actions_table(stalled), left_out


def changes_table(report: WeeklyReport) -> pd.DataFrame:
    c = report.changes
    return pd.DataFrame(
        {
            "Date": c["date"].map(lambda d: d.isoformat()),
            "When": ["in this week" if x else "since this week" for x in c["is_in_week"]],
            "Change": c["change"],
        }
    )


def notes_table(notes: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Week": notes["week"],
            "Author": notes["author"],
            "Written": notes["created_at"].map(f.when),
            "Note": notes["note"],
        }
    )
