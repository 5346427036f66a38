"""Each shipped preset with its example export, imported the way a new user would (the command
line: `python -m data.importer ... --mapping PRESET`), then read back through
`python -m reports.summary --json`, against a funnel and a win rate worked out by hand from the
CSV (the arithmetic is beside each expected number).

Presets and examples (data/examples/):
- hubspot_contacts: hubspot_contacts.csv ("Became a … Date"), hubspot_contacts_v2.csv (internal
  names, `hs_v2_date_entered_*` with a custom stage id) and hubspot_contacts_v2_ui.csv
  (`Date entered "… (Lifecycle Stage Pipeline)"`);
- hubspot_deals: hubspot_deals.csv (date-entered columns, associated contact ids);
- salesforce_objects: sf_*.csv, Opportunity + OpportunityHistory alone, and Lead (cp1252),
  LeadHistory, Opportunity, OpportunityContactRole and CampaignMember given in a shuffled order;
- hubspot_fivetran: fivetran_*.csv (a sync's tables, history-mode versions included);
- a lookup file of reps joined by name: one only after normalising, one not at all.
"""

from __future__ import annotations

import json
import tomllib

import pytest

from data import importer
from reports import summary
from tests.conftest import ROOT
from tests.import_helpers import query

EXAMPLES = ROOT / "data" / "examples"
Q1 = ("--start", "2025-01-01", "--end", "2025-03-31")
JANUARY = ("--start", "2025-01-01", "--end", "2025-01-31")


def load(tmp_path_factory, name: str, files: list[str], mapping: str, *args: str):
    db = tmp_path_factory.mktemp(name) / "store.duckdb"
    code = importer.main([*(str(EXAMPLES / f) for f in files), "--mapping", mapping, "--db", str(db), *args])
    assert code == 0
    return db


def summarise(capsys, db, *args) -> dict:
    capsys.readouterr()
    assert summary.main(["--db", str(db), *args]) == 0
    return json.loads(capsys.readouterr().out)


def reached(s: dict) -> dict:
    return {f["stage"]: f["n_reached"] for f in s["funnel"]}


def skipped(s: dict) -> dict:
    return {f["stage"]: f["n_skipped"] for f in s["funnel"] if f["n_skipped"]}


def outcome(s: dict) -> tuple:
    o = s["outcomes"]
    return o["won"], o["lost"], o["open"], o["win_rate"]


# --- HubSpot contacts, first generation: "Became a … Date" ----------------------------------------


def test_hubspot_contacts_became_a_date(tmp_path_factory, capsys):
    db = load(tmp_path_factory, "hs1", ["hubspot_contacts.csv"], "hubspot_contacts")
    s = summarise(capsys, db, *JANUARY)
    # Every column is a default stage: no proposal, the default funnel.
    # January (New York time): 51234101..51234104; 51234106 became a lead on 31 Jan 21:30 New York,
    # 1 Feb 02:30 UTC, so February. MQL: 101, 102, 103. SAL: 101, and 103 passed it (its SQL
    # implies it). SQL: 101, 103. Opportunity: 101, 103. Customer (won): 101.
    assert reached(s) == {"lead": 4, "mql": 3, "sal": 2, "sql": 2, "opportunity": 2, "won": 1}
    assert skipped(s) == {"sal": 1}
    # A contacts export records no lost deal: no win rate. 102 was disqualified (an exit);
    # open: 103 and 104.
    assert outcome(s) == (1, None, 2, None)
    assert s["outcomes"]["other_exit"] == 1
    assert s["outcomes"]["revenue"] == {"": 12000.0}  # "12,000.00", no currency column
    # 101: 6 Jan 09:00 EST (14:00 UTC) -> 10 Mar 16:00 EDT (20:00 UTC) = 63 days 6 hours.
    assert s["time_to_win_days"]["median"] == pytest.approx(63.25)


# --- HubSpot contacts, second generation: hs_v2_date_entered_* and Date entered "…" ---------------


def test_hubspot_contacts_v2_internal_names_with_a_custom_stage(tmp_path_factory, capsys):
    files = ["hubspot_contacts_v2.csv"]
    db = tmp_path_factory.mktemp("hs2") / "store.duckdb"
    capsys.readouterr()
    code = importer.main(
        [str(EXAMPLES / files[0]), "--mapping", "hubspot_contacts", "--db", str(db), "--propose"]
    )
    out = capsys.readouterr().out
    assert code == 0 and not db.exists()
    # The custom stage id (a portal's "Sales accepted") is proposed after MQL, as its own stage.
    proposal = tomllib.loads(out)
    assert [st["key"] for st in proposal["stages"]] == [
        "lead",
        "mql",
        "s_3206386937",
        "sal",
        "sql",
        "opportunity",
        "won",
    ]
    db = load(tmp_path_factory, "hs2b", files, "hubspot_contacts", "--accept-proposal")
    s = summarise(capsys, db, *JANUARY)
    # Times carry Z: UTC. January: 7301..7305 (7306 is February).
    # MQL: 7301, 7302, 7303, 7305 (hs_v2_date_entered_marketingqualifiedlead; 7302's older
    # hs_lifecyclestage_marketingqualifiedlead_date is one more MQL date of the same contact).
    # 3206386937: 7301, 7305, and 7303 passed it on its way to SQL (implied).
    # SQL: 7301, 7303, 7305. Opportunity: 7301, 7303. Customer: 7301.
    # Exited dates and times in a stage (hs_v2_date_exited_*, *_time_in_*) are no stage.
    assert reached(s) == {
        "lead": 5,
        "mql": 4,
        "s_3206386937": 3,
        "sal": None,  # not recorded in this data: never counted
        "sql": 3,
        "opportunity": 2,
        "won": 1,
    }
    assert skipped(s) == {"s_3206386937": 1}
    assert outcome(s) == (1, None, 4, None)  # no lost outcome in a contacts export
    # 7301: 6 Jan 09:00 -> 10 Mar 16:00 UTC = 63 days 7 hours.
    assert s["time_to_win_days"]["median"] == pytest.approx(63 + 7 / 24)
    # February: 7306, which reached the custom stage and stands there.
    feb = summarise(capsys, db, "--start", "2025-02-01", "--end", "2025-02-28")
    assert reached(feb)["s_3206386937"] == 1


def test_hubspot_contacts_v2_ui_labels(tmp_path_factory, capsys):
    db = load(tmp_path_factory, "hs2ui", ["hubspot_contacts_v2_ui.csv"], "hubspot_contacts")
    s = summarise(capsys, db, *JANUARY)
    # Date entered "… (Lifecycle Stage Pipeline)": every label a default stage, no proposal.
    # 9101: all six; 9102: Lead, MQL; 9103: Lead, MQL, SAL, SQL. "Date exited" and "Cumulative
    # time in" are not stages.
    assert reached(s) == {"lead": 3, "mql": 3, "sal": 2, "sql": 2, "opportunity": 1, "won": 1}
    assert outcome(s) == (1, None, 2, None)
    # 9101: 6 Jan 09:00 EST -> 10 Mar 16:00 EDT = 63 days 6 hours.
    assert s["time_to_win_days"]["median"] == pytest.approx(63.25)


# --- HubSpot deals with their contacts -----------------------------------------------------------


@pytest.fixture(scope="module")
def deals_store(tmp_path_factory):
    return load(tmp_path_factory, "deals", ["hubspot_deals.csv"], "hubspot_deals", "--accept-proposal")


def test_hubspot_deals_per_deal(deals_store, capsys):
    s = summarise(capsys, deals_store, *Q1)
    assert s["view"]["grain"] == "opportunity"
    # 8801..8808, all created in Q1, all entered Appointment Scheduled.
    # Qualified To Buy: 8801, 8802, 8803, 8804, 8806, 8808 = 6.
    # Presentation Scheduled: 8801, 8803, 8804, 8806 = 4.
    # Decision Maker Bought-In: 8801, 8804, 8806, and 8803 skipped it to won = 4 (1 skipped).
    # Contract Sent: 8801, 8806, and 8803 skipped it = 3 (1 skipped). Closed Won: 8801, 8803, 8806.
    assert list(reached(s).values()) == [8, 6, 4, 4, 3, 3]
    assert list(skipped(s).values()) == [1, 1]
    # Lost: 8802, 8805, 8808; open: 8804, 8807. Win rate 3 / (3 + 3) = 0.5.
    assert outcome(s) == (3, 3, 2, 0.5)
    # Won amounts per currency: 12,000 + 5,000 USD (8801, 8803), 15,000 EUR (8806).
    assert s["outcomes"]["revenue"] == {"USD": 17000.0, "EUR": 15000.0}
    # 8801 45 days 6 h; 8803 48 days 2 h; 8806 38 days 1 h (10 Feb EST -> 20 Mar EDT): median 45.25.
    assert s["time_to_win_days"]["median"] == pytest.approx(45.25)


def test_hubspot_deals_per_person_through_their_associated_contacts(deals_store, capsys):
    s = summarise(capsys, deals_store, *Q1, "--grain", "lead")
    # Associated contacts: 51234101 and 51234103 (8801, won), 51234102 (8802, lost), 51234104
    # (8804, open), 51234106 (8806, won) = 5 people; 8803, 8805, 8807, 8808 name none.
    # Qualified To Buy: all five deals reached it. Presentation and Bought-In: 101, 103, 104,
    # 106. Contract Sent: 101, 103, 106. Won: 101, 103, 106.
    assert list(reached(s).values()) == [5, 5, 4, 4, 3, 3]
    # Won 3, lost 1 (102), open 1 (104): 3 / 4.
    assert outcome(s) == (3, 1, 1, 0.75)
    # 8801's amount once, though two of its contacts won with it.
    assert s["outcomes"]["revenue"] == {"EUR": 15000.0, "USD": 12000.0}


# --- Salesforce objects --------------------------------------------------------------------------


def test_salesforce_opportunity_and_history_alone(tmp_path_factory, capsys):
    db = load(
        tmp_path_factory,
        "sfo",
        ["sf_OpportunityHistory.csv", "sf_Opportunity.csv"],  # history first: files are recognised
        "salesforce_objects",
        "--accept-proposal",
    )
    s = summarise(capsys, db, *Q1)
    # O1: Prospecting, Qualification, Proposal/Price Quote, Negotiation/Review, Closed Won.
    # O2: Prospecting, Qualification, Closed Lost. O3: Prospecting .. Negotiation/Review (open).
    # O4: Prospecting, (Qualification, IsDeleted = true: no move), Proposal/Price Quote, Closed Won.
    # Qualification: O1, O2, O3, and O4 passed it = 4; Proposal: O1, O3, O4 = 3;
    # Negotiation: O1, O3, and O4 passed it = 3; won: O1, O4 = 2.
    assert reached(s) == {
        "prospecting": 4,
        "qualification": 4,
        "proposal_price_quote": 3,
        "negotiation_review": 3,
        "closed_won": 2,
    }
    assert skipped(s) == {"qualification": 1, "negotiation_review": 1}
    # Won O1, O4; lost O2; open O3: 2 / 3.
    assert outcome(s) == (2, 1, 1, pytest.approx(2 / 3))
    # O1 12,000 USD; O4 5,000 in EUR (its CurrencyIsoCode).
    assert s["outcomes"]["revenue"] == {"USD": 12000.0, "EUR": 5000.0}
    # O1 20 Jan 15:00 -> 10 Mar 10:00 = 48 days 19 h; O4 12 Feb -> 15 Mar 10:00 = 31 days.
    assert s["time_to_win_days"]["median"] == pytest.approx((48 + 19 / 24 + 31) / 2)


SHUFFLED = [
    "sf_CampaignMember.csv",
    "sf_OpportunityContactRole.csv",
    "sf_Opportunity.csv",
    "sf_LeadHistory.csv",
    "sf_Lead.csv",  # cp1252: "Chloé" is byte e9
]


def test_salesforce_leads_are_a_lead_funnel_whatever_else_the_mapping_has(tmp_path_factory, capsys):
    capsys.readouterr()
    db = tmp_path_factory.mktemp("sfp") / "store.duckdb"
    args = [*(str(EXAMPLES / f) for f in SHUFFLED), "--mapping", "salesforce_objects", "--db", str(db)]
    assert importer.main([*args, "--propose"]) == 0
    proposal = tomllib.loads(capsys.readouterr().out)
    # Only the Lead's statuses are dated (the Opportunity file has no stage history here): they
    # are the stages of people, not of opportunities.
    assert [(st["label"], st.get("grain", "lead")) for st in proposal["stages"]] == [
        ("Lead created", "lead"),
        ("Working - Contacted", "lead"),
        ("Closed - Converted", "lead"),
    ]
    assert [(e["label"], e["kind"]) for e in proposal["exits"]] == [
        ("Closed - Not Converted", "disqualified")
    ]


def test_salesforce_five_objects_in_a_shuffled_order(tmp_path_factory, capsys):
    assert (EXAMPLES / "sf_Lead.csv").read_bytes().count(b"Chlo\xe9") == 1  # cp1252, not UTF-8
    db = load(tmp_path_factory, "sf5", SHUFFLED, "salesforce_objects", "--accept-proposal")
    s = summarise(capsys, db, *Q1)
    # Leads A1..A6, all created in Q1 (A6 on 3 Feb). Working - Contacted (LeadHistory): A1, A2,
    # A3, A4, A6 = 5 (A5 is Open - Not Contacted, undated). Closed - Converted (ConvertedDate):
    # A1, A3, A6 = 3; their LeadHistory rows on the same days are the same moves, counted once.
    assert reached(s) == {"lead_created": 6, "working_contacted": 5, "closed_converted": 3}
    # Conversion is the last stage; no lost outcome: no win rate. A2 is Closed - Not Converted
    # (an exit); open: A4, A5.
    assert outcome(s) == (3, None, 2, None)
    assert s["outcomes"]["other_exit"] == 1
    # A1 13 Jan 09:00 -> 20 Jan (a date) = 6 days 15 h; A3 8 Jan 09:00 -> 25 Jan = 16 days 15 h;
    # A6 3 Feb 09:00 -> 10 Feb = 6 days 15 h: median 6.625.
    assert s["time_to_win_days"]["median"] == pytest.approx(6.625)
    assert [(m["month"], m["n_start"], m["n_won"]) for m in s["monthly_cohorts"]] == [
        ("2025-01", 5, 2),  # A1..A5; converted A1, A3
        ("2025-02", 1, 1),  # A6
    ]
    # U1 owns A1, A4, A5 (A1 converted); U2 owns A2, A3, A6 (A3, A6 converted).
    assert {e["owner_id"]: (e["n_start"], e["n_won"]) for e in s["owners"]} == {
        "0055g00000U1aAAA": (3, 1),
        "0055g00000U2aAAA": (3, 2),
    }
    # cp1252 read as such; the contact roles and campaign responses reach the leads the contacts
    # were converted from (C1 -> A1, C2 -> A3); C9 was never a lead and stays a contact id.
    assert query(db, "select lead_name from leads where lead_id = '00Q5g00000A3aAAA'") == [("Chloé Martin",)]
    assert sorted(query(db, "select opportunity_id, lead_id from opportunity_contacts")) == [
        ("0065g00000O1aAAA", "0035g00000C9aAAA"),
        ("0065g00000O1aAAA", "00Q5g00000A1aAAA"),  # its contact role and its conversion: one row
        ("0065g00000O2aAAA", "00Q5g00000A3aAAA"),
        ("0065g00000O3aAAA", "00Q5g00000A6aAAA"),  # A6's ConvertedOpportunityId
    ]
    # Responded members only (M3 was sent, never responded); M4 through its contact.
    assert sorted(query(db, "select lead_id, campaign from touches")) == [
        ("00Q5g00000A1aAAA", "7015g00000W1aAAA"),
        ("00Q5g00000A2aAAA", "7015g00000W1aAAA"),
        ("00Q5g00000A3aAAA", "7015g00000W2aAAA"),
    ]


# --- A HubSpot sync's tables (Fivetran) ----------------------------------------------------------

FIVETRAN = [
    "fivetran_deal_stage.csv",
    "fivetran_contact.csv",
    "fivetran_deal_contact.csv",
    "fivetran_contact_property_history.csv",
    "fivetran_deal.csv",
    "fivetran_deal_property_history.csv",
]


@pytest.fixture(scope="module")
def sync_store(tmp_path_factory):
    return load(tmp_path_factory, "sync", FIVETRAN, "hubspot_fivetran", "--accept-proposal")


def test_sync_tables_per_deal(sync_store, capsys):
    s = summarise(capsys, sync_store, *Q1, "--grain", "opportunity")
    # The default funnel, extended by the pipeline's own stages after Opportunity; closedwon is
    # the default's won, closedlost its lost.
    assert list(reached(s)) == ["opportunity", "appointment_scheduled", "qualified_to_buy", "won"]
    # Deals 9001..9004 (history-mode versions read once). Appointment Scheduled: all 4.
    # Qualified To Buy: 9001, 9002, 9003 = 3. Won: 9001, 9003 = 2. The deals' Opportunity stage
    # is a contact's lifecycle stage: passed by every deal (4 implied).
    assert reached(s) == {"opportunity": 4, "appointment_scheduled": 4, "qualified_to_buy": 3, "won": 2}
    # Lost 9002; open 9004: 2 / 3.
    assert outcome(s) == (2, 1, 1, pytest.approx(2 / 3))
    assert s["outcomes"]["revenue"] == {"USD": 17000.0}  # 12,000 + 5,000
    # 9003 went back from Qualified To Buy to Appointment Scheduled (deal_stage, 25 Jan).
    # Stage entries: 9001 3 (its two versions of one entry are one), 9002 2, 9003 5, 9004 1 = 11.
    assert s["stage_history"]["n_stage_events"] == 11
    assert s["stage_history"]["backward_moves"] == 1
    # 9001 6 Jan 10:00 -> 20 Feb 16:00 = 45 days 6 h; 9003 12 Jan 10:00 -> 1 Mar 12:00 = 48 days 2 h.
    assert s["time_to_win_days"]["median"] == pytest.approx((45.25 + 48 + 2 / 24) / 2)
    assert [(m["month"], m["n_start"], m["n_won"], m["n_lost"]) for m in s["monthly_cohorts"]] == [
        ("2025-01", 3, 2, 1),  # 9001, 9002, 9003
        ("2025-02", 1, 0, 0),  # 9004
    ]


def test_sync_tables_per_contact(sync_store, capsys):
    s = summarise(capsys, sync_store, *Q1, "--grain", "lead")
    # Contacts 7301 and 7302 (contact_property_history's lifecyclestage rows; the email row is
    # no move). Lead, MQL: both. Opportunity: 7301. Through deal 9001 (deal_contact): 7301
    # reached Appointment Scheduled, Qualified To Buy and won.
    assert reached(s) == {
        "lead": 2,
        "mql": 2,
        "sal": None,
        "sql": None,
        "opportunity": 1,
        "appointment_scheduled": 1,
        "qualified_to_buy": 1,
        "won": 1,
    }
    # Won 7301, open 7302, none lost: 1 / 1.
    assert outcome(s) == (1, 0, 1, 1.0)
    assert s["outcomes"]["revenue"] == {"USD": 12000.0}
    # 7301: 2 Jan 09:00 -> 20 Feb 16:00 = 49 days 7 h.
    assert s["time_to_win_days"]["median"] == pytest.approx(49 + 7 / 24)


def test_a_sync_s_deal_stage_table_alone_is_a_funnel_of_the_pipeline_s_stages(tmp_path_factory, capsys):
    # Only deal tables: the proposal is the pipeline's own stages (the contact tables' lifecycle
    # ids are aliases, so the mapping still loads under a funnel without the default's stages).
    db = load(
        tmp_path_factory, "dealstage", ["fivetran_deal_stage.csv"], "hubspot_fivetran", "--accept-proposal"
    )
    s = summarise(capsys, db, *Q1)
    # Appointment Scheduled: 9001..9004; Qualified To Buy: 9001, 9002, 9003; won: 9001, 9003.
    assert reached(s) == {"appointment_scheduled": 4, "qualified_to_buy": 3, "closed_won": 2}
    # Lost 9002 (its two history-mode versions are one), open 9004: 2 / 3.
    assert outcome(s) == (2, 1, 1, pytest.approx(2 / 3))


# --- A lookup file of reps, joined by name ---------------------------------------------------------

REPS_MAPPING = """
name = "Reps"
max_rejected_share = 0.5

[[files]]
role = "reps"
shape = "lookup"
target = "owners"
name = "Rep"

[files.lookup]
manager = "Manager"
office = "Office"
"""


def test_a_lookup_joins_names_after_normalising_and_rejects_those_that_match_nothing(tmp_path, capsys):
    db = tmp_path / "store.duckdb"
    status = [str(EXAMPLES / "opportunities_status.csv"), "--db", str(db)]
    mapping = str(EXAMPLES / "opportunities_status.toml")
    assert importer.main([*status, "--mapping", mapping, "--accept-proposal"]) == 0
    reps = tmp_path / "reps.csv"
    # "ana  ruiz." is Ana Ruiz once case, spaces and punctuation are set aside; Cara Diaz owns
    # nothing in the store.
    reps.write_text(
        'Rep,Manager,Office\n"ana  ruiz.",Mara Lind,Lisbon\nBen Ode,Mara Lind,Madrid\nCara Diaz,Ola Berg,Oslo\n'
    )
    (tmp_path / "reps.toml").write_text(REPS_MAPPING)
    capsys.readouterr()
    assert importer.main([str(reps), "--mapping", str(tmp_path / "reps.toml"), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "rows in 3 = accepted 2 + rejected 1 + duplicate 0" in out
    assert "2 lookup rows joined (1 only after normalising their name), 1 matched nothing (rejected)" in out
    assert "'Cara Diaz'" in out
    issues = query(db, "select row_number, severity, reason from import_issues order by row_number")
    assert issues == [
        (2, "flagged", "joined after normalising: 'ana  ruiz.' is owner 'Ana Ruiz'"),
        (
            4,
            "rejected",
            "no owner in the store (or an earlier file of this import) has the name 'Cara Diaz', even "
            "ignoring case, spaces and punctuation: nothing to join this row to",
        ),
    ]
    s = summarise(capsys, db, "--by", "manager", "--by", "office")
    # Q1 (the status test's numbers): Ana Ruiz 3 opportunities (won 2, lost 1), Ben Ode 3 (won 1,
    # lost 1); both have Mara Lind as manager, so she has all 6: won 3, lost 2, 3 / 5.
    man = {
        g["value"]: (g["n_start"], g["n_won"], g["n_lost"], g["win_rate"]) for g in s["breakdown"]["manager"]
    }
    assert man == {"Mara Lind": (6, 3, 2, pytest.approx(0.6))}
    office = {g["value"]: (g["n_start"], g["n_won"], g["n_lost"]) for g in s["breakdown"]["office"]}
    assert office == {"Lisbon": (3, 2, 1), "Madrid": (3, 1, 1)}


def test_counts_per_stage_before_an_import_are_the_entries_the_files_hold(tmp_path):
    # What the Data page shows before anything is written (importer.stage_counts), under the
    # funnel the files propose: entries only, no implied stages.
    from data.import_read import Source

    files = [Source.from_path(EXAMPLES / n) for n in ("sf_Opportunity.csv", "sf_OpportunityHistory.csv")]
    proposal = importer.propose_contract(files, "salesforce_objects")
    counts = importer.stage_counts(files, "salesforce_objects", contract=proposal.contract)
    # Prospecting: O1..O4; Qualification: O1, O2, O3 (O4's row is deleted); Proposal/Price Quote:
    # O1, O3, O4; Negotiation/Review: O1, O3; Closed Won: O1, O4; Closed Lost: O2.
    assert dict(zip(counts["label"], counts["records"], strict=True)) == {
        "Prospecting": 4,
        "Qualification": 3,
        "Proposal/Price Quote": 3,
        "Negotiation/Review": 2,
        "Closed Won": 2,
        "Closed Lost": 1,
    }
    # 4 opportunity rows and 16 history rows read, none rejected; nothing written anywhere.
    assert (counts.attrs["rows"], counts.attrs["rejected"], counts.attrs["refused"]) == (20, 0, {})
    assert list(tmp_path.iterdir()) == []
