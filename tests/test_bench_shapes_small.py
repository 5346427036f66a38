"""Every shape of the first-import benchmark (tests/bench_shapes.py) at 2,000 rows, imported the
way the benchmark imports it at 1M rows (`make bench-shapes`), so that it cannot rot: each
import succeeds, rejects no row, and stores exactly the events its generator counted from the
rows it wrote (the lookup files: joins every row). The numbers of one shape are then worked
out by hand from its file."""

from __future__ import annotations

import csv
import re

import pytest

from tests import bench_shapes

CHECK = re.compile(
    r"^check (\w+): rows ([\d,]+), events expected ([\d,]+)(?:, lookup rows joined expected ([\d,]+))?; "
    r"stored ([\d,]+)(?:, joined ([\d,]+))?, rejected (\d+): ok$",
    re.M,
)


def number(text: str | None) -> int | None:
    return None if text is None else int(text.replace(",", ""))


@pytest.mark.slow
def test_every_shape_imports_at_2000_rows_with_nothing_rejected(tmp_path, capsys):
    status = bench_shapes.main(["--out", str(tmp_path), "--rows", "2000", "--run", "--jobs", "2"])
    out = capsys.readouterr().out
    assert status == 0, out
    checks = {m.group(1): m.groups()[1:] for m in CHECK.finditer(out)}
    assert set(checks) == set(bench_shapes.GENERATORS), out
    for name, (rows, expected, joined_expected, stored, joined, rejected) in checks.items():
        assert number(stored) == number(expected) > 0, name
        assert number(joined) == number(joined_expected), name
        assert rejected == "0", name
        assert number(rows) >= 2000 or name == "lookups", name
        # One table row per shape, with its time and peak memory.
        assert re.search(
            rf"^\| {name} \| \d+ CSV, [\d.,]+ MB \| {rows} \| [\d.,]+ \| \d+\.\d\d \|", out, re.M
        ), name
    # The lookups join every rep and account: 40 reps and 2,000 / 4 accounts.
    assert number(checks["lookups"][4]) == 540
    # Each command is the one a user types.
    assert "  python -m data.importer " in out
    assert "--mapping salesforce_objects" in out

    # By hand, from the file: a HubSpot contacts export stores one event per dated stage cell.
    with open(tmp_path / "hs_contacts_v1" / "hs_contacts_v1.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    dated = sum(
        bool(v) for r in rows for k, v in r.items() if k.startswith("Became a") or k == "Disqualified Date"
    )
    assert number(checks["hs_contacts_v1"][1]) == dated
    # The deals export with internal names: one event per dated hs_v2_date_entered_<stage> cell,
    # hs_v2_date_entered_current_stage excepted (the preset ignores it: it repeats a stage's date).
    with open(tmp_path / "hs_deals_api" / "hs_deals_api.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    dated = sum(
        bool(v)
        for r in rows
        for k, v in r.items()
        if k.startswith("hs_v2_date_entered_") and k != "hs_v2_date_entered_current_stage"
    )
    assert number(checks["hs_deals_api"][1]) == dated
    assert all(r["hs_v2_date_entered_current_stage"] for r in rows)
    # The products lookup: 2,000 / 500 = 4 products, at least 20: all 20 join, none adds an event.
    assert number(checks["products"][4]) == 20
    # Its events are the status list's: a dated row's Created, and a Won or Lost row's outcome.
    with open(tmp_path / "products" / "opportunities_products.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert number(checks["products"][1]) == sum(
        1 + (r["Status"] in ("Won", "Lost")) for r in rows if r["Created"]
    )
    assert len({r["Product"] for r in rows}) == 20
    # A sync's deal property history: one event per dealstage, amount or closedate row; the deal
    # rows (no stage dates) none.
    with open(tmp_path / "fivetran_deals" / "deal_property_history.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert number(checks["fivetran_deals"][1]) == len(rows)
    assert {r["name"] for r in rows} == {"dealstage", "amount", "closedate"}
    # The Salesforce Lead file is Windows' cp1252, as Data Loader often writes it: not UTF-8.
    lead = (tmp_path / "sf_objects" / "Lead.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        lead.decode("utf-8")
    assert "Chloé".encode("cp1252") in lead or "Zoë".encode("cp1252") in lead


def test_a_shape_s_files_are_the_same_whichever_others_are_generated(tmp_path):
    # Each shape has its own seed: a run of one shape writes what a run of all writes.
    bench_shapes.main(["--out", str(tmp_path / "one"), "--rows", "50", "--shapes", "lookups"])
    bench_shapes.main(["--out", str(tmp_path / "two"), "--rows", "50", "--shapes", "event_log,lookups"])
    for f in ("reps.csv", "accounts.csv", "opportunities_status.csv"):
        assert (tmp_path / "one" / "lookups" / f).read_bytes() == (
            tmp_path / "two" / "lookups" / f
        ).read_bytes()


def test_unknown_shapes_are_named():
    with pytest.raises(SystemExit):
        bench_shapes.main(["--out", "/nonexistent", "--shapes", "hs_contacts,nope"])
