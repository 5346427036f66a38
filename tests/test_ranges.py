"""The default date range comes from the data: the latest full period with starts, mature
where possible, never empty when the store has data (queries/ranges.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from queries import ranges

D = dt.date


def months(*spans) -> set[dt.date]:
    """First days of the months in [start, end] for each (start, end) span."""
    out = set()
    for start, end in spans:
        m = start.replace(day=1)
        while m <= end:
            out.add(m)
            m = D(m.year + (m.month == 12), m.month % 12 + 1, 1)
    return out


@pytest.mark.parametrize(
    ("first", "last", "as_of", "window", "starts", "expected", "mature"),
    [
        # The sample: two years of starts, 180-day window, as of 31 Oct 2026. Q3 2026 is over but
        # its window is open; Q1 2026 is the newest final quarter.
        (D(2024, 11, 1), D(2026, 10, 31), "2026-10-31 23:00", 180, None, ("2026-01-01", "2026-03-31"), True),
        # Leads stop six months before the last win: never the empty quarter before the win.
        (
            D(2024, 1, 3),
            D(2024, 6, 28),
            "2024-12-31 12:00",
            90,
            months((D(2024, 1, 1), D(2024, 6, 30))),
            ("2024-04-01", "2024-06-30"),
            True,
        ),
        # No window: nothing is mature by time, so the latest full quarter with starts.
        (
            D(2024, 11, 1),
            D(2026, 10, 31),
            "2026-10-31 23:00",
            None,
            None,
            ("2026-07-01", "2026-09-30"),
            False,
        ),
        # Data from 6 Jan: January (and so Q1) still counts as full.
        (
            D(2025, 1, 6),
            D(2025, 11, 3),
            "2025-11-03",
            60,
            months((D(2025, 1, 1), D(2025, 3, 31)), (D(2025, 11, 1), D(2025, 11, 3))),
            ("2025-01-01", "2025-03-31"),
            True,
        ),
        # Less than a full month of data: all of it.
        (D(2025, 1, 10), D(2025, 1, 20), "2025-01-25", 30, None, ("2025-01-10", "2025-01-20"), False),
        # A quarter without a single start is never the default: the month before it is.
        (
            D(2025, 1, 2),
            D(2025, 9, 1),
            "2025-09-02",
            30,
            {D(2025, 1, 1), D(2025, 2, 1), D(2025, 9, 1)},
            ("2025-01-01", "2025-03-31"),
            True,
        ),
    ],
)
def test_default_range(first, last, as_of, window, starts, expected, mature):
    chosen = ranges.choose(first, last, dt.datetime.fromisoformat(as_of), window, starts)
    assert (chosen.start.isoformat(), chosen.end.isoformat()) == expected
    assert chosen.is_mature is mature
