"""The benchmark's independent cross-check, proven on a hand-computed story, and a small run of
the whole benchmark so that it cannot rot (the 1M-lead run is `make bench`, not a test).

The story: leads starting in January 2025, a 30-day window (W), as of the latest event in the
store, which is Z's on 2025-02-20 12:00. A window is over when start + 30 days is before that.
The same expected counts are asserted for the ClickHouse SQL in tests/bench.py (raw events)
and for queries.funnel.cohort_funnel (journey tables): two implementations, one hand count.
"""

from __future__ import annotations

import datetime as dt
import re

import chdb.session
import pandas as pd
import pytest

from data import contract as contract_mod
from queries import funnel
from queries.filters import Filters
from tests import bench, stories

STORY = {
    # Ordered progress through all six stages, in time: won. Window over (Feb 1).
    "A": {
        "events": [
            ("lead", "2025-01-02"),
            ("mql", "2025-01-05"),
            ("sal", "2025-01-06"),
            ("sql", "2025-01-10"),
            ("opportunity", "2025-01-15"),
            ("won", "2025-01-20", None, 1000),
        ]
    },
    # Skipped SAL: implied reaches SAL by a skip and drops at SQL (exit); strict stops at MQL.
    "B": {
        "events": [
            ("lead", "2025-01-03"),
            ("mql", "2025-01-04"),
            ("sql", "2025-01-08"),
            ("disqualified", "2025-01-09", "no_budget"),
        ]
    },
    # Sales-sourced at SQL: starts Jan 10 (earliest entry); lead, mql, sal are skips under
    # implied; not in the strict cohort (no entry(1)). Window over Feb 9: dropped at opportunity.
    "C": {"channel": "partner", "events": [("sql", "2025-01-10"), ("opportunity", "2025-01-12")]},
    # MQL on Feb 10, after the range but inside the window (Feb 19): counts. Dropped at MQL
    # once the window is over (Feb 19 < Feb 20), with no exit.
    "D": {"channel": "partner", "events": [("lead", "2025-01-20"), ("mql", "2025-02-10")]},
    # MQL on Feb 10 is outside the window (Feb 4): does not count. Dropped at lead.
    "E": {"events": [("lead", "2025-01-05"), ("mql", "2025-02-10")]},
    # Recycled, then back: the second MQL is a re-entry (counted once), the exit is not final
    # since a stage event follows it. Window open until Feb 24: in progress at SAL.
    "F": {
        "events": [
            ("lead", "2025-01-25"),
            ("mql", "2025-01-26"),
            ("recycled", "2025-01-28", "not_ready"),
            ("mql", "2025-01-30"),
            ("sal", "2025-02-01"),
        ]
    },
    # Rejected at the very moment of its MQL: an exit not followed by a LATER stage event is
    # final, so dropped at MQL although its window is open (until Mar 2).
    "G": {
        "events": [
            ("lead", "2025-01-31 23:00"),
            ("mql", "2025-02-01 10:00"),
            ("rejected", "2025-02-01 10:00", "not_a_fit"),
        ]
    },
    # A lead and nothing since, window open (until Mar 1): in progress at lead, not dropped.
    "H": {"events": [("lead", "2025-01-30")]},
    # SAL dated before MQL: implied reaches SAL; strict's chain breaks there (stops at MQL).
    "I": {"events": [("lead", "2025-01-10"), ("mql", "2025-01-12"), ("sal", "2025-01-09")]},
    # MQL exactly 30 days after start: on the window's edge, which counts (entry <= start + W).
    "K": {"events": [("lead", "2025-01-06 00:00"), ("mql", "2025-02-05 00:00")]},
    # Starts after the range (not in the cohort); its event is the latest: the as-of moment.
    "Z": {"events": [("lead", "2025-02-20 12:00")]},
}

JANUARY = dict(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31), window_days=30)

# Per stage (lead, mql, sal, sql, opportunity, won): reached, skipped, in progress, dropped.
EXPECTED = {
    "implied": {
        # 10 leads start in January (all but Z). MQL: A B C D F G I K (E's MQL is late, H has
        # none). SAL: A B(skip) C(skip) F I. SQL: A B C. Opportunity: A C. Won: A.
        "n_reached": [10, 8, 5, 3, 2, 1],
        # C skips lead, mql and sal; B skips sal.
        "n_skipped": [1, 1, 2, 0, 0, 0],
        # H at lead, F at SAL: windows open and no final exit.
        "n_in_progress": [1, 0, 1, 0, 0, 0],
        # E at lead; D (window over), G (exit), K (window over) at MQL; I at SAL;
        # B at SQL (exit); C at opportunity (window over). Won has no drop-off.
        "n_dropped": [1, 3, 1, 1, 1, 0],
    },
    "strict": {
        # C is out (no entry(1)): 9 leads. MQL: A B D F G I K. SAL: A F only (B never entered
        # SAL; I's SAL is before its MQL). Then A alone.
        "n_reached": [9, 7, 2, 1, 1, 1],
        # Skips are still counted in the implied sense within the strict cohort: B into SAL.
        "n_skipped": [0, 0, 1, 0, 0, 0],
        "n_in_progress": [1, 0, 1, 0, 0, 0],
        # E at lead; B, D, G, I, K at MQL.
        "n_dropped": [1, 5, 0, 0, 0, 0],
    },
    # channel = partner: C and D only.
    "partner": {
        "n_reached": [2, 2, 1, 1, 1, 0],
        "n_skipped": [1, 1, 1, 0, 0, 0],
        "n_in_progress": [0, 0, 0, 0, 0, 0],
        "n_dropped": [0, 1, 0, 0, 1, 0],
    },
}

CASES = {
    "implied": Filters(**JANUARY, skip_policy="implied"),
    "strict": Filters(**JANUARY, skip_policy="strict"),
    "partner": Filters(**JANUARY, skip_policy="implied", channels=("partner",)),
}


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench_story")
    db = stories.build(tmp / "story.duckdb", STORY)
    return db, bench.export_events(db, tmp)


@pytest.fixture(scope="module")
def session():
    s = chdb.session.Session()
    yield s
    s.close()


def counts(df: pd.DataFrame) -> dict[str, list[int]]:
    return {c: [int(v) for v in df[c]] for c in bench.STAGE_COUNTS}


@pytest.mark.parametrize("case", sorted(CASES))
def test_clickhouse_funnel_matches_the_hand_count(story, session, case):
    db, paths = story
    contract = contract_mod.load()
    as_of = dt.datetime(2025, 2, 20, 12, 0)  # Z's lead event, the latest in the store
    theirs = bench.clickhouse_cohort_funnel(session, paths, contract, CASES[case], as_of)
    assert list(theirs["stage_order"]) == [1, 2, 3, 4, 5, 6]
    assert counts(theirs) == EXPECTED[case]


@pytest.mark.parametrize("case", sorted(CASES))
def test_our_funnel_matches_the_same_hand_count(story, case):
    db, _ = story
    ours = funnel.cohort_funnel(CASES[case], db=db)
    assert ours.attrs["as_of"] == dt.datetime(2025, 2, 20, 12, 0)
    assert counts(ours) == EXPECTED[case]


def test_compare_names_each_difference(story, session):
    # A one-lead difference in one count must be reported with its stage, count and both sides.
    db, paths = story
    contract = contract_mod.load()
    ours = funnel.cohort_funnel(CASES["implied"], db=db)
    theirs = bench.clickhouse_cohort_funnel(
        session, paths, contract, CASES["implied"], dt.datetime(2025, 2, 20, 12, 0)
    )
    assert bench.compare(ours, theirs) == []
    theirs.loc[theirs["stage_order"] == 3, "n_in_progress"] += 1  # one more lead in progress at SAL
    assert bench.compare(ours, theirs) == ["stage 3 (sal) n_in_progress: ours 1, ClickHouse 2 (diff -1)"]


def test_chdb_parameters_are_values_not_sql():
    # A filter value with quotes and a backslash stays one array element, escaped.
    assert bench.ch_value(["a'b", "c\\d"]) == "['a\\'b','c\\\\d']"
    assert bench.ch_value(True) == "true"
    assert bench.ch_value(7) == "7"


def test_micros_is_exact():
    # 2025-02-20 12:00 UTC = 1,740,052,800 s after 1970; one microsecond later stays exact.
    assert bench.micros(dt.datetime(2025, 2, 20, 12, 0)) == 1_740_052_800_000_000
    assert bench.micros(dt.datetime(2025, 2, 20, 12, 0, 0, 1)) == 1_740_052_800_000_001


@pytest.mark.slow
def test_small_benchmark_run(tmp_path, capsys):
    """The whole benchmark at 2,000 sample leads: every query timed, the cross-check exact on
    every case, and the last line the ratio to windowFunnel."""
    status = bench.main(["--leads", "2000", "--repeat", "1", "--workdir", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0, out
    checks = [line for line in out.splitlines() if line.startswith("check ")]
    assert len(checks) == 11, out  # 5 cases x 2 skip policies, and the breakdown by channel
    assert all(": exact (" in line for line in checks), out
    for label, name, _ in bench.QUERIES:
        assert bench.query_function(name) is not None, name
        assert re.search(rf"^\| {re.escape(label)} \| [\d,.]+ \| [\d,.]+ \|", out, re.M), label
    for page in ("Funnel health page", "Teams page", "Content page"):  # measured through their view()
        assert re.search(rf"^\| {page}, all queries, no cache \| [\d,.]+ \| [\d,.]+ \|", out, re.M), page
    assert re.search(r"^\| journey rebuild \| [\d,.]+ \|", out, re.M)
    # DuckDB and ClickHouse (embedded chdb) side by side: every page query and page on both.
    side = out[out.index("| page query (one process per engine) |") :].split("\n\n")[0].splitlines()
    assert side[0] == (
        "| page query (one process per engine) | duckdb cold ms | duckdb warm ms "
        "| clickhouse cold ms | clickhouse warm ms | clickhouse ÷ duckdb, warm |"
    )
    assert re.fullmatch(r"\| store ready .* \| [\d,.]+ \| \| [\d,.]+ \| \| \|", side[2]), side[2]
    labels = [label for label, _, _ in bench.QUERIES]
    labels += [f"{p}, all queries, no cache" for p in ("Funnel health page", "Teams page", "Content page")]
    assert [line.split(" | ")[0].removeprefix("| ") for line in side[3:]] == labels
    assert all(re.fullmatch(r"\| .+( \| [\d,.]+){5} \|", line) for line in side[3:]), side
    assert re.search(r"^\| reference: windowFunnel \(chdb, Parquet\) \| [\d,.]+ \| [\d,.]+ \|", out, re.M)
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(r"ratio_to_windowfunnel=(\d+\.\d+)", last)
    assert match, last
    assert float(match.group(1)) > 0


def test_a_sample_built_in_parts_merges_into_one_store_and_rebuilds(tmp_path):
    """The 10M benchmark's store is several samples merged (bench.merge_parts): the parts'
    derived tables are left to the rebuild, and every lead of every part is kept once."""
    import duckdb

    from data import store

    parts = [tmp_path / f"part{k}.duckdb" for k in range(2)]
    for k, part in enumerate(parts):
        store.build_sample(part, n_leads=300, seed=7 + k)
    merged = tmp_path / "merged.duckdb"
    bench.merge_parts(merged, parts, per_part=300)
    journeys = []
    for part in parts:
        with duckdb.connect(str(part), read_only=True) as p:
            journeys.append(p.execute("select count(*) from journey_leads").fetchone()[0])
    con = duckdb.connect(str(merged))  # as the benchmark's rebuild opens it: no schema upgrade
    try:
        store.rebuild_journey(con, contract_mod.load())
        n_leads, n_distinct = con.execute("select count(*), count(distinct lead_id) from leads").fetchone()
        n_journeys = con.execute("select count(*) from journey_leads").fetchone()[0]
        n_events = con.execute("select count(*) from events").fetchone()[0]
    finally:
        con.close()
    assert (n_leads, n_distinct) == (600, 600)
    expected_events = 0
    for part in parts:
        with duckdb.connect(str(part), read_only=True) as p:
            expected_events += p.execute("select count(*) from events").fetchone()[0]
    assert n_events == expected_events
    assert 0 < n_journeys <= 600
    # Every part's journeys are there, renumbered: the second part's ids start at 300.
    assert n_journeys == sum(journeys)
