"""Rebuild the derived journey tables from events: throw-away, rebuilt after every load.

journey_leads   one row per lead with at least one stage event: start, furthest stage, the exit
                that ended its journey, attributes, its account (own or matched: data/accounts.py).
journey_exits   one row per exit event of a lead with a journey, with the first stage event
                after it (resumed_at; null when the journey did not resume): as-of views.
opportunity_events  one row per event that names an opportunity, in each one's order (seq):
                what the pipeline at a date reads (data/opportunity_events.sql).
journey_roles   one row per lead and owner role (an SDR, a closing rep) with the owner in it.
journey_stages  one row per lead per stage, from stage 1 to the furthest stage the lead entered:
    entered_at       the lead's first event for the stage (re-entries never count); null = skipped
    reached_at       earliest entry into this stage or any later one (reached under `implied`)
    next_reached_at  reached_at of the next stage (null on the lead's furthest row)
    strict_at        entered_at when stages 1..this were all entered, in non-decreasing time
    strict_next_at   strict_at of the next stage
    + the lead's start, final exit, won amount and attributes, repeated so a funnel query
      never joins.

Rebuilt with them, in this order: account_matches (data/accounts.py), both grains' journeys, the
bridge (data/bridge.py), opportunity_events, the attribution layouts (data/attribution_layouts.py)
and the Teams page's layouts (data/team_layouts.py); docs/design.md lists them all.

Every funnel view is one scan of journey_stages with filters and a group by; the conversion
window and the as-of date are applied per query, so the tables do not depend on them.

Why generated SQL: the fastest exact rebuild is one `group by lead_id` pass with a `filter`
column per stage, then one `union all` branch per stage (measured at 1M leads: about 1 s, where
window functions over a long table took 5.5 s). The column list therefore follows the contract's
stages. Stage keys only ever come from the validated funnel.toml (lower-case letters, digits and
_), never from user input, and they are checked again here before they reach the SQL text; the
values they are compared with are still bound parameters.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb

from data import accounts, attribution_layouts, bridge, team_layouts
from data.contract import KEY_PATTERN, Contract, Stage

OPPORTUNITY_EVENTS = Path(__file__).with_name("opportunity_events.sql")

# Lead-level columns repeated on every journey_stages row.
LEAD_COLUMNS = (
    "start_at, has_first_entry, final_exit_at, final_exit_type, final_exit_reason, "
    "won_amount, won_currency, channel, campaign, region, segment, owner_id, owner_team, "
    "manager, office, sector, account_size"
)


def _stage_sql(contract: Contract) -> tuple[str, str, str, str]:
    keys = contract.stage_keys
    for key in keys:
        if not KEY_PATTERN.match(key):  # defence in depth: the contract loader checks it too
            raise ValueError(f"stage key {key!r} is not a plain identifier")
    n = len(keys)
    entries = ",\n        ".join(
        f"min(occurred_at) filter (where event_type = $stage_keys[{k}]) as e{k},\n"
        f"        greatest(count(*) filter (where event_type = $stage_keys[{k}]) - 1, 0) as x{k}"
        for k in range(1, n + 1)
    )
    # reached(k) = earliest entry into k or later; least() skips nulls.
    reached = [
        f"least({', '.join(f'e{j}' for j in range(k, n + 1))}) as r{k}" if k < n else f"e{n} as r{n}"
        for k in range(1, n + 1)
    ]
    # strict(k): e1 <= e2 <= ... <= ek, all present (a comparison with null is not true).
    strict = [
        "case when "
        + " and ".join(["e1 is not null"] + [f"e{j} >= e{j - 1}" for j in range(2, k + 1)])
        + f" then e{k} end as s{k}"
        for k in range(1, n + 1)
    ]
    furthest = "case " + " ".join(f"when e{k} is not null then {k}" for k in range(n, 0, -1)) + " end"
    rows = "\n    union all\n    ".join(
        f"select lead_id, {k} as stage_order, e{k} as entered_at, r{k} as reached_at, "
        + (f"r{k + 1}" if k < n else "cast(null as timestamp)")
        + f" as next_reached_at, s{k} as strict_at, "
        + (f"s{k + 1}" if k < n else "cast(null as timestamp)")
        + f" as strict_next_at, x{k} as n_reentries, "
        + LEAD_COLUMNS
        + f" from stage_times where furthest_order >= {k}"
        for k in range(1, n + 1)
    )
    # The per-lead table keeps reached(1) (the start) and the furthest stage; the other reached
    # and strict times are computed where the stage rows are written, so its sort and its
    # temporary table carry 2n - 1 fewer columns (at 1M leads: 0.5 to 1.4 s less CPU for it,
    # about 0.2 s more for the stage rows, and a peak memory of 1.3 GB instead of 1.6 GB).
    derived = f"{reached[0]},\n        {furthest} as furthest_order"
    stage_times = ",\n        ".join(reached[1:] + strict)
    return entries, derived, stage_times, rows


# What each grain's journeys are built from. Every query yields the record as `lead_id` (the
# lead for the lead grain, the opportunity for the opportunity grain) so one builder serves both.
LEAD_EVENTS = """
    select lead_id, event_type, occurred_at, reason_code, amount, currency, owner_id
    from events
    where lead_id is not null
    union all
    -- An opportunity's contacts reach its stages too (the people view), but its amount stays
    -- with one of them only (its own lead, else its primary contact, else the first), so
    -- revenue counts each opportunity once.
    select
        c.lead_id,
        e.event_type,
        e.occurred_at,
        e.reason_code,
        case when e.lead_id is null and c.lead_id = p.lead_id then e.amount end as amount,
        -- the amount's currency: its own, else its opportunity's (a history row names none)
        coalesce(e.currency, d.currency) as currency,
        e.owner_id
    from events as e
    join opportunity_contacts as c on c.opportunity_id = e.deal_id
    left join opportunities as d on d.opportunity_id = e.deal_id
    left join (
        select opportunity_id, arg_min(lead_id, (not coalesce(is_primary, false), lead_id)) as lead_id
        from opportunity_contacts
        group by opportunity_id
    ) as p on p.opportunity_id = e.deal_id
    where e.lead_id is distinct from c.lead_id
"""
# A lead's account: its own, or the one its email domain or company name matched
# (data/accounts.py, rebuilt just before the journeys).
LEAD_RECORDS = """
    select l.lead_id, l.created_at, l.channel, l.campaign, l.region, l.segment, l.owner_id, l.currency,
        m.account_id
    from leads as l
    left join account_matches as m on m.lead_id = l.lead_id and m.status = 'matched'
"""
DEAL_EVENTS = """
    select deal_id as lead_id, event_type, occurred_at, reason_code, amount, currency, owner_id
    from events
    where deal_id is not null
"""
# An opportunity's attributes: its record's, else those of its own lead, else of its primary
# contact (a deal of the sample carries its lead's channel and region); its account likewise.
DEAL_RECORDS = """
    with
    deal_leads as (
        select deal_id, arg_min(lead_id, occurred_at) filter (where lead_id is not null) as lead_id
        from events
        where deal_id is not null
        group by deal_id
    ),
    contacts as (
        select opportunity_id, arg_min(lead_id, (not coalesce(is_primary, false), lead_id)) as lead_id
        from opportunity_contacts
        group by opportunity_id
    )
    select
        d.deal_id as lead_id,
        o.created_at,
        coalesce(o.channel, l.channel) as channel,
        coalesce(o.campaign, l.campaign) as campaign,
        coalesce(o.region, l.region) as region,
        coalesce(o.segment, l.segment) as segment,
        coalesce(o.owner_id, l.owner_id) as owner_id,
        coalesce(o.currency, l.currency) as currency,
        coalesce(nullif(trim(o.account_id), ''), m.account_id) as account_id
    from deal_leads as d
    left join opportunities as o on o.opportunity_id = d.deal_id
    left join contacts as c on c.opportunity_id = d.deal_id
    left join leads as l on l.lead_id = coalesce(d.lead_id, c.lead_id)
    left join account_matches as m on m.lead_id = l.lead_id and m.status = 'matched'
"""
# Owners of each record by role (record_owners, from files that name an SDR, a closing rep...):
# an opportunity's are its own; a lead's are its own and those of the opportunities it is the
# lead or a contact of (its own first, then the earliest deal's).
LEAD_ROLES = """
    with
    deal_leads as (
        select deal_id, lead_id, min(occurred_at) as first_at
        from events
        where deal_id is not null and lead_id is not null
        group by all
        union all
        select c.opportunity_id, c.lead_id, min(e.occurred_at)
        from opportunity_contacts as c
        left join events as e on e.deal_id = c.opportunity_id
        group by all
    ),
    roles as (
        select record_id as lead_id, role, owner_id, cast(null as timestamp) as first_at
        from record_owners
        union all
        select d.lead_id, r.role, r.owner_id, coalesce(d.first_at, timestamp '9999-12-31')
        from record_owners as r
        join deal_leads as d on d.deal_id = r.record_id
    )
    select lead_id, role, arg_min(owner_id, (coalesce(first_at, timestamp '0001-01-01'), owner_id)) as owner_id
    from roles
    group by lead_id, role
"""
DEAL_ROLES = """
    select record_id as lead_id, role, owner_id
    from record_owners
"""
# The tables each grain's journeys are written to (queries/sql/cohort_rows.sql reads both).
PREFIXES = {"lead": "journey", "opportunity": "deal_journey"}


def rebuild(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Replace the journey tables of both grains in `con` from its events.

    Lead grain (journey_leads, journey_stages, journey_exits): one journey per lead over every
    stage of the contract, its own events and those of the opportunities it is a contact of.
    Opportunity grain (deal_journey_*): one journey per opportunity over the contract's
    opportunity-grain stages, from the events that name the deal, each opportunity once.

    `contract` carries the stages the store's events record (Contract.with_tracked): journeys
    run over those only (Contract.effective), so a stage the data never records is never
    filled in by the skip policy. Revenue is the amount on the entry into the contract's last
    stage (won), when the data records it. Rebuilt with them: each lead's account
    (account_matches, data/accounts.py) and the bridge between the grains (opportunity_people,
    opportunity_bridge, data/bridge.py)."""
    con.execute("set preserve_insertion_order = false")
    accounts.rebuild(con)  # each journey carries its record's account
    build_journeys(con, contract)
    bridge.rebuild(con)  # the links between the grains, over both grains' journeys
    build_opportunity_events(con)
    attribution_layouts.rebuild(con)  # the attribution deals' layouts, over journeys and people
    team_layouts.rebuild(con, contract)  # the Teams page's layouts, over the lead journeys


def build_journeys(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Both grains' journey tables (<prefix>_leads, _stages, _exits, _roles) from the events,
    records and account_matches in `con`, under the tracked `contract` (rebuild's second step;
    data/incremental.py runs it over the records an import touched)."""
    for step in journey_steps(contract):
        kind = "temp table" if step.temp else "table"
        con.execute(f"create or replace {kind} {step.table} as {step.sql}", step.params)
    con.execute("drop table journey_wide")


def build_opportunity_events(con: duckdb.DuckDBPyConnection) -> None:
    """Each opportunity's own events in its order, for the pipeline at a date and its movement."""
    con.execute(
        "create or replace table opportunity_events as " + OPPORTUNITY_EVENTS.read_text(encoding="utf-8")
    )


def derived_steps(contract: Contract) -> list[Step]:
    """Every derived table rebuild() writes, in its order, as steps (journey_wide among them,
    a temporary table): what data/journey_spark.py runs on Spark. rebuild() itself calls each
    module, whose rebuild() runs these same statements."""
    return [
        *(Step(*s) for s in accounts.steps()),
        *journey_steps(contract),
        *(Step(*s) for s in bridge.steps()),
        Step("opportunity_events", OPPORTUNITY_EVENTS.read_text(encoding="utf-8"), {}),
        *(Step(*s) for s in attribution_layouts.steps()),
        *(Step(*s) for s in team_layouts.steps(contract)),
    ]


@dataclasses.dataclass(frozen=True)
class Step:
    """One table a grain's build writes: `sql` is a select in DuckDB's dialect with `params`
    bound; `temp` marks journey_wide, the per-record table the others read (dropped after).
    The DuckDB build runs each as `create or replace table`; data/journey_spark.py translates
    the same text for Spark."""

    table: str
    sql: str
    params: dict
    temp: bool = False


def journey_steps(contract: Contract) -> list[Step]:
    """Both grains' steps, as build_journeys runs them (the lead grain's, then the deals')."""
    won_key = contract.stages[-1].key if contract.is_tracked(contract.stages[-1].key) else ""
    lead = contract.effective() if contract.tracked_stages else contract
    deals = contract.for_grain("opportunity")
    return [
        *grain_steps(lead, won_key, LEAD_EVENTS, LEAD_RECORDS, LEAD_ROLES, PREFIXES["lead"]),
        *grain_steps(deals, won_key, DEAL_EVENTS, DEAL_RECORDS, DEAL_ROLES, PREFIXES["opportunity"]),
    ]


def grain_steps(
    contract: Contract,
    won_key: str,
    events_sql: str,
    records_sql: str,
    roles_sql: str,
    prefix: str,
) -> list[Step]:
    """The tables of one grain, in order: journey_wide, then <prefix>_leads, _stages, _exits and
    _roles. `contract` is the journey this grain follows (its stages renumbered 1..n); with no
    stage at all the tables are written empty, so every query still finds them."""
    if not contract.stages:
        # A stage no event can enter: the tables come out empty, with every column.
        none = Stage(1, "no_stage_of_this_grain", "—", "—", None, None)
        contract = dataclasses.replace(contract, stages=(none,), handoff_stage=None)
    entries, derived, stage_times, rows = _stage_sql(contract)
    n = len(contract.stage_keys)
    params = {"stage_keys": contract.stage_keys, "exit_keys": contract.exit_keys, "won_key": won_key}
    keys = {"stage_keys": contract.stage_keys, "exit_keys": contract.exit_keys}
    steps = []
    # Row order inside a table is not a contract here (journey_wide is sorted by start, and the
    # branches of the union keep that order closely enough for zone maps); letting DuckDB write
    # in parallel saves about a second at 1M leads.
    steps.append(
        Step(
            "journey_wide",
            f"""
        with
        record_events as ({events_sql}),
        records as ({records_sql}),
        owners as (select * from owners),
        per_lead as (
            select
                lead_id,
                {entries},
                max(occurred_at) filter (where list_contains($stage_keys, event_type))
                    as last_stage_event_at,
                max(occurred_at) filter (where list_contains($exit_keys, event_type)) as last_exit_at,
                arg_max(event_type, occurred_at) filter (where list_contains($exit_keys, event_type))
                    as last_exit_type,
                arg_max(reason_code, occurred_at) filter (where list_contains($exit_keys, event_type))
                    as last_exit_reason,
                count(*) filter (where list_contains($exit_keys, event_type)) as n_exits,
                -- Revenue: the amount on the first event of the last stage (the signed deal).
                arg_min(amount, occurred_at) filter (where event_type = $won_key) as won_amount,
                arg_min(currency, occurred_at) filter (where event_type = $won_key) as won_event_currency,
                -- Whose record it is when the lead itself names no owner (an export of deals
                -- with their rep, say): the owner of its latest event that names one.
                arg_max(owner_id, occurred_at) filter (where owner_id is not null) as last_event_owner
            from record_events
            group by lead_id
        ),
        derived as (
            select
                *,
                {derived}
            from per_lead
            where last_stage_event_at is not null
        ),
        final as (
            select
                d.*,
                -- Start: entry(1) when the lead has one, else its earliest entry (Sales-sourced).
                coalesce(d.e1, d.r1) as start_at,
                d.e1 is not null as has_first_entry,
                case {" ".join(f"when d.e{k} = d.r1 then {k}" for k in range(1, n + 1))} end
                    as earliest_stage_order,
                {" + ".join(f"d.x{k}" for k in range(1, n + 1))} as n_reentries,
                -- The exit that ended the journey: the last exit, unless the lead came back
                -- after it (a recycled lead that re-enters a stage is still in play).
                case when d.last_exit_at >= d.last_stage_event_at then d.last_exit_at end
                    as final_exit_at,
                case when d.last_exit_at >= d.last_stage_event_at then d.last_exit_type end
                    as final_exit_type,
                case when d.last_exit_at >= d.last_stage_event_at then d.last_exit_reason end
                    as final_exit_reason,
                l.created_at,
                l.channel,
                l.campaign,
                l.region,
                l.segment,
                l.account_id,
                coalesce(l.owner_id, d.last_event_owner) as owner_id,
                -- The won amount's currency: its own, else the record's (an opportunity's
                -- currency on the record file, its amounts in the history file).
                coalesce(d.won_event_currency, l.currency) as won_currency,
                o.team as owner_team,
                -- From lookup files: the owner's manager and office, the account's sector and size.
                od.manager,
                od.office,
                a.sector,
                a.size as account_size
            from derived as d
            left join records as l on l.lead_id = d.lead_id
            left join owners as o on o.owner_id = coalesce(l.owner_id, d.last_event_owner)
            left join owner_details as od on od.owner_id = coalesce(l.owner_id, d.last_event_owner)
            left join accounts as a on a.account_id = l.account_id
        )
        -- Sorted by start so that a date-range filter skips whole row groups. What only `final`
        -- needed stays out: a sort carries every column it keeps.
        select * exclude (won_event_currency, last_event_owner) from final
        order by start_at, lead_id
        """,
            params,
            temp=True,
        )
    )
    steps.append(
        Step(
            f"{prefix}_leads",
            f"""
        select
            lead_id,
            {LEAD_COLUMNS},
            earliest_stage_order,
            furthest_order,
            n_reentries,
            last_stage_event_at,
            last_exit_at,
            last_exit_type,
            last_exit_reason,
            n_exits,
            created_at,
            account_id
        from journey_wide
        """,
            {},
        )
    )
    steps.append(
        Step(
            f"{prefix}_stages",
            f"""
        with
        wide as (select * from journey_wide),
        -- Not materialised: each branch below reads journey_wide itself and computes only the
        -- times it takes.
        stage_times as not materialized (
            select
                *,
                {stage_times}
            from wide
        ),
        stage_rows as (
            {rows}
        )
        select
            lead_id,
            cast(stage_order as tinyint) as stage_order,
            entered_at,
            reached_at,
            next_reached_at,
            strict_at,
            strict_next_at,
            cast(n_reentries as integer) as n_reentries,
            {LEAD_COLUMNS}
        from stage_rows
        """,
            {},
        )
    )
    # Every exit with the first stage event after it (null: none came). A view as of a past date
    # takes as final the latest exit on or before that date that nothing had resumed by then,
    # so it uses only what was known on the date (queries/sql/cohort_rows.sql).
    steps.append(
        Step(
            f"{prefix}_exits",
            f"""
        with
        record_events as ({events_sql}),
        journey_wide as (select * from journey_wide),
        exits as (
            select e.lead_id, e.occurred_at as exit_at, e.event_type as exit_type, e.reason_code
            from record_events as e
            semi join journey_wide as w on w.lead_id = e.lead_id
            where list_contains($exit_keys, e.event_type)
        ),
        stage_events as (
            select lead_id, occurred_at
            from record_events
            where list_contains($stage_keys, event_type)
        ),
        final as (
            select x.lead_id, x.exit_at, x.exit_type, x.reason_code, s.occurred_at as resumed_at
            from exits as x
            asof left join stage_events as s on s.lead_id = x.lead_id and s.occurred_at > x.exit_at
        )
        select * from final
        order by lead_id, exit_at
        """,
            keys,
        )
    )
    steps.append(
        Step(
            f"{prefix}_roles",
            f"""
        with
        roles as ({roles_sql}),
        journey_wide as (select * from journey_wide)
        select r.lead_id, r.role, r.owner_id
        from roles as r
        semi join journey_wide as w on w.lead_id = r.lead_id
        order by r.role, r.lead_id
        """,
            {},
        )
    )
    return steps


if __name__ == "__main__":  # python -m data.journey --engine duckdb|spark (data/journey_spark.py)
    import sys

    from data import journey_spark

    sys.exit(journey_spark.main())
