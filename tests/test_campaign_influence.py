"""Salesforce CampaignInfluence, imported with the other standard objects through the command line
(`python -m data.importer ... --mapping salesforce_objects`) and read back through
`python -m reports.summary --json` and the attribution (queries/attribution.py), against numbers
worked out by hand from the CSV rows.

CampaignInfluence names an opportunity and a contact, as OpportunityContactRole does, and was
read as contact roles: its campaign, Influence and RevenueShare were dropped, and its contacts
were added to the deals. It is a file of its own now (role `campaign_influence`): each row is a
touch of the contact's lead by the campaign, dated by CreatedDate; it never adds a contact to a
deal, and Influence, RevenueShare and ModelId are named in the import report as not used.

Files: data/examples/sf_CampaignInfluence.csv (first on the command line: the order never
matters), sf_Lead.csv, sf_Opportunity.csv, sf_OpportunityHistory.csv, sf_OpportunityContactRole.csv.

  leads      A1 converted to O1 as contact C1; A3 to O2 as C2; A6 to O3 as C3
  deals      O1 USD created 20 Jan 15:00, won 10 Mar, 12,000; contacts C1 (= A1), C9
             O2 USD created 25 Jan, lost 20 Feb, 8,000; contact C2 (= A3)
             O3 USD open, 20,000; its converted lead A6, no contact role
             O4 EUR won 15 Mar, 5,000; no person at all
  CampaignInfluence (campaign W1, W2, W3; models E1, E2)
    I1 W1 -> O1 via C1, E1, 50%, 6,000, 21 Jan 10:00
    I2 W2 -> O1 via C9, E1, 50%, 6,000, 22 Jan 10:00
    I3 W1 -> O1 via C1, E2, 100%, 12,000, 21 Jan 10:00  (another model: the same touch as I1)
    I4 W2 -> O2 via C2, E1, 100%, 8,000, 26 Jan 10:00
    I5 W3 -> O4 via C4, E1, 100%, 5,000, 13 Feb 10:00  (C4 is on no deal: no contact role)
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from data import contract as contract_mod
from data import import_mapping
from data.import_read import ImportRefused, pick_spec
from queries import attribution
from queries.filters import Filters
from tests.conftest import ROOT
from tests.test_native_bridge import run_importer, summarise

EXAMPLES = ROOT / "data" / "examples"
FILES = [
    EXAMPLES / "sf_CampaignInfluence.csv",
    EXAMPLES / "sf_Lead.csv",
    EXAMPLES / "sf_Opportunity.csv",
    EXAMPLES / "sf_OpportunityHistory.csv",
    EXAMPLES / "sf_OpportunityContactRole.csv",
]
Q1 = ("--start", "2025-01-01", "--end", "2025-03-31")
W1, W2, W3 = "7015g00000W1aAAA", "7015g00000W2aAAA", "7015g00000W3aAAA"


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    db = tmp_path_factory.mktemp("campaign_influence") / "store.duckdb"
    out = run_importer(
        *(str(f) for f in FILES), "--mapping", "salesforce_objects", "--db", str(db), "--accept-proposal"
    )
    return db, out


def query(db, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_campaign_influence_is_recognised_and_says_what_it_does_not_use(imported):
    _, out = imported
    line = next(x for x in out.splitlines() if x.startswith("sf_CampaignInfluence.csv"))
    # Its own role, never contact roles (it was read as contact_roles: "2 contacts on
    # opportunities added or changed", C4 on O4 among them). 5 rows: I3 gives I1's touch again (same contact,
    # campaign and date under another model) = a duplicate; 4 touches.
    assert line.startswith("sf_CampaignInfluence.csv (campaign_influence): rows in 5 = accepted 4 + ")
    assert "rejected 0 + duplicate 1" in line
    assert "4 campaign touches added" in line
    assert "contacts on opportunities" not in line
    assert "columns not used: Influence, RevenueShare, ModelId" in line


def test_campaign_influence_adds_touches_and_no_contact_role(imported, capsys):
    db, _ = imported
    # Each touch on the contact's lead: C1 is A1, C2 is A3 (their ConvertedContactId); C9 and C4
    # are contacts no lead became, kept as themselves. Dated by CreatedDate, Marketing's.
    assert query(db, "select lead_id, campaign, touched_at, team from touches order by touched_at") == [
        ("00Q5g00000A1aAAA", W1, dt.datetime(2025, 1, 21, 10), "marketing"),
        ("0035g00000C9aAAA", W2, dt.datetime(2025, 1, 22, 10), "marketing"),
        ("00Q5g00000A3aAAA", W2, dt.datetime(2025, 1, 26, 10), "marketing"),
        ("0035g00000C4aAAA", W3, dt.datetime(2025, 2, 13, 10), "marketing"),
    ]
    # The deals' people are only those of OpportunityContactRole and the conversions: O1 A1 and
    # C9, O2 A3, O3 A6 (converted) = 4; C4 is put on no deal (read as a contact role, it was O4's).
    assert query(db, "select opportunity_id, lead_id from opportunity_contacts order by all") == [
        ("0065g00000O1aAAA", "0035g00000C9aAAA"),
        ("0065g00000O1aAAA", "00Q5g00000A1aAAA"),
        ("0065g00000O2aAAA", "00Q5g00000A3aAAA"),
        ("0065g00000O3aAAA", "00Q5g00000A6aAAA"),
    ]
    s = summarise(capsys, db, *Q1, "--grain", "opportunity")
    b = s["bridge"]["opportunities"]
    # O1..O4 created in Q1. Contacts: O1 2, O2 1, O3 1, O4 0 (C4 stays off it): mean 4 / 4 = 1.
    assert b["n"] == 4
    assert b["n_without_contacts"] == 1
    assert b["contacts"]["distribution"] == {"0": 1, "1": 2, "2": 1, "3": 0, "4+": 0}
    # An influence row is recorded when the deal exists (CreatedDate 21 Jan is after O1's creation
    # on 20 Jan): a touch after the creation never makes a deal Marketing-sourced.
    assert b["n_marketing_touched"] == 0


def test_the_campaigns_are_credited_with_the_revenue_they_touched(imported):
    db, _ = imported
    q1 = Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 31))
    df = attribution.credits(q1, by="campaign", basis="revenue", db=db).set_index("group_key")
    # Won in Q1: O1 (12,000) and O4 (5,000). O1's people A1 and C9 were touched by W1 (21 Jan)
    # and W2 (22 Jan), both before its close on 10 Mar: first touch W1 12,000, last touch W2
    # 12,000, linear 6,000 each. O4 has no person, so C4's W3 touch is on no deal of its own:
    # its 5,000 is "(no touch)". Influence and RevenueShare (50% / 6,000) play no part: the
    # models weigh the touches. Each model's column sums to 12,000 + 5,000 = 17,000.
    assert df.loc[W1, ["credit_first_touch", "credit_last_touch", "credit_linear"]].tolist() == [
        12000,
        0,
        6000,
    ]
    assert df.loc[W2, ["credit_first_touch", "credit_last_touch", "credit_linear"]].tolist() == [
        0,
        12000,
        6000,
    ]
    assert df.loc["(no touch)", "credit_linear"] == 5000
    assert W3 not in df.index
    assert df["credit_linear"].sum() == pytest.approx(17000)
    # O1 is Marketing-influenced: a Marketing touch before it closed.
    src = attribution.sourcing(q1, db=db)
    assert src.loc[src["is_influenced"], "amount"].tolist() == [12000]


@pytest.mark.parametrize(
    "header",
    [
        "ContactId,RevenueShare,CreatedDate,OpportunityId,Influence,CampaignId,Id",
        "campaignid,opportunityid,contactid,createddate",  # no weight columns: still influence
    ],
)
def test_a_campaign_influence_header_in_any_order_is_never_contact_roles(header):
    mapping = import_mapping.load("salesforce_objects", contract_mod.load())
    assert pick_spec(mapping, header.split(","), "x.csv").role == "campaign_influence"


def test_campaign_influence_without_its_date_is_refused_not_read_as_contact_roles():
    mapping = import_mapping.load("salesforce_objects", contract_mod.load())
    with pytest.raises(
        ImportRefused, match="missing required column.*'CreatedDate' for a 'campaign_influence'"
    ):
        pick_spec(mapping, ["Id", "CampaignId", "OpportunityId", "ContactId", "Influence"], "x.csv")
    # OpportunityContactRole itself is still contact roles.
    assert pick_spec(mapping, ["Id", "OpportunityId", "ContactId", "Role"], "x.csv").role == "contact_roles"
