"""Both grains, the bridge between them, the pipeline at a date and its movement, from a Salesforce
export and a HubSpot export in their native shapes, imported through the command line
(`python -m data.importer ... --mapping PRESET`) and read back through
`python -m reports.summary --json`, against numbers worked out by hand from the CSV rows (the
arithmetic is beside each expected number).

Salesforce (preset salesforce_objects): data/examples/sf_Lead.csv, sf_Opportunity.csv,
sf_OpportunityHistory.csv, sf_OpportunityContactRole.csv, and tests/fixtures/native_sf_*.csv for
what the examples lack (O5..OD below). The funnel is the one proposed from the files, with the
Lead's creation named as the handoff (`handoff_stage = "lead_created"`: the Lead object is where
Marketing hands a person to Sales). Every time is UTC; every fixture row is at 10:00.

  leads      A1 created 13 Jan 09:00, converted 20 Jan to O1 (contact C1 is A1)
             A2  7 Jan, Closed - Not Converted (no date in the Lead file: an undated exit)
             A3  8 Jan 09:00, converted 25 Jan to O2 (C2 is A3)
             A4 13 Jan, Working - Contacted; A5 15 Jan, Open - Not Contacted (undated statuses)
             A6  3 Feb 09:00, converted 10 Feb to O3 (ConvertedOpportunityId, no contact role)
  opportunities, their history (amount, close date)
    O1 USD   Prospecting 20 Jan 15:00, Qualification 27 Jan, Proposal 5 Feb, Negotiation 20 Feb
             (close 10 Mar), won 10 Mar, 12,000; contacts C1=A1 Decision Maker, C9 Economic Buyer
    O2 USD   Prospecting 25 Jan 11:00, Qualification 1 Feb, lost 20 Feb, 8,000; C2=A3 Decision Maker
    O3 USD   Prospecting 10 Feb, Qualification 15 Feb, Proposal 25 Feb, Negotiation 5 Mar, 20,000
    O4 EUR   Prospecting 12 Feb, (Qualification 14 Feb, IsDeleted), Proposal 20 Feb, won 15 Mar, 5,000
    O5 USD   Prospecting 3 Feb, Qualification 10 Feb, Proposal 17 Feb, back to Qualification
             24 Feb, lost 26 Feb (20,000, close 31 Mar), re-opened in Qualification 10 Mar at
             18,000, close 30 Apr; contacts C5 Decision Maker, C6 Technical Buyer, C7 Influencer
    O6 EUR   Prospecting 17 Feb, Qualification 24 Feb (10,000, close 31 Mar), the same stage
             5 Mar with close 30 Apr
    O7 USD   Prospecting 18 Feb 6,000 (close 15 Apr), 6 Mar 7,500 (same close)
    O8 EUR   Prospecting 5 Feb, Qualification 12 Feb, Proposal 21 Feb, back to Qualification
             7 Mar, 9,000 (close 30 Apr); contact C8 Economic Buyer
    O9 USD   Prospecting 3 Mar, lost 12 Mar, 4,000
    OA USD   Prospecting 10 Feb, lost 11 Mar, 3,000
    OB USD   Prospecting 20 Feb, 2,500 (close 31 May)
    OC EUR   Prospecting 19 Feb 5,000 close 30 Apr; 12 Mar the same amount, close 31 Mar
    OD USD   Prospecting 19 Feb 8,000 close 15 May; 13 Mar 6,000, the same close
  Owners U1 and U2 are Sales (the preset's owner_team): no event is Marketing's.

HubSpot (presets hubspot_deals and hubspot_contacts): data/examples/hubspot_deals.csv,
hubspot_contacts.csv and tests/fixtures/native_hubspot_deal_contacts.csv (a deal associations
export with its labels), under tests/fixtures/native_hubspot_funnel.toml: the lifecycle stages
(lead, MQL = the handoff, SAL, SQL, opportunity), then the Sales Pipeline's stages per deal,
Closed Won the last (a contact's Customer date too), Closed Lost an exit. Times are New York's,
EST (UTC-5) until 9 Mar, EDT (UTC-4) after.

  contacts   101 lead 6 Jan, MQL 8 Jan 10:00, SAL, SQL, opportunity, customer (owner Priya Nair)
             102 lead 7 Jan, MQL 10 Jan 09:00, disqualified 11 Jan (Dana Reyes)
             103 lead 8 Jan, MQL 9 Jan 12:00, SQL, opportunity (Dana Reyes)
             104 lead 13 Jan 14:00 (no owner); 105 lead 2 Feb, MQL 4 Feb 09:00 (Priya Nair)
             106 lead 31 Jan 21:30 (no owner)
  deals      8801 6 Jan 10:00 .. won 20 Feb, 12,000 USD; contacts 101 Decision Maker, 103 Champion
             8802 8 Jan 10:00, QTB 15 Jan, lost 5 Feb; contact 102
             8803 12 Jan 10:00, QTB 20 Jan, Presentation 1 Feb, won 1 Mar, 5,000 USD; 103 Decision Maker
             8804 20 Jan, QTB 25 Jan, Presentation 10 Feb, Bought-In 20 Feb (open); contact 104
             8805 3 Feb, lost 15 Feb; 8806 10 Feb, QTB 14 Feb, Presentation 20 Feb, Bought-In
             1 Mar, Contract Sent 5 Mar, won 20 Mar, 15,000 EUR; 106 Decision Maker
             8807 2 Mar 10:00 (open); 105 Champion. 8808 10 Mar, QTB 12 Mar, lost 25 Mar
  A contact without an owner is Marketing's at its Lead date (the Lead stage's owner); owned
  contacts and every deal are Sales' (the presets' owner_team).
"""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.import_helpers import run_importer, summarise

EXAMPLES = ROOT / "data" / "examples"
FIXTURES = ROOT / "tests" / "fixtures"
Q1 = ("--start", "2025-01-01", "--end", "2025-03-31")

SALESFORCE = [
    EXAMPLES / "sf_Lead.csv",
    EXAMPLES / "sf_Opportunity.csv",
    EXAMPLES / "sf_OpportunityHistory.csv",
    EXAMPLES / "sf_OpportunityContactRole.csv",
    FIXTURES / "native_sf_Opportunity.csv",
    FIXTURES / "native_sf_OpportunityHistory.csv",
    FIXTURES / "native_sf_OpportunityContactRole.csv",
]


def reached(s: dict) -> dict:
    return {f["stage"]: f["n_reached"] for f in s["funnel"]}


def skipped(s: dict) -> dict:
    return {f["stage"]: f["n_skipped"] for f in s["funnel"] if f["n_skipped"]}


def outcome(s: dict) -> tuple:
    o = s["outcomes"]
    return o["won"], o["lost"], o["open"], o["win_rate"]


def pipeline(s: dict) -> list[tuple]:
    return [(e["label"], e["n_opportunities"], e["amount"]) for e in s["pipeline"]["stages"]]


def buckets(s: dict) -> dict:
    return {b["bucket"]: (b["n_opportunities"], b["change"]) for b in s["movement"]["buckets"]}


def roles(s: dict) -> dict:
    return {
        r["role"]: (r["n_opportunities"], r["share"], r["n_contacts"])
        for r in s["bridge"]["opportunities"]["roles"]
    }


# --- Salesforce: Lead, Opportunity, OpportunityHistory, OpportunityContactRole ------------------


@pytest.fixture(scope="module")
def salesforce(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("native_sf")
    db = tmp / "store.duckdb"
    files = [str(f) for f in SALESFORCE]
    # The documented flow: look at the proposal, edit it, import under it.
    proposal = run_importer(*files, "--mapping", "salesforce_objects", "--propose")
    assert "handoff_stage" not in proposal.split("[[stages]]")[0]
    funnel = tmp / "funnel.toml"
    funnel.write_text(
        proposal.replace(
            'skip_policy = "implied"\n', 'skip_policy = "implied"\nhandoff_stage = "lead_created"\n'
        )
    )
    run_importer(*files, "--mapping", "salesforce_objects", "--db", str(db), "--contract", str(funnel))
    return db


def test_salesforce_opportunity_grain(salesforce, capsys):
    s = summarise(capsys, salesforce, *Q1, "--grain", "opportunity")
    # O1..OD, 13 opportunities, all first in Prospecting in Q1 (O9 on 3 Mar, the last).
    # Qualification: O1, O2, O3, O5, O6, O8 = 6, and O4 passed it (its row is deleted) = 7.
    # Proposal/Price Quote: O1, O3, O4, O5, O8 = 5. Negotiation/Review: O1, O3, and O4 passed it
    # = 3. Closed Won: O1, O4 = 2.
    assert reached(s) == {
        "prospecting": 13,
        "qualification": 7,
        "proposal_price_quote": 5,
        "negotiation_review": 3,
        "closed_won": 2,
    }
    assert skipped(s) == {"qualification": 1, "negotiation_review": 1}  # O4, twice
    # Won O1, O4; lost O2, O9, OA (O5 was lost on 26 Feb, then re-opened on 10 Mar: open);
    # open O3, O5, O6, O7, O8, OB, OC, OD = 8. Win rate 2 / (2 + 3) = 0.4.
    assert outcome(s) == (2, 3, 8, pytest.approx(0.4))
    assert s["outcomes"]["revenue"] == {"USD": 12000.0, "EUR": 5000.0}  # O1, O4: never added up


def test_salesforce_lead_grain(salesforce, capsys):
    s = summarise(capsys, salesforce, *Q1, "--grain", "lead")
    # People: leads A1..A6, and the contacts C9 (O1), C5, C6, C7 (O5) and C8 (O8), never leads =
    # 11. Lead created: A1..A6 = 6, the 5 contacts passed it (implied). Closed - Converted: A1,
    # A3, A6 = 3, and the 5 contacts passed it = 8. Prospecting and Qualification: A1, C9 (O1),
    # A3 (O2), A6 (O3), C5, C6, C7 (O5), C8 (O8) = 8. Proposal: all but A3 (O2 never got there)
    # = 7. Negotiation: A1, C9 (O1), A6 (O3) = 3. Won: A1, C9 (O1) = 2.
    assert reached(s) == {
        "lead_created": 11,
        "closed_converted": 8,
        "prospecting": 8,
        "qualification": 8,
        "proposal_price_quote": 7,
        "negotiation_review": 3,
        "closed_won": 2,
    }
    assert skipped(s) == {"lead_created": 5, "closed_converted": 5}
    # Won A1, C9; lost A3 (O2). Open: A2 (its Closed - Not Converted has no date in the Lead
    # file, and the file has no LastModifiedDate: an undated exit, flagged by the import and
    # listed by data quality, not counted as an exit), A4, A5, A6 (O3), C5, C6, C7 (O5), C8 (O8)
    # = 8. 2 / 3.
    assert outcome(s) == (2, 1, 8, pytest.approx(2 / 3))
    assert {c["key"]: c["n_failing"] for c in s["data_quality"]}["undated_exits"] == 1  # A2
    # O1's 12,000 once, though two of its people won with it; O4 has no person.
    assert s["outcomes"]["revenue"] == {"USD": 12000.0}


def test_salesforce_bridge(salesforce, capsys):
    s = summarise(capsys, salesforce, *Q1)
    b = s["bridge"]
    assert b["has_opportunities"] is True and b["window_days"] == 60
    m = b["mqls"]
    # MQLs (Lead created in Q1): A1..A6 = 6. Led to an opportunity (converted, or a contact of
    # one created on or after the lead, within 60 days): A1 -> O1, A3 -> O2, A6 -> O3 = 3, 50%.
    assert (m["n"], m["n_to_opportunity"], m["rate"]) == (6, 3, 0.5)
    # A1 13 Jan 09:00 -> O1 20 Jan 15:00 = 7 d 6 h = 7.25; A3 8 Jan 09:00 -> O2 25 Jan 11:00 =
    # 17 d 2 h = 17.0833; A6 3 Feb 09:00 -> O3 10 Feb 10:00 = 7 d 1 h = 7.0417.
    # Sorted 7.0417, 7.25, 17.0833: median 7.25; p75 7.25 + 0.5 x 9.8333 = 12.1667;
    # p90 7.25 + 0.8 x 9.8333 = 15.1167.
    assert m["days"] == {
        "median": pytest.approx(7.25),
        "p75": pytest.approx(7.25 + 0.5 * (17 + 2 / 24 - 7.25)),
        "p90": pytest.approx(7.25 + 0.8 * (17 + 2 / 24 - 7.25)),
        "n": 3,
    }
    # The Lead file names no account of a lead's own, but A1, A3 and A6 were converted into O1,
    # O2 and O3, whose records name K1, K2 and K3: each converted lead has its opportunity's
    # account (rule converted_opportunity), created on or after its MQL: 3 of 6. A2, A4, A5:
    # no account, and no account has a name or domain to match them on.
    assert (m["n_to_account_opportunity"], m["account_rate"]) == (3, 0.5)
    assert (b["accounts"]["converted_opportunity"], b["accounts"]["none"]) == (3, 3)
    o = b["opportunities"]
    # 13 opportunities created in Q1; every event is by U1 or U2 (Sales): none Marketing-touched.
    assert (o["n"], o["n_marketing_touched"], o["n_sales_sourced"], o["sales_sourced_share"]) == (
        13,
        0,
        13,
        1.0,
    )
    # Contacts: O1 A1 (converted, and C1's role) and C9 = 2; O2 A3 = 1; O3 A6 (converted) = 1;
    # O5 C5, C6, C7 = 3; O8 C8 = 1; the other 8 (O4, O6, O7, O9, OA, OB, OC, OD) none.
    # Mean (2 + 1 + 1 + 3 + 1) / 13 = 8 / 13; the 7th of 13 sorted is a 0.
    assert o["n_without_contacts"] == 8
    assert o["contacts"] == {
        "mean": pytest.approx(8 / 13),
        "median": 0.0,
        "distribution": {"0": 8, "1": 3, "2": 1, "3": 1, "4+": 0},
    }
    # With a contact role (OpportunityContactRole rows only): O1, O2, O5, O8 = 4. O3's A6 is a
    # person on it (its converted lead) but has no role row: a conversion is no role.
    assert o["n_with_role"] == 4
    assert roles(s) == {
        "Decision Maker": (3, pytest.approx(3 / 13), 3),  # O1 (C1 = A1), O2 (C2 = A3), O5 (C5)
        "Economic Buyer": (2, pytest.approx(2 / 13), 2),  # O1 (C9), O8 (C8)
        "Technical Buyer": (1, pytest.approx(1 / 13), 1),  # O5 (C6)
        "Influencer": (1, pytest.approx(1 / 13), 1),  # O5 (C7)
    }
    # The bridge counts by date, whatever the grain counted.
    assert summarise(capsys, salesforce, *Q1, "--grain", "lead")["bridge"] == b


def test_salesforce_stage_history(salesforce, capsys):
    s = summarise(capsys, salesforce, *Q1, "--grain", "opportunity")
    h = s["stage_history"]
    # Stage rows of the 13 (the lost rows of O2, O5, O9 and OA are exits; O4's deleted row is
    # no move): O1 5, O2 2, O3 4, O4 3, O5 5, O6 3, O7 2, O8 4, O9 1, OA 1, OB 1, OC 2, OD 2 = 35.
    assert h["n_stage_events"] == 35
    # Backward: O5 Proposal -> Qualification on 24 Feb, O8 Proposal -> Qualification on 7 Mar = 2
    # (O5's 10 Mar Qualification follows its Qualification of 24 Feb: a re-open, not a move back).
    assert (h["backward_moves"], h["moved_back"], h["reopened"]) == (2, 2, 1)


def test_salesforce_pipeline_on_1_march(salesforce, capsys):
    s = summarise(capsys, salesforce, "--as-of", "2025-03-01")
    assert s["pipeline"]["at"] == "2025-03-01"
    # At the end of 1 Mar: O2 and O5 are lost, O9 does not exist yet.
    assert pipeline(s) == [
        # O7 6,000, OA 3,000, OB 2,500, OD 8,000 = 19,500 USD; OC 5,000 EUR
        ("Prospecting", 5, {"USD": 19500.0, "EUR": 5000.0}),
        ("Qualification", 1, {"USD": 0.0, "EUR": 10000.0}),  # O6
        # O3 20,000 USD; O4 5,000 + O8 9,000 = 14,000 EUR
        ("Proposal/Price Quote", 3, {"USD": 20000.0, "EUR": 14000.0}),
        ("Negotiation/Review", 1, {"USD": 12000.0, "EUR": 0.0}),  # O1
    ]
    # 5 + 1 + 3 + 1 = 10; USD 19,500 + 20,000 + 12,000 = 51,500; EUR 5,000 + 10,000 + 14,000.
    assert s["pipeline"]["total"] == {
        "n_opportunities": 10,
        "amount": {"USD": 51500.0, "EUR": 29000.0},
        "amount_in": None,
    }
    assert all(e["n_with_amount"] == e["n_opportunities"] for e in s["pipeline"]["stages"])
    assert all(
        e["sourced"] == {"marketing": 0, "sales": e["n_opportunities"]} for e in s["pipeline"]["stages"]
    )


def test_salesforce_movement_from_28_february_to_15_march(salesforce, capsys):
    s = summarise(capsys, salesforce, "--from", "2025-02-28", "--to", "2025-03-15")
    m = s["movement"]
    assert (m["from"], m["to"]) == ("2025-02-28", "2025-03-15")
    zero = {"USD": 0.0, "EUR": 0.0}
    assert buckets(s) == {
        "new": (1, zero),  # O9: created 3 Mar, lost 12 Mar: open at neither date
        "reopened": (1, {"USD": 18000.0, "EUR": 0.0}),  # O5: lost 26 Feb, open from 10 Mar at 18,000
        "won": (2, {"USD": -12000.0, "EUR": -5000.0}),  # O1 (10 Mar), O4 (15 Mar 10:00)
        "lost": (1, {"USD": -3000.0, "EUR": 0.0}),  # OA, 11 Mar
        "moved_forward": (1, zero),  # O3, Proposal -> Negotiation on 5 Mar
        "moved_back": (1, zero),  # O8, Proposal -> Qualification on 7 Mar
        "pushed_out": (1, zero),  # O6, Qualification both days, close 31 Mar -> 30 Apr
        "pulled_in": (1, zero),  # OC, Prospecting both days, close 30 Apr -> 31 Mar
        "amount_up": (1, {"USD": 1500.0, "EUR": 0.0}),  # O7, 6,000 -> 7,500
        "amount_down": (1, {"USD": -2000.0, "EUR": 0.0}),  # OD, 8,000 -> 6,000
        "unchanged": (1, zero),  # OB
    }  # O2: closed at both dates, in no bucket
    # 28 Feb as on 1 Mar (nothing happened on 1 Mar): 10, USD 51,500, EUR 29,000.
    assert m["start"] == {
        "n_opportunities": 10,
        "amount": {"USD": 51500.0, "EUR": 29000.0},
        "amount_in": None,
    }
    # 15 Mar: O3 20,000 + O5 18,000 + O7 7,500 + OB 2,500 + OD 6,000 = 54,000 USD
    # (= 51,500 + 18,000 - 12,000 - 3,000 + 1,500 - 2,000); O6 10,000 + O8 9,000 + OC 5,000 =
    # 24,000 EUR (= 29,000 - 5,000).
    assert m["end"] == {"n_opportunities": 8, "amount": {"USD": 54000.0, "EUR": 24000.0}, "amount_in": None}


# --- HubSpot: contacts, deals, associations -----------------------------------------------------


@pytest.fixture(scope="module")
def hubspot(tmp_path_factory):
    db = tmp_path_factory.mktemp("native_hs") / "store.duckdb"
    funnel = FIXTURES / "native_hubspot_funnel.toml"
    deals = [str(EXAMPLES / "hubspot_deals.csv"), "--mapping", "hubspot_deals", "--db", str(db)]
    run_importer(*deals, "--contract", str(funnel))
    contacts = [str(EXAMPLES / "hubspot_contacts.csv"), "--mapping", "hubspot_contacts", "--db", str(db)]
    run_importer(*contacts)
    associations = [str(FIXTURES / "native_hubspot_deal_contacts.csv"), "--mapping", "hubspot_deals"]
    out = run_importer(*associations, "--db", str(db))
    # 6 rows: 8804 -> 104, unlabelled, is already the deal's associated contact: a duplicate.
    assert "rows in 6 = accepted 5 + rejected 0 + duplicate 1" in out
    return db


def test_hubspot_deal_grain(hubspot, capsys):
    s = summarise(capsys, hubspot, *Q1, "--grain", "opportunity")
    # 8801..8808, all created in Q1. Qualified To Buy: 8801, 8802, 8803, 8804, 8806, 8808 = 6.
    # Presentation Scheduled: 8801, 8803, 8804, 8806 = 4. Bought-In: 8801, 8804, 8806, and 8803
    # passed it = 4. Contract Sent: 8801, 8806, and 8803 passed it = 3. Won: 8801, 8803, 8806.
    assert reached(s) == {
        "appointment_scheduled": 8,
        "qualified_to_buy": 6,
        "presentation_scheduled": 4,
        "decision_maker_bought_in": 4,
        "contract_sent": 3,
        "won": 3,
    }
    assert skipped(s) == {"decision_maker_bought_in": 1, "contract_sent": 1}  # 8803
    # Lost 8802, 8805, 8808; open 8804, 8807: 3 / (3 + 3) = 0.5.
    assert outcome(s) == (3, 3, 2, 0.5)
    # 8801 12,000 + 8803 5,000 USD; 8806 15,000 EUR.
    assert s["outcomes"]["revenue"] == {"USD": 17000.0, "EUR": 15000.0}
    # Stage entries (the lost exits apart): 8801 6, 8802 2, 8803 4, 8804 4, 8805 1, 8806 6,
    # 8807 1, 8808 2 = 26. A deals export holds each stage's latest entry date only: no move back.
    assert s["stage_history"] == {"n_stage_events": 26, "backward_moves": 0, "moved_back": 0, "reopened": 0}


def test_hubspot_contact_grain(hubspot, capsys):
    s = summarise(capsys, hubspot, *Q1, "--grain", "lead")
    # Contacts 101..106, all became a Lead in Q1 (106 on 1 Feb 02:30 UTC). Each is on a deal:
    # 101, 103 (8801, 8803), 102 (8802), 104 (8804), 105 (8807), 106 (8806), so each passed the
    # lifecycle stages before Appointment Scheduled. MQL own: 101, 102, 103, 105 (2 implied);
    # SAL own: 101 (5 implied); SQL and Opportunity own: 101, 103 (4 implied).
    # Qualified To Buy: all but 105 (8807 got no further) = 5. Presentation and Bought-In: 101,
    # 103 (8801), 104 (8804), 106 (8806) = 4. Contract Sent and won: 101, 103, 106 = 3.
    assert reached(s) == {
        "lead": 6,
        "mql": 6,
        "sal": 6,
        "sql": 6,
        "opportunity": 6,
        "appointment_scheduled": 6,
        "qualified_to_buy": 5,
        "presentation_scheduled": 4,
        "decision_maker_bought_in": 4,
        "contract_sent": 3,
        "won": 3,
    }
    assert skipped(s) == {"mql": 2, "sal": 5, "sql": 4, "opportunity": 4}
    # Won 101, 103, 106; lost 102 (8802 lost on 5 Feb, after its disqualification on 11 Jan was
    # followed by 8802's Qualified To Buy); open 104 (8804), 105 (8807). 3 / (3 + 1) = 0.75.
    assert outcome(s) == (3, 1, 2, 0.75)
    # Each won deal once: 8801 12,000 + 8803 5,000 USD (103 is on both), 8806 15,000 EUR.
    assert s["outcomes"]["revenue"] == {"USD": 17000.0, "EUR": 15000.0}


def test_hubspot_bridge(hubspot, capsys):
    s = summarise(capsys, hubspot, *Q1)
    b = s["bridge"]
    assert b["has_opportunities"] is True and b["window_days"] == 90
    m = b["mqls"]
    # MQLs in Q1: 101 (8 Jan), 102 (10 Jan), 103 (9 Jan), 105 (4 Feb) = 4. Led to a deal created
    # on or after the MQL: 103 -> 8803, 105 -> 8807 = 2 (101's 8801 and 102's 8802 were created
    # before their MQL).
    assert (m["n"], m["n_to_opportunity"], m["rate"]) == (4, 2, 0.5)
    # 103: MQL 9 Jan 12:00 EST -> 8803 12 Jan 10:00 EST = 2 d 22 h = 70 h;
    # 105: MQL 4 Feb 09:00 EST -> 8807 2 Mar 10:00 EST = 26 d 1 h = 625 h.
    # Median (70 + 625) / 2 h; p75 70 + 0.75 x 555 h; p90 70 + 0.9 x 555 h.
    assert m["days"] == {
        "median": pytest.approx(695 / 2 / 24),
        "p75": pytest.approx((70 + 0.75 * 555) / 24),
        "p90": pytest.approx((70 + 0.9 * 555) / 24),
        "n": 2,
    }
    assert (m["n_to_account_opportunity"], m["account_rate"]) == (0, 0.0)  # no account in either file
    o = b["opportunities"]
    # Marketing-touched: 8804 (104's Lead entry 13 Jan 14:00, before the deal's 20 Jan) and
    # 8806 (106's, 31 Jan 21:30, before 10 Feb): 104 and 106 have no owner, so their Lead entry
    # is the Lead stage's owner's, Marketing. The other 6 are Sales-sourced, 6 / 8 = 0.75.
    assert (o["n"], o["n_marketing_touched"], o["n_sales_sourced"], o["sales_sourced_share"]) == (
        8,
        2,
        6,
        0.75,
    )
    # Contacts: 8801 101, 103 = 2; 8802, 8803, 8804, 8806, 8807 one each; 8805, 8808 none.
    # Mean 7 / 8; sorted 0, 0, 1, 1, 1, 1, 1, 2: median 1.
    assert o["n_without_contacts"] == 2
    assert o["contacts"] == {
        "mean": 0.875,
        "median": 1.0,
        "distribution": {"0": 2, "1": 5, "2": 1, "3": 0, "4+": 0},
    }
    # With a label (the associations file): 8801, 8803, 8806, 8807 = 4.
    assert o["n_with_role"] == 4
    assert roles(s) == {
        "Decision Maker": (3, 0.375, 3),  # 8801 (101), 8803 (103), 8806 (106): 3 / 8
        "Champion": (2, 0.25, 2),  # 8801 (103), 8807 (105): 2 / 8
    }


def test_hubspot_pipeline_on_15_february(hubspot, capsys):
    s = summarise(capsys, hubspot, "--as-of", "2025-02-15")
    assert s["pipeline"]["at"] == "2025-02-15"
    # At the end of 15 Feb: 8802 lost 5 Feb, 8805 lost 15 Feb 12:00; 8807 and 8808 not created.
    # A deals export holds each deal's current Amount once per row; every stage entry carries
    # it (amount_on = "stages"), so each open deal is in its stage at that amount.
    zero = {"USD": 0.0, "EUR": 0.0}
    assert pipeline(s) == [
        ("Appointment Scheduled", 0, zero),
        ("Qualified To Buy", 1, {"USD": 0.0, "EUR": 15000.0}),  # 8806 (14 Feb), 15,000 EUR
        # 8803 (1 Feb) 5,000 + 8804 (10 Feb) 20,000 = 25,000 USD
        ("Presentation Scheduled", 2, {"USD": 25000.0, "EUR": 0.0}),
        ("Decision Maker Bought-In", 0, zero),
        ("Contract Sent", 1, {"USD": 12000.0, "EUR": 0.0}),  # 8801 (10 Feb), 12,000 USD
    ]
    # 25,000 + 12,000 = 37,000 USD; 15,000 EUR.
    assert s["pipeline"]["total"] == {
        "n_opportunities": 4,
        "amount": {"USD": 37000.0, "EUR": 15000.0},
        "amount_in": None,
    }
    assert all(e["n_with_amount"] == e["n_opportunities"] for e in s["pipeline"]["stages"])
    assert [e["sourced"]["marketing"] for e in s["pipeline"]["stages"]] == [0, 1, 1, 0, 0]  # 8806, 8804


def test_hubspot_movement_from_31_january_to_28_february(hubspot, capsys):
    s = summarise(capsys, hubspot, "--from", "2025-01-31", "--to", "2025-02-28")
    got = {k: n for k, (n, _) in buckets(s).items() if n}
    assert got == {
        "new": 2,  # 8805 (3 Feb, lost 15 Feb) and 8806 (10 Feb, in Presentation on 28 Feb)
        "won": 1,  # 8801, 20 Feb
        "lost": 1,  # 8802, 5 Feb
        "moved_forward": 2,  # 8803 QTB -> Presentation (1 Feb), 8804 QTB -> Bought-In (20 Feb)
    }
    # 31 Jan: 8801 (Presentation), 8802, 8803, 8804 (Qualified To Buy) = 4.
    # 28 Feb: 8803, 8804, 8806 = 3 (= 4 + 1 new open - 1 won - 1 lost).
    assert (s["movement"]["start"]["n_opportunities"], s["movement"]["end"]["n_opportunities"]) == (4, 3)
