"""Rollups of the funnel queries, kept in memory per store version: what the funnel, its
breakdowns, the trend, the outcomes and the flow view read for the views most people look at.

A view at the store's latest date with the contract's window has one answer per lead, whatever
the date range or the channel, region and segment picked: so the cohort funnel and the cohort
outcomes are counted once over the whole store, kept apart by (start day, channel, region,
segment) (cube_funnel_rows.sql, cube_outcome_rows.sql: the counts of cohort_flags.sql and
cohort_outcome_rows.sql, where cohort_funnel.sql and cohort_outcomes.sql take them from too,
summed over the ages of the at-age rollups below, so one scan of the cohort builds both:
DERIVED), and each such view sums the rows of its days and attributes (cube_funnel.sql,
cube_outcomes.sql, cube_trend.sql) instead of reading every journey again. Every count is one
lead's (or one lead-stage's) and the rows keep leads apart, so the sums are the same numbers
exactly (tests/test_cube.py pins it over many views); at 1M leads the rollups hold about 300k
rows where a view read 2.2M. The flow funnel likewise: its entries and stage events
(flow_rows.sql) counted per (entry day, channel, region, segment, stage) (cube_flow_rows.sql)
and summed for a view's range (cube_flow.sql). The Teams page's leakage likewise: its drops
(teams_drops.sql) counted per (start day, channel, region, segment, transition, charged team,
loss kind, drop owner) (cube_leakage_rows.sql) and summed for a view (cube_leakage.sql); its
per-owner conversion, the rows of teams_owner_rows.sql per (start day, channel, region,
segment, owner, team, span) (cube_owner_rows.sql, summed by cube_owners.sql). The handoff
health, its list of leads and the drill-down's list of drops need the leads themselves
(percentiles of response times, the slowest or oldest first), so for them the rows of the
lead-level query are kept whole (ROWS: teams_handoffs.sql, one row per handed-over lead, 290k
rows and 27 MB at 1M; teams_drops.sql, one per dropped lead, 869k rows and 86 MB; repeated
texts dictionary-encoded; teams_stalled_rows.sql, the stalled leads, 53k rows, no range
applied: UNRANGED; teams_recycled_rows.sql, the recycled leads; bridge_mql_rows.sql, the MQLs,
by their MQL entry, bridge_opportunity_rows.sql, the opportunities, by their creation, and
content_touch_rows.sql, the touches on content, by their time: READERS; stage_time_rows.sql,
each lead-stage's days to the next stage, 819k rows and 34 MB), and a view runs the very query
over the kept rows of its range and filters (cube_lead_rows.sql, executor.run_on_rows). A view
of every channel, region and segment reads the cohort, outcome, flow and at-age rollups summed
over those attributes (COLLAPSIBLE: the funnel rollup's 298k rows at 1M are 4.3k). The comparison of two periods at equal
age (queries/funnel.py compare_periods) asks for the funnel and the outcomes at a younger age
than the window, and for the current period as it stands: the stages reached and the leads won
or lost, kept apart also by the age in days at which each came (cube_reach_age_rows.sql,
cube_outcome_age_rows.sql, 790k and 230k rows at 1M), so any age up to the window sums the rows
within it, every period at its own age in one query (AGED). The Pipeline page's
queries read the opportunities' states at two moments, kept whole per pair of moments (STATES).
Every rollup is kept sorted
by its range column, and a view hands DuckDB the slice of its range only (_in_range).

Grain of the rollups: `funnel_cube` one row per (start day, channel, region, segment, stage);
`outcome_cube` one row per (start day, channel, region, segment); `flow_cube` one row per
(entry day, channel, region, segment, stage); `leakage_cube` one row per (start day, channel,
region, segment, transition, charged team, loss kind, drop owner); `owner_cube` one row per
(start day, channel, region, segment, owner, team, span); `reach_age_cube` one row per (start
day, channel, region, segment, stage, reach age, won currency: the revenue per currency is
summed from it too, cube_revenue.sql); `outcome_age_cube` one row per (start day,
channel, region, segment, won age, lost age). The day is each rollup's column `day`, so one
range and one grouping serve them all (macros/rollup_range.sql, macros/rollup_group.sql).

What a rollup answers (answers()), but for the kept pipeline states (any as-of, any list filter:
the moments key them): no as-of date in the past, the contract's own window, no
list filter but channel, region and segment, no breakdown but those and the start month. Any
other view reads the journeys as before. A rollup belongs to the store version and the
parameters it was built with (a swapped-in store gets new ones); it is built in the background
when a view first needs it (that view reads the journeys meanwhile) or by the warm-up after an
import (ui/warm.py), so nobody waits for it.
"""

from __future__ import annotations

import atexit
import collections
import contextvars
import datetime as dt
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from queries import executor
from queries.filters import LIST_FILTERS, list_filter_params

# The breakdowns the rollups keep apart ($by), besides the start month.
ATTRIBUTES = ("channel", "region", "segment")
MONTH = "month"
FILTERED = ("channels", "regions", "segments")  # the list filters they answer
# query -> (the rollup's query, the file that builds the rollup, the name the rollup is read as)
QUERIES = {
    "cohort_funnel": ("cube_funnel", "cube_funnel_rows", "funnel_cube"),
    "trend": ("cube_trend", "cube_funnel_rows", "funnel_cube"),
    "cohort_outcomes": ("cube_outcomes", "cube_outcome_rows", "outcome_cube"),
    # The won revenue per currency: the reach-age rows name the won amounts' currency.
    "cohort_revenue": ("cube_revenue", "cube_reach_age_rows", "reach_age_cube"),
    "flow_funnel": ("cube_flow", "cube_flow_rows", "flow_cube"),
    "teams_leakage": ("cube_leakage", "cube_leakage_rows", "leakage_cube"),
    "teams_owners": ("cube_owners", "cube_owner_rows", "owner_cube"),
    # At a younger age than the contract's window (AGED): no query over the journeys of this name.
    "cohort_funnel_at_age": ("cube_funnel_at_age", "cube_reach_age_rows", "reach_age_cube"),
    "cohort_outcomes_at_age": ("cube_outcomes_at_age", "cube_outcome_age_rows", "outcome_age_cube"),
}
# Rollups summed from another rollup (or kept rows), not from the journeys: build -> (the one it
# sums, the name that one is read as). The funnel's and the outcomes' counts are their at-age
# rollups' summed over the ages, so one scan of the cohort builds both (half the building at 1M
# leads).
DERIVED = {
    "cube_funnel_rows": ("cube_reach_age_rows", "reach_age_cube"),
    "cube_outcome_rows": ("cube_outcome_age_rows", "outcome_age_cube"),
    # The Teams page's leakage counts the drops its lists keep whole (ROWS): computed once for
    # both (3.3 s of building at 1M leads saved).
    "cube_leakage_rows": ("teams_drops", "drop_rows"),
}
# Queries a view asks of the rollups for the counts its periods have, each at an age of its own
# (`$period_rows`: the comparison of two periods at equal age and the current one as it stands,
# queries/funnel.py, in one query): the rollup keeps each count apart by the age it happened
# at, so every age up to the window sums the same rows. Where no rollup answers, the caller
# runs the query of the journeys it names at a window of that many days: query -> that query.
AGED = {"cohort_funnel_at_age": "cohort_funnel", "cohort_outcomes_at_age": "cohort_outcomes"}
# Queries answered from the rows of the lead-level query they select from (teams.LEAD_LEVEL),
# kept whole: query -> that base query. Listing leads, or percentiles of their times, needs the
# leads themselves, not counts; the kept rows are the base's over the whole store, and a view
# takes those of its range and list filters (cube_lead_rows.sql) and runs the query on them.
ROWS = {
    "teams_handoff": "teams_handoffs",
    "teams_handoff_leads": "teams_handoffs",
    "teams_drop_leads": "teams_drops",
    "teams_stalled": "teams_stalled_rows",
    "teams_recycled": "teams_recycled_rows",
    # The bridge's MQLs and the opportunity each led to (one row per MQL, by its MQL entry), and
    # the opportunities created in a range (by their creation).
    "bridge_mqls": "bridge_mql_rows",
    "bridge_opportunities": "bridge_opportunity_rows",
    "bridge_roles": "bridge_opportunity_rows",
    # The stage times: every lead-stage's days to the next stage (or the total on the last).
    "stage_times": "stage_time_rows",
    # The Content page's reach: every touch on a piece of content, by the touch's time.
    "content_reach": "content_touch_rows",
    # The Pipeline page's real stage history: every stage and exit event of the cohort's
    # opportunities, with each opportunity's start and attributes (244k rows, 22 MB at 1M leads).
    "stage_visits": "cohort_status_events",
    "stage_moves": "cohort_status_events",
}
# Queries of the store's history that take nothing of a view but a range of whole days
# [$from_at, $to_before) and the contract: what happened on a day never depends on the as-of
# date or a filter, so the rows are counted once per day over the whole store and a range sums
# its days. query -> (the rollup's query, the file that builds it, the name it is read as).
HISTORY = {
    "weekly_decisions": ("cube_weekly_decisions", "cube_decision_rows", "decision_cube"),
    "weekly_entries": ("cube_weekly_entries", "cube_entry_rows", "entry_cube"),
}
# Queries of the Content page answered from the rows of the query they take their deals from,
# kept whole at the latest date: query -> that base query. The base groups every deal's events
# (attribution_deal_rows.sql); a view's query chooses its deals from the kept rows itself, by
# when each was won or opened and by its lead's attributes (cube_kept_rows.sql passes them on).
DEALS = {
    "attribution_credits": "attribution_deal_rows",
    "attribution_deal_outcomes": "attribution_deal_rows",
}
# The Pipeline page's queries (queries/pipeline.py) all read the opportunities' states at its two
# moments (pipeline_states.sql, one row per opportunity with its lead's attributes), which take
# nothing of the view's filters but the list filters: so the states are kept whole per store
# version and parameters (the moments T1 and T2, the base currency, the stages), and a view's
# queries take the rows its list filters pass (cube_state_rows.sql) instead of grouping every
# opportunity's events again. Any as-of and any dates: the moments key the kept states.
STATES = "pipeline_states"
# Rollups a view reads without their attributes when it filters and breaks down by none of them
# (every channel, region and segment: the view most people open first): their rows summed over
# channel, region and segment, kept beside the rollup (a few thousand rows where the rollup has
# hundreds of thousands), each attribute a null column so the same query reads them. Their
# readers only sum these measures, so the sums are the same: build -> its measures.
COLLAPSIBLE = {
    "cube_funnel_rows": ("n_reached", "n_skipped", "n_in_progress", "n_dropped", "revenue"),
    "cube_reach_age_rows": (
        "n_reached",
        "n_skipped",
        "n_in_progress",
        "n_dropped",
        "revenue",
        "n_with_amount",
    ),
    "cube_outcome_rows": (
        "n_cohort",
        "n_won",
        "n_lost",
        "n_after_window",
        "n_other_exit",
        "n_open",
        "n_open_past_window",
    ),
    "cube_outcome_age_rows": ("n_cohort",),
    "cube_flow_rows": ("n_entries", "n_events", "revenue"),
}
COLLAPSED_OVER = (*ATTRIBUTES, "owner_id")  # what a collapsed rollup sums over (owner_id: always null)
# Kept states at a time: each pair of moments has its own, so a few, the oldest going first,
# and picking dates never pushes out the funnel's rollups (KEEP).
STATES_KEEP = 4
# Kept rows taken by another range than the lead's start (cube_lead_rows.sql): base -> (its
# reader, the column its range applies to). An MQL is in a range by its MQL entry, a touch by
# its time, an opportunity by its creation.
READERS = {
    "bridge_mql_rows": ("cube_mql_rows", "mql_at"),
    "content_touch_rows": ("cube_touch_rows", "touched_at"),
    "bridge_opportunity_rows": ("cube_opportunity_rows", "opened_at"),
}
# Kept rows no date range applies to: the stalled leads are every lead in play at the as-of
# date, whatever range the page shows (teams_stalled_rows.sql).
UNRANGED = frozenset({"teams_stalled_rows"})
# What the rollup's own query applies: the range, the list filters and the breakdown. Everything
# else the view binds is fixed in the rollup and keys it. (A rollup of QUERIES or ROWS answers no
# owner filter, answers(): its owners are always every owner, so they need not key it.)
APPLIED = frozenset(
    {
        "start_at",
        "end_before",
        "from_at",
        "to_before",
        "by",
        "period",
        "period_rows",
        *list_filter_params(dict.fromkeys(LIST_FILTERS.values())),
    }
)
# The whole store, for the build: every start falls in [ALL_FROM, ALL_BEFORE).
ALL_FROM = dt.datetime(1, 1, 1)
ALL_BEFORE = dt.datetime(9999, 12, 31)
HISTORY_FROM = dt.datetime(1900, 1, 1)  # a history's first day: $from_at - $window stays a date
# Rollups kept at a time: a store version's under one skip policy are twenty-four (funnel,
# outcomes, flow, the two at-age ones and the stage times' rows for two grains; the Teams
# leakage, owners, kept handoff, drop and recycled rows; the stalled leads; the weekly decisions
# and entries; the Content page's deals and touches; the bridge's MQLs; the opportunities' stage
# events) and up to STATES_KEEP pipeline states, so two versions fit; with both skip policies in
# use a version has forty-four, and the oldest goes first (a rebuild, not an error).
KEEP = 60

_ROLLUPS: dict[tuple, pa.Table] = {}
_COLLAPSED: dict[tuple, pa.Table] = {}  # key of a COLLAPSIBLE rollup -> its rows without attributes
_LOCK = threading.Lock()
_BUILDING: set[tuple] = set()  # rollups being built now, one thread each
# (build file, store version) of the rollups built lately, newest last: what tests look at.
BUILT: collections.deque[tuple[str, str]] = collections.deque(maxlen=64)
ANSWERED: collections.Counter[str] = collections.Counter()  # views answered from a rollup, by query
COLLAPSED_READS: collections.Counter[str] = collections.Counter()  # of them, from a collapsed one
# Whether a view waits for a rollup not built yet. Off: it reads the journeys as before while a
# thread of its own builds the rollup (about 1.5 s at 1M leads) for the views after it, so no
# visitor waits for it; the warm-up (a background thread) builds it in its own thread. On in
# tests, so that the rollups answer from the first view.
WAIT = False


def answers(name: str, available: dict, standard_window: bool) -> bool:
    """Whether a rollup gives query `name` for these parameters: see the module's docstring.
    `standard_window`: the view's window is the contract's own (queries/funnel.py). The one
    gate of every route here (answer(), history(), deals()), so turning it off reads the
    queries themselves everywhere (tests, the engine parity harness)."""
    if not executor.on_duckdb():  # the rollups are Arrow tables read by DuckDB
        return False
    if name in HISTORY or name == STATES:  # a range of days, or the moments, keys them
        return True
    if name in DEALS:  # a deal's facts are the kept ones at the latest date only
        return not available.get("is_past", True)
    if name not in QUERIES and name not in ROWS or not standard_window or available.get("is_past", True):
        return False
    if name in AGED and available.get("period_rows") is None:  # the periods' ages they sum up to
        return False
    by = available.get("by")
    if by is not None and by not in (*ATTRIBUTES, MONTH) or name == "flow_funnel" and by == MONTH:
        return False
    # Kept rows are built without a breakdown ($by null, no group_value): a list of one
    # group's leads reads the journeys.
    if name in ROWS and available.get("sel_group") is not None:
        return False
    others = set(LIST_FILTERS.values()) - set(FILTERED)
    return all(available.get(f"all_{field}", True) for field in others)


def _key(build: str, available: dict, db: Path | None) -> tuple:
    # A derived rollup takes no parameters of its own: it is keyed by those of its source.
    fixed = executor.bind(DERIVED.get(build, (build,))[0], {**available, "by": None})
    items = tuple(sorted((k, repr(v)) for k, v in fixed.items() if k not in APPLIED))
    return (build, str(db), executor.store_version(db), items)


def rollup(build: str, available: dict, db: Path | None = None, wait: bool = True) -> pa.Table | None:
    """The rollup `build` (a build file of QUERIES, or a base query of ROWS) for these parameters, built
    once per store version and parameters. Not built yet: with `wait`, built here (or waited
    for, if another thread is building it); without, None at once, and a thread is started to
    build it unless one is at it."""
    key = _key(build, available, db)
    while True:
        with _LOCK:
            found = _ROLLUPS.get(key)
            if found is not None or key in _BUILDING and not wait:
                return found
            mine = key not in _BUILDING
            if mine:
                _BUILDING.add(key)
        if mine:
            break
        time.sleep(0.05)  # another thread is building it: rarely more than a second or two
    if not wait:
        # The builder reads the version this thread reads (its pin, in the copied context).
        context = contextvars.copy_context()
        threading.Thread(
            target=context.run,
            args=(_build_quietly, build, available, db, key),
            name="handoff-rollup",
            daemon=True,
        ).start()
        return None
    return _build(build, available, db, key)


def _build(build: str, available: dict, db: Path | None, key: tuple) -> pa.Table:
    try:
        whole = {**available, "start_at": ALL_FROM, "end_before": ALL_BEFORE, "by": None}
        whole.update(from_at=HISTORY_FROM, to_before=ALL_BEFORE)
        whole.update(list_filter_params(dict.fromkeys(LIST_FILTERS.values())))
        if build in DERIVED:
            source, relation = DERIVED[build]
            summed = rollup(source, available, db, wait=True)
            table = executor.run(build, {}, db=db, relations={relation: summed}, arrow=True)
        else:
            table = executor.run(build, executor.bind(build, whole), db=db, arrow=True)
        # Kept in range order, so a view reads the slice of its range only (_in_range); sorted
        # after its texts are encoded, as reordering a text column copies every string (1.4 s of
        # the 869k kept drops at 1M leads, 0.15 s once encoded).
        table = _compact(table)
        column = _range_column(table, build)
        if column is not None:
            table = table.sort_by(column)
        table = table.replace_schema_metadata({"range_column": column or ""})
        collapsed = _collapse(table, COLLAPSIBLE[build]) if build in COLLAPSIBLE else None
        with _LOCK:
            # Kept only if the store was not swapped under the build (then the key is stale).
            if executor.store_version(db) == key[2]:
                _make_room(build)
                _ROLLUPS[key] = table
                if collapsed is not None:
                    _COLLAPSED[key] = collapsed
                BUILT.append((build, key[2]))
        return table
    finally:
        with _LOCK:
            _BUILDING.discard(key)


def _make_room(build: str) -> None:
    """Drop the oldest rollup if the cache is full, or the oldest kept states if `build` is
    states and STATES_KEEP of them are kept. Called holding _LOCK."""
    if build == STATES:
        kept = [key for key in _ROLLUPS if key[0] == STATES]
        for key in kept[: max(0, len(kept) - STATES_KEEP + 1)]:
            _ROLLUPS.pop(key)  # the oldest first
    while len(_ROLLUPS) >= KEEP:
        oldest = next(iter(_ROLLUPS))
        _ROLLUPS.pop(oldest)
        _COLLAPSED.pop(oldest, None)


def _compact(table: pa.Table) -> pa.Table:
    """`table` with each text column of few distinct values (a team, an owner, a reason, a
    channel) dictionary-encoded: kept rows are one per lead, and their repeated texts were
    half their memory (157 -> 86 MB for the drops at 1M leads). DuckDB reads them as text."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) and len(column):
            encoded = pc.dictionary_encode(column.combine_chunks())
            if len(encoded.dictionary) * 10 < len(column):
                column = encoded
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _collapse(table: pa.Table, measures: tuple[str, ...]) -> pa.Table:
    """`table` (a COLLAPSIBLE rollup, sorted by its range column) summed over its attributes:
    one row per value of its other keys, with every column of `table` and its types (each
    attribute null), in the same order of the range column, with the same metadata."""
    keys = [c for c in table.column_names if c not in measures and c not in COLLAPSED_OVER]
    summed = table.group_by(keys, use_threads=False).aggregate([(m, "sum") for m in measures])
    columns = []
    for field in table.schema:
        if field.name in COLLAPSED_OVER:
            columns.append(pa.nulls(summed.num_rows, field.type))
        elif field.name in measures:
            columns.append(summed.column(f"{field.name}_sum").cast(field.type))
        else:
            columns.append(summed.column(field.name))
    out = pa.table(columns, schema=table.schema.remove_metadata())
    column = (table.schema.metadata or {}).get(b"range_column", b"").decode()
    if column:
        out = out.sort_by(column)
    return out.replace_schema_metadata(table.schema.metadata)


def _unfiltered(available: dict) -> bool:
    """Whether a view neither filters nor breaks down by an attribute a rollup keeps apart:
    then a COLLAPSIBLE rollup's collapsed rows answer it."""
    return available.get("by") in (None, MONTH) and all(available.get(f"all_{f}", True) for f in FILTERED)


def _range_column(table: pa.Table, build: str) -> str | None:
    """The column a view's range applies to in rollup `build`: a rollup's `day`
    (macros/rollup_range.sql), the lead's start_at in kept rows (cube_lead_rows.sql), or the
    column READERS names; None for kept rows no range applies to (DEALS). Kept in the table's
    metadata, which _in_range reads."""
    if build in READERS:
        return READERS[build][1]
    for column in ("day", "start_at"):
        if column in table.column_names:
            return column
    return None


def _in_range(table: pa.Table, available: dict) -> pa.Table:
    """The rows of `table` (sorted by its range column) that can fall in the view's range
    [$start_at, $end_before), a day wider on each side: a slice, not a copy, so DuckDB scans
    only those. Which rows count is still decided by the query's own range condition."""
    column = (table.schema.metadata or {}).get(b"range_column", b"").decode()
    if not table.num_rows or not column:
        return table
    values = table.column(column)
    day = np.timedelta64(1, "D")
    if values.num_chunks == 1 and values.null_count == 0 and pa.types.is_date32(values.type):
        # A day column is searched as the days since 1970 it is stored as: converting it to
        # numpy dates copies every row (a millisecond a view at 1M leads).
        keys = values.chunk(0).view(pa.int32()).to_numpy()
        lo, hi = (np.datetime64(available[k], "D").astype(np.int64) for k in ("start_at", "end_before"))
        first, last = np.searchsorted(keys, [lo - 1, hi + 1], side="left")
    else:
        keys = values.to_numpy()
        unit = np.datetime_data(keys.dtype)[0]
        lo, hi = (np.datetime64(available[k], unit) for k in ("start_at", "end_before"))
        first, last = np.searchsorted(keys, [lo - day, hi + day], side="left")
    return table.slice(int(first), int(last - first))


def _build_quietly(build: str, available: dict, db: Path | None, key: tuple) -> None:
    """_build on a thread of its own, as work nobody waits for: a failure (the store removed
    meanwhile, say) only means the views keep reading the journeys; the next view tries again."""
    executor.background()
    try:
        _build(build, available, db, key)
    except Exception:  # noqa: BLE001 (nobody waits for this thread; the views still answer)
        return


def run(name: str, available: dict, db: Path | None = None) -> pd.DataFrame | None:
    """Query `name` (a key of QUERIES or ROWS) from its rollup, for parameters
    answers() accepted: the same columns, rows and order as the query over the journeys. None
    when the rollup is not built yet and this view does not wait for it (WAIT; the warm-up and
    other background work always do)."""
    if name in ROWS:
        base = ROWS[name]
        if base in UNRANGED:
            available = {**available, "start_at": ALL_FROM, "end_before": ALL_BEFORE}
        table = rollup(base, available, db, wait=WAIT or executor.in_background())
        if table is None:
            return None
        summed = executor.run_on_rows(
            name,
            base,
            _in_range(table, available),
            available,
            db=db,
            reader=READERS.get(base, ("cube_lead_rows",))[0],
        )
    else:
        query, build, relation = QUERIES[name]
        table = rollup(build, available, db, wait=WAIT or executor.in_background())
        if table is None:
            return None
        collapsed = None
        if build in COLLAPSIBLE and _unfiltered(available):
            with _LOCK:
                collapsed = _COLLAPSED.get(_key(build, available, db))
        summed = executor.run(
            query,
            executor.bind(query, available),
            db=db,
            relations={relation: _in_range(table if collapsed is None else collapsed, available)},
        )
        if collapsed is not None:
            with _LOCK:
                COLLAPSED_READS[name] += 1
    with _LOCK:
        ANSWERED[name] += 1
    return summed


def history(name: str, params: dict, db: Path | None = None) -> pd.DataFrame | None:
    """Query `name` of HISTORY for the range of days [$from_at, $to_before) from its rollup:
    the same columns, rows and order as the query over the journeys. None when the rollup is
    not built yet (a thread is building it) or the engine is not DuckDB; the caller runs the
    query itself."""
    if not answers(name, params, True):
        return None
    query, build, relation = HISTORY[name]
    table = rollup(build, params, db, wait=WAIT or executor.in_background())
    if table is None:
        return None
    days = _in_range(table, {"start_at": params["from_at"], "end_before": params["to_before"]})
    summed = executor.run(query, executor.bind(query, params), db=db, relations={relation: days})
    with _LOCK:
        ANSWERED[name] += 1
    return summed


def deals(name: str, available: dict, db: Path | None = None) -> pd.DataFrame | None:
    """Query `name` of DEALS over the kept rows of its base at the latest date: the same
    columns, rows and order as over the layouts. None for a view as of a past date (a deal's
    facts then are another as-of's), off DuckDB, or while the rows are being built."""
    if not answers(name, available, True):
        return None
    base = DEALS[name]
    table = rollup(base, available, db, wait=WAIT or executor.in_background())
    if table is None:
        return None
    summed = executor.run_on_rows(name, base, table, available, db=db, reader="cube_kept_rows")
    with _LOCK:
        ANSWERED[name] += 1
    return summed


def states(names: list[str], available: dict, db: Path | None = None) -> list[pd.DataFrame] | None:
    """The Pipeline page's queries `names` (each over pipeline_states.sql) from the states kept
    for these parameters (STATES): the same columns, rows and order as over the opportunities'
    events. Built here when not kept yet, never in the background: building the states costs
    what computing them for this one view does (about 50 ms at 1M leads), so a view waits for
    them rather than computing them twice. None off DuckDB; the caller computes them itself."""
    if not answers(STATES, available, True):
        return None
    table = rollup(STATES, available, db, wait=True)
    frames = [
        executor.run_on_rows(name, STATES, table, available, db=db, reader="cube_state_rows")
        for name in names
    ]
    with _LOCK:
        ANSWERED.update(names)
    return frames


def answer(name: str, available: dict, standard_window: bool, db: Path | None = None) -> pd.DataFrame | None:
    """Query `name` from its rollup when one answers these parameters (answers()) and is built
    (run()); None otherwise, and the caller reads the journeys. The one place a query module
    asks the rollups, so every query of QUERIES is routed alike."""
    if not answers(name, available, standard_window):
        return None
    return run(name, available, db=db)


def settle(timeout: float = 600.0) -> None:
    """Wait until no rollup is being built (the benchmark, before it times the views after the
    first: they are answered from the rollups, as in the app once they are built)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _LOCK:
            if not _BUILDING:
                return
        time.sleep(0.05)


# A rollup's thread is a daemon, so that it never holds a process up; but one that is inside
# DuckDB when the interpreter shuts down takes the GIL back from a finalizing runtime and aborts
# the process ("PyGILState_Release: ... finalizing"). A process that ends waits for the builds
# under way instead, a minute at most (a build at 1M leads takes a second or two).
atexit.register(settle, 60.0)


def clear() -> None:
    """Forget every rollup (tests)."""
    with _LOCK:
        _ROLLUPS.clear()
        _COLLAPSED.clear()
        BUILT.clear()
        ANSWERED.clear()
        COLLAPSED_READS.clear()
