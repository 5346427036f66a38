-- Undated open pipeline: one row per status of the open records the source gave no date at all
-- (a status file's open opportunities without a created date). They are in no cohort, so no
-- range counts them; this is where they are counted. A record that has dated events since is
-- in the journeys instead and is left out here. A record kept with an exit status and no date
-- (an undated exit: dq_undated_exits.sql) is not open and is left out too.
-- Parameters: $exit_keys (list of the contract's exit keys).

with

undated_records as (select * from undated_records),

journey_leads as (select * from journey_leads),

final as (
    select
        status,
        count(*) as n_records,
        count(amount) as n_with_amount
    from undated_records
    -- not exists, not `not in`: an anti join that is empty work when nothing is undated, where
    -- `not in` hashed every journey first (47 ms at 1M leads); both ids are never null.
    where not exists (select 1 from journey_leads where journey_leads.lead_id = undated_records.lead_id)
      and not list_contains($exit_keys, coalesce(stage, ''))
    group by status
)

select * from final
order by n_records desc, status
