"""The records behind a number on Funnel health: who they are, their company, owner and dates.

Every count of the cohort funnel (reached, skipped into, in progress, dropped per stage) and of
its breakdown (a group's count at a stage) opens to the records it counts. The rows come from
cohort_records.sql, which applies cohort_funnel.sql's rules to the same cohort (cohort_rows.sql),
so a list always has exactly as many records as the number it was opened from
(tests/test_drill.py). The Teams page's drill-downs are queries.teams.drop_leads and
handoff_leads.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from data.contract import Contract
from queries import contracts, funnel
from queries.filters import MAX_TEXT, FilterError, Filters, attribute_column

# What a record can be at a stage, as the funnel counts it: status -> (its count column in
# cohort_funnel, what a person reads).
STATUSES = {
    "reached": ("n_reached", "reached"),
    "skipped": ("n_skipped", "skipped into"),
    "in_progress": ("n_in_progress", "stopped here, in progress"),
    "dropped": ("n_dropped", "stopped here, dropped"),
}
MAX_ROWS = 50_000  # a list longer than this is not one to read; the count still says how many
COLUMNS = [
    "lead_id",
    "lead_name",
    "company",
    "channel",
    "owner_id",
    "owner_name",
    "start_at",
    "entered_at",
    "reached_at",
    "exit_at",
    "exit_type",
    "exit_reason",
]


def _check(contract: Contract, stage: str, status: str, by: str | None, limit: int) -> int:
    """The stage's position among the tracked stages; refuses a selection the funnel never shows."""
    if status not in STATUSES:
        raise FilterError(f"records: expected one of {list(STATUSES)}, got {status!r}")
    tracked = [s.key for s in contract.tracked_stages or contract.stages]
    if stage not in tracked:
        raise FilterError(f"stage: expected one of the recorded stages {tracked}, got {stage!r}")
    if status in ("in_progress", "dropped") and stage == tracked[-1]:
        raise FilterError(f"the last recorded stage ({stage}) has no records in progress or dropped")
    if by is not None and by != funnel.MONTH:
        attribute_column(by)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_ROWS:
        raise FilterError(f"rows: expected a whole number from 1 to {MAX_ROWS:,}, got {limit!r}")
    return tracked.index(stage) + 1


def cohort_records(
    filters: Filters,
    stage: str,
    status: str = "reached",
    by: str | None = None,
    group: str | None = None,
    grouped: bool = False,
    limit: int = 1000,
    db: Path | None = None,
    contract: Contract | None = None,
) -> pd.DataFrame:
    """The cohort's records at `stage` with `status` there (STATUSES), oldest start first.

    With `grouped`, only the records whose attribute `by` (queries.filters.ATTRIBUTES or
    "month") is `group` (None: the records without a value): one cell of the breakdown.
    Columns: COLUMNS. attrs: n_total (all matching; at most `limit` rows are returned), as_of,
    window_days, skip_policy, is_mature.
    """
    contract = contract or contracts.current(db)
    order = _check(contract, stage, status, by, limit)
    if grouped and by is None:
        raise FilterError("group: name the attribute it is a value of")
    if group is not None and (not isinstance(group, str) or len(group) > MAX_TEXT):
        raise FilterError(f"group: expected a value of at most {MAX_TEXT} characters")
    as_of = funnel.resolve_as_of(filters, db)
    raw = funnel._run(
        "cohort_records",
        filters,
        contract,
        as_of,
        db=db,
        by=by,
        sel_stage_order=order,
        sel_status=status,
        sel_has_group=bool(grouped),
        sel_group=group,
        limit_rows=limit,
    )
    n_total = int(raw["n_total"].iloc[0]) if len(raw) else 0
    df = raw[COLUMNS].reset_index(drop=True)
    df = funnel._attrs(df, filters, contract, as_of)
    df.attrs["n_total"] = n_total
    return df
