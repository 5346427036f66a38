"""The weekly report as Markdown, for pasting into a chat or a wiki.

Every value from the CRM or from people (names, companies, reasons, notes) is HTML-escaped
(chat and wiki renderers accept inline HTML) and has Markdown's own markup characters escaped,
so a name like `<img onerror=...>` or `*bold*` shows as typed.
"""

from __future__ import annotations

import html
import re

import pandas as pd

from queries.weekly import WeeklyReport
from reports import format as f
from reports import tables

_MARKUP = re.compile(r"([\\`*_\[\]|~])")


def text(value) -> str:
    """Plain text safe inside Markdown: HTML-escaped, markup characters backslash-escaped,
    line breaks folded to spaces (a table cell is one line)."""
    escaped = html.escape("" if value is None else str(value), quote=False)
    return _MARKUP.sub(r"\\\1", " ".join(escaped.splitlines()))


def table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_None._"
    head = "| " + " | ".join(text(c) for c in df.columns) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(text(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def _action_lines(actions: pd.DataFrame) -> list[str]:
    """A bulleted list per owner of an actions_table frame."""
    out = []
    for owner, g in actions.groupby("Owner", sort=False):
        out.append(f"- **{text(owner)}**")
        for r in g.to_dict("records"):
            out.append(
                f"  - {text(r['What'])}: {text(r['Lead'])} ({text(r['Company'])}, {text(r['Lead id'])}), "
                f"{text(r['Stage'])}, {text(r['Overdue'])}. Next: {text(r['Next action'])}"
            )
    return out


def render(report: WeeklyReport, notes: pd.DataFrame) -> str:
    """The one-page report of `report`'s week; `notes` from queries.weekly.meeting_notes."""
    out = [f"# Weekly alignment: {text(tables.week_title(report))}", ""]
    out.append(
        f"Numbers as of the end of the week ({f.when(report.as_of)} UTC). Entries are first entries "
        "into a stage; a change in a rate is called out only when it is outside the noise "
        "(two-proportion test, p < 0.05)."
    )
    out.append("")
    if not report.changes.empty:
        out.append("## Definition changes in or since this week")
        out.append("")
        for c in report.changes.itertuples(index=False):
            when = "in this week" if c.is_in_week else "since this week"
            out.append(f"> **Definition changed {c.date:%Y-%m-%d}** ({when}): {text(c.change)}")
            out.append(">")
        out.pop()
        out.append("")
    if report.is_empty:
        out += ["**No activity in this week:** no stage entries, decisions, exits or actions.", ""]
    out += ["## Headline: stage entries", "", table(tables.headline_table(report)), ""]
    out += [f"**Pace:** {text(tables.pace_line(report))}", ""]
    out += [
        "## Conversion: share of decided leads that moved on",
        "",
        table(tables.conversions_table(report)),
        "",
    ]
    out += [
        "## Movements",
        "",
        "### Entries and recycled leads by team",
        "",
        table(tables.movements_table(report)),
    ]
    out += ["", "### Exits with reasons", "", table(tables.exits_table(report)), ""]
    out += ["## Action list", "", table(tables.owners_table(report)), ""]
    breaches, stalled, left_out = tables.detail_actions(report)
    out += ["### SLA breaches (all owners)", ""]
    out += _action_lines(breaches) if not breaches.empty else ["_None this week._"]
    out.append("")
    if not stalled.empty:
        out += [f"### Leads that stalled this week (at most {tables.DETAIL_PER_OWNER} per owner)", ""]
        out += _action_lines(stalled)
        if left_out:
            out.append(f"\n_{left_out:,} more stalled leads in the CSV download on the page._")
        out.append("")
    out += ["## Decisions (meeting notes)", ""]
    this_week = notes[notes["week_start"] == report.week_start] if not notes.empty else notes
    if this_week.empty:
        out.append("_No notes recorded for this week._")
    for n in this_week.itertuples(index=False):
        out.append(f"- **{text(n.author)}** ({f.when(n.created_at)}): {text(n.note)}")
    out.append("")
    return "\n".join(out)
