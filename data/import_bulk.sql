-- The bulk checks of an import file's plain lines (data/import_bulk.py), one statement per
-- `-- name:` section. Every value is a bound $parameter; column positions are 1-based (0: the
-- file has no such column, read as empty).

-- name: row_hash
-- The digest of a row's one event, the same for the rows checked here and for those the
-- per-row parser checked: identical repeats have one digest, conflicting repeats two.
create or replace temp macro bulk_row_hash(
    event_id, lead_id, deal_id, event_type, occurred_at, owner_id, team, reason_code, amount,
    currency, close_date, forecast_category
) as (
    hash(
        event_id::varchar, lead_id::varchar, deal_id::varchar, event_type::varchar,
        occurred_at::timestamp, owner_id::varchar, team::varchar, reason_code::varchar,
        amount::varchar, currency::varchar, close_date::date, forecast_category::varchar
    ) >> 1
)::bigint;

-- name: macros
-- An id the parser accepts: present when required, not too long, not a number a spreadsheet
-- rewrote (only a value that starts with a digit or a sign can be one: the pattern is tried
-- on those alone).
create or replace temp macro bulk_id_ok(v, required, max_text, excel_id) as
    (v <> '' or not required)
    and len(v) <= max_text
    and not (
        case
            when v <> '' and (left(v, 1) between '0' and '9' or left(v, 1) in ('+', '-'))
                then regexp_full_match(v, excel_id)
            else false
        end
    );

-- name: values
-- Grain: one plain, non-blank line after the header (data/import_lines.py: printable ASCII, no
-- quote, no value with spaces around it): its values where the checks read them, and whether
-- it has as many fields as the header (else the per-row parser says so).
create or replace temp table bulk_values as
with
split as (
    select row_number, part as body, string_split(part, $delimiter) as f
    from bulk_lines
    where part <> ''
)
select
    row_number,
    body,
    len(f) = $n_fields as decidable,
    coalesce(f[$event_id_at], '') as event_id,
    coalesce(f[$lead_id_at], '') as lead_id,
    coalesce(f[$deal_id_at], '') as deal_id,
    coalesce(f[$stage_at], '') as stage_text,
    coalesce(f[$time_at], '') as time_text,
    coalesce(f[$owner_at], '') as owner_id,
    coalesce(f[$team_at], '') as team_text,
    coalesce(f[$reason_at], '') as reason_text,
    coalesce(f[$amount_at], '') as amount_text
from split;

-- name: stage_texts
select distinct stage_text from bulk_values where decidable;

-- name: team_texts
select distinct team_text from bulk_values where decidable;

-- name: reason_texts
select distinct reason_text from bulk_values where decidable;

-- name: checked
-- Grain: one decidable line. `ok`: every check of the per-row parser passes, and the event it
-- maps to, with the same values. A line that is not ok goes to the per-row parser, for its
-- reason (or for what the checks here do not decide).
create or replace temp table bulk_checked as
with
timed as (
    select
        v.*,
        -- ISO 8601 without an offset (2025-01-31, 2025-01-31 14:05, 2025-01-31T14:05:00), as
        -- the parser reads it; `ok` below takes it only when it reads back as written, so no
        -- lenient reading of a day or an hour passes for the parser's
        case when len(v.time_text) in (10, 16, 19) then
            try_strptime(replace(v.time_text, 'T', ' '), ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y-%m-%d'])
        end as at,
        case
            when v.amount_text = '' then null
            when regexp_full_match(v.amount_text, $amount_text)
                then cast(cast(replace(v.amount_text, $decimal, '.') as decimal(14, 2)) as varchar)
        end as amount
    from bulk_values as v
    where v.decidable
)
select
    t.row_number,
    t.body,
    -- the source's event id, else the one the parser makes (CASE: made only where it is used)
    case
        when t.event_id <> '' then t.event_id
        else $prefix || ':' || coalesce(nullif(t.deal_id, ''), nullif(t.lead_id, '')) || ':' || s.etype
            || ':' || strftime(t.at, '%Y-%m-%dT%H:%M:%S')
    end as event_id,
    nullif(t.lead_id, '') as lead_id,
    nullif(t.deal_id, '') as deal_id,
    s.etype as event_type,
    t.at as occurred_at,
    nullif(t.owner_id, '') as owner_id,
    coalesce(tm.team, s.stage_team) as team,
    r.reason_code,
    t.amount,
    case when t.amount is not null then $currency end as currency,
    r.flag,
    bulk_id_ok(t.event_id, $event_id_required, $max_text, $excel_id)
    and bulk_id_ok(t.lead_id, $lead_id_required, $max_text, $excel_id)
    and bulk_id_ok(t.deal_id, $deal_id_required, $max_text, $excel_id)
    and bulk_id_ok(t.owner_id, false, $max_text, $excel_id)
    and (t.owner_id = '' or $owner_team_known)
    and (t.event_id <> '' or t.lead_id <> '' or t.deal_id <> '')
    and t.at is not null
    and left(t.at::varchar, len(t.time_text)) = replace(t.time_text, 'T', ' ')
    and t.at >= $min_at and t.at <= $max_at
    -- a known stage, team and reason (each text decided by the parser's own code); an amount
    -- the parser reads as this one
    and s.etype is not null
    and (t.team_text = '' or tm.team is not null)
    and (t.reason_text = '' or r.reason_code is not null)
    and (t.amount_text = '' or t.amount is not null)
    and (s.etype <> $amount_event or t.amount is not null) as ok
from timed as t
left join bulk_stages as s on s.stage_text = t.stage_text
left join bulk_teams as tm on tm.team_text = t.team_text
left join bulk_reasons as r on r.reason_text = t.reason_text;

-- name: stage_rows
insert into st_rows by name
select
    $file_no as file_no,
    row_number,
    row_number as last_row_number,
    event_id as row_key,
    bulk_row_hash(
        event_id, lead_id, deal_id, event_type, occurred_at, owner_id, team, reason_code, amount,
        currency, null, null
    ) as row_hash,
    false as is_ignored,
    flag,
    left(body, $max_raw) as raw
from bulk_checked
where ok;

-- name: stage_events
insert into st_events by name
select
    $file_no as file_no,
    row_number,
    event_id,
    lead_id,
    deal_id,
    event_type,
    occurred_at,
    owner_id,
    team,
    reason_code,
    amount,
    currency
from bulk_checked
where ok;

-- name: bulk_owners
-- The owners the rows staged here name, gathered over the file's chunks.
create or replace temp table bulk_owners (owner_id varchar);

-- name: keep_owners
insert into bulk_owners select distinct owner_id from bulk_checked where ok and owner_id is not null;

-- name: stage_owners
-- An owner named by a row, once (the per-row parser's rows staged theirs already).
insert into st_owners by name
select distinct $file_no as file_no, owner_id, owner_id as owner_name, $owner_team as team
from bulk_owners
where owner_id not in (select owner_id from st_owners where file_no = $file_no);

-- name: to_parse
-- The lines the per-row parser reads: those the checks here could not decide or refused.
select v.row_number, v.body
from bulk_values as v
anti join (select row_number from bulk_checked where ok) as c on c.row_number = v.row_number
order by v.row_number;

-- name: count_bulk
select count(*) from bulk_checked where ok;

-- name: rehash_parsed
-- The digest of the rows the per-row parser gave an event, made as for the rows above.
update st_rows
set row_hash = h.row_hash
from (
    select
        e.row_number,
        bulk_row_hash(
            e.event_id, e.lead_id, e.deal_id, e.event_type, e.occurred_at, e.owner_id, e.team,
            e.reason_code, e.amount, e.currency, e.close_date, e.forecast_category
        ) as row_hash
    from st_events as e
    join bulk_parsed as p on p.row_number = e.row_number
    where e.file_no = $file_no
) as h
where st_rows.file_no = $file_no and st_rows.row_number = h.row_number;

-- name: observed
-- Grain: one decidable line the proposal observes as the per-row parser would (its `observe`):
-- its record (`grain:id`), the stage name it is observed under, and when.
create or replace temp table bulk_observed as
with
timed as (
    select
        v.*,
        case when len(v.time_text) in (10, 16, 19) then
            try_strptime(replace(v.time_text, 'T', ' '), ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y-%m-%d'])
        end as at
    from bulk_values as v
    where v.decidable
)
select
    t.row_number,
    $grain || ':' || (
        case when $by_lead then coalesce(nullif(t.lead_id, ''), nullif(t.deal_id, ''))
        else coalesce(nullif(t.deal_id, ''), nullif(t.lead_id, '')) end
    ) as record,
    s.observed as name,
    t.at as entered_at
from timed as t
join bulk_stages as s on s.stage_text = t.stage_text
where s.observed is not null
  and bulk_id_ok(t.deal_id, $deal_id_required, $max_text, $excel_id)
  -- the lead id is read when the record is the lead's, or the row names no deal
  and (
      (t.deal_id <> '' and not $by_lead)
      or bulk_id_ok(t.lead_id, $lead_id_required, $max_text, $excel_id)
  )
  and (t.lead_id <> '' or t.deal_id <> '')
  and t.at is not null
  and left(t.at::varchar, len(t.time_text)) = replace(t.time_text, 'T', ' ')
  and t.at >= $min_at and t.at <= $max_at;

-- name: all_observed
-- The observations of the statement above, gathered over the file's chunks.
create or replace temp table bulk_all_observed (
    row_number bigint, record varchar, name varchar, entered_at timestamp
);

-- name: keep_observed
insert into bulk_all_observed select * from bulk_observed;

-- name: to_observe
-- The lines the per-row parser observes: those the statement above does not.
select v.row_number, v.body
from bulk_values as v
anti join bulk_observed as o on o.row_number = v.row_number
order by v.row_number;

-- name: seen
-- Grain: one observation (a row that adds a stage name to a proposal), from the statement
-- above or from the per-row parser (bulk_recorded), under its name as Observations.add reads
-- it (bulk_names: the name stripped, and its plain form).
create or replace temp table bulk_seen as
select o.row_number, o.record, n.stripped, n.plain, o.entered_at
from (
    select row_number, record, name, entered_at from bulk_all_observed
    union all
    select row_number, record, name, entered_at from bulk_recorded
) as o
join bulk_names as n on n.name = o.name;

-- name: seen_names
-- Grain: one plain name and one spelling of it, in the order the rows first give them.
select plain, stripped, count(*) as n_rows
from bulk_seen
group by plain, stripped
order by min(row_number);

-- name: seen_firsts
-- Grain: one record and one plain name: when the record first entered it, in the order the
-- rows first give each pair (so each record first comes at its own first row, and its names
-- in the order the rows give them, as Observations.add fills `firsts`).
select record, plain, min(entered_at) as entered_at
from bulk_seen
where entered_at is not null
group by record, plain
order by min(row_number);

-- name: names_seen
select distinct name from bulk_all_observed union select distinct name from bulk_recorded;
