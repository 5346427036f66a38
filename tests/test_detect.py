"""Detection (data/detect.py, `python -m data.importer FILES --detect`): each example export is
recognised by its header as its preset and file role; a file of no known shape gets a proposed
mapping that names what it could not decide; nothing is written."""

from __future__ import annotations

import contextlib
import io
import random

import pytest

from data import detect, importer
from data.import_read import Source
from tests.conftest import ROOT

EXAMPLES = ROOT / "data" / "examples"

# Each example: the preset and file role its header fits best.
EXPECTED = {
    "event_log.csv": ("event_log", "events"),
    "hubspot_contacts.csv": ("hubspot_contacts", "contacts"),
    "hubspot_contacts_v2.csv": ("hubspot_contacts", "contacts_api"),
    "hubspot_contacts_v2_ui.csv": ("hubspot_contacts", "contacts"),
    "hubspot_deals.csv": ("hubspot_deals", "deals"),
    "fivetran_contact.csv": ("hubspot_fivetran", "contact"),
    "fivetran_contact_property_history.csv": ("hubspot_fivetran", "contact_property_history"),
    "fivetran_deal.csv": ("hubspot_fivetran", "deal"),
    "fivetran_deal_stage.csv": ("hubspot_fivetran", "deal_stage"),
    "fivetran_deal_property_history.csv": ("hubspot_fivetran", "deal_property_history"),
    "fivetran_deal_contact.csv": ("hubspot_fivetran", "deal_contact"),
    "salesforce_leads.csv": ("salesforce", "leads"),
    "salesforce_opportunities.csv": ("salesforce", "opportunities"),
    "salesforce_opportunity_history.csv": ("salesforce", "opportunity_history"),
    "sf_Lead.csv": ("salesforce_objects", "leads"),
    "sf_LeadHistory.csv": ("salesforce_objects", "lead_history"),
    "sf_Opportunity.csv": ("salesforce_objects", "opportunities"),
    "sf_OpportunityHistory.csv": ("salesforce_objects", "opportunity_history"),
    "sf_OpportunityFieldHistory.csv": ("salesforce_objects", "opportunity_field_history"),
    "sf_OpportunityContactRole.csv": ("salesforce_objects", "contact_roles"),
    "sf_CampaignMember.csv": ("salesforce_objects", "campaign_members"),
    "sf_CampaignInfluence.csv": ("salesforce_objects", "campaign_influence"),
    "sf_OpportunityTeamMember.csv": ("salesforce_objects", "team_members"),
    "sf_es_Opportunity.csv": ("salesforce_objects", "opportunities"),
    "sf_es_OpportunityHistory.csv": ("salesforce_objects", "opportunity_history"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_example_is_recognised(name):
    d = detect.detect(Source.from_path(EXAMPLES / name))
    assert d.known and d.problem is None
    assert (d.best.preset, d.best.role) == EXPECTED[name]


def test_every_example_export_is_covered():
    # The examples that are not a preset's shape come with their own mapping (tested below).
    own_mapping = {"mql_list.csv", "won_deals.csv", "opportunities_status.csv"}
    assert {p.name for p in EXAMPLES.glob("*.csv")} == set(EXPECTED) | own_mapping


def test_salesforce_objects_are_named_as_the_vendor_names_them():
    d = detect.detect(Source.from_path(EXAMPLES / "sf_OpportunityHistory.csv"))
    assert d.text().startswith(
        "sf_OpportunityHistory.csv: Salesforce OpportunityHistory, preset salesforce_objects"
    )
    # The older presets read it too, and the text says so.
    assert "also fits: salesforce_opportunities (opportunity_history)" in d.text()
    assert detect.detect(Source.from_path(EXAMPLES / "sf_Lead.csv")).encoding == "cp1252"


def test_a_set_of_files_gets_the_one_preset_that_reads_them_all():
    names = ["sf_OpportunityHistory.csv", "sf_Lead.csv", "sf_Opportunity.csv", "sf_CampaignMember.csv"]
    found = detect.detect_files([Source.from_path(EXAMPLES / n) for n in names])
    assert found.preset == "salesforce_objects" and found.n_unknown == 0
    assert [d.best.role for d in found.files] == [
        "opportunity_history",
        "leads",
        "opportunities",
        "campaign_members",
    ]
    # Two HubSpot sync tables: deal_contact alone also fits HubSpot deals' association file, but
    # with deal_stage the sync preset reads both.
    sync = detect.detect_files(
        [Source.from_path(EXAMPLES / n) for n in ["fivetran_deal_contact.csv", "fivetran_deal_stage.csv"]]
    )
    assert sync.preset == "hubspot_fivetran"
    assert [d.best.label for d in sync.files] == [
        "HubSpot sync table deal_contact",
        "HubSpot sync table deal_stage",
    ]


SF_OBJECTS = {
    "sf_Lead.csv": "leads",
    "sf_LeadHistory.csv": "lead_history",
    "sf_Opportunity.csv": "opportunities",
    "sf_OpportunityHistory.csv": "opportunity_history",
    "sf_OpportunityFieldHistory.csv": "opportunity_field_history",
    "sf_OpportunityContactRole.csv": "contact_roles",
    "sf_CampaignMember.csv": "campaign_members",
    "sf_OpportunityTeamMember.csv": "team_members",
}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_salesforce_object_is_recognised_in_any_order(seed, tmp_path):
    # LeadHistory (LeadId) and OpportunityFieldHistory (OpportunityId) share Field, OldValue,
    # NewValue and CreatedDate: each is told by its id column, in any order, in cp1252 too (a
    # field history with an org's accented stage name, saved by Windows).
    accented = tmp_path / "OpportunityFieldHistory_cp1252.csv"
    accented.write_bytes(
        (
            "OpportunityId,Field,OldValue,NewValue,CreatedDate,IsDeleted,Id\r\n"
            "006A00000000004AAA,StageName,Prospección,Calificación,2025-02-11T10:00:00.000Z,false,017A1\r\n"
        ).encode("cp1252")
    )
    names = [*SF_OBJECTS, accented.name]
    random.Random(seed).shuffle(names)
    paths = [tmp_path / n if n == accented.name else EXAMPLES / n for n in names]
    found = detect.detect_files([Source.from_path(p) for p in paths])
    assert found.preset == "salesforce_objects" and found.n_unknown == 0
    expected = {**SF_OBJECTS, accented.name: "opportunity_field_history"}
    assert [d.best.role for d in found.files] == [expected[n] for n in names]
    by_name = {d.file_name: d for d in found.files}
    assert by_name[accented.name].encoding == "cp1252"
    assert (
        by_name["sf_OpportunityFieldHistory.csv"]
        .text()
        .startswith(
            "sf_OpportunityFieldHistory.csv: Salesforce OpportunityFieldHistory, preset salesforce_objects "
            "(file role 'opportunity_field_history'"
        )
    )
    # --detect names it the same way.
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert importer.main([*map(str, paths), "--detect"]) == 0
    assert (
        "sf_OpportunityFieldHistory.csv: Salesforce OpportunityFieldHistory, preset salesforce_objects"
        in (out.getvalue())
    )
    assert "One preset reads them all: salesforce_objects" in out.getvalue()


def test_a_status_list_of_no_known_shape_gets_a_whole_proposal():
    d = detect.detect(Source.from_path(EXAMPLES / "opportunities_status.csv"))
    assert not d.known
    p = d.proposal
    assert (p.shape, p.id_column, p.date_column, p.stage_column, p.outcome_column) == (
        "status",
        "Opportunity ID",
        "Created",
        "Status",
        "Close Date",
    )
    assert (p.won_values, p.lost_values, p.amount_column) == (("Won",), ("Lost",), "Amount")
    assert p.undecided == ()
    assert 'outcome_date = "Close Date"' in p.mapping_toml(d.file_name)


def test_an_unknown_shape_names_what_it_could_not_decide(tmp_path):
    # Two id-like columns, two date columns neither named as a creation date, and stage names
    # none of which reads as won or lost.
    path = tmp_path / "pipeline.csv"
    path.write_text(
        "Ref ID,Account ID,Phase,Entered,Updated\n"
        "R1,A1,Intro,2025-01-02,2025-01-05\n"
        "R1,A1,Demo,2025-01-09,2025-01-10\n"
        "R2,A2,Intro,2025-01-03,2025-01-04\n"
        "R2,A2,Trial,2025-01-12,2025-01-13\n"
        "R3,A3,Demo,2025-01-15,2025-01-16\n"
    )
    d = detect.detect(Source.from_path(path))
    assert not d.known
    p = d.proposal
    assert p.stage_column == "Phase"  # the one column of a few names, named like a stage
    assert p.id_column is None and p.date_column is None
    assert p.won_values == () and p.lost_values == ()
    undecided = "\n".join(p.undecided)
    assert "which column is the record's id: 'Ref ID', 'Account ID' all look like ids" in undecided
    assert "which date column dates the stage (or the record's start): 'Entered', 'Updated'" in undecided
    assert "which value of 'Phase' is won: none reads as won ('Intro', 'Demo', 'Trial')" in undecided
    assert "which value of 'Phase' is lost" in undecided
    text = d.text()
    assert text.startswith("pipeline.csv: unknown shape")
    assert "undecided: which column is the record's id" in text
    draft = p.mapping_toml(d.file_name)
    assert 'lead_id = ""  # TODO: the column with the record id' in draft
    assert 'stage = "Phase"' in draft


def test_a_list_with_one_date_and_no_stage_is_read_as_a_date_per_stage():
    d = detect.detect(Source.from_path(EXAMPLES / "mql_list.csv"))
    p = d.proposal
    assert (p.shape, p.id_column, p.date_column, p.stage_column) == ("wide", "MQL ID", "MQL Date", None)
    assert any(u.startswith("which stage each date column dates") for u in p.undecided)


def test_unreadable_files_say_so(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert detect.detect(Source.from_path(empty)).problem == "the file is empty"
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n")
    assert detect.detect(Source.from_path(blank)).problem == "the file holds only blank lines"


def test_the_command_line_detects_and_writes_nothing(tmp_path, monkeypatch, capsys):
    db = tmp_path / "store.duckdb"
    monkeypatch.setenv("HANDOFF_DB", str(db))
    odd = tmp_path / "odd.csv"
    odd.write_text("Ref ID,Account ID,Phase,Entered,Updated\nR1,A1,Intro,2025-01-02,2025-01-05\n")
    files = [EXAMPLES / "sf_Opportunity.csv", EXAMPLES / "sf_OpportunityHistory.csv", odd]
    before = sorted(p.name for p in tmp_path.iterdir())
    assert importer.main([*(str(f) for f in files), "--detect"]) == 0
    out = capsys.readouterr().out
    assert (
        "sf_Opportunity.csv: Salesforce Opportunity, preset salesforce_objects (file role 'opportunities'"
        in out
    )
    assert "sf_OpportunityHistory.csv: Salesforce OpportunityHistory, preset salesforce_objects" in out
    assert "odd.csv: unknown shape" in out and "undecided: which column is the record's id" in out
    assert "# --- draft mapping for odd.csv ---" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == before and not db.exists()


def test_the_command_line_still_needs_a_mapping_to_import(capsys):
    with pytest.raises(SystemExit) as exc:
        importer.main([str(EXAMPLES / "event_log.csv")])
    assert exc.value.code == 2
    assert "--mapping is required (or --detect" in capsys.readouterr().err
