"""The guided import's choices as a mapping (ui/mapping_choices.py): each shape's choices make a
mapping the command line's loader reads, headers of any text survive as written, and what is
still to choose is named."""

from __future__ import annotations

from pathlib import Path

from data import contract as contract_mod
from data import detect, importer
from data.import_mapping import load
from data.import_read import Source
from ui import mapping_choices as mc

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples"


def counts(df) -> dict[str, int]:
    return {k: n for k, n in zip(df["key"], df["records"], strict=True) if n}


def test_a_date_per_stage_list_is_read_by_the_stage_each_column_names(tmp_path):
    # mql_list.csv: MQL ID, Name, Company, MQL Date, Source, Segment; 9 MQLs.
    base = contract_mod.load()
    found = detect.detect(Source.from_path(EXAMPLES / "mql_list.csv"))
    choices = mc.proposed(found, base)
    assert (choices.shape, choices.grain, choices.id_column) == ("wide", "lead", "MQL ID")
    assert choices.stage_dates == {"MQL Date": "mql"}  # its name says which stage it dates
    assert choices.missing() == []
    text = mc.toml_text([choices], base)
    path = tmp_path / mc.FILE_NAME
    path.write_text(text, encoding="utf-8")
    mapping = load(path, base)  # as the command line reads it
    assert mapping.sha256 == mc.parse(text, base).sha256
    spec = mapping.files[0]
    assert (spec.shape, spec.lead_id, spec.created_at, spec.stage_dates) == (
        "wide",
        "MQL ID",
        "MQL Date",
        {"mql": "MQL Date"},
    )
    assert counts(importer.stage_counts([Source.from_path(EXAMPLES / "mql_list.csv")], path, base)) == {
        "mql": 9
    }


def test_a_row_per_move_file_is_read_by_its_stage_and_time_columns(tmp_path):
    body = (
        "Ref ID,Step,When\n"
        "R1,Intro,2025-01-02\nR1,Demo,2025-01-09\nR1,Signed,2025-02-01\n"
        "R2,Intro,2025-01-03\nR2,Lost,2025-01-20\nR3,Intro,2025-01-05\n"
    )
    src = tmp_path / "moves.csv"
    src.write_text(body, encoding="utf-8")
    base = contract_mod.load()
    choices = mc.proposed(detect.detect(Source.from_path(src)), base)
    assert (choices.shape, choices.id_column, choices.stage_column, choices.date_column) == (
        "long",
        "Ref ID",
        "Step",
        "When",
    )
    path = tmp_path / "moves.toml"
    path.write_text(mc.toml_text([choices], base), encoding="utf-8")
    sources = [Source.from_path(src)]
    funnel = importer.propose_contract(sources, path).contract
    # Hand-counted: Intro R1, R2, R3; Demo R1; Signed (won) R1; Lost R2.
    assert counts(importer.stage_counts(sources, path, funnel)) == {
        "intro": 3,
        "demo": 1,
        "signed": 1,
        "lost": 1,
    }


def test_headers_of_any_text_are_written_as_they_are():
    base = contract_mod.load()
    odd = ['Say "hi"', "back\\slash", "two\nlines", "tab\there", "del\x7fete", "ünï ✓"]
    c = mc.Choices(
        shape="status",
        grain="opportunity",
        id_column=odd[0],
        date_column=odd[1],
        stage_column=odd[2],
        amount_column=odd[5],
        outcome_column=odd[3],
        won_values=['"Won"'],
        lost_values=["Lost\\"],
    )
    mapping = mc.parse(mc.toml_text([c], base), base)
    spec = mapping.files[0]
    assert (spec.deal_id, spec.created_at, spec.status, spec.outcome_date, spec.amount) == (
        odd[0],
        odd[1],
        odd[2],
        odd[3],
        odd[5],
    )
    assert spec.won_values == {'"won"'} and spec.lost_values == {"lost\\"}
    c.id_column = odd[4]
    assert mc.parse(mc.toml_text([c], base), base).files[0].deal_id == odd[4]


def test_what_is_still_to_choose_is_named():
    c = mc.Choices(shape=None, grain="lead", id_column=None, date_column=None, stage_column=None)
    assert c.missing() == ["the shape of the file", "the column with the record's id"]
    c = mc.Choices(
        shape="status",
        grain="lead",
        id_column="Id",
        date_column=None,
        stage_column="Status",
        won_values=["Won"],
        lost_values=["Won"],
    )
    assert c.missing() == ["the column that dates won and lost", "values that are won or lost, not both"]
    c = mc.Choices(
        shape="wide",
        grain="lead",
        id_column="Id",
        date_column=None,
        stage_column=None,
        stage_dates={"A": "mql", "B": "mql", "C": None},
    )
    assert c.missing() == [
        "the stage each date column dates (or 'not a stage')",
        "one date column per stage (two date the same stage)",
    ]
