"""The machine-readable summary (python -m reports.summary): its names, its numbers equal to
Funnel health's on the same view, and its outcomes equal to an independent SQL computation over
the raw events of the sample."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from queries import contracts
from queries.filters import Filters
from reports import format as fmt
from reports import summary
from tests.import_helpers import query

KEYS = {
    "store",
    "view",
    "funnel",
    "outcomes",
    "time_to_win_days",
    "breakdown",
    "monthly_cohorts",
    "stage_history",
    "owners",
    "drops",
    "bridge",
    "data_quality",
    "pipeline",
    "movement",
}


def run(capsys, *args) -> dict:
    assert summary.main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def default_summary(sample_store):
    return summary.summary(sample_store)


def test_the_command_line_prints_every_documented_name(sample_store, capsys):
    out = run(capsys, "--db", str(sample_store), "--json", "--by", "channel")
    assert set(out) == KEYS
    assert set(out["view"]) >= {"start", "end", "window_days", "skip_policy", "as_of", "is_mature"}
    assert set(out["funnel"][0]) >= {
        "stage",
        "label",
        "tracked",
        "n_reached",
        "step_rate",
        "overall_rate",
        "n_dropped",
        "n_in_progress",
    }
    assert set(out["outcomes"]) >= {"won", "lost", "open", "win_rate", "revenue"}
    assert set(out["time_to_win_days"]) == {"median", "p75", "p90", "n"}
    assert list(out["breakdown"]) == ["channel"]
    assert set(out["breakdown"]["channel"][0]) >= {"value", "n_start", "n_won", "conversion"}
    assert set(out["stage_history"]) >= {"backward_moves", "reopened"}
    assert set(out["pipeline"]) >= {"at", "stages", "total", "missing_rates"}
    assert set(out["pipeline"]["stages"][0]) >= {"stage", "n_opportunities", "sourced", "amount"}
    assert [b["bucket"] for b in out["movement"]["buckets"]][:3] == ["new", "reopened", "won"]
    assert set(out["movement"]) >= {"from", "to", "buckets", "start", "end"}
    # The default view is the store's default range: Q1 2026, final, as of the latest event.
    assert (out["view"]["start"], out["view"]["end"]) == ("2026-01-01", "2026-03-31")
    assert out["view"]["is_default_range"] and out["view"]["is_mature"]


def test_the_view_options_reach_the_numbers(sample_store, capsys):
    base = ["--db", str(sample_store), "--start", "2025-04-01", "--end", "2025-06-30", "--by", "region"]
    wide = run(capsys, *base, "--window", "none")
    strict = run(capsys, *base, "--skip", "strict")
    past = run(capsys, *base, "--as-of", "2025-07-15")
    assert wide["view"]["window_days"] is None and strict["view"]["skip_policy"] == "strict"
    assert past["view"]["as_of"].startswith("2025-07-15 23:59:59")
    won = {name: s["outcomes"]["won"] for name, s in (("wide", wide), ("strict", strict), ("past", past))}
    default = run(capsys, *base)["outcomes"]["won"]
    # No window counts wins after 180 days too; strict and an earlier as-of count fewer.
    assert won["wide"] >= default >= won["strict"] and default > won["past"]


def test_bad_arguments_exit_2(sample_store, capsys):
    with pytest.raises(SystemExit) as exc:
        summary.main(["--db", str(sample_store), "--start", "2025-01-01"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        summary.main(["--db", str(sample_store), "--window", "soon"])
    assert summary.main(["--db", "/nonexistent/store.duckdb"]) == 2


def test_a_missing_value_is_null_apart_from_a_literal_value(default_summary):
    for groups in default_summary["breakdown"].values():
        values = [g["value"] for g in groups]
        assert "(none)" not in values and "(no value)" not in values


# The default cohort's outcomes computed from the raw events only (no journey table), with the
# definitions of docs/design.md: start = first 'lead' event, else the earliest stage event; won =
# a 'won' event within 180 days of the start; lost = the last exit is 'lost', it came at or after
# the last stage event, within 180 days of the start, and the lead did not win in time.
INDEPENDENT = """
with
stage_events as (
    select * from events
    where event_type in ('lead', 'mql', 'sal', 'sql', 'opportunity', 'won')
),
per_lead as (
    select
        lead_id,
        coalesce(min(occurred_at) filter (where event_type = 'lead'), min(occurred_at)) as start_at,
        min(occurred_at) filter (where event_type = 'won') as won_at,
        max(occurred_at) as last_stage_at
    from stage_events
    group by lead_id
),
exits as (
    select lead_id, max(occurred_at) as exit_at, arg_max(event_type, occurred_at) as exit_type
    from events
    where event_type in ('rejected', 'recycled', 'disqualified', 'lost')
    group by lead_id
),
cohort as (
    select p.*, x.exit_at, x.exit_type
    from per_lead as p
    left join exits as x using (lead_id)
    where p.start_at >= $start and p.start_at < $end
),
classified as (
    select
        coalesce(won_at <= start_at + interval 180 day, false) as is_won,
        coalesce(
            exit_type = 'lost' and exit_at >= last_stage_at and exit_at <= start_at + interval 180 day,
            false
        ) as is_lost
    from cohort
)
select
    count(*) as n,
    count(*) filter (where is_won) as won,
    count(*) filter (where is_lost and not is_won) as lost
from classified
"""


def test_outcomes_equal_an_independent_computation_over_raw_events(sample_store, default_summary):
    n, won, lost = query(
        sample_store, INDEPENDENT, {"start": dt.datetime(2026, 1, 1), "end": dt.datetime(2026, 4, 1)}
    )[0]
    out = default_summary["outcomes"]
    assert default_summary["funnel"][0]["n_reached"] == n
    assert (out["won"], out["lost"]) == (won, lost)
    assert out["win_rate"] == pytest.approx(won / (won + lost))
    assert list(out["revenue"]) == ["USD"]


def test_the_summary_equals_what_funnel_health_shows(sample_db, page_app, default_summary):
    at = page_app("pages/health.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    funnel_rows = {f["stage"]: f for f in default_summary["funnel"]}
    assert metrics["Leads"] == f"{funnel_rows['lead']['n_reached']:,}"
    assert metrics["Marketing qualified"] == f"{funnel_rows['mql']['n_reached']:,}"
    assert metrics["Closed won"] == f"{default_summary['outcomes']['won']:,}"
    assert metrics["Win rate"] == f"{default_summary['outcomes']['win_rate']:.1%}"
    # The page's funnel table and breakdown by channel carry the same counts.
    table = next(d.value for d in at.dataframe if "Reached" in d.value.columns)
    assert table["Reached"].tolist() == [f["n_reached"] for f in default_summary["funnel"]]
    channel = {g["value"]: g for g in summary.summary(sample_db, by=["channel"])["breakdown"]["channel"]}
    shown = at.dataframe[-1].value
    first = shown.columns[1]
    # The page names each channel by the contract's label; the summary keeps the raw value.
    contract = contracts.current(sample_db)
    assert {r["group"]: int(r[first]) for _, r in shown.iterrows()} == {
        (fmt.channel(contract, v) if v else "(no value)"): g["n_start"] for v, g in channel.items()
    }


def test_filters_are_passed_through(sample_store):
    f = Filters(dt.date(2025, 1, 1), dt.date(2025, 3, 31), channels=("outbound",))
    s = summary.summary(sample_store, f, by=["channel"])
    assert [g["value"] for g in s["breakdown"]["channel"]] == ["outbound"]
