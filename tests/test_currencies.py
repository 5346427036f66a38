"""Currencies (docs/design.md "Currencies"): dated rates imported all or nothing
(python -m data.rates), and amounts in two currencies with and without a rate: never added up
without one, converted at the rate valid on each amount's day with one, and what is missing
said in words.

Story: EUR is the base. U1 (USD 1,000, set 10 Feb) and U2 (USD 2,000, set 5 Mar) are open, E1
(EUR 500) too; W1 won USD 1,000 on 2 Mar, W2 won EUR 200. Rates USD→EUR: 0.90 from 1 Jan,
0.95 from 1 Mar.
"""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pytest

from data import importer, rates
from queries import currency, funnel, pipeline
from queries.filters import Filters
from tests.stories import build_events
from tests.test_pipeline_story import CONTRACT

Q1 = Filters(dt.date(2025, 1, 1), dt.date(2025, 3, 31))
AT = dt.date(2025, 3, 10)
RATES = "currency,date,rate\nUSD,2025-01-01,0.90\nUSD,2025-03-01,0.95\n"


@pytest.fixture
def db(tmp_path):
    def ev(deal, kind, at, amount=None, cur=None):
        return {"deal": deal, "type": kind, "at": at, "amount": amount, "currency": cur}

    events = [
        ev("U1", "discovery", "2025-02-10", 1000, "USD"),
        ev("U2", "discovery", "2025-02-20"),
        ev("U2", "proposal", "2025-03-05", 2000, "USD"),
        ev("E1", "discovery", "2025-02-12", 500, "EUR"),
        ev("W1", "discovery", "2025-01-10"),
        ev("W1", "won", "2025-03-02", 1000, "USD"),
        ev("W2", "discovery", "2025-01-11"),
        ev("W2", "won", "2025-02-02", 200, "EUR"),
    ]
    return build_events(tmp_path / "store.duckdb", events, CONTRACT)


def write(tmp_path, text: str, name="rates.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_without_a_rate_amounts_stay_apart_and_no_total_is_given(db):
    v = pipeline.view(Q1, AT - dt.timedelta(days=7), AT, base="EUR", db=db)
    assert v.end["amounts"] == {"USD": 3000.0, "EUR": 500.0}  # per currency, largest first
    assert v.end["converted"] is None and not v.converted
    assert [(m.currency, m.since) for m in v.missing_rates] == [("USD", dt.date(2025, 2, 10))]
    assert "no rate to EUR covers amounts in USD set from 10 Feb 2025 on" in pipeline.missing_text(v)
    with pytest.raises(pipeline.PipelineError, match="no rate to EUR"):
        pipeline.waterfall(v, "base")
    assert v.stages["amount_base"].isna().all()
    money = currency.revenue_in(pipeline.history_filters(Q1), "EUR", db=db)
    assert money["total"] is None and money["by_currency"] == {"EUR": 200.0, "USD": 1000.0}
    assert [(m.currency, m.since) for m in money["missing"]] == [("USD", dt.date(2025, 3, 2))]


def test_with_a_rate_each_amount_is_converted_at_its_own_days_rate(db, tmp_path):
    assert rates.main([str(write(tmp_path, RATES)), "--base", "EUR", "--db", str(db)]) == 0
    assert currency.bases(db) == ["EUR"]
    v = pipeline.view(Q1, AT - dt.timedelta(days=7), AT, base="EUR", db=db)
    # U1 at 0.90 (set 10 Feb), U2 at 0.95 (set 5 Mar), E1 as it is: 900 + 1,900 + 500.
    assert v.converted and v.end["converted"] == pytest.approx(3300.0)
    assert v.end["amounts"] == {"USD": 3000.0, "EUR": 500.0}  # still given per currency too
    stages = v.stages.set_index("stage")
    assert stages.loc["discovery", "amount_base"] == pytest.approx(1400.0)
    assert stages.loc["proposal", "amount_base"] == pytest.approx(1900.0)
    # At T1 (3 Mar) U1 and E1 were open (900 + 500); U2 had no amount yet.
    assert v.start["converted"] == pytest.approx(1400.0)
    w = pipeline.waterfall(v, "base")
    assert w["value"].iloc[0] + w["value"].iloc[1:-1].sum() == pytest.approx(w["value"].iloc[-1])
    # Won revenue: W1's USD 1,000 on 2 Mar at 0.95, W2's EUR 200.
    money = currency.revenue_in(pipeline.history_filters(Q1), "EUR", db=db)
    assert money["total"] == pytest.approx(1150.0) and money["missing"] == []
    assert funnel.revenue_by_currency(funnel.revenue(pipeline.history_filters(Q1), db=db)) == {
        "USD": 1000.0,
        "EUR": 200.0,
    }
    # Towards USD there is no rate at all: the EUR amounts are what is missing.
    usd = pipeline.view(Q1, AT - dt.timedelta(days=7), AT, base="USD", db=db)
    assert [m.currency for m in usd.missing_rates] == ["EUR"] and usd.end["converted"] is None


def test_a_rate_dated_after_an_amount_does_not_convert_it(db, tmp_path):
    assert (
        rates.main(
            [
                str(write(tmp_path, "currency,date,rate\nUSD,2025-03-01,0.95\n")),
                "--base",
                "EUR",
                "--db",
                str(db),
            ]
        )
        == 0
    )
    v = pipeline.view(Q1, AT - dt.timedelta(days=7), AT, base="EUR", db=db)
    # U2's amount (5 Mar) has a rate; U1's (10 Feb) does not: no total.
    assert [(m.currency, m.since) for m in v.missing_rates] == [("USD", dt.date(2025, 2, 10))]
    assert not v.converted


def test_a_rates_file_is_taken_whole_or_not_at_all(db, tmp_path, capsys):
    before = db.read_bytes()
    bad = write(
        tmp_path,
        "currency,date,rate,base\n"
        "USD,2025-01-01,0.90,\n"  # line 2: fine (takes --base)
        "USD,2025-13-01,x,EUR\n"  # line 3: no such day, no number
        "EUR,2025-01-01,1,\n"  # line 4: to itself
        "GBP,2025-01-01,1.2,USD\n"  # line 5: another base than --base
        "USD,2025-01-01,0.91,\n"  # line 6: another rate for line 2's day
        'JPY,"2025-01-01,0.006\n'  # line 7: a stray quote swallows nothing after it
        "CHF,2025-01-01,1.05,\n",  # line 8: fine
    )
    assert rates.main([str(bad), "--base", "EUR", "--db", str(db)]) == 1
    out = capsys.readouterr().out
    assert "nothing written" in out
    reasons = {
        int(line.split(":")[0].split()[-1]): line for line in out.splitlines() if line.startswith("  line")
    }
    assert sorted(reasons) == [3, 4, 5, 6, 7]
    assert "not a day" in reasons[3] and "not a positive number" in reasons[3]
    assert "to itself" in reasons[4]
    assert "differs from --base EUR" in reasons[5]
    assert "than line 2" in reasons[6]
    assert "expected 4 fields" in reasons[7]
    assert db.read_bytes() == before and currency.rates(db).empty


def test_importing_the_same_rates_twice_changes_nothing_and_a_new_rate_replaces_the_old(db, tmp_path, capsys):
    path = write(tmp_path, RATES + "USD,2025-01-01,0.90\n")  # a repeated line is harmless
    assert rates.main([str(path), "--base", "eur", "--db", str(db)]) == 0
    assert "2 added" in capsys.readouterr().out
    assert importer.versions(db)  # kept for rollback, like an import
    after = db.read_bytes()
    assert rates.main([str(path), "--base", "EUR", "--db", str(db)]) == 0
    assert "the store is unchanged" in capsys.readouterr().out
    assert db.read_bytes() == after
    write(tmp_path, "currency,date,rate\nUSD,2025-03-01,0.96\n")
    assert rates.main([str(path), "--base", "EUR", "--db", str(db)]) == 0
    assert "1 changed" in capsys.readouterr().out
    table = currency.rates(db)
    assert table[["currency", "valid_from", "base", "rate"]].values.tolist()[-1][3] == 0.96
    con = duckdb.connect()
    con.execute(f"attach '{db}' as s (read_only)")
    kinds = con.execute(
        "select kind, n_rows_in, n_accepted, n_duplicate from s.loads order by loaded_at"
    ).fetchall()
    assert kinds[-2:] == [("rates", 3, 2, 1), ("rates", 1, 1, 0)]


def test_a_base_column_is_enough_and_a_file_without_rates_is_refused(db, tmp_path, capsys):
    ok = write(tmp_path, "Base,Currency,Date,Rate\nEUR,USD,2025-01-01,0.9\n")
    assert rates.main([str(ok), "--db", str(db)]) == 0
    assert currency.bases(db) == ["EUR"]
    for text, message in (
        ("", "empty"),
        ("currency,date,rate\n", "no rates"),
        ("currency,day,rate\nUSD,2025-01-01,1\n", "needs the columns"),
    ):
        assert rates.main([str(write(tmp_path, text, "x.csv")), "--base", "EUR", "--db", str(db)]) == 2
        assert message in capsys.readouterr().err
    no_base = write(tmp_path, "currency,date,rate\nUSD,2025-01-01,0.9\n", "y.csv")
    assert rates.main([str(no_base), "--db", str(db)]) == 1
    assert "no base currency" in capsys.readouterr().out


def test_no_store_no_rates(tmp_path, capsys):
    path = write(tmp_path, RATES)
    assert rates.main([str(path), "--base", "EUR", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "No store" in capsys.readouterr().err
    shutil.rmtree(tmp_path)


def test_won_amounts_in_two_currencies_are_neither_added_nor_compared(db, monkeypatch):
    """W1 won USD 1,000 and W2 EUR 200 in Q1: the revenue stays per currency, from the rollups
    as from the journeys, and the comparison with the previous period names both currencies and
    leaves revenue out (its funnel query gives the currencies; no revenue query of its own)."""
    import pandas as pd

    from queries import cube

    cube.clear()
    monkeypatch.setattr(cube, "WAIT", True)
    view = pipeline.history_filters(Q1)
    money = funnel.revenue(view, db=db)
    compared = funnel.compare_periods(view, db=db)
    assert cube.ANSWERED["cohort_revenue"] == 1 and cube.ANSWERED["cohort_funnel_at_age"] == 1
    assert funnel.revenue_by_currency(money) == {"USD": 1000.0, "EUR": 200.0}
    assert money[["currency", "n_won", "n_with_amount"]].to_dict("records") == [
        {"currency": "EUR", "n_won": 1, "n_with_amount": 1},
        {"currency": "USD", "n_won": 1, "n_with_amount": 1},
    ]
    assert compared.attrs["currencies"] == ["EUR", "USD"]
    assert "revenue" not in set(compared["metric"]) and "won" in set(compared["metric"])
    with monkeypatch.context() as m:
        m.setattr(cube, "answers", lambda *args: False)
        pd.testing.assert_frame_equal(money, funnel.revenue(view, db=db), check_exact=True)
        journeys = funnel.compare_periods(view, db=db)
    pd.testing.assert_frame_equal(compared, journeys, check_exact=True)
    assert compared.attrs == journeys.attrs
    cube.clear()
