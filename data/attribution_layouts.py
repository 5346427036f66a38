"""The attribution deals laid out for the questions the Content page asks: small tables built
from events, journeys and people once per rebuild, so the attribution queries
(queries/sql/attribution_deals.sql, attribution_credits.sql, attribution_deal_outcomes.sql) read
a few hundred thousand rows instead of all of events, journey_leads and touches.

    attribution_deal_events    one row per event that names an opportunity (the deal columns)
    attribution_deal_leads     one row per (deal, lead it can have): contact flag, attributes
    attribution_source_events  per row of attribution_deal_leads, the first event of each type
    attribution_deal_touches   one row per (opportunity, touch of one of its people)

None of them depends on a view's dates, its as-of or the contract: each keeps what a query
needs to answer "as of $as_of" exactly (each file says how). Rebuilt at the end of
data.journey.rebuild, after the bridge (opportunity_people) and both grains' journeys; on a
store without events they come out empty, with every column.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from data import derived_tables

HERE = Path(__file__).parent
# In build order: attribution_source_events reads attribution_deal_leads.
TABLES = (
    "attribution_deal_events",
    "attribution_deal_leads",
    "attribution_source_events",
    "attribution_deal_touches",
)


def steps() -> list[tuple[str, str, dict]]:
    """(table, select, bound values) of what rebuild() writes, in order, for data/journey_spark.py too."""
    # The names are ours (TABLES), each with its file beside this module.
    return [(table, (HERE / f"{table}.sql").read_text(encoding="utf-8"), {}) for table in TABLES]


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Replace the attribution layouts in `con` from its events, journeys and people."""
    derived_tables.replace(con, steps())
