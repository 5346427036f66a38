"""The bridge between the grains: who is on each opportunity, and what Marketing did before it.

Rebuilt with the journeys (data/journey.py calls rebuild() after both grains' journeys), so
the queries of the Bridge (queries/bridge.py) read a few small tables instead of the events:

    opportunity_people   one row per (opportunity, person): the lead it was converted from and
                         its contacts with their roles (data/opportunity_people.sql); a role is
                         the CRM's (a contact role, an association label), never the conversion
    opportunity_bridge   one row per opportunity of the opportunity grain: when it was created,
                         its account, its number of contacts and whether a Marketing-touched
                         contact was on it by then (data/opportunity_bridge.sql)

"Marketing-touched" is defined here once (docs/design.md "The bridge between the grains"): a
person on the opportunity with an event or a touch made by Marketing on or before the
opportunity's creation. An opportunity without a Marketing-touched contact is Sales-sourced.
Neither table depends on a view's dates: a view counts an opportunity once it was created by
its as-of, and what came before the creation came before the as-of too.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from data import derived_tables
from data.import_read import CONVERTED_ROLE

HERE = Path(__file__).parent
# The team name events.team and touches.team give Marketing (the schema's vocabulary, as
# queries/attribution.py reads it).
MARKETING_TEAM = "marketing"


def steps() -> list[tuple[str, str, dict]]:
    """(table, select, bound values) of what rebuild() writes, in order, for data/journey_spark.py too."""
    return [
        ("opportunity_people", _sql("opportunity_people"), {"converted_role": CONVERTED_ROLE}),
        ("opportunity_bridge", _sql("opportunity_bridge"), {"marketing_team": MARKETING_TEAM}),
    ]


def _sql(name: str) -> str:
    return (HERE / f"{name}.sql").read_text(encoding="utf-8")


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Replace opportunity_people and opportunity_bridge in `con`; the opportunity grain's
    journeys (deal_journey_leads) must be built already."""
    derived_tables.replace(con, steps())
