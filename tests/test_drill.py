"""The records behind every count on Funnel health (queries.drill): a list always holds exactly
as many records as the number it opens from, with name, company, owner and dates.

Story: leads starting in January 2025, window W = 30 days (in the filters), skip policy implied,
as of 30 June (every window over) unless a test says otherwise.

    A1 web       lead 2 Jan, MQL 3 Jan, SAL 4 Jan            -> stopped at SAL (window over)
    A2 web       lead 3 Jan, MQL 5 Jan, rejected 6 Jan        -> stopped at MQL (an exit)
    A3 events    lead 4 Jan                                   -> stopped at lead
    A4 outbound  SQL 5 Jan (Sales-sourced)                    -> lead, MQL, SAL by skip; stopped at SQL
    A5 events    lead 6 Jan ... won 20 Jan                    -> won

By hand: reached lead 5, MQL 4 (A1 A2 A4 A5), SAL 3 (A1 A4 A5), SQL 2 (A4 A5), opportunity 1,
won 1; skipped into lead, MQL and SAL 1 each (A4); dropped at lead 1 (A3), MQL 1 (A2), SAL 1
(A1), SQL 1 (A4), opportunity 0; nothing in progress.
"""

from __future__ import annotations

import datetime as dt

import pytest

from queries import drill, funnel
from queries.filters import FilterError, Filters
from tests import stories

WON = [
    ("sal", "2025-01-08"),
    ("sql", "2025-01-09"),
    ("opportunity", "2025-01-10"),
    ("won", "2025-01-20", None, 900),
]
STORY = {
    "A1": {
        "name": "Ana Ruiz",
        "company": "Acme",
        "events": [("lead", "2025-01-02"), ("mql", "2025-01-03"), ("sal", "2025-01-04")],
    },
    "A2": {
        "events": [("lead", "2025-01-03"), ("mql", "2025-01-05"), ("rejected", "2025-01-06", "not_a_fit")]
    },
    "A3": {"channel": "events", "events": [("lead", "2025-01-04")]},
    "A4": {"channel": "outbound", "events": [("sql", "2025-01-05")]},
    "A5": {"channel": "events", "events": [("lead", "2025-01-06"), ("mql", "2025-01-07"), *WON]},
}
JANUARY = dict(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31), window_days=30)
LATE = dt.datetime(2025, 6, 30, 23, 59, 59)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return stories.build(tmp_path_factory.mktemp("drill") / "drill.duckdb", STORY)


def ids(db, f, stage, status, **kw) -> list[str]:
    df = drill.cohort_records(f, stage, status, db=db, **kw)
    assert df.attrs["n_total"] == len(df)
    return sorted(df["lead_id"])


BY_HAND = {
    ("lead", "reached"): ["A1", "A2", "A3", "A4", "A5"],
    ("mql", "reached"): ["A1", "A2", "A4", "A5"],
    ("sal", "reached"): ["A1", "A4", "A5"],
    ("sql", "reached"): ["A4", "A5"],
    ("won", "reached"): ["A5"],
    ("lead", "skipped"): ["A4"],
    ("sal", "skipped"): ["A4"],
    ("lead", "dropped"): ["A3"],
    ("mql", "dropped"): ["A2"],
    ("sal", "dropped"): ["A1"],
    ("sql", "dropped"): ["A4"],
    ("opportunity", "dropped"): [],
    ("sal", "in_progress"): [],
}


@pytest.mark.parametrize(("cell", "expected"), BY_HAND.items(), ids=[f"{s}-{t}" for s, t in BY_HAND])
def test_records_behind_a_count_by_hand(db, cell, expected):
    assert ids(db, Filters(**JANUARY, as_of=LATE), *cell) == expected


@pytest.mark.parametrize("policy", ["implied", "strict"])
@pytest.mark.parametrize("as_of", [LATE, dt.datetime(2025, 1, 31, 23, 59, 59)])
def test_every_count_of_the_funnel_opens_to_as_many_records(db, policy, as_of):
    # Every number the funnel table shows, clicked: the list has exactly that many records.
    f = Filters(**JANUARY, as_of=as_of, skip_policy=policy)
    table = funnel.cohort_funnel(f, db=db)
    last = table[table["tracked"]]["stage"].iloc[-1]
    for r in table[table["tracked"]].itertuples():
        for status, (column, _) in drill.STATUSES.items():
            if status in ("in_progress", "dropped") and r.stage == last:
                continue
            got = drill.cohort_records(f, r.stage, status, db=db)
            assert got.attrs["n_total"] == getattr(r, column), (r.stage, status)


def test_in_progress_as_of_the_end_of_january(db):
    # On 31 January no window is over yet (A1's ends 1 February): only A2 had exited, so A1 is
    # in progress at SAL, A3 at lead and A4 at SQL.
    f = Filters(**JANUARY, as_of=dt.datetime(2025, 1, 31, 23, 59, 59))
    assert ids(db, f, "sal", "in_progress") == ["A1"]
    assert ids(db, f, "lead", "in_progress") == ["A3"]
    assert ids(db, f, "sql", "in_progress") == ["A4"]
    assert ids(db, f, "mql", "dropped") == ["A2"]


def test_a_breakdown_cell_opens_to_its_group(db):
    # SAL by channel: web A1, outbound A4, events A5 (one each, as breakdown() counts them).
    f = Filters(**JANUARY, as_of=LATE)
    b = funnel.breakdown(f, "channel", db=db)
    for r in b[(b["stage"] == "sal")].itertuples():
        got = drill.cohort_records(
            f, "sal", "reached", by="channel", group=r.group_value, grouped=True, db=db
        )
        assert got.attrs["n_total"] == r.n_reached
    assert ids(db, f, "sal", "reached", by="channel", group="web", grouped=True) == ["A1"]
    assert ids(db, f, "lead", "reached", by="channel", group="events", grouped=True) == ["A3", "A5"]


def test_a_record_reads_with_its_name_company_owner_and_dates(db):
    a1 = drill.cohort_records(Filters(**JANUARY, as_of=LATE), "sal", "dropped", db=db).iloc[0]
    assert (a1["lead_id"], a1["lead_name"], a1["company"], a1["owner_name"]) == (
        "A1",
        "Ana Ruiz",
        "Acme",
        "Priya Nair",
    )
    assert (a1["start_at"], a1["entered_at"], a1["reached_at"]) == (
        dt.datetime(2025, 1, 2),
        dt.datetime(2025, 1, 4),
        dt.datetime(2025, 1, 4),
    )
    # A4 reached SAL by a skip: no entry of its own, reached when it entered SQL.
    a4 = drill.cohort_records(Filters(**JANUARY, as_of=LATE), "sal", "skipped", db=db).iloc[0]
    assert a4["entered_at"] != a4["entered_at"] and a4["reached_at"] == dt.datetime(2025, 1, 5)
    a2 = drill.cohort_records(Filters(**JANUARY, as_of=LATE), "mql", "dropped", db=db).iloc[0]
    assert (a2["exit_type"], a2["exit_reason"]) == ("rejected", "not_a_fit")


def test_selections_the_funnel_never_shows_are_refused(db):
    f = Filters(**JANUARY, as_of=LATE)
    with pytest.raises(FilterError, match="records"):
        drill.cohort_records(f, "mql", "'; drop table leads; --", db=db)
    with pytest.raises(FilterError, match="stage"):
        drill.cohort_records(f, "nope", "reached", db=db)
    with pytest.raises(FilterError, match="last recorded stage"):
        drill.cohort_records(f, "won", "dropped", db=db)
    with pytest.raises(FilterError, match="group by"):
        drill.cohort_records(f, "mql", "reached", by="lead_name", group="x", grouped=True, db=db)
