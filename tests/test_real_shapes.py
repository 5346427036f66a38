"""Real export shapes imported the way a new user would, through the command line, each summary
(python -m reports.summary) asserted against numbers worked out by hand from the example files,
and the headline numbers once more by an independent SQL computation over the raw CSV.

Shapes (data/examples/):
- MQLs and won deals: mql_list.csv + won_deals.csv with mql_and_wins.toml (default stages; only
  MQL and won are recorded, no lost deals);
- opportunities by status: opportunities_status.csv with opportunities_status.toml (status, created
  and close dates, open ones without dates);
- Salesforce opportunities with their stage history in Spanish, cp1252: sf_es_Opportunity.csv +
  sf_es_OpportunityHistory.csv with the salesforce_opportunities preset.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from data import importer
from reports import summary
from tests.conftest import ROOT

EXAMPLES = ROOT / "data" / "examples"
MQLS = [EXAMPLES / "mql_list.csv", EXAMPLES / "won_deals.csv"]
STATUS = [EXAMPLES / "opportunities_status.csv"]
SPANISH = [EXAMPLES / "sf_es_Opportunity.csv", EXAMPLES / "sf_es_OpportunityHistory.csv"]


def cli(capsys, files, *args) -> tuple[int, str, str]:
    code = importer.main([*(str(f) for f in files), *(str(a) for a in args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def summarise(capsys, db, *args) -> dict:
    assert summary.main(["--db", str(db), *args]) == 0
    return json.loads(capsys.readouterr().out)


def reached(s: dict) -> dict:
    return {f["stage"]: f["n_reached"] for f in s["funnel"]}


def groups(s: dict, attribute: str) -> dict:
    return {
        g["value"]: (g["n_start"], g["n_won"], g["n_lost"], g["win_rate"]) for g in s["breakdown"][attribute]
    }


# --- MQLs and won deals --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mql_store(tmp_path_factory):
    db = tmp_path_factory.mktemp("mqls") / "store.duckdb"
    code = importer.main(
        [*(str(f) for f in MQLS), "--mapping", str(EXAMPLES / "mql_and_wins.toml"), "--db", str(db)]
    )
    assert code == 0
    return db


def test_mqls_and_wins_keep_the_default_stages_and_count_only_what_is_recorded(mql_store, capsys):
    s = summarise(capsys, mql_store, "--by", "channel", "--by", "segment", "--by", "owner")
    # Nothing but MQL and won is recorded: the other stages are shown, never counted.
    assert s["store"]["tracked_stages"] == ["mql", "won"]
    assert s["store"]["untracked_stages"] == ["lead", "sal", "sql", "opportunity"]
    # Default range: Q1 2025, final (31 Mar + 181 days is before the last win, 15 Oct).
    assert (s["view"]["start"], s["view"]["end"], s["view"]["is_mature"]) == (
        "2025-01-01",
        "2025-03-31",
        True,
    )
    # 8 MQLs in Q1 (the 9th is in April); won in time: A1, A2, A7. A5 won on 15 Oct, after its
    # 180-day window (25 Feb + 180 = 24 Aug): won only after the window.
    assert reached(s) == {"lead": None, "mql": 8, "sal": None, "sql": None, "opportunity": None, "won": 3}
    won = next(f for f in s["funnel"] if f["stage"] == "won")
    assert won["step_rate"] == pytest.approx(3 / 8)
    o = s["outcomes"]
    # No lost deal is in the data: no win rate, and the summary says so with nulls.
    assert (o["won"], o["lost"], o["win_rate"], o["after_window"], o["open"]) == (3, None, None, 1, 4)
    assert o["revenue"] == {"USD": 50000.0}  # 12,000 + 30,000 + 8,000
    # A1 45 days, A2 76, A7 44: median 45, p75 60.5, p90 69.8.
    assert s["time_to_win_days"] == {"median": 45.0, "p75": 60.5, "p90": pytest.approx(69.8), "n": 3}
    assert groups(s, "channel") == {
        "Web": (4, 1, None, None),
        "Events": (2, 1, None, None),
        "Paid": (2, 1, None, None),
    }
    assert groups(s, "segment") == {"SMB": (5, 2, None, None), "Enterprise": (3, 1, None, None)}
    # The MQL list names no owner; each deal's rep owns the record (the owner of its events).
    owners = {e["owner_id"]: (e["n_start"], e["n_won"]) for e in s["owners"]}
    assert owners == {"Dana Reyes": (2, 2), "Priya Nair": (2, 1), None: (4, 0)}
    # Sales' first action on an MQL is not recorded: nothing is charged for the SLA.
    assert s["drops"]["sla_measured"] is False
    assert s["monthly_cohorts"] == [
        {
            "month": "2025-01",
            "n_start": 2,
            "n_won": 2,
            "n_lost": None,
            "conversion": 1.0,
            "win_rate": None,
            "is_small": True,
            "is_mature": True,
        },
        {
            "month": "2025-02",
            "n_start": 3,
            "n_won": 0,
            "n_lost": None,
            "conversion": 0.0,
            "win_rate": None,
            "is_small": True,
            "is_mature": True,
        },
        {
            "month": "2025-03",
            "n_start": 3,
            "n_won": 1,
            "n_lost": None,
            "conversion": 1 / 3,
            "win_rate": None,
            "is_small": True,
            "is_mature": True,
        },
    ]


def test_a_hex_id_of_digits_and_one_e_is_not_taken_for_a_spreadsheet_number(mql_store):
    # 20250114000000000000000000000e12 is a real id, not 2.025E+40 rewritten by a spreadsheet.
    con = duckdb.connect()
    con.execute(f"attach '{mql_store}' as s (read_only)")
    n = con.execute(
        "select count(*) from s.leads where lead_id = '20250114000000000000000000000e12'"
    ).fetchone()[0]
    assert n == 1
    assert con.execute("select count(*) from s.import_issues").fetchone()[0] == 0


def test_the_mql_numbers_equal_an_independent_computation_over_the_csv():
    con = duckdb.connect()
    mqls, won = con.execute(
        """
        with
        mqls as (select "MQL ID" as id, "MQL Date"::date as at from read_csv($mqls, all_varchar = true)),
        wins as (select "MQL ID" as id, "Won Date"::date as at from read_csv($wins, all_varchar = true))
        select count(distinct m.id), count(distinct w.id) filter (where w.at <= m.at + interval 180 day)
        from mqls as m left join wins as w using (id)
        where m.at between '2025-01-01' and '2025-03-31'
        """,
        {"mqls": str(MQLS[0]), "wins": str(MQLS[1])},
    ).fetchone()
    assert (mqls, won) == (8, 3)


# --- Opportunities by status ---------------------------------------------------------------------


def test_a_status_export_into_a_new_store_asks_for_its_funnel_first(tmp_path, capsys):
    db = tmp_path / "status.duckdb"
    mapping = EXAMPLES / "opportunities_status.toml"
    code, _, err = cli(capsys, STATUS, "--mapping", mapping, "--db", db)
    assert code == 2 and not db.exists()
    assert "--propose > funnel.toml" in err and "--accept-proposal" in err
    code, out, _ = cli(capsys, STATUS, "--mapping", mapping, "--db", db, "--propose")
    assert code == 0 and not db.exists()  # nothing written
    assert "Stages in the order records usually reach them: Created → Won." in out
    assert "Open statuses with no date, counted as open records rather than stages" in out
    assert 'kind = "lost"' in out
    # The team edits the proposal (here: the window) and imports under it.
    funnel = tmp_path / "funnel.toml"
    funnel.write_text(
        out.replace("conversion_window_days = 60", "conversion_window_days = 90"), encoding="utf-8"
    )
    code, out, _ = cli(capsys, STATUS, "--mapping", mapping, "--db", db, "--contract", funnel)
    assert code == 0
    assert "rows in 10 = accepted 10 + rejected 0 + duplicate 0" in out
    assert "2 open records with no date kept as undated open pipeline" in out
    s = summarise(capsys, db)
    assert s["view"]["window_days"] == 90


@pytest.fixture(scope="module")
def status_store(tmp_path_factory):
    db = tmp_path_factory.mktemp("status") / "store.duckdb"
    code = importer.main(
        [
            str(STATUS[0]),
            "--mapping",
            str(EXAMPLES / "opportunities_status.toml"),
            "--db",
            str(db),
            "--accept-proposal",
        ]
    )
    assert code == 0
    return db


def test_opportunities_by_status(status_store, capsys):
    s = summarise(capsys, status_store, "--by", "channel", "--by", "owner")
    assert s["store"]["tracked_stages"] == ["created", "won"]
    # Window 60 days (the longest created -> close is O-102's 50 days); Q1 2025 is final by 1 Jul.
    assert (s["view"]["start"], s["view"]["end"], s["view"]["window_days"]) == (
        "2025-01-01",
        "2025-03-31",
        60,
    )
    # Q1: O-101..O-106. Won: O-101, O-103, O-106; lost: O-102, O-105; open: O-104 (its close date
    # is only an expected one). The open O-107 and O-110 have no date at all.
    assert reached(s) == {"created": 6, "won": 3}
    o = s["outcomes"]
    assert (o["won"], o["lost"], o["open"], o["decided"]) == (3, 2, 1, 5)
    assert o["win_rate"] == pytest.approx(0.6)
    assert o["revenue"] == {"EUR": 17000.0, "USD": 20000.0}  # never added up
    assert (o["undated_open"], o["undated_open_by_status"]) == (2, {"Discovery": 2})
    # O-101 45 days, O-103 40, O-106 46.
    assert s["time_to_win_days"] == {"median": 45.0, "p75": 45.5, "p90": pytest.approx(45.8), "n": 3}
    assert groups(s, "channel") == {
        "Web": (3, 2, 0, 1.0),
        "Partner": (2, 1, 1, 0.5),
        "Events": (1, 0, 1, 0.0),
    }
    assert groups(s, "owner") == {"Ana Ruiz": (3, 2, 1, pytest.approx(2 / 3)), "Ben Ode": (3, 1, 1, 0.5)}
    assert [(m["month"], m["n_start"], m["n_won"], m["n_lost"]) for m in s["monthly_cohorts"]] == [
        ("2025-01", 2, 1, 1),
        ("2025-02", 2, 1, 0),
        ("2025-03", 2, 1, 1),
    ]


def test_status_win_rate_equals_an_independent_computation_over_the_csv():
    con = duckdb.connect()
    won, lost = con.execute(
        """
        with rows as (
            select "Status" as status, try_cast("Created" as date) as created, try_cast("Close Date" as date) as closed
            from read_csv($path, all_varchar = true)
        )
        select count(*) filter (where status = 'Won' and closed <= created + interval 60 day),
               count(*) filter (where status = 'Lost' and closed <= created + interval 60 day)
        from rows where created between '2025-01-01' and '2025-03-31'
        """,
        {"path": str(STATUS[0])},
    ).fetchone()
    assert (won, lost) == (3, 2)


# --- Salesforce opportunities in Spanish, cp1252 ---------------------------------------------------


@pytest.fixture(scope="module")
def spanish_store(tmp_path_factory):
    db = tmp_path_factory.mktemp("sfes") / "store.duckdb"
    code = importer.main(
        [
            *(str(f) for f in SPANISH),
            "--mapping",
            "salesforce_opportunities",
            "--db",
            str(db),
            "--accept-proposal",
        ]
    )
    assert code == 0
    return db


def test_the_orgs_own_stages_are_proposed_in_order(capsys, tmp_path):
    code, out, _ = cli(
        capsys, SPANISH, "--mapping", "salesforce_opportunities", "--db", tmp_path / "x.duckdb", "--propose"
    )
    assert code == 0
    assert "Prospección → Calificación → Propuesta → Negociación → Cerrada ganada" in out
    assert "'Cerrada perdida' (lost)" in out
    assert "conversion_window_days = 90" in out  # Este: 21 Jan -> 2 Apr = 71 days


def test_salesforce_opportunities_with_stage_history(spanish_store, capsys):
    s = summarise(capsys, spanish_store, "--by", "channel", "--by", "owner")
    assert [f["label"] for f in s["funnel"]] == [
        "Prospección",
        "Calificación",
        "Propuesta",
        "Negociación",
        "Cerrada ganada",
    ]
    # Q1: A1..A6. Calificación: A1-A4, and A5 skipped it (implied); Propuesta: A1, A2, A3, A5;
    # Negociación and won: A1, A3 (2 Apr, inside its 90 days), A5.
    assert list(reached(s).values()) == [6, 5, 4, 3, 3]
    o = s["outcomes"]
    # Lost: A2 and A6. A3 was lost on 15 Feb but re-opened and won: its final outcome is won.
    assert (o["won"], o["lost"], o["open"]) == (3, 2, 1)
    assert o["win_rate"] == pytest.approx(0.6)
    assert o["revenue"] == {"EUR": 25000.0, "USD": 7000.0}  # A5 is in dollars (its record's currency)
    # A2 went back from Propuesta to Calificación; A3 re-opened after being lost.
    assert s["stage_history"] == {"n_stage_events": 23, "backward_moves": 1, "moved_back": 1, "reopened": 1}
    # A1 48 days, A3 71, A5 42.
    assert s["time_to_win_days"] == {"median": 48.0, "p75": 59.5, "p90": pytest.approx(66.4), "n": 3}
    assert groups(s, "channel") == {"Web": (3, 3, 0, 1.0), "Event": (2, 0, 1, 0.0), "Partner": (1, 0, 1, 0.0)}
    assert groups(s, "owner") == {
        "005X00000000001AAA": (3, 2, 1, pytest.approx(2 / 3)),
        "005X00000000002AAA": (3, 1, 1, 0.5),
    }
    assert [(m["month"], m["n_won"], m["n_lost"]) for m in s["monthly_cohorts"]] == [
        ("2025-01", 2, 1),
        ("2025-02", 1, 0),
        ("2025-03", 0, 1),
    ]
    # No Marketing handoff in an opportunity funnel: no SLA charged.
    assert s["drops"]["sla_measured"] is False


def test_spanish_win_rate_equals_an_independent_computation_over_the_csv():
    # Final outcome per opportunity from the raw history: its last closed stage, when no open
    # stage follows it; won or lost within 90 days of its first entry.
    con = duckdb.connect()
    won, lost = con.execute(
        """
        with
        history as (
            select "OpportunityId" as id, "StageName" as stage, "CreatedDate"::timestamp as changed_at
            from read_csv($path, all_varchar = true, encoding = 'latin-1')
        ),
        per_opp as (
            select id, min(changed_at) as start_at, arg_max(stage, changed_at) as last_stage,
                max(changed_at) as last_at
            from history group by id
        )
        select count(*) filter (where last_stage = 'Cerrada ganada' and last_at <= start_at + interval 90 day),
               count(*) filter (where last_stage = 'Cerrada perdida' and last_at <= start_at + interval 90 day)
        from per_opp where start_at >= '2025-01-01' and start_at < '2025-04-01'
        """,
        {"path": str(SPANISH[1])},
    ).fetchone()
    assert (won, lost) == (3, 2)


def test_re_importing_the_same_exports_changes_nothing(spanish_store, capsys):
    before = spanish_store.read_bytes()
    code, out, _ = cli(capsys, SPANISH, "--mapping", "salesforce_opportunities", "--db", spanish_store)
    assert code == 0 and "already imported" in out
    assert spanish_store.read_bytes() == before
