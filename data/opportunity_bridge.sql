-- The bridge facts of each opportunity: one row per opportunity of the opportunity grain's
-- journeys (deal_journey_leads), independent of any view. docs/design.md "The bridge between
-- the grains".
--   opened_at             when it was created: the earlier of its record's created date
--                         (opportunities.created_at) and its first stage entry (its start)
--   account_id            its record's account, else its own lead's, else its primary
--                         contact's (own or matched: data/accounts.py)
--   n_contacts            its contacts: the lead it was converted from and its contact roles,
--                         each person once (opportunity_people)
--   first_marketing_at    the earliest event made by $marketing_team (events.team) or touch made
--                         by $marketing_team (touches.team) of any of its people, or event of
--                         its own made by $marketing_team, on or before opened_at (null: none)
--   is_marketing_touched  first_marketing_at is not null: Marketing-sourced. An opportunity
--                         without it is Sales-sourced.
-- Parameters: $marketing_team (the team name events and touches give Marketing).

with

deal_journey_leads as (select * from deal_journey_leads),
opportunities as (select * from opportunities),
opportunity_people as (select * from opportunity_people),
events as (select * from events),
touches as (select * from touches),

opened as (
    select
        d.lead_id as opportunity_id,
        -- least() skips a null: a record without a created date opens at its first stage.
        least(o.created_at, d.start_at) as opened_at,
        d.account_id
    from deal_journey_leads as d
    left join opportunities as o on o.opportunity_id = d.lead_id
),

people as (
    select
        o.opportunity_id,
        o.opened_at,
        p.lead_id
    from opened as o
    inner join opportunity_people as p on p.opportunity_id = o.opportunity_id
),

contact_counts as (
    select opportunity_id, count(*) as n_contacts
    from people
    group by opportunity_id
),

marketing_marks as (
    select p.opportunity_id, min(e.occurred_at) as marked_at
    from people as p
    inner join events as e
        on e.lead_id = p.lead_id
       and e.team = $marketing_team
       and e.occurred_at <= p.opened_at
    group by p.opportunity_id
    union all
    select p.opportunity_id, min(t.touched_at) as marked_at
    from people as p
    inner join touches as t
        on t.lead_id = p.lead_id
       and t.team = $marketing_team
       and t.touched_at <= p.opened_at
    group by p.opportunity_id
    union all
    -- The opportunity's own events: one a Marketing owner made by its creation (a deal that
    -- Marketing opened itself, with no contact on record) is Marketing's too.
    select o.opportunity_id, min(e.occurred_at) as marked_at
    from opened as o
    inner join events as e
        on e.deal_id = o.opportunity_id
       and e.team = $marketing_team
       and e.occurred_at <= o.opened_at
    group by o.opportunity_id
),

first_marks as (
    select opportunity_id, min(marked_at) as first_marketing_at
    from marketing_marks
    group by opportunity_id
),

final as (
    select
        o.opportunity_id,
        o.opened_at,
        o.account_id,
        coalesce(c.n_contacts, 0) as n_contacts,
        m.first_marketing_at,
        m.first_marketing_at is not null as is_marketing_touched
    from opened as o
    left join contact_counts as c on c.opportunity_id = o.opportunity_id
    left join first_marks as m on m.opportunity_id = o.opportunity_id
)

select * from final
