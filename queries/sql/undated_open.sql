-- Undated open pipeline: one row per status of the open records the source gave no date at all
-- (a status file's open opportunities without a created date). They are in no cohort, so no
-- range counts them; this is where they are counted. A record that has dated events since is
-- in the journeys instead and is left out here. No parameters.

with

undated_records as (select * from undated_records),

journey_leads as (select * from journey_leads),

final as (
    select
        status,
        count(*) as n_records,
        count(amount) as n_with_amount
    from undated_records
    where lead_id not in (select lead_id from journey_leads)
    group by status
)

select * from final
order by n_records desc, status
