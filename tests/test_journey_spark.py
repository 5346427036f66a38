"""The journey build on Spark equals DuckDB's, row for row (data/journey_spark.py).

Two small stores: a 400-lead sample with every link the journeys follow added (opportunity
records, contacts with a primary, owners by role, owner details, accounts) and the Salesforce
export of data/examples plus its fixtures (tests/fixtures/native_sf_*.csv), imported as a user
would. One Spark session (local[2]) serves the module; it is skipped without pyspark or Java.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from data import journey_spark, store

pytest.importorskip("pyspark")
# PySpark 4.3 warns that it does not fully support pandas 3; the build never converts to pandas.
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
journey_spark.java_home()
if not shutil.which("java"):
    pytest.skip("Spark needs Java (17 or later)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples"
FIXTURES = ROOT / "tests" / "fixtures"
SALESFORCE = [
    EXAMPLES / "sf_Lead.csv",
    EXAMPLES / "sf_Opportunity.csv",
    EXAMPLES / "sf_OpportunityHistory.csv",
    EXAMPLES / "sf_OpportunityContactRole.csv",
    FIXTURES / "native_sf_Opportunity.csv",
    FIXTURES / "native_sf_OpportunityHistory.csv",
    FIXTURES / "native_sf_OpportunityContactRole.csv",
]


@pytest.fixture(scope="module")
def spark():
    session = journey_spark.session("local[2]", driver_memory="1g", app="handoff-journey-test")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def linked(tmp_path_factory) -> Path:
    """A 400-lead sample with opportunity records, two or three contacts on 40 opportunities
    (one primary), owners by role on leads and opportunities, owner details and accounts."""
    db = tmp_path_factory.mktemp("linked") / "store.duckdb"
    store.build_sample(db, n_leads=400, seed=7, edits_afresh=False)
    con = duckdb.connect(str(db))
    con.execute(
        """
        insert into opportunities (opportunity_id, created_at, channel, region, currency, account_id, source)
        select deal_id, min(occurred_at) - interval 1 day,
            case when hash(deal_id) % 3 = 0 then 'partner' end,
            case when hash(deal_id) % 4 = 0 then 'APAC' end,
            case when hash(deal_id) % 5 = 0 then 'EUR' end,
            case when hash(deal_id) % 6 = 0 then 'A' || (hash(deal_id) % 4) end, 'test'
        from events where deal_id is not null group by deal_id
        """
    )
    con.execute(
        """
        create temp table picked as
        select opportunity_id, row_number() over (order by hash(opportunity_id)) as n
        from opportunities order by hash(opportunity_id) limit 40
        """
    )
    con.execute(
        "create temp table people as select lead_id, row_number() over (order by hash(lead_id)) as n from leads"
    )
    con.execute(
        """
        insert into opportunity_contacts
        select p.opportunity_id, l.lead_id, case when k = 0 then 'Decision Maker' else 'Influencer' end,
            case when k = 0 then true when k = 1 then null else false end, 'test'
        from picked as p, range(3) as r(k)
        join people as l on l.n = (p.n * 7 + k * 11) % 400 + 1
        where k < 2 or p.n % 2 = 0
        """
    )
    con.execute(
        """
        insert into record_owners
        select lead_id, 'SDR', (select min(owner_id) from owners), 'test' from people where n % 9 = 0
        union all
        select opportunity_id, 'Closing rep', (select max(owner_id) from owners), 'test' from picked where n % 2 = 1
        """
    )
    con.execute(
        """
        insert into owner_details
        select owner_id, 'Manager ' || (row_number() over (order by owner_id) % 2), 'Office', 'test'
        from owners
        """
    )
    con.execute(
        "insert into accounts select 'A' || i, 'Account ' || i, null, 'Sector ' || i, 'small', 'test' from range(4) as r(i)"
    )
    con.execute("update leads set account_id = 'A' || (hash(lead_id) % 4) where hash(lead_id) % 3 = 0")
    store.rebuild_journey(con)
    con.close()
    return db


@pytest.fixture(scope="module")
def salesforce(tmp_path_factory) -> Path:
    from data import importer
    from data.import_read import Source

    db = tmp_path_factory.mktemp("sf") / "store.duckdb"
    files = [Source.from_path(f) for f in SALESFORCE]
    proposal = importer.propose_contract(files, "salesforce_objects")
    report = importer.import_files(
        files,
        "salesforce_objects",
        db,
        fresh=True,
        contract_text=proposal.toml(),
        now=dt.datetime(2025, 6, 1),
    )
    assert report.swapped
    return db


def sorted_rows(db: Path, relation: str) -> tuple[list, list[tuple]]:
    """The columns (name, type) and the rows of `relation` in `db`, sorted (nulls first)."""
    with store.reading(db) as con:
        columns = [r[:2] for r in con.execute(f"describe select * from {relation}").fetchall()]
        rows = con.execute(f"select * from {relation} order by all nulls first").fetchall()
    return columns, rows


def assert_equal(spark, db: Path, tmp_path: Path) -> dict[str, int]:
    """Build db's derived tables on Spark (journeys, bridge, opportunity events, attribution and
    Teams layouts) and assert each table equals DuckDB's; their row counts."""
    out = tmp_path / "spark"
    contract = journey_spark.export_base(db, out / "base")
    journey_spark.build(spark, contract, str(out / "base"), str(out))
    counts = {}
    for table in journey_spark.TABLES:
        ours = sorted_rows(db, table)
        theirs = sorted_rows(db, f"read_parquet('{out / table}/*.parquet')")
        assert theirs[0] == ours[0], table  # same names, same types
        assert theirs[1] == ours[1], table  # every row, every value exact
        counts[table] = len(ours[1])
    assert not any(journey_spark.compare(db, out).values())
    return counts


def test_linked_sample_equal(spark, linked, tmp_path):
    counts = assert_equal(spark, linked, tmp_path)
    # Not vacuous: every table has rows, contacts and roles included.
    assert all(counts.values()), counts
    with store.reading(linked) as con:
        assert con.execute("select count(*) from journey_leads where manager is not null").fetchone()[0]
        assert con.execute("select count(*) from journey_leads where sector is not null").fetchone()[0]


def test_rewrites():
    sql = """
        select min(t) filter (where k = $keys[2]) as second, arg_min(a, t) as a,
            count(*) filter (where list_contains($none, k)) as n, $one as one
        from x
    """
    got = journey_spark.to_spark(sql, {"keys": ["p", "q"], "none": [], "one": "z"})
    assert "k = 'q'" in got and "FALSE" in got and "'z' AS one" in got
    assert "MIN_BY(a, t) FILTER(WHERE NOT a IS NULL)" in " ".join(got.split())
    # The layouts' forms: a null-keeping arg_min, a row number typed as DuckDB's, an order bound.
    got = journey_spark.to_spark(
        "select arg_min_null(team, (t, id)) as team, row_number() over (order by t) as seq, "
        "stage_order = $order as here from x",
        {"order": 3},
    )
    flat = " ".join(got.split())
    assert "MIN_BY(team, (t, id)) AS team" in flat, flat  # no null check: the arg may be null
    assert "CAST(ROW_NUMBER() OVER (ORDER BY t NULLS LAST) AS BIGINT) AS seq" in flat, flat
    assert "stage_order = 3 AS here" in flat, flat


def test_cli_on_a_salesforce_export(spark, salesforce, tmp_path, capsys):
    """python -m data.journey --engine spark ... --check: the module's session is reused."""
    out = tmp_path / "out"
    code = journey_spark.main(["--engine", "spark", "--db", str(salesforce), "--out", str(out), "--check"])
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.count(": equal") == len(journey_spark.TABLES), printed
    with store.reading(salesforce) as con:
        assert con.execute("select count(*) from journey_leads").fetchone()[0]
        assert con.execute("select count(*) from deal_journey_leads").fetchone()[0]


PORTABLE = """
    with t as (
        select * from (values
            (timestamp '2024-01-01 00:00:00.5', timestamp '2024-03-01 06:00:01', 'mql'),
            (timestamp '2024-03-01 00:00:00', timestamp '2024-03-01 00:00:00.25', 'gone')
        ) as v(a, b, k)
    ),
    stage_rows as (
        select stage_row.stage_order, stage_row.stage_key
        from (
            select unnest([
                {'stage_order': 1, 'stage_key': 'lead'}, {'stage_order': 2, 'stage_key': 'mql'}
            ]) as stage_row
        ) as stage_rows
    )
    select
        t.k,
        date_diff('microsecond', t.a, t.b) / 86400e6 as days,
        nullif(array_position(['lead', 'mql'], t.k), 0) as stage_order,
        stage_rows.stage_key
    from t
    left join stage_rows on stage_rows.stage_order = nullif(array_position(['lead', 'mql'], t.k), 0)
    order by t.k
"""


def test_the_portable_forms_mean_the_same_on_spark(spark):
    """The forms the page queries use instead of epoch differences, list_position and lists
    unnested side by side (queries/engine_rewrites.py, "No longer here") give DuckDB's answer on
    Spark through SQLGlot alone: exact microseconds, null for a key that is no stage, one row
    per stage."""
    import duckdb
    import sqlglot

    expected = [("gone", 0.25 / 86400, None, None), ("mql", 60.25 + 0.5 / 86400, 2, "mql")]
    on_duckdb = duckdb.connect().execute(PORTABLE).fetchall()
    on_spark = [
        tuple(r) for r in spark.sql(sqlglot.transpile(PORTABLE, read="duckdb", write="spark")[0]).collect()
    ]
    for got in (on_duckdb, on_spark):
        assert [r[0] for r in got] == ["gone", "mql"]
        assert [r[2:] for r in got] == [r[2:] for r in expected]
        assert [r[1] for r in got] == pytest.approx([r[1] for r in expected], rel=1e-12)
