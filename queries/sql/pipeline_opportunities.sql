-- Pipeline opportunities: one row per opportunity behind one bar of the movement waterfall
-- (pipeline_states.sql, read as the table pipeline_states): the pipeline at $t1 ('start'), at $t2
-- ('end'), or one bucket; largest amount first, at most $limit rows. Names are CRM text: shown
-- as plain text only.
-- Parameters: those of pipeline_states.sql, $bar ('start', 'end' or a bucket key), $sourced (a
--   team key, or null: every opportunity), $limit (rows).

with

opportunities as (select opportunity_id, name, account_id from opportunities),

accounts as (select account_id, name from accounts),

chosen as (
    select *
    from {{ ref('pipeline_states') }}
    where case $bar
            when 'start' then is_open_t1
            when 'end' then is_open_t2
            else coalesce(bucket = $bar, false)
        end
      and ($sourced is null or sourced_by = $sourced)
),

final as (
    select
        c.deal_id as opportunity_id,
        o.name,
        coalesce(a.name, o.account_id) as account,
        c.owner_id,
        c.sourced_by,
        c.bucket,
        c.created_at,
        c.status_t1,
        c.is_open_t1,
        c.status_t2,
        c.is_open_t2,
        c.amount_t1,
        c.currency_t1,
        c.amount_t2,
        c.currency_t2,
        c.amount_base_t1,
        c.amount_base_t2,
        c.close_t1,
        c.close_t2
    from chosen as c
    left join opportunities as o on o.opportunity_id = c.deal_id
    left join accounts as a on a.account_id = o.account_id
)

select * from final
order by coalesce(amount_t2, amount_t1) desc nulls last, opportunity_id
limit $limit
