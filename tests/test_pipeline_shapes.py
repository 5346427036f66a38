"""The pipeline of the Spanish Salesforce export (data/examples/sf_es_Opportunity.csv and
sf_es_OpportunityHistory.csv, preset salesforce_opportunities) through the command line, as a new
user would: imported, then `python -m reports.summary` for the pipeline at 1 Mar 2025 and the
movement from 15 Feb to 15 Mar 2025, against numbers worked out by hand from the two files, and
the pipeline once more by an independent SQL computation over the raw history CSV.

The history, day by day (every row at 10:00 UTC; amounts in EUR but A5's, in USD on its record):
  A1 Norte     Prospección 7 Jan, Calificación 15 Jan, Propuesta 28 Jan, Negociación 10 Feb,
               won 24 Feb (10,000)
  A2 Sur       Prospección 9 Jan, Calificación 20 Jan, Propuesta 5 Feb, back to Calificación
               12 Feb, Propuesta 20 Feb, lost 5 Mar (8,000)
  A3 Este      Prospección 21 Jan, Calificación 1 Feb, lost 15 Feb, re-opened in Calificación
               1 Mar, Propuesta 10 Mar, Negociación 20 Mar, won 2 Apr (15,000)
  A4 Oeste     Prospección 4 Feb, Calificación 18 Feb (5,000)
  A5 Centro    Prospección 17 Feb, Propuesta 3 Mar, Negociación 14 Mar, won 31 Mar (USD 7,000)
  A6 Islas     Prospección 10 Mar, lost 25 Mar (2,000)
  A7 Montaña   from 6 May (4,000)
"""

from __future__ import annotations

import json

import duckdb
import pytest

from data import importer, rates
from reports import summary
from tests.conftest import ROOT

EXAMPLES = ROOT / "data" / "examples"
SPANISH = [EXAMPLES / "sf_es_Opportunity.csv", EXAMPLES / "sf_es_OpportunityHistory.csv"]


@pytest.fixture(scope="module")
def spanish(tmp_path_factory):
    db = tmp_path_factory.mktemp("sfes_pipeline") / "store.duckdb"
    args = [
        *(str(f) for f in SPANISH),
        "--mapping",
        "salesforce_opportunities",
        "--db",
        str(db),
        "--accept-proposal",
    ]
    assert importer.main(args) == 0
    return db


def summarise(capsys, db, *args) -> dict:
    assert summary.main(["--db", str(db), *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_pipeline_on_1_march(spanish, capsys):
    s = summarise(capsys, spanish, "--as-of", "2025-03-01")
    p = s["pipeline"]
    assert p["at"] == "2025-03-01"
    # Open at the end of 1 Mar: A5 in Prospección (Propuesta only on 3 Mar); A3 (re-opened that
    # morning) and A4 in Calificación; A2 in Propuesta. A1 is won; A6 and A7 do not exist yet.
    assert [(e["label"], e["n_opportunities"], e["amount"]) for e in p["stages"]] == [
        ("Prospección", 1, {"EUR": 0.0, "USD": 7000.0}),
        ("Calificación", 2, {"EUR": 20000.0, "USD": 0.0}),
        ("Propuesta", 1, {"EUR": 8000.0, "USD": 0.0}),
        ("Negociación", 0, {"EUR": 0.0, "USD": 0.0}),
    ]
    assert p["total"] == {"n_opportunities": 4, "amount": {"EUR": 28000.0, "USD": 7000.0}, "amount_in": None}
    # Every first stage row is by the owner's Sales team, and no contact is known: Sales-sourced.
    assert all(e["sourced"] == {"marketing": 0, "sales": e["n_opportunities"]} for e in p["stages"])


def test_the_movement_from_15_february_to_15_march(spanish, capsys):
    s = summarise(capsys, spanish, "--from", "2025-02-15", "--to", "2025-03-15")
    m = s["movement"]
    assert (m["from"], m["to"]) == ("2025-02-15", "2025-03-15")
    got = {b["bucket"]: (b["n_opportunities"], b["change"]) for b in m["buckets"] if b["n_opportunities"]}
    assert got == {
        # A5 (17 Feb, USD) and A6 (10 Mar) were created between the dates.
        "new": (2, {"EUR": 2000.0, "USD": 7000.0}),
        # A3 was lost on 15 Feb (before the end of that day) and open again from 1 Mar.
        "reopened": (1, {"EUR": 15000.0, "USD": 0.0}),
        "won": (1, {"EUR": -10000.0, "USD": 0.0}),  # A1, on 24 Feb
        "lost": (1, {"EUR": -8000.0, "USD": 0.0}),  # A2, on 5 Mar
        "moved_forward": (1, {"EUR": 0.0, "USD": 0.0}),  # A4, Prospección -> Calificación
    }
    # On 15 Feb: A1 (Negociación), A2 (Calificación), A4 (Prospección). On 15 Mar: A3, A4, A5, A6.
    assert m["start"] == {"n_opportunities": 3, "amount": {"EUR": 23000.0, "USD": 0.0}, "amount_in": None}
    assert m["end"] == {"n_opportunities": 4, "amount": {"EUR": 22000.0, "USD": 7000.0}, "amount_in": None}
    # The summary's pipeline is at the as-of day (the latest event, 30 Jun): only A4 is open,
    # in Calificación since 18 Feb.
    assert s["pipeline"]["at"] == "2025-06-30"
    assert s["pipeline"]["total"] == {"n_opportunities": 1, "amount": {"EUR": 5000.0}, "amount_in": None}


def test_with_a_dated_rate_the_totals_are_given_in_one_currency(spanish, capsys, tmp_path):
    db = tmp_path / "rated.duckdb"
    db.write_bytes(spanish.read_bytes())
    path = tmp_path / "rates.csv"
    path.write_text("currency,date,rate\nUSD,2025-01-01,0.92\n", encoding="utf-8")
    assert rates.main([str(path), "--base", "EUR", "--db", str(db)]) == 0
    capsys.readouterr()
    s = summarise(capsys, db, "--as-of", "2025-03-01", "--in", "EUR")
    assert s["pipeline"]["total"]["amount_in"] == pytest.approx(28000 + 7000 * 0.92)
    s = summarise(capsys, db, "--from", "2025-02-15", "--to", "2025-03-15", "--in", "eur")
    assert s["movement"]["end"]["amount_in"] == pytest.approx(22000 + 7000 * 0.92)
    new = next(b for b in s["movement"]["buckets"] if b["bucket"] == "new")
    assert new["change_in"] == pytest.approx(2000 + 7000 * 0.92)
    # The default cohort's won revenue (Q1): EUR 25,000 and A5's USD 7,000, won on 31 Mar.
    s = summarise(capsys, db, "--in", "EUR")
    assert s["outcomes"]["revenue"] == {"EUR": 25000.0, "USD": 7000.0}
    assert s["outcomes"]["revenue_in"] == {
        "currency": "EUR",
        "amount": pytest.approx(31440.0),
        "missing_rates": [],
    }
    # Without a rate towards USD, nothing is added up and the summary says what is missing.
    s = summarise(capsys, db, "--as-of", "2025-03-01", "--in", "USD")
    assert s["pipeline"]["total"]["amount_in"] is None
    # The earliest EUR amount open at either end (22 Feb, 1 Mar): A1's, set on 10 Feb.
    assert s["pipeline"]["missing_rates"] == [{"currency": "EUR", "since": "2025-02-10"}]
    assert s["outcomes"]["revenue_in"]["amount"] is None


def test_bad_movement_dates_exit_2(spanish, capsys):
    for args in (
        ["--from", "2025-03-15", "--to", "2025-02-15"],
        ["--to", "2025-07-01", "--as-of", "2025-06-01"],
    ):
        with pytest.raises(SystemExit) as exc:
            summary.main(["--db", str(spanish), *args])
        assert exc.value.code == 2
    with pytest.raises(SystemExit):
        summary.main(["--db", str(spanish), "--in", "euro"])


def test_the_pipeline_equals_an_independent_computation_over_the_csv():
    # Each opportunity's latest history row on or before the end of 1 Mar; open unless closed.
    con = duckdb.connect()
    rows = con.execute(
        """
        with
        history as (
            select "OpportunityId" as id, "StageName" as stage, "Amount"::decimal(14, 2) as amount,
                "CreatedDate"::timestamp as changed_at
            from read_csv($history, all_varchar = true, encoding = 'latin-1')
        ),
        records as (
            select "Id" as id, "CurrencyIsoCode" as currency from read_csv($records, all_varchar = true, encoding = 'latin-1')
        ),
        latest as (
            select id, arg_max(stage, changed_at) as stage, arg_max(amount, changed_at) as amount
            from history where changed_at <= timestamp '2025-03-01 23:59:59' group by id
        )
        select l.stage, r.currency, count(*), sum(l.amount)
        from latest as l join records as r using (id)
        where l.stage not in ('Cerrada ganada', 'Cerrada perdida')
        group by all order by all
        """,
        {"history": str(SPANISH[1]), "records": str(SPANISH[0])},
    ).fetchall()
    assert [(stage, cur, n, float(a)) for stage, cur, n, a in rows] == [
        ("Calificación", "EUR", 2, 20000.0),
        ("Propuesta", "EUR", 1, 8000.0),
        ("Prospección", "USD", 1, 7000.0),
    ]
