"""Benchmark of the funnel engine against ClickHouse `windowFunnel`, with an exact cross-check.

    python -m tests.bench                          1,000,000 sample leads (make bench)
    python -m tests.bench --db /tmp/s1m.duckdb     reuse a store (copied first, never written)
    python -m tests.bench --leads 10000000 --parts 10 --repeat 3 --workdir /tmp/bench10m

What it prints, as one table you can compare run to run (docs/benchmark.md explains each part):
- the journey rebuild (data.store.rebuild_journey on a copy of the store opened read-write);
- every page query in queries/funnel.py on the pages' default filters: cold (first call in a
  fresh process: DuckDB keeps no cache across processes, the OS file cache stays warm), warm
  (median of --repeat calls) and peak memory (ru_maxrss of that process; the "+MB" column is
  the growth over the process after its imports, i.e. what the query itself needed);
- all of the Funnel health page's queries together, cold and through queries.cache (cached);
- the reference: ClickHouse `windowFunnel` through chdb over the raw events exported once to
  Parquet (only the query is timed), same stages and conversion window, and each query's ratio
  to it. The last line is `ratio_to_windowfunnel=<cohort funnel / windowFunnel>`, from the two
  alternating call by call in one process, so that load from other work hits both alike.

Correctness in the same run: the cohort funnel (per stage: reached, skipped, in progress,
dropped; both skip policies) is computed a second time in ClickHouse SQL straight over the raw
events, written from docs/design.md's definitions and not from our SQL, and must agree exactly with
queries.funnel.cohort_funnel on several date ranges and filters; any difference is printed and
the exit status is 1. Every measurement runs in its own process (`--child`), so the
numbers of one cannot warm the next.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WORKDIR = Path("/tmp/handoff-bench")
STAGE_COUNTS = ("n_reached", "n_skipped", "n_in_progress", "n_dropped")
EPOCH = dt.datetime(1970, 1, 1)

# The page queries timed, on the pages' default filters (the last full quarter before the
# latest event): (label, function in queries/, keyword arguments). "year": the range widened to
# the 12 months ending with it, as the Funnel health trend does; "whole": every lead's start.
QUERIES: tuple[tuple[str, str, dict], ...] = (
    ("cohort funnel", "funnel.cohort_funnel", {}),
    ("cohort funnel, strict", "funnel.cohort_funnel", {"skip_policy": "strict"}),
    ("cohort funnel, whole store", "funnel.cohort_funnel", {"whole": True}),
    ("flow funnel", "funnel.flow_funnel", {}),
    ("stage times", "funnel.stage_times", {}),
    ("trend by month, 12 months", "funnel.trend", {"grain": "month", "year": True}),
    ("trend by week, 12 months", "funnel.trend", {"grain": "week", "year": True}),
    ("breakdown by channel (cohort)", "funnel.breakdown", {"by": "channel"}),
    ("breakdown by channel (flow)", "funnel.breakdown", {"by": "channel", "view": "flow"}),
    ("stage times by channel", "funnel.stage_times", {"by": "channel"}),
    ("compare with previous period", "funnel.compare_periods", {}),
    # The Pipeline page (pages/pipeline.py): the pipeline and its movement a week to the as-of,
    # one bar's opportunities, and the real stage history of the range's opportunities.
    ("pipeline: open pipeline by stage at the as-of", "pipeline.by_stage", {}),
    ("pipeline: movement over the last 7 days", "pipeline.movement", {}),
    ("pipeline: page view (both, arranged)", "pipeline.view", {}),
    ("pipeline: one bar's opportunities (new)", "pipeline.opportunities", {"bar": "new"}),
    ("pipeline: stage visits of the range's opportunities", "pipeline.stage_visits", {}),
    ("pipeline: backward moves and re-opens listed", "pipeline.stage_moves", {}),
)

# The fixed costs inside every page query, timed the same way so a change in them shows up:
# each query takes a cursor of its store version's read-only handle (opened once: its cold
# figure), runs, and closes the cursor; most resolve the as-of moment first (another query).
# The trivial statement is everything a query costs besides its own SQL and its rows.
OVERHEADS: tuple[tuple[str, str, dict], ...] = (
    ("fixed: a reader (cursor of the version's handle) opened and closed", "_connect", {}),
    ("fixed: per query, a trivial statement (select 1) through the executor", "_trivial", {}),
    ("fixed: as-of lookup (latest_event_at)", "funnel.latest_event_at", {}),
)

# What a first visit to Funnel health asks for, frame included (pages/health.py, ui/frame.py,
# ui/filters.py, ui/state.py), in the cohort view with the default filters. Functions that do
# not exist (yet) are left out and named in the output.
HEALTH: tuple[tuple[str, dict], ...] = (
    ("funnel.store_facts", {"no_filters": True}),
    ("funnel.latest_event_at", {"no_filters": True}),
    ("options.filter_options", {"no_filters": True}),
    ("options.date_bounds", {"no_filters": True}),
    ("funnel.compare_periods", {}),
    ("funnel.cohort_funnel", {}),
    ("funnel.trend", {"grain": "month", "year": True}),
    ("funnel.stage_times", {}),
    ("funnel.breakdown", {"by": "channel", "view": "cohort"}),
)


# What a first visit to the Pipeline page asks for beyond the frame, with its defaults (the
# movement a week to the as-of, every currency apart, every team, the first bar).
PIPELINE: tuple[tuple[str, dict], ...] = (
    ("options.date_bounds", {"no_filters": True, "grain": "opportunity"}),
    ("options.filter_options", {"no_filters": True}),
    ("currency.bases", {"no_filters": True}),
    ("pipeline.view", {}),
    ("pipeline.opportunities", {"bar": "new"}),
    ("pipeline.stage_visits", {}),
    ("funnel.stage_history", {"opportunity_grain": True}),
    ("pipeline.stage_moves", {}),
)


def query_function(name: str) -> Callable | None:
    """queries.<module>.<function> for "module.function", or None when it does not exist."""
    import importlib

    module, _, attr = name.partition(".")
    try:
        return getattr(importlib.import_module(f"queries.{module}"), attr)
    except (ImportError, AttributeError):
        return None


# ---------------------------------------------------------------------------------------------
# Measurements, each in a fresh process
# ---------------------------------------------------------------------------------------------


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _filters(spec: dict):
    from queries.filters import Filters

    return Filters(
        start=dt.date.fromisoformat(spec["start"]),
        end=dt.date.fromisoformat(spec["end"]),
        skip_policy=spec.get("skip_policy"),
    )


def _query_call(spec: dict, name: str, kwargs: dict) -> tuple[Callable, tuple, dict]:
    """The query function, its positional and keyword arguments, as the page would call it."""
    db = Path(spec["db"])
    if name == "_connect":
        from queries import executor

        return (lambda: executor.connect(db).close()), (), {}
    if name == "_trivial":
        from queries import executor

        return (lambda: executor.run_sql("select 1 as one", db=db)), (), {}
    fn = query_function(name)
    kwargs = dict(kwargs)
    if kwargs.pop("no_filters", False) or name == "funnel.latest_event_at":
        return fn, (), {"db": db, **kwargs}
    span = dict(spec["whole"] if kwargs.pop("whole", False) else spec["range"])
    if kwargs.pop("year", False):
        end = dt.date.fromisoformat(span["end"])
        span["start"] = min(dt.date.fromisoformat(span["start"]), end - dt.timedelta(days=364)).isoformat()
    filters = _filters({**span, "skip_policy": kwargs.pop("skip_policy", None)})
    if kwargs.pop("opportunity_grain", False):
        filters = dataclasses.replace(filters, grain="opportunity")
    return fn, (filters,), {"db": db, **kwargs}


MEMORY_LIMIT = re.compile(r"^\d{1,5}(\.\d{1,3})?(MB|GB)$")


def _rss_gb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e9


def watch_memory(cap_gb: float | None) -> None:
    """Stop this process (status 3) if its resident memory passes `cap_gb`.

    The machine is shared and has no swap: at 10M leads the sample generator's numpy arrays
    alone take many GB, and the kernel's out-of-memory killer could otherwise hit someone
    else's process. Better that the benchmark stops itself and says why.
    """
    if not cap_gb:
        return

    def watch():
        while True:
            used = _rss_gb()
            if used > cap_gb:
                sys.stderr.write(
                    f"stopped: this process reached {used:.1f} GB, over the {cap_gb:.1f} GB cap "
                    "(--max-rss-gb); use a smaller --leads, or --memory-limit for DuckDB\n"
                )
                sys.stderr.flush()
                os._exit(3)
            time.sleep(0.1)

    threading.Thread(target=watch, daemon=True, name="memory-watch").start()


def _limit_duckdb(limit: str | None, temp_dir: str | None) -> None:
    """Make every DuckDB connection this process opens use at most `limit` of memory (spilling
    to `temp_dir`), by wrapping duckdb.connect: data/store.py opens its own connections."""
    if not limit:
        return
    import duckdb

    if not MEMORY_LIMIT.match(limit):
        raise ValueError(f"--memory-limit: expected a size such as 8GB or 500MB, got {limit!r}")
    real_connect = duckdb.connect

    def connect(*args, **kwargs):
        con = real_connect(*args, **kwargs)
        con.execute(f"set memory_limit = '{limit}'")  # checked against MEMORY_LIMIT above
        if temp_dir:
            con.execute("set temp_directory = $dir", {"dir": temp_dir})
        return con

    duckdb.connect = connect


def _settle_rollups() -> None:
    """Wait for the rollups a first call started building in the background (queries/cube.py):
    warm figures are those of the views after it, answered from them as in the app."""
    from queries import cube

    cube.settle()


def child(spec: dict) -> dict:
    """Run one measurement in this (fresh) process and return its figures."""
    kind = spec["kind"]
    extra = None
    watch_memory(spec.get("max_rss_gb"))
    _limit_duckdb(spec.get("memory_limit"), spec.get("temp_dir"))
    if kind == "build":
        from data import store

        base = _maxrss_mb()
        cold = _timed(lambda: store.build_sample(Path(spec["db"]), n_leads=spec["leads"], seed=spec["seed"]))
        warm = []
    elif kind == "merge":
        base = _maxrss_mb()
        cold = _timed(
            lambda: merge_parts(Path(spec["db"]), [Path(p) for p in spec["parts"]], spec["per_part"])
        )
        warm = []
    elif kind == "rebuild":
        import duckdb

        from data import contract as contract_mod
        from data import store

        contract = contract_mod.load()
        base = _maxrss_mb()
        con = duckdb.connect(spec["db"])
        con.execute("set enable_progress_bar = false")
        cold = _timed(lambda: store.rebuild_journey(con, contract))
        extra = _timed(lambda: con.execute("checkpoint"))  # writing it to disk, reported apart
        con.close()
        warm: list[float] = []
    elif kind == "rollups":
        # What the warm-up builds once per store version (queries/cube.py): the cohort funnel's
        # and outcomes' rollups for the default view's parameters, in one thread, waited for.
        from queries import cube, funnel

        cube.WAIT = True
        fn, args, kwargs = _query_call(spec, "funnel.cohort_funnel", {})
        base = _maxrss_mb()
        funnel.latest_event_at(kwargs["db"])  # the handle opened first, as in the app
        cold = _timed(lambda: (fn(*args, **kwargs), funnel.outcomes(*args, **kwargs)))
        extra = len(cube.BUILT)
        warm = []
    elif kind in ("query", "health"):
        calls = [_query_call(spec, name, kwargs) for name, kwargs in spec["calls"]]
        if spec.get("cached"):
            import logging

            from queries import cache

            # Outside `streamlit run`, st.cache_data warns on each call that there is no runtime;
            # the in-memory cache it falls back to is the one the app's server process uses.
            logging.getLogger("streamlit").setLevel(logging.ERROR)
            os.environ["HANDOFF_DB"] = spec["db"]  # cache.call keys on this store's version

            def run_all():
                for fn, args, kwargs in calls:
                    cache.call(fn, *args, **kwargs)

            # The first pass fills the cache (and is timed as "cold"); the others are hits.
        else:

            def run_all():
                for fn, args, kwargs in calls:
                    fn(*args, **kwargs)

        base = _maxrss_mb()
        cold = _timed(run_all)
        _settle_rollups()  # the first visit started them; the views after it read them
        warm = [_timed(run_all) for _ in range(spec["repeat"])]
    elif kind == "view":
        run_all = _view_runner(spec)
        base = _maxrss_mb()
        cold = _timed(run_all)
        _settle_rollups()  # the first visit started them; the views after it read them
        warm = [_timed(run_all) for _ in range(spec["repeat"])]
    elif kind == "engine":
        # Every page query on one engine (HANDOFF_ENGINE) in this one process: the store's
        # tables are loaded into it once (timed apart, as "load"), then each query runs cold
        # (its first call) and warm (the median of --repeat calls), in the order given.
        os.environ["HANDOFF_ENGINE"] = spec["engine"]
        from queries import executor

        db = Path(spec["db"])
        base = _maxrss_mb()
        load = _timed(lambda: executor.run_sql("select 1 as one", db=db))
        figures = {}
        for label, name, kwargs in spec["calls"]:
            if name.startswith("view:"):
                fn = _view_runner({**spec, "view": name.removeprefix("view:")})
            else:
                query, args, kw = _query_call(spec, name, kwargs)

                def fn(query=query, args=args, kw=kw):
                    return query(*args, **kw)

            cold = _timed(fn)
            _settle_rollups()
            figures[label] = {
                "cold": cold,
                "warm": statistics.median(_timed(fn) for _ in range(spec["repeat"])),
            }
        return {"load": load, "queries": figures, "base_mb": base, "peak_mb": _maxrss_mb()}
    elif kind == "chdb":
        import chdb.session

        base = _maxrss_mb()
        session = chdb.session.Session()

        def run_all():
            session.query(spec["sql"], "CSV", params=spec["params"])

        cold = _timed(run_all)
        warm = [_timed(run_all) for _ in range(spec["repeat"])]
        session.close()
    elif kind == "paired":
        # Our cohort funnel and windowFunnel alternately, call by call, in one process: on a
        # shared machine both then see the same load, which keeps their ratio steady.
        import chdb.session

        fn, args, kwargs = _query_call(spec, "funnel.cohort_funnel", {})
        session = chdb.session.Session()
        base = _maxrss_mb()
        ours, theirs = [], []
        for i in range(spec["repeat"] + 1):
            t_ours = _timed(lambda: fn(*args, **kwargs))
            t_theirs = _timed(lambda: session.query(spec["sql"], "CSV", params=spec["params"]))
            if i:  # the first pair warms both up
                ours.append(t_ours)
                theirs.append(t_theirs)
            else:
                _settle_rollups()
        session.close()
        return {
            "ours": statistics.median(ours),
            "theirs": statistics.median(theirs),
            "base_mb": base,
            "peak_mb": _maxrss_mb(),
        }
    else:
        raise ValueError(f"unknown measurement {kind!r}")
    return {
        "cold": cold,
        "warm": statistics.median(warm) if warm else None,
        "extra": extra,
        "base_mb": base,
        "peak_mb": _maxrss_mb(),
    }


def _view_runner(spec: dict) -> Callable[[], None]:
    """A visit to the page of reports/<view>_view.py with its default choices: each distinct
    query once (the page's own cache), nothing kept between visits."""
    import importlib

    page = importlib.import_module(f"reports.{spec['view']}_view")
    db = Path(spec["db"])
    filters = _filters(spec["range"])

    def run_all():
        seen: dict[tuple, object] = {}

        def call(fn, *args, **kwargs):
            key = (fn.__module__, fn.__name__, repr(args), repr(sorted(kwargs.items())))
            if key not in seen:
                seen[key] = fn(*args, db=db, **kwargs)
            return seen[key]

        if spec["view"] == "health":
            # Funnel health's view() takes a runner and the contract (its bridge section and
            # alerts included).
            from queries import contracts

            page.view(filters, contracts.current(db), run=call)
        else:
            page.view(filters, call=call, db=db)

    return run_all


class MeasurementError(RuntimeError):
    """A measurement's process failed; the message carries the end of its error output."""


def measure(spec: dict) -> dict:
    """Run `spec` in a fresh interpreter (`python -m tests.bench --child`) and return its figures."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench", "--child", json.dumps(spec)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise MeasurementError(
            f"measurement {spec.get('label', spec['kind'])} failed:\n{proc.stderr[-3000:]}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# The reference and the independent cross-check, in ClickHouse SQL (through chdb)
# ---------------------------------------------------------------------------------------------


def windowfunnel_sql(n_stages: int) -> str:
    """ClickHouse windowFunnel over the raw events: one row per funnel level (0..n).

    A lead's level is the longest in-order chain of stage events that starts at a stage-1 event
    and fits in the window: what PostHog and most ClickHouse funnel tools compute.
    Parameters: events_path, window_seconds, stage_1 .. stage_n (the stage keys, bound).
    """
    # windowFunnel takes one condition per step as separate arguments; their number follows the
    # contract and every stage key is still a bound parameter.
    steps = ", ".join(f"event_type = {{stage_{k}:String}}" for k in range(1, n_stages + 1))
    return f"""
        with
        per_lead as (
            select lead_id, windowFunnel({{window_seconds:UInt64}})(toDateTime(occurred_at), {steps}) as level
            from file({{events_path:String}}, Parquet)
            group by lead_id
        )
        select level, count() as n_leads
        from per_lead
        group by level
        order by level
    """


# A scan of the columns any funnel over raw events must read: the floor under windowFunnel.
SCAN_SQL = """
    select count() as n_events, max(occurred_at) as latest, countIf(event_type = {stage_1:String}) as n_first
    from file({events_path:String}, Parquet)
"""

# The cohort funnel, written a second time from docs/design.md ("Definitions")
# straight over the raw events, to cross-check queries/sql/cohort_funnel.sql, which reads the
# derived journey tables. Times are microseconds since 1970 (Int64), so no time zone applies.
# Grain: one row per stage order that at least one lead of the cohort has a flag for.
# Parameters: events_path, leads_path, stage_keys, exit_keys, n_stages, start_us, end_us
# (exclusive), as_of_us, window_us, is_strict, channels, regions, segments, owners (empty = all).
CLICKHOUSE_COHORT_SQL = """
with

events as (
    select lead_id, event_type, toUnixTimestamp64Micro(occurred_at) as t
    from file({events_path:String}, Parquet)
),

leads as (
    select lead_id, channel, region, segment, owner_id
    from file({leads_path:String}, Parquet)
),

-- entry(s): the lead's first event of stage s. Later events of s are re-entries: ignored here.
entries as (
    select lead_id, indexOf({stage_keys:Array(String)}, event_type) as stage, min(t) as entered
    from events
    where has({stage_keys:Array(String)}, event_type)
    group by lead_id, stage
),

-- One row per lead that entered any stage; e[s] = entry(s), null when it never entered s.
journeys as (
    select
        lead_id,
        arrayMap(
            s -> if(has(stages, s), toNullable(entered_list[indexOf(stages, s)]), null),
            range(1, {n_stages:UInt8} + 1)
        ) as e
    from (
        select lead_id, groupArray(stage) as stages, groupArray(entered) as entered_list
        from entries
        group by lead_id
    )
),

-- The journey's final exit: its last exit, unless a stage event comes strictly after it.
exits as (
    select
        lead_id,
        maxIfOrNull(t, has({exit_keys:Array(String)}, event_type)) as last_exit,
        maxIfOrNull(t, has({stage_keys:Array(String)}, event_type)) as last_stage_event
    from events
    group by lead_id
),

starts as (
    select
        j.lead_id as lead_id,
        j.e as e,
        j.e[1] is not null as has_first,
        -- start: entry(1) when the lead has one, else its earliest entry into any stage
        if(
            j.e[1] is not null,
            assumeNotNull(j.e[1]),
            arrayMin(arrayMap(x -> assumeNotNull(x), arrayFilter(x -> x is not null, j.e)))
        ) as start,
        if(x.last_exit >= x.last_stage_event, x.last_exit, null) as final_exit
    from journeys as j
    inner join exits as x on x.lead_id = j.lead_id
),

cohort as (
    select
        s.lead_id as lead_id,
        s.e as e,
        s.has_first as has_first,
        -- in time: on or before start + W, and already happened at the as-of moment
        least(s.start + {window_us:Int64}, {as_of_us:Int64}) as cutoff,
        -- dropped needs the window over at as-of, or a final exit on or before it
        s.start + {window_us:Int64} < {as_of_us:Int64}
            or ifNull(s.final_exit <= {as_of_us:Int64}, false) as is_ended
    from starts as s
    left join leads as l on l.lead_id = s.lead_id
    where s.start >= {start_us:Int64}
      and s.start < {end_us:Int64}
      and s.start <= {as_of_us:Int64}
      and (empty({channels:Array(String)}) or has({channels:Array(String)}, l.channel))
      and (empty({regions:Array(String)}) or has({regions:Array(String)}, l.region))
      and (empty({segments:Array(String)}) or has({segments:Array(String)}, l.segment))
      and (empty({owners:Array(String)}) or has({owners:Array(String)}, l.owner_id))
      -- strict: only leads with an entry(1) are in the cohort
      and (not {is_strict:Bool} or s.has_first)
),

per_lead as (
    select
        lead_id,
        is_ended,
        -- own[s]: the lead's own entry into s is in time
        arrayMap(x -> ifNull(x <= cutoff, false), e) as own,
        -- implied[s]: reached s or any later stage in time
        arrayMap(s -> arrayExists(j -> j >= s and own[j], arrayEnumerate(own)), arrayEnumerate(own))
            as implied,
        -- strict[s]: entries 1..s all present, each on or after the one before, and s in time
        arrayMap(
            s -> has_first and own[s] and arrayAll(
                j -> e[j] is not null and (j = 1 or ifNull(e[j - 1] <= e[j], false)), range(1, s + 1)
            ),
            arrayEnumerate(own)
        ) as strict,
        if({is_strict:Bool}, strict, implied) as reached
    from cohort
),

stage_flags as (
    select
        stage,
        reached[stage] as is_reached,
        stage < {n_stages:UInt8} and reached[stage + 1] as is_reached_next,
        -- a skip: reached in time (implied sense) without an own entry in time
        implied[stage] and not own[stage] as is_skip,
        is_ended
    from per_lead
    array join arrayEnumerate(reached) as stage
),

final as (
    select
        stage as stage_order,
        countIf(is_reached) as n_reached,
        countIf(is_skip) as n_skipped,
        -- the last stage has no next stage: neither in progress nor dropped
        countIf(is_reached and stage < {n_stages:UInt8} and not is_reached_next and not is_ended)
            as n_in_progress,
        countIf(is_reached and stage < {n_stages:UInt8} and not is_reached_next and is_ended)
            as n_dropped
    from stage_flags
    group by stage
)

select * from final
order by stage_order
"""

AS_OF_SQL = (
    "select max(toUnixTimestamp64Micro(occurred_at)) as as_of_us from file({events_path:String}, Parquet)"
)


def micros(value: dt.datetime) -> int:
    """A naive UTC timestamp as microseconds since 1970 (exact, no float)."""
    delta = value - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def ch_value(value) -> str:
    """A value for a chdb query parameter: chdb takes each one as ClickHouse text (a list as
    an array literal with quoted, escaped strings); it is parsed as a value, never as SQL."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return (
            "[" + ",".join("'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'" for v in value) + "]"
        )
    return str(value)


def export_events(db: Path, workdir: Path) -> tuple[Path, Path]:
    """Write the raw events and the leads' attributes to Parquet once, for chdb."""
    import duckdb

    from data import store

    events, leads = workdir / "events.parquet", workdir / "leads.parquet"
    con = duckdb.connect()
    try:
        con.execute("attach " + store.sql_literal(db) + " as src (read_only)")
        con.execute(
            "copy (select lead_id, event_type, occurred_at, reason_code from src.events "
            "order by lead_id, occurred_at) to " + store.sql_literal(events) + " (format parquet)"
        )
        con.execute(
            "copy (select lead_id, channel, region, segment, owner_id from src.leads order by lead_id) to "
            + store.sql_literal(leads)
            + " (format parquet)"
        )
    finally:
        con.close()
    return events, leads


def clickhouse_cohort_funnel(session, paths: tuple[Path, Path], contract, filters, as_of: dt.datetime):
    """The independent cohort funnel: one row per stage order 1..n with the four counts."""
    import pandas as pd

    params = {
        "events_path": str(paths[0]),
        "leads_path": str(paths[1]),
        "stage_keys": contract.stage_keys,
        "exit_keys": contract.exit_keys,
        "n_stages": len(contract.stages),
        "start_us": micros(dt.datetime.combine(filters.start, dt.time.min)),
        "end_us": micros(dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min)),
        "as_of_us": micros(as_of),
        "window_us": filters.window(contract) * 86400 * 1_000_000,
        "is_strict": filters.policy(contract) == "strict",
        "channels": list(filters.channels),
        "regions": list(filters.regions),
        "segments": list(filters.segments),
        "owners": list(filters.owners),
    }
    df = session.query(CLICKHOUSE_COHORT_SQL, "DataFrame", params={k: ch_value(v) for k, v in params.items()})
    stages = pd.DataFrame({"stage_order": range(1, len(contract.stages) + 1)})
    df["stage_order"] = df["stage_order"].astype("int64")
    out = stages.merge(df, on="stage_order", how="left").fillna(0)
    for c in STAGE_COUNTS:
        out[c] = out[c].astype("int64")
    return out


def check_cases(db: Path, whole: tuple[dt.date, dt.date], default: tuple[dt.date, dt.date]):
    """Date ranges and filters for the cross-check, chosen from what the store holds.

    Whole store and the page's default quarter (immature: leads in progress), then a mature
    stretch filtered by the two largest channels, one filtered by region, segment and a
    30-day window, one by a single owner. Each under both skip policies.
    """
    import duckdb

    from data import store
    from queries.filters import Filters

    con = duckdb.connect()
    try:
        con.execute("attach " + store.sql_literal(db) + " as src (read_only)")

        def top(column: str, n: int = 1, order: str = "desc") -> list[str]:
            # `column` is one of the literal names below, never input.
            rows = con.execute(
                f"select {column} from src.leads where {column} is not null "
                f"group by {column} order by count(*) {order}, {column} limit {n}"
            ).fetchall()
            return [r[0] for r in rows]

        channels, region, segment = top("channel", 2), top("region"), top("segment", 1, "asc")
        # The owner with the most events: a Sales owner whose leads go deep into the funnel.
        owner = [
            con.execute(
                "select l.owner_id from src.leads as l join src.events as e on e.lead_id = l.lead_id "
                "where l.owner_id is not null group by l.owner_id order by count(*) desc, l.owner_id limit 1"
            ).fetchone()[0]
        ]
    finally:
        con.close()
    first, last = whole
    span = (last - first).days
    mid = first + dt.timedelta(days=span // 3)
    cases = [
        ("whole store", Filters(first, last)),
        ("default range", Filters(*default)),
        (f"channels {', '.join(channels)}", Filters(first, mid, channels=channels)),
        (
            f"region {region[0]}, segment {segment[0]}, 30-day window",
            Filters(mid, mid + dt.timedelta(days=90), regions=region, segments=segment, window_days=30),
        ),
        (f"owner {owner[0]}", Filters(mid, last, owners=owner)),
    ]
    return [
        (f"{label}, {policy}", dataclasses.replace(f, skip_policy=policy))
        for label, f in cases
        for policy in ("implied", "strict")
    ]


def compare(ours, theirs) -> list[str]:
    """Differences between two cohort funnels, one line per stage and count (empty = exact)."""
    problems = []
    mine = ours.set_index("stage_order")
    other = theirs.set_index("stage_order")
    for order in other.index:
        for c in STAGE_COUNTS:
            a, b = int(mine.at[order, c]), int(other.at[order, c])
            if a != b:
                stage = mine.at[order, "stage"] if "stage" in mine.columns else order
                problems.append(f"stage {order} ({stage}) {c}: ours {a}, ClickHouse {b} (diff {a - b:+d})")
    return problems


def cross_check(db: Path, paths: tuple[Path, Path], whole, default, out=print) -> tuple[bool, float]:
    """Our cohort funnel against the independent one on every case; True when all agree exactly.

    Also returns the median time of the independent ClickHouse query (it reads raw events).
    """
    import chdb.session

    from data import contract as contract_mod
    from queries import funnel
    from queries.filters import Filters

    contract = contract_mod.load()
    session = chdb.session.Session()
    ok = True
    times = []
    try:
        as_of = funnel.latest_event_at(db)
        their_as_of = int(
            session.query(AS_OF_SQL, "DataFrame", params={"events_path": str(paths[0])}).iat[0, 0]
        )
        if their_as_of != micros(as_of):
            out(f"check as-of: ours {as_of}, latest event in the raw events {their_as_of} us: MISMATCH")
            ok = False
        for label, filters in check_cases(db, whole, default):
            ours = funnel.cohort_funnel(filters, db=db, contract=contract)
            started = time.perf_counter()
            theirs = clickhouse_cohort_funnel(session, paths, contract, filters, as_of)
            times.append(time.perf_counter() - started)
            problems = compare(ours, theirs)
            totals = " ".join(f"{c[2:]}={int(theirs[c].sum())}" for c in STAGE_COUNTS)
            if problems:
                ok = False
                out(f"check {label}: MISMATCH ({totals})")
                for p in problems:
                    out(f"    {p}")
            else:
                out(f"check {label}: exact ({int(theirs['n_reached'].iloc[0])} leads in cohort; {totals})")
        # The breakdown runs the same query grouped by an attribute ($by): each channel's rows
        # must equal the independent funnel filtered to that channel.
        filters = Filters(*default)
        breakdown = funnel.breakdown(filters, "channel", db=db, contract=contract)
        problems = []
        for value, part in breakdown.groupby("group_value", sort=True):
            if value == "(none)":  # leads without a channel cannot be selected by a filter
                continue
            one = dataclasses.replace(filters, channels=(value,))
            theirs = clickhouse_cohort_funnel(session, paths, contract, one, as_of)
            problems += [f"{value}: {p}" for p in compare(part, theirs)]
        n_groups = breakdown["group_value"].nunique()
        if problems:
            ok = False
            out(f"check breakdown by channel, default range: MISMATCH ({n_groups} groups)")
            for p in problems:
                out(f"    {p}")
        else:
            out(f"check breakdown by channel, default range: exact ({n_groups} groups)")
    finally:
        session.close()
    return ok, statistics.median(times) if times else float("nan")


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    label: str
    cold: float | None
    warm: float | None
    peak_mb: float | None = None
    grew_mb: float | None = None
    note: str = ""
    compared: bool = True  # show the ratio to windowFunnel (not for the rebuild)

    @classmethod
    def of(cls, label: str, figures: dict, note: str = "") -> Row:
        return cls(
            label,
            figures["cold"],
            figures["warm"],
            figures["peak_mb"],
            figures["peak_mb"] - figures["base_mb"],
            note,
        )


def _ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1000:,.1f}"


def table(rows: list[Row], reference: float) -> str:
    """The result table (Markdown, so it pastes into docs/benchmark.md as it is)."""
    lines = [
        "| measurement | cold ms | warm ms | peak MB | +MB | × windowFunnel | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        basis = r.warm if r.warm is not None else r.cold
        ratio = f"{basis / reference:.2f}" if r.compared and basis is not None and reference else ""
        peak = "" if r.peak_mb is None else f"{r.peak_mb:,.0f}"
        grew = "" if r.grew_mb is None else f"{r.grew_mb:,.0f}"
        lines.append(f"| {r.label} | {_ms(r.cold)} | {_ms(r.warm)} | {peak} | {grew} | {ratio} | {r.note} |")
    return "\n".join(lines)


def engines_side_by_side(base_spec: dict, engines: list[str], views) -> dict[str, dict]:
    """Each engine's figures for the page queries and the whole pages, one process per engine
    (the store loaded into it once): {engine: {"load": s, "queries": {label: {cold, warm}}}}."""
    calls = [[label, name, kwargs] for label, name, kwargs in QUERIES if query_function(name)]
    calls += [[f"{label}, all queries, no cache", f"view:{view}", {}] for view, label in views]
    side = {}
    for engine in engines:
        figures = measure({**base_spec, "kind": "engine", "engine": engine, "calls": calls, "label": engine})
        side[engine] = figures
        _say(f"  {engine}: store ready in {figures['load']:.1f} s, peak {figures['peak_mb']:,.0f} MB")
    return side


def side_table(side: dict[str, dict], engines: list[str]) -> str:
    """The page queries on each engine, side by side (Markdown), with each engine's warm time
    over DuckDB's when both ran."""
    head = "| page query (one process per engine) |"
    rule = "|---|"
    for engine in engines:
        head += f" {engine} cold ms | {engine} warm ms |"
        rule += "---:|---:|"
    others = [e for e in engines if e != "duckdb"] if "duckdb" in engines else []
    for engine in others:
        head += f" {engine} ÷ duckdb, warm |"
        rule += "---:|"
    lines = [head, rule]
    load = "| store ready (first query: tables loaded into the engine) |"
    for engine in engines:
        load += f" {_ms(side[engine]['load'])} | |"
    lines.append(load + " |" * len(others))
    for label in side[engines[0]]["queries"]:
        line = f"| {label} |"
        for engine in engines:
            f = side[engine]["queries"][label]
            line += f" {_ms(f['cold'])} | {_ms(f['warm'])} |"
        for engine in others:
            ratio = side[engine]["queries"][label]["warm"] / side["duckdb"]["queries"][label]["warm"]
            line += f" {ratio:.2f} |"
        lines.append(line)
    return "\n".join(lines)


def _say(text: str = "") -> None:
    print(text, flush=True)


def merge_parts(path: Path, parts: list[Path], per_part: int) -> None:
    """One store from several sample stores: part k's lead, deal and event ids are renumbered
    (lead L00000042 of part 3 becomes L<3 * per_part + 42>) so they stay unique.

    Leads and events are plain tables (no primary-key index: building one over tens of millions
    of ids takes GBs of memory, and no funnel query uses it). Owners, content
    and the other small tables come from the first part; touches are left empty (no
    funnel query reads them). Derived tables (journeys, layouts) are not built here: the
    benchmark's rebuild does.
    """
    from data import store

    renumber = "printf('{prefix}%08d', {offset} + cast(substr({col}, 2) as bigint))"
    leads, events = [], []
    for k in range(len(parts)):
        offset = k * per_part  # ints we computed, formatted into the SQL text
        lead_id = renumber.format(prefix="L", offset=offset, col="lead_id")
        deal_id = renumber.format(prefix="D", offset=offset, col="deal_id")
        # Every column the schema has (`* replace`), so a column added to it is carried too.
        leads.append(f"select * replace ({lead_id} as lead_id) from p{k}.leads")
        events.append(
            f"select * replace ('P{k}-' || event_id as event_id, {lead_id} as lead_id, "
            f"case when deal_id is not null then {deal_id} end as deal_id) from p{k}.events"
        )
    with store.replacing(path) as con:
        con.execute("set enable_progress_bar = false")
        for k, part in enumerate(parts):
            con.execute("attach " + store.sql_literal(part) + f" as p{k} (read_only)")
        # The schema's own tables (store_meta keeps its key: set_meta replaces by it), but
        # leads and events as plain tables.
        store.create_schema(con)
        con.execute("drop table leads")
        con.execute("drop table events")
        # Only the schema's own tables: the derived ones (journeys, layouts) are the rebuild's.
        small = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where database_name = 'p0' "
                "and table_name not in ('leads', 'events', 'touches') "
                "and table_name in (select table_name from duckdb_tables() "
                "where database_name = current_database())"
            ).fetchall()
        ]
        for table in small:  # names from the part's own catalogue, not input
            con.execute(f"insert into {table} select * from p0.{table}")
        con.execute("create table leads as " + " union all ".join(leads))
        con.execute("create table events as " + " union all ".join(events))
        con.execute(
            "update store_meta set value = $n where key = 'sample_leads'", {"n": str(per_part * len(parts))}
        )
        for k in range(len(parts)):
            con.execute(f"detach p{k}")


def build_in_parts(path: Path, n_leads: int, n_parts: int, seed: int, limits: dict) -> dict:
    """A sample too big for one build_sample call, whose numpy arrays need about 2.3 GB per
    million leads: `n_parts` samples of n_leads / n_parts leads (seeds seed, seed + 1, ...),
    each built in its own process, merged into one store, then the parts are deleted."""
    per_part = n_leads // n_parts
    parts = [path.with_name(f"{path.stem}.part{k}.duckdb") for k in range(n_parts)]
    took = 0.0
    for k, part in enumerate(parts):
        if not part.exists():
            built = measure({**limits, "kind": "build", "db": str(part), "leads": per_part, "seed": seed + k})
            took += built["cold"]
            _say(f"  part {k + 1}/{n_parts}: {per_part:,} leads, seed {seed + k}, {built['cold']:.1f} s")
    merged = measure(
        {**limits, "kind": "merge", "db": str(path), "parts": [str(p) for p in parts], "per_part": per_part}
    )
    for part in parts:
        part.unlink()
        part.with_name(f"{part.stem}.edits{part.suffix}").unlink(missing_ok=True)  # the part's targets
    return {"cold": took + merged["cold"], "peak_mb": merged["peak_mb"]}


def _store_span(db: Path) -> tuple[dt.date, dt.date, dt.datetime]:
    """First and last start date of any lead, and the as-of moment (latest event)."""
    import duckdb

    from data import store
    from queries import funnel

    con = duckdb.connect()
    try:
        con.execute("attach " + store.sql_literal(db) + " as src (read_only)")
        first, last = con.execute("select min(start_at), max(start_at) from src.journey_leads").fetchone()
    finally:
        con.close()
    return first.date(), last.date(), funnel.latest_event_at(db)


def main(argv: list[str] | None = None) -> int:
    try:
        return run(argv)
    except MeasurementError as exc:
        _say(str(exc))
        return 3


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--leads", type=int, default=1_000_000, help="sample size to build (default 1,000,000)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", type=Path, help="reuse this store (it is copied, never written)")
    parser.add_argument("--repeat", type=int, default=5, help="warm runs per query (median reported)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="where copies and Parquet go")
    parser.add_argument("--no-check", action="store_true", help="skip the exact cross-check")
    parser.add_argument(
        "--parts",
        type=int,
        default=1,
        help="build the sample as this many smaller samples (seeds seed, seed+1, ...) merged into one, "
        "for sizes whose generation would not fit in memory (about 2.3 GB per million leads)",
    )
    parser.add_argument(
        "--memory-limit",
        help="DuckDB memory_limit (e.g. 8GB) for building the sample and the journey rebuild; "
        "DuckDB spills to the work directory beyond it (default: DuckDB's own, 80%% of RAM)",
    )
    parser.add_argument(
        "--max-rss-gb",
        type=float,
        default=round(0.6 * _total_ram_gb(), 1),
        help="stop any benchmark process whose memory passes this (default: 60%% of RAM)",
    )
    parser.add_argument(
        "--engines",
        default="duckdb,clickhouse",
        help="the engines whose page queries are timed side by side (HANDOFF_ENGINE values, "
        "comma-separated; default duckdb,clickhouse: embedded chdb)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.parts < 1 or args.leads % args.parts:
        parser.error("--parts must be at least 1 and divide --leads")
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not engines or set(engines) - {"duckdb", "clickhouse"}:
        parser.error(f"--engines: expected duckdb and/or clickhouse, got {args.engines!r}")
    if args.memory_limit and not MEMORY_LIMIT.match(args.memory_limit):
        parser.error(f"--memory-limit: expected a size such as 8GB or 500MB, got {args.memory_limit!r}")
    watch_memory(args.max_rss_gb)

    # ui.state (the pages' default range) imports the query cache, and streamlit warns that it
    # runs without its server when that cache is defined; that is expected here.
    import logging

    import streamlit  # noqa: F401  (creates its loggers, so the level below sticks)

    logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)
    from data import contract as contract_mod
    from ui.state import last_full_quarter

    contract = contract_mod.load()
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # Other work on the machine skews every figure: the load average is printed with them.
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())

    limits = {
        "max_rss_gb": args.max_rss_gb,
        "memory_limit": args.memory_limit,
        "temp_dir": str(workdir / "duckdb_tmp"),
    }
    # This process exports the events and runs the cross-check: the same limit applies here.
    _limit_duckdb(args.memory_limit, limits["temp_dir"])
    if args.db:
        source = args.db.resolve()
        if not source.exists():
            _say(f"No store at {source}: build one with `python -m data.store sample --db {source}`.")
            return 2
    else:
        parts = f"_x{args.parts}" if args.parts > 1 else ""
        source = workdir / f"sample_{args.leads}_{args.seed}{parts}.duckdb"
        if source.exists():
            _say(f"reusing {source} (delete it to build a fresh sample)")
        else:
            _say(f"building the sample store: {args.leads:,} leads, seed {args.seed}")
            if args.parts > 1:
                built = build_in_parts(source, args.leads, args.parts, args.seed, limits)
            else:
                built = measure(
                    {**limits, "kind": "build", "db": str(source), "leads": args.leads, "seed": args.seed}
                )
            _say(f"  built {source} in {built['cold']:.1f} s, peak {built['peak_mb'] / 1024:.1f} GB")

    # Everything is measured on a copy: the journey rebuild writes to it.
    work = workdir / "work.duckdb"
    for stale in (work, work.with_name(work.name + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(source, work)
    size_mb = work.stat().st_size / 1e6
    _say(f"store copy {work} ({size_mb:,.0f} MB)")

    rows: list[Row] = []
    rebuild = measure({**limits, "kind": "rebuild", "db": str(work), "label": "journey rebuild"})
    rows.append(
        Row.of("journey rebuild", rebuild, f"+ {rebuild['extra'] * 1000:,.0f} ms checkpoint to disk; one run")
    )
    rows[-1].compared = False
    first, last, as_of = _store_span(work)
    default = last_full_quarter(as_of.date())
    if default[0] < first:  # a store shorter than a quarter: use all of it
        default = (first, last)
    n_leads = int(store_meta(work).get("sample_leads") or 0)
    _say(
        f"store: {n_leads or '?':,} sample leads, starts {first} .. {last}, as of {as_of}; "
        f"page default range {default[0]} .. {default[1]}"
    )
    base_spec = {
        "db": str(work),
        "repeat": args.repeat,
        "range": {"start": default[0].isoformat(), "end": default[1].isoformat()},
        "whole": {"start": first.isoformat(), "end": last.isoformat()},
    }

    rollups = measure({**base_spec, "kind": "rollups", "label": "rollups"})
    rows.append(
        Row.of(
            "rollups: cohort funnel and outcomes, one skip policy",
            rollups,
            f"{rollups['extra']} built once per store version, in the background (queries/cube.py)",
        )
    )
    rows[-1].compared = False
    _say(f"  rollups: {_ms(rollups['cold'])} ms")

    for label, name, kwargs in QUERIES + OVERHEADS:
        if not (name.startswith("_") or query_function(name)):
            _say(f"  {label}: queries.{name} does not exist yet, skipped")
            continue
        figures = measure({**base_spec, "kind": "query", "calls": [[name, kwargs]], "label": label})
        rows.append(Row.of(label, figures))
        _say(f"  {label}: cold {_ms(figures['cold'])} ms, warm {_ms(figures['warm'])} ms")

    health = [[n, k] for n, k in HEALTH if query_function(n)]
    missing = [n for n, _ in HEALTH if not query_function(n)]
    names = f"{len(health)} calls" + (f"; not there yet: {', '.join(missing)}" if missing else "")
    cold = measure({**base_spec, "kind": "health", "calls": health, "label": "health"})
    rows.append(Row.of("Funnel health, all queries, no cache", cold, names))
    cached = measure(
        {**base_spec, "kind": "health", "calls": health, "cached": True, "label": "health cached"}
    )
    rows.append(
        Row.of(
            "Funnel health, all queries, queries.cache",
            cached,
            "cold = first visit fills the cache; warm = hits",
        )
    )

    page = [[n, k] for n, k in PIPELINE if query_function(n)]
    for cached_run, label, note in (
        (False, "Pipeline page, all queries, no cache", f"{len(page)} calls"),
        (
            True,
            "Pipeline page, all queries, queries.cache",
            "cold = first visit fills the cache; warm = hits",
        ),
    ):
        spec = {**base_spec, "kind": "health", "calls": page, "cached": cached_run, "label": label}
        figures = measure(spec)
        rows.append(Row.of(label, figures, note))
        _say(f"  {label}: cold {_ms(figures['cold'])} ms, warm {_ms(figures['warm'])} ms")

    # The pages that gather their queries in a view function (reports/*_view.py view()), with
    # their default choices: every distinct query once, nothing cached between visits.
    pages_by_view = (("health", "Funnel health page"), ("teams", "Teams page"), ("content", "Content page"))
    for view, label in pages_by_view:
        label = f"{label}, all queries, no cache"
        figures = measure({**base_spec, "kind": "view", "view": view, "label": label})
        rows.append(Row.of(label, figures, f"reports/{view}_view.py view(), each distinct call once"))
        if view == "health":
            health_page = figures
        _say(f"  {label}: cold {_ms(figures['cold'])} ms, warm {_ms(figures['warm'])} ms")

    side = engines_side_by_side(base_spec, engines, pages_by_view)

    took = _timed(lambda: export_events(work, workdir))
    _say(f"exported events and leads to Parquet in {took:.1f} s (not timed below)")
    paths = (workdir / "events.parquet", workdir / "leads.parquet")
    stage_params = {f"stage_{k}": key for k, key in enumerate(contract.stage_keys, start=1)}
    wf_spec = {
        "kind": "chdb",
        "sql": windowfunnel_sql(len(contract.stages)),
        "params": {
            "events_path": str(paths[0]),
            "window_seconds": contract.conversion_window_days * 86400,
            **stage_params,
        },
        "repeat": args.repeat,
        "label": "windowFunnel",
    }
    wf = measure(wf_spec)
    reference = wf["warm"]
    wf_spec = {k: v for k, v in wf_spec.items() if k not in ("kind", "label")}
    paired = measure({**base_spec, **wf_spec, "kind": "paired", "repeat": 2 * args.repeat, "label": "paired"})
    scan = measure(
        {
            "kind": "chdb",
            "sql": SCAN_SQL,
            "params": {"events_path": str(paths[0]), "stage_1": contract.stage_keys[0]},
            "repeat": args.repeat,
            "label": "scan",
        }
    )
    rows.append(Row.of("reference: windowFunnel (chdb, Parquet)", wf, "all events, 6 steps, 180-day window"))
    rows.append(Row.of("reference: scan of the needed columns (chdb)", scan))

    ok = True
    if not args.no_check:
        _say("cross-check: our cohort funnel against ClickHouse SQL over the raw events")
        ok, exact = cross_check(work, paths, (first, last), default, out=_say)
        rows.append(
            Row(
                "independent exact cohort funnel (chdb, raw events)",
                None,
                exact,
                note="median over the check cases",
            )
        )

    _say()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    _say(
        f"{n_leads:,} leads, {args.repeat} warm runs each, {os.cpu_count()} cores, "
        f"load average {load_before} at start, {load} at end, total {time.perf_counter() - started:.0f} s"
    )
    _say(table(rows, reference))
    _say()
    if side:
        _say(side_table(side, engines))
        _say()
    pages = [r for r in rows if r.label in {q[0] for q in QUERIES}]
    worst = max(pages, key=lambda r: r.warm or 0)
    # The targets of the issue "Fast on every view" (docs/benchmark.md), each beside its figure.
    _say(f"target each page query <= 0.1x windowFunnel: worst {worst.label} {worst.warm / reference:.2f}x")
    _say(f"target full journey rebuild <= 1 s: {rebuild['cold']:.2f} s")
    _say(
        f"target Funnel health, nothing cached, <= 0.15 s: {cold['cold']:.2f} s "
        f"(the whole page through its view(): {health_page['cold']:.2f} s); "
        f"cached <= 50 ms: {cached['warm'] * 1000:.1f} ms"
    )
    if not ok:
        _say("CROSS-CHECK FAILED: our cohort funnel and the independent ClickHouse one disagree (see above)")
    _say(
        f"paired, alternating call by call in one process ({2 * args.repeat} each): cohort funnel "
        f"{_ms(paired['ours'])} ms, windowFunnel {_ms(paired['theirs'])} ms"
    )
    _say(f"ratio_to_windowfunnel={paired['ours'] / paired['theirs']:.3f}")
    return 0 if ok else 1


def _total_ram_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9


def store_meta(db: Path) -> dict[str, str]:
    from queries import funnel

    return funnel.store_facts(db)


if __name__ == "__main__":
    sys.exit(main())
