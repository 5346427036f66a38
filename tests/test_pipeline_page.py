"""The Pipeline page (pages/pipeline.py) under AppTest: the Spanish Salesforce export's numbers as
the page shows them, the view read from and written to the URL (anything invalid there ignored),
the drill-down into one bar, currencies with and without rates, and stores it cannot serve."""

from __future__ import annotations

import pytest

from data import importer, rates
from tests import stories
from tests.test_hostile import URL_PAYLOADS, markdown_strings
from tests.test_pipeline_shapes import SPANISH

PAGE = "pages/pipeline.py"


@pytest.fixture(scope="module")
def spanish_store(tmp_path_factory):
    db = tmp_path_factory.mktemp("pipeline_page") / "store.duckdb"
    args = [
        *(str(f) for f in SPANISH),
        "--mapping",
        "salesforce_opportunities",
        "--db",
        str(db),
        "--accept-proposal",
    ]
    assert importer.main(args) == 0
    return db


@pytest.fixture(scope="module")
def rated_store(spanish_store, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline_rated")
    db = folder / "store.duckdb"
    db.write_bytes(spanish_store.read_bytes())
    path = folder / "rates.csv"
    path.write_text("currency,date,rate\nUSD,2025-01-01,0.92\n", encoding="utf-8")
    assert rates.main([str(path), "--base", "EUR", "--db", str(db)]) == 0
    return db


def run(page_app, query: dict | None = None):
    at = page_app(PAGE)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label))


def table_with(at, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_the_spanish_pipeline_and_its_movement(spanish_store, use_store, page_app):
    use_store(spanish_store)
    at = run(page_app, {"t1": "2025-02-15", "t2": "2025-03-15", "bar": "won"})
    assert at.title[0].value == "Pipeline"
    assert metric(at, "Open opportunities") == "4"
    # Two currencies and no rate: never added up.
    assert metric(at, "Open amount per currency") == "EUR 22.0 k · USD 7,000"
    stages = table_with(at, "Open opportunities")
    assert stages["Stage"].tolist() == ["Prospección", "Calificación", "Propuesta", "Negociación"]
    assert stages["Open opportunities"].tolist() == [1, 1, 1, 1]
    assert "All in EUR" not in stages.columns
    buckets = table_with(at, "Definition").set_index("Bucket")
    assert buckets.loc[["New", "Re-opened", "Won", "Lost", "Moved forward"], "Opportunities"].tolist() == [
        2,
        1,
        1,
        1,
        1,
    ]
    # The drill-down named in the URL: the one opportunity won between the dates.
    drill = table_with(at, "At T2")
    assert drill["Opportunity"].tolist() == ["Norte - Plataforma"]
    assert drill["At T2"].tolist() == ["Cerrada ganada (closed)"]
    assert at.selectbox(key="pl_bar").value == "won"
    # The stage history of the default range (Q1 2025): A2's move back, A3's re-open.
    assert metric(at, "Backward moves") == "1" and metric(at, "Re-opened") == "1"
    moves = table_with(at, "Came back from")
    assert moves["What"].tolist() == ["re-opened", "moved back"]
    # The view is written back to the URL for a link.
    assert at.query_params["t1"] == "2025-02-15" and at.query_params["bar"] == "won"
    assert at.query_params["cur"] == "each" and at.query_params["show"] == "EUR"


def test_anything_invalid_in_the_url_is_ignored(spanish_store, use_store, page_app):
    use_store(spanish_store)
    at = run(
        page_app,
        {
            "t1": "2025-99-01",
            "t2": "<script>",
            "bar": "'; drop table events; --",
            "cur": "XXX",
            "src": "partners",
            "show": "JPY",
        },
    )
    # Defaults: T2 the latest event's day (30 Jun), T1 a week before; each currency apart.
    assert str(at.date_input(key="pl_t2").value) == "2025-06-30"
    assert str(at.date_input(key="pl_t1").value) == "2025-06-23"
    assert at.selectbox(key="pl_cur").value == "each"
    assert at.query_params["src"] == "all" and at.query_params["bar"] != "'; drop table events; --"


def test_choosing_a_bar_and_a_sourcing_team(spanish_store, use_store, page_app):
    use_store(spanish_store)
    at = run(page_app, {"t1": "2025-02-15", "t2": "2025-03-15"})
    assert at.selectbox(key="pl_bar").value == "new"  # the first bucket with opportunities
    assert set(table_with(at, "At T2")["Opportunity"]) == {"Centro - Suite", "Islas - Prueba"}
    at.selectbox(key="pl_bar").set_value("reopened").run()
    assert table_with(at, "At T2")["Opportunity"].tolist() == ["Este - Licencias"]
    assert at.query_params["bar"] == "reopened"
    # Every opportunity of this export is Sales-sourced: Marketing's view is empty.
    at.button_group(key="pl_src").set_value("marketing").run()
    assert not at.exception
    assert metric(at, "Open opportunities") == "0"


def test_a_first_date_after_the_second_is_refused(spanish_store, use_store, page_app):
    use_store(spanish_store)
    at = run(page_app, {"t1": "2025-02-15", "t2": "2025-03-15"})
    at.date_input(key="pl_t1").set_value(__import__("datetime").date(2025, 3, 20)).run()
    assert not at.exception
    assert any("T1 must be a day before T2" in w.value for w in at.warning)


def test_with_rates_amounts_are_shown_in_one_currency(rated_store, use_store, page_app):
    use_store(rated_store)
    at = run(page_app, {"t1": "2025-02-15", "t2": "2025-03-15"})
    # One base currency in the store's rates: amounts in it by default.
    assert at.selectbox(key="pl_cur").value == "EUR"
    assert metric(at, "Open amount (EUR)") == "EUR 28.4 k"  # 22,000 + 7,000 × 0.92
    stages = table_with(at, "Open opportunities")
    assert stages["All in EUR"].tolist() == [2000.0, 5000.0, 15000.0, 6440.0]
    assert at.query_params["show"] == "base"
    at.selectbox(key="pl_cur").set_value("each").run()
    assert "All in EUR" not in table_with(at, "Open opportunities").columns


def test_missing_rates_are_named_and_nothing_is_added_up(spanish_store, use_store, page_app, tmp_path):
    db = tmp_path / "late.duckdb"
    db.write_bytes(spanish_store.read_bytes())
    path = tmp_path / "rates.csv"
    path.write_text("currency,date,rate\nUSD,2025-03-15,0.95\n", encoding="utf-8")
    assert rates.main([str(path), "--base", "EUR", "--db", str(db)]) == 0
    use_store(db)
    at = run(page_app, {"t1": "2025-02-15", "t2": "2025-03-15", "cur": "EUR"})
    warning = " ".join(w.value for w in at.warning)
    # A5's dollars open at T2 were set on 14 Mar (its Negociación row), before the only rate.
    assert "no rate to EUR covers amounts in USD set from 14 Mar 2025 on" in warning
    assert metric(at, "Open amount per currency") == "EUR 22.0 k · USD 7,000"
    assert "All in EUR" not in table_with(at, "Open opportunities").columns


def test_a_store_of_leads_only_says_there_is_no_pipeline(tmp_path, use_store, page_app):
    story = {"A1": {"events": [("lead", "2025-01-02"), ("mql", "2025-01-05")]}}
    use_store(stories.build(tmp_path / "leads.duckdb", story, recorded=None))
    at = run(page_app)
    assert "records no stage of an opportunity" in at.info[0].value


def test_the_sample_store(sample_db, page_app):
    at = run(page_app)
    assert metric(at, "Open opportunities")
    assert [type(e).__name__ for e in at.main if type(e).__name__ == "UnknownElement"]  # the charts
    assert table_with(at, "Definition")["Bucket"].tolist()[:4] == ["New", "Re-opened", "Won", "Lost"]


def test_funnel_health_gives_the_revenue_in_one_currency_where_rates_convert_it(
    rated_store, use_store, page_app
):
    use_store(rated_store)
    at = page_app("pages/health.py")
    at.run()
    assert not at.exception
    assert metric(at, "Revenue per currency") == "EUR 25.0 k · USD 7,000"
    captions = " ".join(c.value for c in at.caption)
    assert "never added up; in EUR at dated rates: EUR 31.4 k" in captions  # 25,000 + 7,000 × 0.92


@pytest.mark.parametrize("payload", URL_PAYLOADS, ids=lambda p: repr(p[:24]))
def test_every_pipeline_parameter_refuses_hostile_values(payload, spanish_store, use_store, page_app):
    use_store(spanish_store)
    at = run(page_app, {name: payload for name in ("t1", "t2", "cur", "src", "show", "bar")})
    assert [s for s in markdown_strings(at) if payload[:40] in s[1]] == []
    # The defaults, written back.
    assert (at.query_params["t1"], at.query_params["t2"]) == ("2025-06-23", "2025-06-30")
    assert (at.query_params["cur"], at.query_params["src"]) == ("each", "all")
    assert at.query_params["bar"] in ("start", "end", "new", "reopened", "won", "lost", "moved_forward")


def test_after_a_warm_up_the_pipeline_page_runs_no_query(sample_db, page_app):
    from queries import cache, funnel
    from queries.filters import Filters
    from ui import warm
    from ui.filters import preset_range
    from ui.state import FILTERS_KEY

    assert warm.warm(presets=("last_quarter",))["computed"] > 0
    filters = Filters(*preset_range("last_quarter", cache.call(funnel.latest_event_at).date()))
    before = sum(cache.MISSES.values())
    at = page_app(PAGE)
    at.session_state[FILTERS_KEY] = filters
    at.run()
    assert not at.exception
    assert sum(cache.MISSES.values()) == before, dict(cache.MISSES)
