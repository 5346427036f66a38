"""Data-quality checks on a hand-built story with one planted problem of each kind, and on the
sample's planted dirty rows."""

from __future__ import annotations

import pytest

from queries import data_quality
from tests import stories

STORY = {
    # channel missing; owner S1 is Sales
    "A1": {"channel": None, "events": [("lead", "2025-01-02"), ("mql", "2025-01-03")]},
    # created 01-10 but has an SAL event dated 01-05: out of order (before created)
    "A2": {
        "created": "2025-01-10",
        "events": [("lead", "2025-01-10"), ("mql", "2025-01-11"), ("sal", "2025-01-05")],
    },
    # Sales-sourced straight to SQL: lead, mql and sal skipped before its start (expected)
    "A3": {"events": [("sql", "2025-01-04")]},
    # a reason code funnel.toml does not know
    "A4": {"events": [("lead", "2025-01-04"), ("disqualified", "2025-01-06", "student_or_intern")]},
    # an owner the store does not know, and no campaign
    "A5": {"owner": "ZZ", "campaign": None, "events": [("lead", "2025-01-05")]},
    # the same person twice (case and spaces differ)
    "A6": {"name": "Jo Smith", "company": "Acme", "events": [("lead", "2025-01-06")]},
    "A7": {"name": " jo smith", "company": "ACME ", "events": [("lead", "2025-01-07")]},
    # MQL skipped between lead and SAL: a gap in the record
    "A8": {"events": [("lead", "2025-01-03"), ("sal", "2025-01-06")]},
}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return stories.build(tmp_path_factory.mktemp("dq") / "story.duckdb", STORY)


def test_summary_counts_each_planted_problem(db):
    got = dict(zip(data_quality.summary(db)["key"], data_quality.summary(db)["n_failing"], strict=True))
    assert got == {
        "missing_attribute_rows": 2,  # A1 channel, A5 campaign
        "out_of_order": 1,  # A2's SAL
        "skipped_stages": 4,  # A3 lead, mql, sal (before start) + A8 mql (a gap)
        "unknown_reasons": 1,  # A4
        "no_owner": 1,  # A5
        "duplicate_leads": 2,  # A6 and A7
        "account_matches": 0,  # no accounts to match (tests/test_bridge_story.py plants some)
        "undated_exits": 0,  # no export's exit statuses (tests/test_conversion_story.py has some)
    }


def test_summary_splits_skips_and_duplicates(db):
    detail = dict(zip(data_quality.summary(db)["key"], data_quality.summary(db)["detail"], strict=True))
    assert (
        detail["skipped_stages"] == "1 gaps in the record; 3 before a later-starting lead's start (expected)"
    )
    assert detail["duplicate_leads"] == "1 people recorded more than once"
    assert detail["no_owner"] == ""


def test_rows_behind_each_count(db):
    ooo = data_quality.check_rows("out_of_order", db)
    assert ooo[["lead_id", "event_type", "problem"]].values.tolist() == [
        ["A2", "sal", "dated before the lead was created"]
    ]
    skipped = data_quality.check_rows("skipped_stages", db)
    assert skipped[["lead_id", "stage", "is_before_start"]].values.tolist() == [
        ["A8", "mql", False],
        ["A3", "lead", True],
        ["A3", "mql", True],
        ["A3", "sal", True],
    ]
    assert skipped["n_gaps"].iloc[0] == 1
    assert data_quality.check_rows("unknown_reasons", db)["reason_code"].tolist() == ["student_or_intern"]
    no_owner = data_quality.check_rows("no_owner", db)
    assert no_owner[["lead_id", "problem"]].values.tolist() == [["A5", "owner not in the owners table"]]
    dups = data_quality.check_rows("duplicate_leads", db)
    assert dups["lead_id"].tolist() == ["A6", "A7"] and dups["n_groups"].iloc[0] == 1


def test_missing_attributes_by_field_and_team(db):
    df = data_quality.missing_attributes(db)
    # 8 leads: 7 owned by S1 (Sales), A5 by an unknown owner ("no owner").
    assert df[["field", "team", "n_missing", "n_leads"]].values.tolist() == [
        ["campaign", "no owner", 1, 1],
        ["channel", "sales", 1, 7],
    ]
    assert df["missing_rate"].tolist() == pytest.approx([1.0, 1 / 7])


def test_the_sample_planted_rows_are_found(tmp_path):
    from data import sample, store

    db = store.build_sample(tmp_path / "sample.duckdb", n_leads=2_000, seed=3)
    ooo = data_quality.check_rows("out_of_order", db)
    planted = ooo[ooo["source"] == "sample:dirty"]
    assert len(planted) == sample.N_DIRTY_EACH
    unknown = data_quality.check_rows("unknown_reasons", db)
    assert (unknown["reason_code"] == "student_or_intern").sum() == sample.N_DIRTY_EACH


def test_an_unknown_check_is_refused():
    with pytest.raises(KeyError):
        data_quality.check_rows("drop table events")
