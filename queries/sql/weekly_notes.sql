-- Meeting notes: one row per note recorded for weeks up to and including $week_start, newest
-- week first, then in the order they were written. author and note are free text: render as
-- plain text only.
-- Reads the team's edits file (data/edits.py), attached as `edits` beside the store.
-- Parameters: $week_start (date: the Monday of the chosen ISO week).

with

meeting_notes as (select * from edits.meeting_notes),

final as (
    select note_id, week_start, author, note, created_at
    from meeting_notes
    where week_start <= $week_start
)

select * from final
order by week_start desc, created_at, note_id
