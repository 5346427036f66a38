"""The Teams and handoff page under AppTest: it renders on a small sample with no exception or
error box, its headline numbers are the queries' numbers, the drill-down lists the leads behind
a choice, and an empty cohort reads as a message, not a crash."""

from __future__ import annotations

import datetime as dt
import html
import json

from queries import executor, teams
from queries.filters import Filters
from tests import stories
from ui.state import FILTERS_KEY

PAGE = "pages/teams.py"


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_page_renders_on_the_sample(sample_db, page_app):
    at = page_app(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    shown = metrics(at)
    # The default cohort is the store's default range (queries.ranges); the page's figures are
    # the queries' figures for it.
    from queries import ranges

    chosen = ranges.default_range(sample_db)
    f = Filters(start=chosen.start, end=chosen.end)
    leak = teams.leakage(f, db=sample_db)
    assert shown["All drops"] == f"{int(leak['n_dropped'].sum()):,}"
    for cat, label in (
        ("quality_after", "Quality after handoff"),
        ("quality_before", "Quality before handoff"),
    ):
        n = int(leak.loc[leak["category"] == cat, "n_dropped"].sum())
        assert shown[label] == f"{n:,}"
    s = teams.handoff_health(f, db=sample_db).summary.iloc[0]
    assert shown["Handed over"] == f"{int(s['n_handoffs']):,}"
    assert shown["Within the 48 h SLA"] == f"{s['sla_within_rate']:.1%}"
    # Charts: leakage by transition and SLA breaches by owner; every table has a download.
    charts = [e for e in at.main if getattr(e, "type", "") == "plotly_chart"]
    assert len(charts) >= 2
    assert len(at.dataframe) >= 8
    downloads = [e for e in at.main if getattr(e, "type", "") == "download_button"]
    assert len(downloads) >= len(at.dataframe) - 1  # the definition table is text, not data


def test_drop_definition_is_beside_the_numbers(sample_db, page_app):
    # docs/design.md: "show the definition next to the number". The drop-off rule is a caption in the
    # main flow of the page (not inside a collapsed expander), and each category's metric
    # carries its own definition in its help.
    at = page_app(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    main_captions = [c.value for c in at.main.caption]
    in_expanders = {c.value for e in at.expander for c in e.caption}
    beside = [c for c in main_captions if "Drop-off and who owns it" in c and c not in in_expanders]
    assert beside and "unless the reason code on its exit is charged to the other team" in beside[0]
    helps = {m.label: m.help for m in at.metric}
    assert "reason charged to Marketing" in helps["Quality after handoff"]
    assert "no action within the 48-hour SLA" in helps["Follow-through"]


def test_drill_down_by_owner_and_transition(sample_db, page_app):
    at = page_app(PAGE).run()
    owners = executor.run_sql("select owner_id from owners where owner_name = 'Dana Reyes'", db=sample_db)
    dana = owners["owner_id"].iloc[0]
    at.selectbox(key="teams_drill_owner").select(dana).run()  # options are owner ids shown by name
    at.selectbox(key="teams_drill_stage").select("mql").run()  # the handoff transition
    assert not at.exception, [e.value for e in at.exception]
    # The listed leads all belong to Dana Reyes (their drop owner).
    drill = at.dataframe[-2].value  # the drill-down table, then her stalled leads
    stalled = at.dataframe[-1].value
    assert len(drill) > 0
    assert set(drill["owner_name"]) == {"Dana Reyes"}
    assert set(drill["from_stage"]) == {"Marketing qualified"}  # the stage's label, not its key
    # Missing values are blank cells, never "None".
    assert not (drill.astype(str) == "None").any().any()
    assert set(stalled["owner_name"]) <= {"Dana Reyes"}
    assert any("Stalled right now: Dana Reyes" in h.value for h in at.subheader)


def test_handoff_drill_down_lists_an_owners_breaches(sample_db, page_app):
    at = page_app(PAGE).run()
    owners = executor.run_sql(
        "select owner_id from owners where owner_name = 'Victor Lindqvist'", db=sample_db
    )
    at.selectbox(key="teams_handoff_owner").select(owners["owner_id"].iloc[0]).run()
    at.selectbox(key="teams_handoff_status").select("breached").run()
    assert not at.exception, [e.value for e in at.exception]
    listed = next(d.value for d in at.dataframe if "sla_status" in d.value.columns)
    assert len(listed) > 0
    assert set(listed["owner_name"]) == {"Victor Lindqvist"}
    assert set(listed["sla_status"]) == {"Breached"}


def test_empty_cohort_is_a_message(tmp_path, use_store, page_app):
    # A store whose only lead starts in January 2025: the cohort of a quarter with no leads.
    path = stories.build(tmp_path / "one.duckdb", {"L1": {"events": [("lead", "2025-01-02")]}})
    use_store(path)
    at = page_app(PAGE)
    at.session_state[FILTERS_KEY] = Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 3, 31))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No dropped leads" in i.value for i in at.info)
    assert metrics(at)["All drops"] == "0"


EVIL = '<b>x</b><a href="https://evil">y</a>'


def test_crm_text_in_charts_is_escaped(tmp_path, use_store, page_app):
    # A Sales owner whose name is markup: plotly renders tick and hover text as HTML, so the
    # breaches chart must carry the name escaped (&lt;b&gt;...), never the raw tags. X1 is an
    # MQL its owner never acted on (a breach, so the owner has a bar).
    owners = [("M1", "Maya Patel", "marketing"), ("S1", EVIL, "sales")]
    story = {
        "X1": {"events": [("lead", "2025-01-02", None, None, "M1"), ("mql", "2025-01-03", None, None, "M1")]}
    }
    use_store(stories.build(tmp_path / "evil.duckdb", story, owners=owners))
    at = page_app(PAGE)
    at.session_state[FILTERS_KEY] = Filters(
        start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31), window_days=30, as_of=dt.datetime(2025, 6, 30)
    )
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    specs = [json.loads(e.proto.spec) for e in at.main if getattr(e, "type", "") == "plotly_chart"]
    breaches = next(f for f in specs if "breaches" in f["layout"]["title"]["text"])
    bar = breaches["data"][0]
    assert bar["x"] == [html.escape(EVIL)]
    assert html.escape(EVIL) in bar["hovertext"][0]
    # No figure anywhere carries the raw markup.
    for fig in specs:
        assert EVIL not in json.dumps(fig["data"], ensure_ascii=False)
        assert '<a href="https://evil">' not in json.dumps(fig, ensure_ascii=False)


def test_impossible_drill_down_says_why(sample_db, page_app):
    # Quality losses are always Marketing's: asking for Sales' quality losses lists nothing and
    # the page says why instead of showing an empty table without a word.
    at = page_app(PAGE).run()
    at.selectbox(key="teams_drill_team").select("sales").run()
    at.selectbox(key="teams_drill_kind").select("quality").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("always charged to Marketing" in i.value for i in at.info)


def test_headings_and_labels_read_as_words(sample_db, page_app):
    # No lower-case team keys in headings; the by-team table names teams as people do and lists
    # only the categories that can apply (no Marketing follow-through, no Sales quality rows).
    at = page_app(PAGE).run()
    assert any(h.value == "Handoff health: Marketing qualified → Sales" for h in at.header)
    by_team = next(d.value for d in at.dataframe if "share_of_team" in d.value.columns)
    assert set(by_team["charged_team"]) == {"Marketing", "Sales"}
    pairs = list(zip(by_team["charged_team"], by_team["category_label"], strict=True))
    assert pairs == [
        ("Marketing", teams.CATEGORIES["quality_after"]),
        ("Marketing", teams.CATEGORIES["quality_before"]),
        ("Marketing", teams.CATEGORIES["other"]),
        ("Sales", teams.CATEGORIES["follow_through"]),
        ("Sales", teams.CATEGORIES["other"]),
    ]


def test_lead_lists_show_the_first_rows_and_their_csv_has_them_all(sample_db, page_app, monkeypatch):
    import io

    import pandas as pd
    import streamlit as st

    from ui import tables

    # On screen a lead list stops at SCREEN_ROWS; its download runs the query for every row
    # when clicked. Five rows on screen make the 3,000-lead sample's lists overflow.
    monkeypatch.setattr(tables, "SCREEN_ROWS", 5)
    buttons: dict[str, object] = {}
    real = st.download_button

    def capture(label, data, *args, key=None, **kwargs):
        buttons[key] = data
        return real(label, data, *args, key=key, **kwargs)

    monkeypatch.setattr(st, "download_button", capture)
    at = page_app(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    as_of = funnel_as_of(sample_db)
    f = current(at)
    for key, full in (
        ("dl-teams-stalled", teams.stalled_leads(as_of, f, limit=tables.CSV_ROWS, db=sample_db)),
        ("dl-teams-drill", teams.drop_leads(f, limit=tables.CSV_ROWS, db=sample_db)),
        ("dl-teams-handoffs", teams.handoff_leads(f, limit=tables.CSV_ROWS, db=sample_db)),
    ):
        assert len(full) > 5, key  # the list really overflows the screen
        csv = pd.read_csv(io.BytesIO(buttons[key]()), encoding="utf-8-sig")
        assert len(csv) == len(full) == full.attrs["n_total"], key
    captions = " ".join(c.value for c in at.caption)
    assert "the 5 most overdue are listed, the CSV has them all" in captions
    assert "the first 5 are listed, the CSV has them all" in captions
    assert [len(df.value) for df in at.dataframe[-2:]] == [5, 5]  # stalled, then dropped leads


def funnel_as_of(db):
    from queries import funnel

    return funnel.latest_event_at(db)


def current(at):
    from ui.state import default_filters

    return at.session_state[FILTERS_KEY] if FILTERS_KEY in at.session_state else default_filters()


# ---- The blame rule on the page, both settings; drill from every count ------------------------


def blame_story_page(tmp_path, use_store, page_app, rule: str):
    """The UNANSWERED story of tests/test_teams.py under one sla_rule, as the page shows it."""
    import dataclasses

    from data import contract as contract_mod
    from tests.test_teams import JANUARY, LATE, UNANSWERED

    contract = dataclasses.replace(contract_mod.load(), sla_rule=rule)
    use_store(stories.build(tmp_path / f"blame-{rule}.duckdb", UNANSWERED, contract=contract))
    at = page_app(PAGE)
    at.session_state[FILTERS_KEY] = Filters(**JANUARY, as_of=LATE)
    return at.run()


def test_the_page_leads_with_the_split_its_rule_gives(tmp_path, use_store, page_app):
    # tests/test_teams.py::test_blame_rule_from_the_contract_both_settings by hand: "breach"
    # charges Sales 4 of 6 drops (U1, U2, U3, U5), "reason" 2 of 6 (U1, U2). The page's first
    # line, its rule sentence and its "Rejected after the SLA" figure say the same.
    for rule, line, says in (
        (
            "breach",
            "#### Charged to Marketing: 2 (33.3%) · charged to Sales: 4 (66.7%)",
            "counts as an SLA breach by Sales",
        ),
        (
            "reason",
            "#### Charged to Marketing: 4 (66.7%) · charged to Sales: 2 (33.3%)",
            "its reason code decides",
        ),
    ):
        at = blame_story_page(tmp_path, use_store, page_app, rule)
        assert not at.exception, [e.value for e in at.exception]
        assert line in [m.value for m in at.markdown]
        captions = " ".join(c.value for c in at.caption)
        assert says in captions
        assert metrics(at)["Rejected after the SLA"] == "1"
        shown = metrics(at)
        assert shown["Follow-through"] == ("4" if rule == "breach" else "2")
        assert shown["Quality after handoff"] == ("1" if rule == "breach" else "2")


def test_clicking_a_count_lists_exactly_its_leads(tmp_path, use_store, page_app):
    # The by-team table's "Sales, follow-through" row (4 under the default rule), clicked: its
    # four leads, with names and companies, and the selection in the URL.
    at = blame_story_page(tmp_path, use_store, page_app, "breach")
    by_team = at.dataframe[1].value
    row = next(
        i
        for i, (t, c) in enumerate(zip(by_team["charged_team"], by_team["category_label"], strict=True))
        if t == "Sales" and c.startswith("Follow-through")
    )
    assert int(by_team["n_dropped"].iloc[row]) == 4
    at.session_state["teams_by_team_table"] = {
        "selection": {"rows": [], "columns": [], "cells": [[row, "n_dropped"]]}
    }
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    listed = at.dataframe[-1].value
    assert sorted(listed["lead_id"]) == ["U1", "U2", "U3", "U5"]
    assert set(listed["lead_name"]) == {"Contact U1", "Contact U2", "Contact U3", "Contact U5"}
    assert "**4** dropped leads match" in [c.value for c in at.caption]
    assert at.query_params["drill"] == ["team:sales", "category:follow_through"]


def test_a_link_opens_the_drill_down_and_a_bad_one_is_ignored(tmp_path, use_store, page_app):
    import dataclasses

    from data import contract as contract_mod
    from tests.test_teams import JANUARY, LATE, UNANSWERED

    use_store(
        stories.build(tmp_path / "link.duckdb", UNANSWERED, contract=dataclasses.replace(contract_mod.load()))
    )
    at = page_app(PAGE)
    at.session_state[FILTERS_KEY] = Filters(**JANUARY, as_of=LATE)
    at.query_params["drill"] = ["kind:late_rejection", "team:sales", "team:finance"]
    at.run()
    assert sorted(at.dataframe[-1].value["lead_id"]) == ["U3"]
    assert at.session_state["teams_drill_team"] == "sales"  # the first valid value wins
    bad = page_app(PAGE)
    bad.session_state[FILTERS_KEY] = Filters(**JANUARY, as_of=LATE)
    bad.query_params["drill"] = ["stage:' or 1=1 --", "group:x"]  # a group without its attribute
    bad.run()
    assert not bad.exception and len(bad.dataframe[-1].value) == 6  # every drop: nothing selected
