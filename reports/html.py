"""The weekly report as one self-contained HTML file: inline CSS, plotly.js inline (no CDN,
no network reference), interactive charts, every piece of CRM text HTML-escaped."""

from __future__ import annotations

import pandas as pd
import plotly.io as pio

from queries.weekly import WeeklyReport
from reports import charts, tables
from reports import format as f
from reports.format import esc

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1100px; color: #1f2937; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #e5e7eb; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #e5e7eb; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; }
.change { border-left: 4px solid #b45309; background: #fffbeb; padding: 0.5rem 1rem; margin: 0.5rem 0; }
.muted { color: #6b7280; font-size: 0.9rem; }
.real { color: #b91c1c; font-weight: 600; }
.note { white-space: pre-wrap; }
@media print { .chart { page-break-inside: avoid; } }
"""


def table(df: pd.DataFrame) -> str:
    if df.empty:
        return '<p class="muted">None.</p>'
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in df.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(report: WeeklyReport, notes: pd.DataFrame) -> str:
    """The one-page report of `report`'s week as a complete HTML document."""
    figures = dict(charts.all_figures(report))
    first = [True]

    def chart(key: str) -> str:
        html = pio.to_html(
            figures[key],
            full_html=False,
            include_plotlyjs=first[0],  # plotly.js inline once, in the first chart
            include_mathjax=False,
            config={"displaylogo": False, "responsive": True},
        )
        first[0] = False
        return f'<div class="chart">{html}</div>'

    title = esc(tables.week_title(report))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Weekly alignment {title}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Weekly alignment: {title}</h1>",
        f'<p class="muted">Numbers as of the end of the week ({esc(f.when(report.as_of))} UTC). '
        "Entries are first entries into a stage; a change in a rate is called out only when it is "
        "outside the noise (two-proportion test, p &lt; 0.05).</p>",
    ]
    if not report.changes.empty:
        parts.append("<h2>Definition changes in or since this week</h2>")
        for c in report.changes.itertuples(index=False):
            when = "in this week" if c.is_in_week else "since this week"
            parts.append(
                f'<div class="change"><strong>Definition changed {c.date:%Y-%m-%d}</strong> '
                f"({when}): {esc(c.change)}</div>"
            )
    if report.is_empty:
        parts.append(
            '<p class="real">No activity in this week: no stage entries, decisions, exits or actions.</p>'
        )
    parts += [
        "<h2>Headline: stage entries</h2>",
        table(tables.headline_table(report)),
        f"<p><strong>Pace:</strong> {esc(tables.pace_line(report))}</p>",
        chart("funnel"),
        chart("entries_trend"),
        "<h2>Conversion: share of decided leads that moved on</h2>",
        table(tables.conversions_table(report)),
        chart("conversion_trend"),
        "<h2>Movements</h2><h3>Entries and recycled leads by team</h3>",
        table(tables.movements_table(report)),
        "<h3>Exits with reasons</h3>",
        table(tables.exits_table(report)),
        chart("exits"),
        "<h2>Action list</h2>",
        table(tables.owners_table(report)),
        chart("actions"),
    ]
    breaches, stalled, left_out = tables.detail_actions(report)
    parts += ["<h3>SLA breaches (all owners)</h3>"]
    parts.append(table(breaches) if not breaches.empty else '<p class="muted">None this week.</p>')
    if not stalled.empty:
        parts += [
            f"<h3>Leads that stalled this week (at most {tables.DETAIL_PER_OWNER} per owner)</h3>",
            table(stalled),
        ]
        if left_out:
            parts.append(
                f'<p class="muted">{left_out:,} more stalled leads in the CSV download on the page.</p>'
            )
    parts.append("<h2>Decisions (meeting notes)</h2>")
    this_week = notes[notes["week_start"] == report.week_start] if not notes.empty else notes
    if this_week.empty:
        parts.append('<p class="muted">No notes recorded for this week.</p>')
    for n in this_week.itertuples(index=False):
        parts.append(
            f"<p><strong>{esc(n.author)}</strong> <span class='muted'>({esc(f.when(n.created_at))})</span></p>"
            f'<p class="note">{esc(n.note)}</p>'
        )
    parts.append("</body></html>")
    return "\n".join(parts)
