"""An opportunity's field history: Salesforce's OpportunityFieldHistory (preset salesforce_objects)
and a HubSpot sync's deal_property_history (preset hubspot_fivetran), imported through the command
line and read back through `python -m reports.summary --json`, against numbers worked out by hand
from the rows (the arithmetic is beside each expected number).

An Amount change is the deal's amount from its CreatedDate on, a CloseDate change its close date
from then on: the Pipeline page's "amount up / down" and "close date pushed out / pulled in", and
the open pipeline at a date at the amount in force then. A StageName change is a stage move only
when no OpportunityHistory is imported with it (or before it): that file holds the same moves.

Salesforce, written below (every time UTC; the funnel proposed from the files):

  Opportunity  X1 Acme   USD, now 15,000, close 30 Apr, Qualification
               X2 Beta   USD, now 6,000, close 31 May, Qualification
               X3 Gamma  USD, now 9,000, close 30 Jun, Qualification
               X4 Delta  USD, 4,000, won 8 Mar; X5 Echo USD, 3,000, lost 9 Mar
  OpportunityHistory (its stage rows only: the amount each carried then)
               X1 Prospecting 3 Mar 10:00, Qualification 5 Mar 10:00, 10,000, close 30 Apr
               X2 Prospecting 4 Mar 10:00, Qualification 6 Mar 10:00, 8,000, close 31 May
               X3 Prospecting 4 Mar 11:00, Qualification 7 Mar 10:00, 9,000, close 30 Apr
               X4 Prospecting 3 Mar 11:00, Closed Won 8 Mar 10:00; X5 Prospecting 4 Mar 12:00,
               Closed Lost 9 Mar 10:00 (closed before any change below: in no movement)
  OpportunityFieldHistory
               X1 StageName Prospecting -> Qualification 5 Mar 10:00 (the same move as above)
               X1 Amount 10,000 -> 15,000 12 Mar 09:00
               X1 NextStep (no move) 12 Mar 09:05
               X2 Amount 8,000 -> 6,000 14 Mar 09:00
               X2 Amount 6,000 -> 5,000 15 Mar 09:00, IsDeleted = true (no change)
               X3 CloseDate 30 Apr -> 30 Jun 13 Mar 09:00
               X3 StageName Prospecting -> Qualification 7 Mar 10:00 (the same move as above)
               X4 StageName Prospecting -> Closed Won 8 Mar 10:00, X5 -> Closed Lost 9 Mar
               10:00 (the same moves as above)

HubSpot sync: data/examples/fivetran_*.csv. deal_property_history: 9001 amount 12,000 on 6 Jan;
9004 (open in Appointment Scheduled since 10 Feb) amount 3,000 and close date 30 Apr on 10 Feb,
amount 4,000 on 24 Feb 09:00, close date 30 May on 10 Mar 09:00; a dealname row is no move.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from data import importer
from tests import import_helpers
from tests.conftest import ROOT
from tests.import_helpers import run_importer

EXAMPLES = ROOT / "data" / "examples"

OPPORTUNITY = """\
Id,Name,AccountId,StageName,Amount,CurrencyIsoCode,CloseDate,IsClosed,IsWon,OwnerId,CreatedDate
006X00000000001AAA,Acme,001X1,Qualification,15000,USD,2025-04-30,false,false,005U1,2025-03-03T10:00:00.000Z
006X00000000002AAA,Beta,001X2,Qualification,6000,USD,2025-05-31,false,false,005U1,2025-03-04T10:00:00.000Z
006X00000000003AAA,Gamma,001X3,Qualification,9000,USD,2025-06-30,false,false,005U2,2025-03-04T11:00:00.000Z
006X00000000004AAA,Delta,001X4,Closed Won,4000,USD,2025-03-08,true,true,005U2,2025-03-03T11:00:00.000Z
006X00000000005AAA,Echo,001X5,Closed Lost,3000,USD,2025-03-09,true,false,005U1,2025-03-04T12:00:00.000Z
"""

OPPORTUNITY_HISTORY = """\
OpportunityId,StageName,Amount,CloseDate,Probability,CreatedDate,IsDeleted
006X00000000001AAA,Prospecting,10000,2025-04-30,10,2025-03-03T10:00:00.000Z,false
006X00000000001AAA,Qualification,10000,2025-04-30,20,2025-03-05T10:00:00.000Z,false
006X00000000002AAA,Prospecting,8000,2025-05-31,10,2025-03-04T10:00:00.000Z,false
006X00000000002AAA,Qualification,8000,2025-05-31,20,2025-03-06T10:00:00.000Z,false
006X00000000003AAA,Prospecting,9000,2025-04-30,10,2025-03-04T11:00:00.000Z,false
006X00000000003AAA,Qualification,9000,2025-04-30,20,2025-03-07T10:00:00.000Z,false
006X00000000004AAA,Prospecting,4000,2025-03-31,10,2025-03-03T11:00:00.000Z,false
006X00000000004AAA,Closed Won,4000,2025-03-08,100,2025-03-08T10:00:00.000Z,false
006X00000000005AAA,Prospecting,3000,2025-03-31,10,2025-03-04T12:00:00.000Z,false
006X00000000005AAA,Closed Lost,3000,2025-03-09,0,2025-03-09T10:00:00.000Z,false
"""

FIELD_HISTORY = """\
Id,OpportunityId,Field,OldValue,NewValue,CreatedDate,IsDeleted
017X01,006X00000000001AAA,StageName,Prospecting,Qualification,2025-03-05T10:00:00.000Z,false
017X02,006X00000000001AAA,Amount,10000,15000,2025-03-12T09:00:00.000Z,false
017X03,006X00000000001AAA,NextStep,Call,Demo,2025-03-12T09:05:00.000Z,false
017X04,006X00000000002AAA,Amount,8000,6000,2025-03-14T09:00:00.000Z,false
017X05,006X00000000002AAA,Amount,6000,5000,2025-03-15T09:00:00.000Z,true
017X06,006X00000000003AAA,CloseDate,2025-04-30,2025-06-30,2025-03-13T09:00:00.000Z,false
017X07,006X00000000003AAA,StageName,Prospecting,Qualification,2025-03-07T10:00:00.000Z,false
017X08,006X00000000004AAA,StageName,Prospecting,Closed Won,2025-03-08T10:00:00.000Z,false
017X09,006X00000000005AAA,StageName,Prospecting,Closed Lost,2025-03-09T10:00:00.000Z,false
"""

USD0 = {"USD": 0.0}


def summarise(capsys, db, *args) -> dict:
    """The summary of the opportunities (the grain these stories count)."""
    return import_helpers.summarise(capsys, db, "--grain", "opportunity", *args)


def moved(s: dict) -> dict:
    return {
        b["bucket"]: (b["n_opportunities"], b["change"])
        for b in s["movement"]["buckets"]
        if b["n_opportunities"]
    }


def open_by_stage(s: dict) -> dict:
    return {
        e["label"]: (e["n_opportunities"], e["n_with_amount"], e["amount"]) for e in s["pipeline"]["stages"]
    }


def write_sf(tmp_path, with_history: bool = True) -> list[str]:
    files = {"OpportunityFieldHistory.csv": FIELD_HISTORY, "Opportunity.csv": OPPORTUNITY}
    if with_history:
        files["OpportunityHistory.csv"] = OPPORTUNITY_HISTORY
    out = []
    for name, text in files.items():  # the field history first: files are recognised by header
        (tmp_path / name).write_text(text, encoding="utf-8")
        out.append(str(tmp_path / name))
    return out


@pytest.fixture(scope="module")
def sf_store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("field_history")
    db = tmp / "store.duckdb"
    out = run_importer(
        *write_sf(tmp), "--mapping", "salesforce_objects", "--db", str(db), "--accept-proposal"
    )
    # 9 rows: 3 changes stored (X1's and X2's amounts, X3's close date); the 4 StageName rows
    # (OpportunityHistory has the moves), the NextStep row and the deleted row: no event.
    assert (
        "OpportunityFieldHistory.csv (opportunity_field_history): rows in 9 = accepted 9 + rejected 0 "
        "+ duplicate 0; 3 events" in out
    )
    assert "6 accepted rows carry no funnel event" in out
    return db


def test_an_amount_change_is_amount_up_or_down_in_the_movement(sf_store, capsys):
    s = summarise(capsys, sf_store, "--from", "2025-03-10", "--to", "2025-03-14")
    # Open at both ends of day, all in Qualification since 5, 6 and 7 Mar.
    assert moved(s) == {
        "pushed_out": (1, USD0),  # X3: close 30 Apr -> 30 Jun on 13 Mar, 9,000 both days
        "amount_up": (1, {"USD": 5000.0}),  # X1: 10,000 -> 15,000 on 12 Mar
        "amount_down": (1, {"USD": -2000.0}),  # X2: 8,000 -> 6,000 on 14 Mar (the 5,000 row is deleted)
    }
    # 10,000 + 8,000 + 9,000 = 27,000 on 10 Mar; 15,000 + 6,000 + 9,000 = 30,000 on 14 Mar;
    # 27,000 + 5,000 - 2,000 + 0 = 30,000.
    assert s["movement"]["start"] == {"n_opportunities": 3, "amount": {"USD": 27000.0}, "amount_in": None}
    assert s["movement"]["end"] == {"n_opportunities": 3, "amount": {"USD": 30000.0}, "amount_in": None}


def test_the_open_pipeline_at_a_date_has_the_amount_in_force_then(sf_store, capsys):
    # End of 13 Mar: X1 at 15,000 (since 12 Mar), X2 still 8,000 (its change is on 14 Mar), X3
    # 9,000: 32,000 in Qualification.
    s = summarise(capsys, sf_store, "--as-of", "2025-03-13")
    assert open_by_stage(s) == {"Prospecting": (0, 0, USD0), "Qualification": (3, 3, {"USD": 32000.0})}
    # End of 11 Mar, before any change: 10,000 + 8,000 + 9,000 = 27,000.
    s = summarise(capsys, sf_store, "--as-of", "2025-03-11")
    assert open_by_stage(s)["Qualification"] == (3, 3, {"USD": 27000.0})


def test_stage_changes_count_once_when_opportunity_history_is_given(sf_store, capsys):
    s = summarise(capsys, sf_store, "--start", "2025-03-01", "--end", "2025-03-31")
    # OpportunityHistory's stage rows are the entries: X1, X2, X3 2 each, X4 2, X5 1 (its
    # Closed Lost is an exit) = 9; the 4 StageName rows of the field history add none.
    assert s["stage_history"]["n_stage_events"] == 9
    # Prospecting: all 5. Qualification: X1, X2, X3 and X4 (won without it: implied) = 4, each
    # once. Won: X4.
    assert {f["stage"]: f["n_reached"] for f in s["funnel"]} == {
        "prospecting": 5,
        "qualification": 4,
        "closed_won": 1,
    }


def test_stage_changes_are_moves_without_opportunity_history(tmp_path, capsys):
    db = tmp_path / "store.duckdb"
    out = run_importer(
        *write_sf(tmp_path, with_history=False),
        "--mapping",
        "salesforce_objects",
        "--db",
        str(db),
        "--accept-proposal",
    )
    # Now the 4 StageName rows are moves too: 3 changes + 4 = 7 events; NextStep, deleted: none.
    assert "rows in 9 = accepted 9 + rejected 0 + duplicate 0; 7 events" in out
    # End of 13 Mar: X1 entered Qualification on 5 Mar, X3 on 7 Mar (X2's move is not in this
    # history: it is in no stage). Amounts: only the field history sets them here, X1 15,000
    # (12 Mar); X3 has a close date change only.
    s = summarise(capsys, db, "--as-of", "2025-03-13")
    assert open_by_stage(s)["Qualification"] == (2, 1, {"USD": 15000.0})


def test_opportunity_history_imported_before_keeps_stage_changes_out(tmp_path, capsys):
    db = tmp_path / "store.duckdb"
    *field_history, opportunity, history = write_sf(tmp_path)
    run_importer(
        opportunity, history, "--mapping", "salesforce_objects", "--db", str(db), "--accept-proposal"
    )
    out = run_importer(*field_history, "--mapping", "salesforce_objects", "--db", str(db))
    # The store holds an OpportunityHistory: the StageName rows are no move, 3 changes stored.
    assert "rows in 9 = accepted 9 + rejected 0 + duplicate 0; 3 events" in out
    s = summarise(capsys, db, "--start", "2025-03-01", "--end", "2025-03-31")
    assert s["stage_history"]["n_stage_events"] == 9  # as when both are imported together


# --- A HubSpot sync: deal_property_history -------------------------------------------------------

FIVETRAN = sorted(p.name for p in EXAMPLES.glob("fivetran_*.csv"))


@pytest.fixture(scope="module")
def sync_store(tmp_path_factory):
    db = tmp_path_factory.mktemp("sync_history") / "store.duckdb"
    files = [str(EXAMPLES / n) for n in FIVETRAN]
    out = run_importer(*files, "--mapping", "hubspot_fivetran", "--db", str(db), "--accept-proposal")
    # 10 rows: 4 dealstage rows the deal file already gave (duplicates), 5 changes (9001's amount,
    # 9004's two amounts and two close dates), the dealname row no move.
    assert (
        "fivetran_deal_property_history.csv (deal_property_history): rows in 10 = accepted 6 + rejected 0 "
        "+ duplicate 4; 5 events" in out
    )
    return db


def test_a_sync_amount_change_is_amount_up(sync_store, capsys):
    s = summarise(capsys, sync_store, "--from", "2025-02-17", "--to", "2025-03-03")
    # Open at the end of 17 Feb: 9001 (Qualified To Buy, 12,000 since 6 Jan), 9003 (Qualified To
    # Buy, no amount set), 9004 (Appointment Scheduled, 3,000): 15,000. 9002 was lost on 5 Feb.
    assert s["movement"]["start"] == {"n_opportunities": 3, "amount": {"USD": 15000.0}, "amount_in": None}
    assert moved(s) == {
        "won": (2, {"USD": -12000.0}),  # 9001 (20 Feb), 9003 (1 Mar): out of the open pipeline
        "amount_up": (1, {"USD": 1000.0}),  # 9004: 3,000 -> 4,000 on 24 Feb
    }
    # 15,000 - 12,000 + 1,000 = 4,000: 9004 alone.
    assert s["movement"]["end"] == {"n_opportunities": 1, "amount": {"USD": 4000.0}, "amount_in": None}


def test_a_sync_close_date_change_is_pushed_out(sync_store, capsys):
    s = summarise(capsys, sync_store, "--from", "2025-03-03", "--to", "2025-03-10")
    # 9004: close 30 Apr -> 30 May on 10 Mar 09:00, 4,000 both days.
    assert moved(s) == {"pushed_out": (1, USD0)}
    # End of 20 Feb, before the raise: 9004 at 3,000 in Appointment Scheduled; 9003 (no amount)
    # in Qualified To Buy; 9001 won that day.
    s = summarise(capsys, sync_store, "--as-of", "2025-02-20")
    assert open_by_stage(s)["Appointment Scheduled"] == (1, 1, {"USD": 3000.0})


# --- Rows the reading checks: each rejected one with its line, a cleared value flagged ----------

DEAL = """\
deal_id,owner_id,property_dealname,property_amount,property_deal_currency_code,property_createdate,property_closedate
9501,81001,Tailspin,7000,EUR,2025-03-03 10:00:00,2026-12-31
"""

PROPERTY_HISTORY = """\
deal_id,name,value,source,timestamp
9501,amount,5000,CRM_UI,2025-03-03 10:00:00
9501,amount,"5,000.5.0",CRM_UI,2025-03-04 10:00:00
9501,amount,,CRM_UI,2025-03-05 10:00:00
9501,closedate,1746057600000,CRM_UI,2025-03-06 10:00:00
9501,closedate,2026-12-31,CRM_UI,2025-03-07 10:00:00
9501,amount,7000,CRM_UI,2025-03-08 10:00:00
9501,dealname,Tailspin,CRM_UI,2025-03-08 10:00:00
9501,hs_priority,high,CRM_UI,2025-03-08 10:00:00
9501,closedate,someday,CRM_UI,2025-03-09 10:00:00
9501,hs_lastmodifieddate,2025-03-09 10:00:00,CRM_UI,2025-03-09 10:00:00
9501,hs_lastmodifieddate,2025-03-10 10:00:00,CRM_UI,2025-03-10 10:00:00
"""


def test_each_change_row_is_checked_and_a_cleared_value_sets_nothing(tmp_path):
    from tests.import_helpers import query, run, write

    deal = write(tmp_path, "deal.csv", DEAL)
    history = write(tmp_path, "deal_property_history.csv", PROPERTY_HISTORY)
    # Line 3 (not an amount) and line 10 (not a date) are rejected: 2 of 11 rows, over the
    # preset's limit (0.1 x 11 = 1.1), so the file is refused whole and nothing of it is written.
    report = run(tmp_path, [deal, history], "hubspot_fivetran")
    refused = report.files[1]
    assert refused.refused.startswith("2 of 11 rows are rejected (18%), over the mapping's limit")
    issues = {(r.row_number, r.column_name) for r in refused.issues.itertuples() if r.severity == "rejected"}
    assert issues == {(3, "value"), (10, "value")}

    # Without the unreadable close date (line 10): 1 rejected of 11, within the limit. The
    # cleared amount (line 4) sets nothing, flagged; dealname and hs_lastmodifieddate: no move.
    fixed = write(tmp_path, "deal_property_history.csv", PROPERTY_HISTORY.replace("someday", "2025-06-15"))
    report = run(tmp_path, [deal, fixed], "hubspot_fivetran")
    f = report.files[1]
    assert f.refused is None
    assert (f.n_rows_in, f.n_accepted, f.n_rejected) == (11, 10, 1)
    rejected = f.issues[f.issues.severity == "rejected"]
    assert list(zip(rejected.row_number, rejected.column_name, strict=True)) == [(3, "value")]
    flagged = f.issues[f.issues.severity == "flagged"]
    assert list(flagged.row_number) == [4]  # the cleared amount
    assert "amount cleared" in flagged.reason.iloc[0]
    rows = query(
        tmp_path / "store.duckdb",
        "select cast(occurred_at as date), amount, close_date from events "
        "where deal_id = '9501' and event_type = 'amount' order by occurred_at",
    )
    assert [(str(d), None if a is None else float(a), str(c) if c else None) for d, a, c in rows] == [
        ("2025-03-03", 5000.0, None),
        ("2025-03-06", None, "2025-05-01"),  # 1746057600000 ms: 1 May 2025 00:00 UTC
        ("2025-03-07", None, "2026-12-31"),  # a close date ahead is never "in the future"
        ("2025-03-08", 7000.0, None),
        ("2025-03-09", None, "2025-06-15"),
    ]


@pytest.mark.parametrize(
    ("change", "message_part"),
    [
        (('changed_field = "name"', ""), "changed_field: a changes file needs the column"),
        (
            ('amount = "amount"', 'amount = "amounts"'),
            "changes.'amount': expected one of ['amount', 'close_date', 'stage']",
        ),
        (
            ('shape = "changes"', 'shape = "long"\nstage = "value"'),
            'only for changes files (shape = "changes")',
        ),
        (
            ('deal_id = "deal_id"\n', 'deal_id = "deal_id"\nstages_only_without = ["deal_history"]\n'),
            "stages_only_without: 'deal_history' is not a file role of this mapping",
        ),
    ],
    ids=["field", "target", "shape", "role"],
)
def test_a_changes_file_spec_is_checked(change, message_part):
    from data import contract
    from data.import_mapping import MappingError, parse

    text = (ROOT / "data" / "mappings" / "hubspot_fivetran.toml").read_text(encoding="utf-8")
    start = text.index('role = "deal_property_history"')
    old, new = change
    spec = text[start:].replace(old, new, 1)
    with pytest.raises(MappingError, match=None) as exc:
        parse(text[:start] + spec, contract.load(), origin="mine")
    assert message_part in str(exc.value)


# --- The Salesforce examples: every object file, the field history among them --------------------

SF_EXAMPLES = [
    "sf_OpportunityFieldHistory.csv",
    "sf_OpportunityTeamMember.csv",
    "sf_Lead.csv",
    "sf_OpportunityHistory.csv",
    "sf_CampaignMember.csv",
    "sf_LeadHistory.csv",
    "sf_Opportunity.csv",
    "sf_OpportunityContactRole.csv",
]


def test_the_salesforce_examples_import_with_their_field_history(tmp_path, capsys):
    db = tmp_path / "store.duckdb"
    files = [str(EXAMPLES / n) for n in SF_EXAMPLES]
    out = run_importer(*files, "--mapping", "salesforce_objects", "--db", str(db), "--accept-proposal")
    # 13 rows: 6 changes (O1's close date; O3's two amounts and two close dates; O4's close
    # date); O1's 4 StageName rows (OpportunityHistory is given), its "created" row, O3's NextStep
    # and its deleted Amount row: 7 without an event.
    assert (
        "sf_OpportunityFieldHistory.csv (opportunity_field_history): rows in 13 = accepted 13 + rejected 0 "
        "+ duplicate 0; 6 events" in out
    )
    s = summarise(capsys, db, "--from", "2025-03-06", "--to", "2025-03-13")
    # O3, open in Negotiation/Review since 5 Mar: 20,000 -> 26,000 and close 30 Apr -> 31 May on
    # 12 Mar: pushed out (the close date's rule comes first), +6,000. O1 won on 10 Mar (-12,000);
    # O4 (5,000 EUR, Proposal since 20 Feb) unchanged until it is won on 15 Mar.
    assert moved(s) == {
        "won": (1, {"USD": -12000.0, "EUR": 0.0}),
        "pushed_out": (1, {"USD": 6000.0, "EUR": 0.0}),
        "unchanged": (1, {"USD": 0.0, "EUR": 0.0}),
    }
    # 12,000 + 20,000 = 32,000 USD on 6 Mar; 26,000 on 13 Mar (32,000 - 12,000 + 6,000).
    assert s["movement"]["start"]["amount"] == {"USD": 32000.0, "EUR": 5000.0}
    assert s["movement"]["end"]["amount"] == {"USD": 26000.0, "EUR": 5000.0}
    s = summarise(capsys, db, "--from", "2025-03-13", "--to", "2025-03-26")
    # O3 back to 20,000 and 30 Apr on 26 Mar: pulled in, -6,000; O4 won on 15 Mar.
    assert moved(s) == {
        "won": (1, {"USD": 0.0, "EUR": -5000.0}),
        "pulled_in": (1, {"USD": -6000.0, "EUR": 0.0}),
    }


def test_the_preview_reads_stage_changes_as_the_import_does():
    # The Data page previews each upload beside the others: with OpportunityHistory uploaded
    # too, the field history's StageName rows (lines 3, 4, 5 and 7 of the example) are no move,
    # as in the import; alone, line 7 (Closed Won) is a stage entry.
    from data.import_read import Source

    def source(name):
        return Source.from_bytes(name, (EXAMPLES / name).read_bytes())

    field_history, history = source("sf_OpportunityFieldHistory.csv"), source("sf_OpportunityHistory.csv")
    contract = importer.store_contract(Path("/nonexistent/store.duckdb"), fresh=True)

    def events(others):
        role, df = importer.preview(field_history, "salesforce_objects", contract=contract, others=others)
        assert role == "opportunity_field_history"
        return {int(r.row_number): (r.status, r.event_type) for r in df.itertuples()}

    alone, beside = events([]), events([history])
    assert alone[7] == ("ok", "won")
    for line in (3, 4, 5, 7):
        assert beside[line][0] == "ignored" and isinstance(beside[line][1], float), line
    # Amount and close-date changes are read the same either way.
    for line in (6, 9, 10, 12, 13, 14):
        assert alone[line] == beside[line] == ("ok", "amount"), line
