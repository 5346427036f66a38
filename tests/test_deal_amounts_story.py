"""Open pipeline with amounts from a HubSpot deals export (preset hubspot_deals), imported through
the command line and read back through `python -m reports.summary --json`, against numbers worked
out by hand from the rows (the arithmetic is beside each expected number).

A deals export holds each deal's *current* Amount, Currency and Close Date once per row, and a
date-entered column per stage. Every stage entry carries that amount and close date
(`amount_on = "stages"`), so a deal is open at its amount in each stage it was in. The export has
no history of the amount: a later export restates it on every entry, and "amount up / down"
between two dates cannot be seen from this shape.

tests/fixtures/gap_hubspot_deals.csv (funnel proposed from the file; New York time, EST = UTC-5
in January, every entry at 10:00, so 15:00 UTC):

  9101  Appointment 6 Jan, Qualified To Buy 13 Jan, Presentation 27 Jan; 10,000 USD
  9102  Appointment 8 Jan, Qualified To Buy 20 Jan, won 3 Feb 12:00; 4,000 USD
  9103  Appointment 10 Jan, lost 24 Jan 12:00; 2,500 USD
  9104  Appointment 15 Jan (open); 7,000 EUR
  9105  Appointment 22 Jan (open); no amount

tests/fixtures/gap_hubspot_deals_later.csv, the same deals exported later: 9101's Amount is now
12,000 USD and its Close Date 15 Apr; 9104 entered Qualified To Buy on 5 Feb.
"""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.import_helpers import run_importer, summarise

FIXTURES = ROOT / "tests" / "fixtures"
ZERO = {"USD": 0.0, "EUR": 0.0}


def pipeline(s: dict) -> list[tuple]:
    return [
        (e["label"], e["n_opportunities"], e["n_with_amount"], e["amount"]) for e in s["pipeline"]["stages"]
    ]


@pytest.fixture(scope="module")
def deals(tmp_path_factory):
    db = tmp_path_factory.mktemp("deal_amounts") / "store.duckdb"
    files = [str(FIXTURES / "gap_hubspot_deals.csv"), "--mapping", "hubspot_deals", "--db", str(db)]
    out = run_importer(*files, "--accept-proposal")
    # Events: 9101 3, 9102 3, 9103 2, 9104 1, 9105 1 = 10.
    assert "rows in 5 = accepted 5 + rejected 0 + duplicate 0; 10 events" in out
    return db


def test_open_pipeline_carries_each_deals_amount(deals, capsys):
    s = summarise(capsys, deals, "--as-of", "2025-01-21")
    # End of 21 Jan: 9103 and 9104 in Appointment (2,500 USD; 7,000 EUR), 9101 (since 13 Jan)
    # and 9102 (since 20 Jan) in Qualified To Buy: 10,000 + 4,000 = 14,000 USD. 9105 does not
    # exist yet.
    assert pipeline(s) == [
        ("Appointment Scheduled", 2, 2, {"USD": 2500.0, "EUR": 7000.0}),
        ("Qualified To Buy", 2, 2, {"USD": 14000.0, "EUR": 0.0}),
        ("Presentation Scheduled", 0, 0, ZERO),
    ]
    # 2,500 + 14,000 = 16,500 USD; 7,000 EUR; never added up.
    assert s["pipeline"]["total"] == {
        "n_opportunities": 4,
        "amount": {"USD": 16500.0, "EUR": 7000.0},
        "amount_in": None,
    }


def test_a_deal_without_amount_is_open_without_one(deals, capsys):
    s = summarise(capsys, deals, "--as-of", "2025-01-31")
    # End of 31 Jan: 9103 lost (24 Jan). Appointment: 9104 (7,000 EUR) and 9105 (no amount: 1
    # of 2 carries one); Qualified To Buy: 9102 4,000 USD; Presentation: 9101 10,000 USD.
    assert pipeline(s) == [
        ("Appointment Scheduled", 2, 1, {"USD": 0.0, "EUR": 7000.0}),
        ("Qualified To Buy", 1, 1, {"USD": 4000.0, "EUR": 0.0}),
        ("Presentation Scheduled", 1, 1, {"USD": 10000.0, "EUR": 0.0}),
    ]
    # 4,000 + 10,000 = 14,000 USD.
    assert s["pipeline"]["total"]["amount"] == {"USD": 14000.0, "EUR": 7000.0}
    # Revenue is still the won entry's amount: 9102, 4,000 USD.
    assert summarise(capsys, deals, "--start", "2025-01-01", "--end", "2025-01-31")["outcomes"][
        "revenue"
    ] == {"USD": 4000.0}


def test_movement_adds_up_in_amounts(deals, capsys):
    s = summarise(capsys, deals, "--from", "2025-01-21", "--to", "2025-01-31")
    got = {
        b["bucket"]: (b["n_opportunities"], b["change"])
        for b in s["movement"]["buckets"]
        if b["n_opportunities"]
    }
    assert got == {
        "new": (1, ZERO),  # 9105, 22 Jan, no amount
        "lost": (1, {"USD": -2500.0, "EUR": 0.0}),  # 9103, 24 Jan
        "moved_forward": (1, ZERO),  # 9101, Qualified To Buy -> Presentation on 27 Jan
        "unchanged": (2, ZERO),  # 9102 (Qualified To Buy), 9104 (Appointment)
    }
    # 16,500 - 2,500 = 14,000 USD; 7,000 EUR both days. No amount moved: one export, one amount.
    assert s["movement"]["start"]["amount"] == {"USD": 16500.0, "EUR": 7000.0}
    assert s["movement"]["end"]["amount"] == {"USD": 14000.0, "EUR": 7000.0}


def test_a_later_export_restates_the_current_amount(tmp_path, capsys):
    db = tmp_path / "store.duckdb"
    run_importer(
        str(FIXTURES / "gap_hubspot_deals.csv"),
        "--mapping",
        "hubspot_deals",
        "--db",
        str(db),
        "--accept-proposal",
    )
    out = run_importer(
        str(FIXTURES / "gap_hubspot_deals_later.csv"), "--mapping", "hubspot_deals", "--db", str(db)
    )
    # 9101's three entries take its new amount and close date (not a conflict, not rejected);
    # 9104's Qualified To Buy is a new event; the other three rows hold nothing new.
    assert "rows in 5 = accepted 2 + rejected 0 + duplicate 3; 1 events" in out
    assert "3 stage entries given their deal's new amount or close date" in out
    s = summarise(capsys, db, "--as-of", "2025-01-21")
    # The export holds only the current amount, so 21 Jan is restated: 9101 at 12,000 now,
    # Qualified To Buy 12,000 + 4,000 = 16,000 USD.
    assert pipeline(s)[1] == ("Qualified To Buy", 2, 2, {"USD": 16000.0, "EUR": 0.0})
    s = summarise(capsys, db, "--as-of", "2025-02-06")
    # End of 6 Feb: 9102 won (3 Feb); 9104 in Qualified To Buy (5 Feb), 7,000 EUR.
    assert pipeline(s) == [
        ("Appointment Scheduled", 1, 0, ZERO),  # 9105
        ("Qualified To Buy", 1, 1, {"USD": 0.0, "EUR": 7000.0}),  # 9104
        ("Presentation Scheduled", 1, 1, {"USD": 12000.0, "EUR": 0.0}),  # 9101
    ]
