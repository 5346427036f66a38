"""The Teams page's layouts, rebuilt with the journeys (data/journey.rebuild) from events.

team_first_owners  one row per lead and owner team: the team's first owner and its time
team_handoffs      one row per lead at the handoff stage: the follow-through team's first
                   action after the handoff entry, and who made the lead's final exit
team_positions     one row per lead and stage-event time: the stage it sits in until its
                   next stage event, and its first exit since
team_recycles      one row per recycled lead and stage it has an event of: its first recycle,
                   the reason, and per stage whether it was entered before and when after

The Teams queries (queries/sql/teams_*.sql) read these instead of grouping the raw events per
query; each row keeps the time a query compares with its as-of date, so "as of" answers stay
exact for past dates too (data/team_layouts.sql says how). Every store the rebuild writes has
the four tables, empty (with every column) when there are no events or no handoff.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from data import derived_tables
from data.contract import Contract

SQL = Path(__file__).with_name("team_layouts.sql")
TABLES = ("team_first_owners", "team_handoffs", "team_positions", "team_recycles")


def statements() -> dict[str, str]:
    """The file's statements by table: name -> select."""
    text = SQL.read_text(encoding="utf-8")
    parts = re.split(r"^-- table: (\w+)\n", text, flags=re.M)[1:]
    return {name: body.strip().rstrip(";") for name, body in zip(parts[::2], parts[1::2], strict=True)}


def steps(contract: Contract) -> list[tuple[str, str, dict]]:
    """(table, select, bound values) of what rebuild() writes, for data/journey_spark.py too,
    under the journeys' `contract` (its tracked stages)."""
    lead = contract.effective() if contract.tracked_stages else contract
    handoff = lead.handoff
    params = {
        "stage_keys": lead.stage_keys,
        "exit_keys": lead.exit_keys,
        # No handoff (or none with an owner to follow through): no stage matches, no rows.
        "handoff_order": handoff.order if handoff and handoff.owner else 0,
        "handoff_key": handoff.key if handoff else "",
        "follow_team": (handoff.owner if handoff else None) or "",
        "recycle_exit": lead.recycle_exit,
    }
    return [
        (name, select, {k: v for k, v in params.items() if f"${k}" in select})
        for name, select in statements().items()
    ]


def rebuild(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Replace the Teams layouts in `con` under the journeys' `contract` (its tracked stages)."""
    derived_tables.replace(con, steps(contract))
