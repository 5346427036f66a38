"""Converted leads and closed statuses from a Salesforce export in its native shapes (preset
salesforce_objects), imported through the command line and read back through
`python -m reports.summary --json`, against numbers worked out by hand from the rows (the
arithmetic is beside each expected number).

tests/fixtures/gap_sf_*.csv. The funnel is the one proposed from the files (Lead created →
Closed - Converted → Prospecting → Closed Won; Closed - Not Converted an exit of kind
disqualified), with the Lead's creation as the handoff (as in tests/test_native_bridge.py).
Times are UTC.

  Lead  G1 created 6 Jan 09:00, converted 10 Jan to P1 (ConvertedContactId K1; no
           ConvertedAccountId, no account of its own)
        G2 created 7 Jan 09:00, converted 14 Jan to P2 and account C2 (ConvertedAccountId)
        G3 8 Jan, Closed - Not Converted, no date of its own; LastModifiedDate 20 Jan 12:00
        G4 9 Jan, Closed - Not Converted, no date and no LastModifiedDate
        G5 13 Jan, Working - Contacted (open; its LastModifiedDate dates nothing)
        G6 14 Jan, Closed - Not Converted, LastModifiedDate 20 Feb; LeadHistory dates the
           status 22 Jan 11:00
  Opportunity  P1 account C1, created 10 Jan 10:00, won 10 Feb, 5,000 USD
               P2 account C2, created 14 Jan 10:00, Prospecting (open), 3,000 USD
               P3 account C3, created 16 Jan 10:00, Prospecting (open), 2,000 USD
  OpportunityContactRole  P1: K1 (= G1) Decision Maker, K8 Influencer; P3: K9 Economic Buyer.
               P2 has none: G2 is on it only as the lead it was converted from.
  Every owner is Sales (the preset's owner_team): nothing is Marketing-touched.
"""

from __future__ import annotations

import pytest

from queries import bridge, data_quality
from tests.conftest import ROOT
from tests.import_helpers import query, run_importer, summarise

FIXTURES = ROOT / "tests" / "fixtures"
Q1 = ("--start", "2025-01-01", "--end", "2025-03-31")
FILES = [
    FIXTURES / f"gap_sf_{name}.csv"
    for name in ("Lead", "LeadHistory", "Opportunity", "OpportunityHistory", "OpportunityContactRole")
]
G = "00Q7x00000G{}aAAA"  # lead ids
C = "0017x00000C{}aAAA"  # account ids


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("conversions")
    db = tmp / "store.duckdb"
    files = [str(f) for f in FILES]
    proposal = run_importer(*files, "--mapping", "salesforce_objects", "--propose")
    funnel = tmp / "funnel.toml"
    funnel.write_text(
        proposal.replace(
            'skip_policy = "implied"\n', 'skip_policy = "implied"\nhandoff_stage = "lead_created"\n'
        )
    )
    out = run_importer(*files, "--mapping", "salesforce_objects", "--db", str(db), "--contract", str(funnel))
    return db, out


def test_import_report_names_the_closed_statuses_without_a_date(store):
    _, out = store
    lead_line = next(line for line in out.splitlines() if line.startswith("gap_sf_Lead.csv"))
    # Flagged: G3 and G6 (dated by LastModifiedDate), G4 (no date at all) = 3.
    assert "rows in 6 = accepted 6 + rejected 0 + duplicate 0" in lead_line
    assert "3 rows flagged" in lead_line
    assert "2 exit statuses with no date of their own dated by the record's last change" in lead_line
    assert "1 exit statuses with no date at all (undated exits: the records count as open)" in lead_line


def test_a_closed_status_is_dated_by_the_last_change_or_shown_undated(store, capsys):
    db, _ = store
    s = summarise(capsys, db, *Q1, "--grain", "lead")
    # People: G1..G6, and K8, K9 (contacts, never leads) = 8. Won: G1 and K8 (P1). Another exit:
    # G3 (20 Jan, its LastModifiedDate) and G6 (22 Jan, LeadHistory) = 2. Open: G2 (P2), K9
    # (P3), G5 (Working), and G4, an undated exit = 4. 2 + 2 + 4 = 8.
    o = s["outcomes"]
    assert (o["won"], o["other_exit"], o["open"]) == (2, 2, 4)
    # The data-quality check lists G3 (dated by its last change) and G4 (undated); G6's exit is
    # dated by LeadHistory, so its LastModifiedDate is not used.
    dq = {c["key"]: c["n_failing"] for c in s["data_quality"]}
    assert dq["undated_exits"] == 2
    rows = data_quality.check_rows("undated_exits", db)
    assert [(r.lead_id, r.exit_type, r.dated_by) for r in rows.itertuples()] == [
        (G.format(3), "closed_not_converted", "last_change"),
        (G.format(4), "closed_not_converted", "none"),
    ]
    assert str(rows["occurred_at"].iloc[0]) == "2025-01-20 12:00:00"
    assert rows["status"].iloc[1] == "Closed - Not Converted"
    # One exit event for G6, LeadHistory's, never a second one dated 20 Feb.
    exits = "select strftime(occurred_at, '%Y-%m-%d %H:%M') from events where lead_id = $lead and event_type = $exit"
    assert query(db, exits, {"lead": G.format(6), "exit": "closed_not_converted"}) == [("2025-01-22 11:00",)]
    # An undated exit is not undated open pipeline either.
    assert o["undated_open"] == 0


def test_a_converted_lead_takes_its_accounts(store, capsys):
    db, _ = store
    b = summarise(capsys, db, *Q1)["bridge"]
    # G1: no account of its own, none converted into; its opportunity P1 names C1
    # (converted_opportunity). G2: converted into C2 (converted_account). G3..G6: none = 4.
    assert b["accounts"] == {
        "record": 0,
        "converted_account": 1,
        "converted_opportunity": 1,
        "domain": 0,
        "name": 0,
        "domain_and_name": 0,
        "ambiguous": 0,
        "conflict": 0,
        "none": 4,
    }
    m = b["mqls"]
    # MQLs (Lead created in Q1): G1..G6 = 6. Led to an opportunity: G1 -> P1, G2 -> P2 = 2. With an
    # opportunity on their account created on or after the MQL: G1 (C1: P1, 10 Jan >= 6 Jan),
    # G2 (C2: P2, 14 Jan >= 7 Jan) = 2 of 6.
    assert (m["n"], m["n_to_opportunity"], m["n_to_account_opportunity"]) == (6, 2, 2)
    assert m["account_rate"] == pytest.approx(2 / 6)
    # The rule that gave each its account is stored and listed with it.
    matched = bridge.matched_leads(db)
    assert [(r.lead_id, r.account_id, r.rule) for r in matched.itertuples()] == [
        (G.format(2), C.format(2), "converted_account"),
        (G.format(1), C.format(1), "converted_opportunity"),
    ]


def test_roles_covered_count_contact_roles_only(store, capsys):
    db, _ = store
    o = summarise(capsys, db, *Q1)["bridge"]["opportunities"]
    # People on each: P1 G1 (converted, and K1's Decision Maker role) and K8 = 2; P2 G2 (its
    # converted lead, no role row) = 1; P3 K9 = 1. Mean 4 / 3, median 1.
    assert o["n"] == 3 and o["n_without_contacts"] == 0
    assert o["contacts"] == {
        "mean": pytest.approx(4 / 3),
        "median": 1.0,
        "distribution": {"0": 0, "1": 2, "2": 1, "3": 0, "4+": 0},
    }
    # With a contact role: P1, P3 = 2. P2's converted lead is a person on it, not a role.
    assert o["n_with_role"] == 2
    assert {r["role"]: (r["n_opportunities"], r["share"], r["n_contacts"]) for r in o["roles"]} == {
        "Decision Maker": (1, pytest.approx(1 / 3), 1),  # P1 (K1 = G1)
        "Influencer": (1, pytest.approx(1 / 3), 1),  # P1 (K8)
        "Economic Buyer": (1, pytest.approx(1 / 3), 1),  # P3 (K9)
    }
