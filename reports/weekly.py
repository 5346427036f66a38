"""Build the weekly report without the UI, for a scheduled job.

    python -m reports.weekly --week 2026-W43 [--db PATH] --out DIR

writes DIR/handoff-weekly-2026-W43.html (self-contained, charts interactive, opens offline) and
DIR/handoff-weekly-2026-W43.md. Without --week: the last complete ISO week in the store.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from data import store
from queries import executor, weekly
from reports import html, markdown


def file_stem(label: str) -> str:
    """The exports' file name without extension, from the week's label (2026-W43)."""
    return f"handoff-weekly-{label}"


def build(monday: dt.date, db: Path | None = None) -> tuple[weekly.WeeklyReport, str, str]:
    """(report data, HTML text, Markdown text) for the ISO week starting `monday`."""
    report = weekly.week_report(monday, db=db)
    notes = weekly.meeting_notes(monday, db=db)
    return report, html.render(report, notes), markdown.render(report, notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports.weekly", description=__doc__.split("\n")[0])
    parser.add_argument("--week", help="ISO week such as 2026-W43 (default: the last complete week)")
    parser.add_argument("--db", type=Path, default=None, help="store file (default: $HANDOFF_DB)")
    parser.add_argument("--out", type=Path, required=True, help="directory to write the report into")
    args = parser.parse_args(argv)
    db = Path(args.db) if args.db else store.db_path()
    try:
        if args.week:
            monday = weekly.parse_week(args.week)
        else:
            _, latest = weekly.store_span(db)
            if latest is None:
                print(f"error: the store at {db} has no events; import data first.", file=sys.stderr)
                return 2
            monday = weekly.default_week(latest)
        report, html_text, md_text = build(monday, db=db)
    except weekly.WeekError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except executor.StoreMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    stem = file_stem(report.label)
    html_path = args.out / f"{stem}.html"
    md_path = args.out / f"{stem}.md"
    html_path.write_text(html_text, encoding="utf-8")
    md_path.write_text(md_text, encoding="utf-8")
    print(f"wrote {html_path} ({html_path.stat().st_size / 1e6:.1f} MB) and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
