"""The derived tables built on Spark: journeys, bridge and layouts from a store's base tables as Parquet.

    python -m data.journey --engine spark --master local[2] --db STORE --out DIR

exports the base tables the derived tables are built from (BASE_TABLES; account_matches as DuckDB
computed it, data/accounts.py) to DIR/base/<table>.parquet, then runs on Spark, under any
spark.master, the very SQL the DuckDB rebuild runs (journey.derived_steps), translated
by SQLGlot plus the rewrites below, and writes each table to DIR/<table>/ as Parquet. With
--base URI the export is skipped: the base tables are read from URI/<table>.parquet (a path
every executor of a cluster can read). docs/scale.md, "The journey build on Spark", says how
to run it and what was checked.

Written: every derived table of journey.derived_steps (TABLES: both grains' journeys, the
bridge, opportunity_events, the attribution and Teams layouts), equal row for row to DuckDB's
(tests/test_journey_spark.py; `compare` below). Read as DuckDB built it: account_matches
(READ_AS_BUILT).

The rewrite layer (`to_spark`), for what SQLGlot does not translate or translates wrongly:
- bound parameters: `$stage_keys[k]` (1-based in DuckDB) becomes the k-th key as a literal,
  `list_contains($keys, x)` becomes `x in (...)` (`false` for an empty list), `$won_key` a
  literal. The keys are the contract's validated identifiers (journey._stage_sql checks them).
- arg_min / arg_max: DuckDB skips the rows whose value is null, Spark's min_by / max_by do not
  (a null amount on the won event would win): the null check is added to the aggregate's filter.
- arg_min_null / arg_max_null (the arg kept when null): Spark's min_by / max_by as they are.
- row_number(), rank(), dense_rank(): cast to BIGINT, DuckDB's type (Spark's is INT).
- asof left join: Spark has none. `x asof left join s on <equalities> and s.t > x.t` becomes a
  left join on the equalities and x.t to `select <keys>, x.t, min(s.t) from x join s on ...
  group by <keys>, x.t` (max for < and <=): every row of x kept, duplicates included, and per
  key only its own rows compared (Spark's correlated scalar subquery, the first form tried,
  compared every exit with every stage event: 6 minutes at 20k leads).
- a CTE that only renames a table (`owners as (select * from owners)`) is dropped: on Spark it
  would refer to itself; `as not materialized` (a DuckDB planner hint) is dropped.
- CTEs inside a CTE (a records or roles query of data/journey.py is a `with` of its own): SQLGlot
  lifts them to the top for Spark, where `roles` would then be defined twice; they are renamed
  after the CTE they belong to.
SQLGlot translates the rest: `semi join` (left semi join), `select * exclude` (`* except`, which
Spark 4 reads), `filter (where ...)`, `group by all`, row values compared as structs, `is
distinct from`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import sqlglot
from sqlglot import exp

from data import attribution_layouts, contract_store, journey, store, team_layouts
from data.contract import Contract

# The derived tables Spark reads as the DuckDB build wrote them instead of building them:
# account_matches normalises names with DuckDB's strip_accents, which Spark does not have (a
# hand-written accent table would not match it character for character).
READ_AS_BUILT = frozenset({"account_matches"})
# What the derived tables are built from: the imported records, and READ_AS_BUILT.
BASE_TABLES = (
    "events",
    "leads",
    "owners",
    "owner_details",
    "accounts",
    "account_matches",  # as DuckDB built it (READ_AS_BUILT)
    "opportunities",
    "opportunity_contacts",
    "record_owners",
    "touches",
)
# The tables the Spark build writes, in build order (journey.derived_steps, journey_wide apart):
# each lead's account, both grains' journeys, the bridge, the opportunities' events, the
# attribution and Teams layouts.
TABLES = (
    *(
        f"{prefix}_{kind}"
        for prefix in journey.PREFIXES.values()
        for kind in ("leads", "stages", "exits", "roles")
    ),
    "opportunity_people",
    "opportunity_bridge",
    "opportunity_events",
    *attribution_layouts.TABLES,
    *team_layouts.TABLES,
)


# --- the rewrite layer -------------------------------------------------------------------------


def _index_base() -> int:
    """The index SQLGlot stores for DuckDB's `$p[1]` (it normalises to 0-based): checked, not assumed."""
    node = sqlglot.parse_one("select $p[1]", read="duckdb").find(exp.Bracket)
    return int(node.expressions[0].name)


def _literal(value) -> exp.Expression:
    """A bound value as a literal: text (the contract's validated keys, our own team names)
    or a whole number (a stage's order); nothing else is inlined."""
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return exp.Literal.number(value)
    raise TypeError(f"only text and whole-number parameters are inlined, not {value!r}")


def _inline_params(tree: exp.Expression, params: dict) -> exp.Expression:
    base = _index_base()

    def value_of(node: exp.Placeholder):
        if node.name not in params:
            raise KeyError(f"parameter ${node.name} is not bound")
        return params[node.name]

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Bracket) and isinstance(node.this, exp.Placeholder):
            values = value_of(node.this)
            (index,) = node.expressions
            return _literal(values[int(index.name) - base])
        if isinstance(node, exp.ArrayContains) and isinstance(node.this, exp.Placeholder):
            values = value_of(node.this)
            if not values:
                return exp.false()
            return exp.In(this=node.expression, expressions=[_literal(v) for v in values])
        if isinstance(node, exp.Placeholder):
            return _literal(value_of(node))
        return node

    return tree.transform(rewrite)


def _null_skipping_arg_min_max(tree: exp.Expression) -> exp.Expression:
    for node in list(tree.find_all(exp.ArgMin, exp.ArgMax)):
        keep = exp.Not(this=exp.Is(this=node.this.copy(), expression=exp.Null()))
        parent = node.parent
        if isinstance(parent, exp.Filter):
            where = parent.expression
            where.set("this", exp.and_(exp.Paren(this=where.this.copy()), keep))
        else:
            node.replace(exp.Filter(this=node.copy(), expression=exp.Where(this=keep)))
    return tree


def _null_keeping_arg_min_max(tree: exp.Expression) -> exp.Expression:
    """DuckDB's arg_min_null / arg_max_null keep a row whose arg is null: Spark's min_by /
    max_by as they are (run after _null_skipping_arg_min_max, so no null check is added)."""
    for node in list(tree.find_all(exp.Anonymous)):
        name = node.name.lower()
        if name in ("arg_min_null", "arg_max_null"):
            kind = exp.ArgMin if name == "arg_min_null" else exp.ArgMax
            this, value = node.expressions
            node.replace(kind(this=this.copy(), expression=value.copy()))
    return tree


def _bigint_row_numbers(tree: exp.Expression) -> exp.Expression:
    """row_number() / rank() / dense_rank() are BIGINT on DuckDB, INT on Spark: cast, so the
    Parquet written has DuckDB's types."""
    for window in list(tree.find_all(exp.Window)):
        if isinstance(window.this, (exp.RowNumber, exp.Rank, exp.DenseRank)):
            window.replace(exp.cast(window.copy(), exp.DataType.build("bigint")))
    return tree


def _asof_joins(tree: exp.Expression) -> exp.Expression:
    """`x asof left join s on <equalities> and s.t > x.t` as a left join on the equalities and
    x.t to the first s.t after each (x keys, x.t), computed by a join and a group by over the
    equalities (per key: each x row against each s row of the same key, never all of them)."""
    for select in list(tree.find_all(exp.Select)):
        from_ = select.args.get("from_")
        for join in list(select.args.get("joins") or []):
            if (join.args.get("method") or "").upper() != "ASOF":
                continue
            if (join.args.get("side") or "").upper() != "LEFT":
                raise NotImplementedError("only an asof left join has a Spark form here")
            right, left = join.this, from_.this
            alias = right.alias_or_name
            on = join.args["on"]
            conds = list(on.flatten()) if isinstance(on, exp.And) else [on]
            inequalities = [c for c in conds if isinstance(c, (exp.GT, exp.GTE, exp.LT, exp.LTE))]
            equalities = [c for c in conds if isinstance(c, exp.EQ)]
            if len(inequalities) != 1 or len(equalities) + 1 != len(conds):
                raise NotImplementedError("an asof join needs equalities and exactly one inequality")
            (ineq,) = inequalities
            # Which side of the inequality is the right table's column; the first match after
            # (s.t > x.t) is the smallest, before (s.t < x.t) the largest.
            if isinstance(ineq.this, exp.Column) and ineq.this.table == alias:
                right_col, left_col, after = ineq.this, ineq.expression, isinstance(ineq, (exp.GT, exp.GTE))
            else:
                right_col, left_col, after = ineq.expression, ineq.this, isinstance(ineq, (exp.LT, exp.LTE))
            right_keys = [c for eq in equalities for c in (eq.this, eq.expression) if c.table == alias]
            agg = exp.Min if after else exp.Max
            at = exp.to_identifier("asof_left_at")
            first = (
                exp.select(
                    *[k.copy() for k in right_keys],
                    exp.alias_(left_col.copy(), at),
                    exp.alias_(agg(this=right_col.copy()), right_col.name),
                )
                .from_(left.copy())
                .join(right.copy(), on=on.copy())
                .group_by(*[k.copy() for k in right_keys], left_col.copy())
            )
            join.set("this", exp.Subquery(this=first, alias=exp.TableAlias(this=exp.to_identifier(alias))))
            join.set("method", None)
            match = exp.EQ(this=exp.column(at, table=alias), expression=left_col.copy())
            join.set("on", exp.and_(*[e.copy() for e in equalities], match))
    return tree


def _renaming_ctes(tree: exp.Expression) -> exp.Expression:
    for cte in list(tree.find_all(exp.CTE)):
        body = cte.this
        if (
            isinstance(body, exp.Select)
            and body.is_star
            and len(body.expressions) == 1
            and isinstance(body.args.get("from_") and body.args["from_"].this, exp.Table)
            and not body.args.get("where")
            and not body.args.get("joins")
            and body.args["from_"].this.name == cte.alias
        ):
            cte.pop()
        else:
            cte.set("materialized", None)  # DuckDB's `not materialized`: Spark has no such hint
    return tree


def _nested_cte_names(tree: exp.Expression) -> exp.Expression:
    """Name a CTE defined inside another one after it (`roles` inside `roles` is `roles__roles`):
    SQLGlot lifts nested CTEs to the top for Spark, where a name may be defined only once."""
    for cte in list(tree.find_all(exp.CTE)):
        inner = cte.this.args.get("with_") if isinstance(cte.this, exp.Query) else None
        if inner is None:
            continue
        names = {c.alias: f"{cte.alias}__{c.alias}" for c in inner.expressions}
        for table in cte.this.find_all(exp.Table):
            if not table.args.get("db") and table.name in names:
                alias = table.alias or table.name
                table.set("this", exp.to_identifier(names[table.name]))
                table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
        for c in inner.expressions:
            c.set("alias", exp.TableAlias(this=exp.to_identifier(names[c.alias])))
    return tree


def to_spark(sql: str, params: dict) -> str:
    """`sql` (DuckDB's dialect, with `params` bound) as Spark SQL: the rewrites above, then SQLGlot."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    tree = _inline_params(tree, params)
    tree = _null_skipping_arg_min_max(tree)
    tree = _null_keeping_arg_min_max(tree)
    tree = _bigint_row_numbers(tree)
    tree = _asof_joins(tree)
    tree = _renaming_ctes(tree)
    tree = _nested_cte_names(tree)
    return tree.sql(dialect="spark", pretty=True)


# --- running it --------------------------------------------------------------------------------


def java_home() -> None:
    """Point JAVA_HOME at the java on PATH when it is not set (Spark 4 needs Java 17 or later)."""
    if os.environ.get("JAVA_HOME"):
        return
    java = shutil.which("java")
    if java:
        os.environ["JAVA_HOME"] = str(Path(java).resolve().parent.parent)


def session(master: str, driver_memory: str = "2g", app: str = "handoff-journey"):
    """A Spark session for the build. Timestamps stay naive (TIMESTAMP_NTZ), as DuckDB's are."""
    java_home()
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.timestampType", "TIMESTAMP_NTZ")
        .config("spark.sql.parquet.inferTimestampNTZ.enabled", "true")
        .config("spark.ui.enabled", "false")
    )
    if master.startswith("local"):  # a few partitions are enough on one machine
        builder = builder.config("spark.sql.shuffle.partitions", "4")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def export_base(db: Path, base: Path) -> Contract:
    """Write the store's BASE_TABLES to base/<table>.parquet; returns the contract its journeys
    are built under (the one in force, with the stages and exits its events record)."""
    base.mkdir(parents=True, exist_ok=True)
    with store.reading(db) as con:
        for table in BASE_TABLES:
            target = base / f"{table}.parquet"
            con.execute(f"copy {table} to {store.sql_literal(target)} (format parquet)")
        return contract_store.of_store(con)


def build(spark, contract: Contract, base: str, out: str, say=None) -> dict[str, float]:
    """Every derived table (TABLES) on `spark` from base/<table>.parquet to out/<table>/;
    returns the seconds each took (and says each, when `say` is given). Each table is written,
    then read back from its Parquet as the view the later steps read (not cached: a cache is
    recomputed when it is evicted, and an arg_max between two events of the same time could
    then pick another one for another table). Each grain's journey_wide is written to
    out/_journey_wide/ the same way and deleted at the end."""
    for table in BASE_TABLES:
        spark.read.parquet(f"{base}/{table}.parquet").createOrReplaceTempView(table)
    seconds = {}
    scratch = f"{out}/_journey_wide"
    for step in journey.derived_steps(contract):
        if step.table in READ_AS_BUILT:
            continue
        started = time.perf_counter()
        frame = spark.sql(to_spark(step.sql, step.params))
        target = scratch if step.temp else f"{out}/{step.table}"
        frame.write.mode("overwrite").parquet(target)
        spark.read.parquet(target).createOrReplaceTempView(step.table)
        seconds[step.table] = time.perf_counter() - started
        if say:
            say(f"  {step.table}: {seconds[step.table]:.1f} s")
    spark.catalog.dropTempView("journey_wide")
    _delete(spark, scratch)
    return seconds


def _delete(spark, uri: str) -> None:
    """Delete `uri` (a directory) through Hadoop's file system, wherever it is (file:, hdfs:, s3a:)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(path, True)


def compare(db: Path, out: Path, tables=TABLES) -> dict[str, str]:
    """Each table of `db` against out/<table>/ (Parquet): '' when equal row for row (same column
    names and types, every value exact, as multisets of rows), else what differs."""
    found = {}
    with store.reading(db) as con:
        for table in tables:  # our own table names (TABLES), never user input
            spark = f"read_parquet({store.sql_literal(out / table / '*.parquet')})"
            ours = [r[:2] for r in con.execute(f"describe {table}").fetchall()]
            theirs = [r[:2] for r in con.execute(f"describe select * from {spark}").fetchall()]  # noqa: S608
            if ours != theirs:
                found[table] = f"columns {ours} != {theirs}"
                continue
            counts = con.execute(
                f"""
                select
                    (select count(*) from {table}),
                    (select count(*) from {spark}),
                    (select count(*) from (from {table} except all from {spark})),
                    (select count(*) from (from {spark} except all from {table}))
                """  # noqa: S608
            ).fetchone()
            n, m, only_ours, only_theirs = counts
            same = n == m and not only_ours and not only_theirs
            found[table] = (
                "" if same else f"{n} rows vs {m}: {only_ours} only DuckDB's, {only_theirs} only Spark's"
            )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.journey", description="Rebuild the journey tables.")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    parser.add_argument("--db", type=Path, default=None, help="the store (default: the configured one)")
    parser.add_argument("--master", default="local[2]", help="spark.master (Spark only)")
    parser.add_argument("--out", default=None, help="where the Spark build writes its Parquet tables")
    parser.add_argument("--base", default=None, help="base tables already exported there (Spark only)")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--check", action="store_true", help="compare with the store's tables (Spark)")
    args = parser.parse_args(argv)
    db = Path(args.db) if args.db else store.db_path()
    started = time.perf_counter()
    if args.engine == "duckdb":
        store.rebuild(db)
        print(f"duckdb: rebuilt {db} in {time.perf_counter() - started:.1f} s")
        return 0
    if not args.out:
        parser.error("--engine spark needs --out")
    out = args.out
    if args.base:
        base = args.base
        with store.reading(db) as con:
            contract = contract_store.of_store(con)
    else:
        base = str(Path(out) / "base")
        contract = export_base(db, Path(base))
    exported = time.perf_counter()
    java_home()
    from pyspark.sql import SparkSession

    running = SparkSession.getActiveSession()  # a caller's session is used and left running
    spark = running or session(args.master, args.driver_memory)
    ready = time.perf_counter()
    build(spark, contract, base, out, say=lambda line: print(line, flush=True))
    done = time.perf_counter()
    if running is None:
        spark.stop()
    print(
        f"spark ({args.master}): export {exported - started:.1f} s, session {ready - exported:.1f} s, "
        f"build {done - ready:.1f} s, to {out}"
    )
    if args.check:
        found = compare(db, Path(out))
        for table, problem in found.items():
            print(f"  {table}: {problem or 'equal'}")
        return 1 if any(found.values()) else 0
    return 0
