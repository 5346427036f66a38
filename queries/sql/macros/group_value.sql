-- group_value(row): the attribute a breakdown groups by ($by, checked against
-- queries/filters.py ATTRIBUTES before it gets here), read from a row of the journeys with the
-- alias `row` (or none); null when $by is null. The one list of breakdown attributes: adding
-- one is a line here and one in queries/filters.py ATTRIBUTES (docs/design.md "Referenced SQL").
-- Parameters: $by.
case $by
    when 'channel' then {row}channel
    when 'campaign' then {row}campaign
    when 'region' then {row}region
    when 'segment' then {row}segment
    when 'owner' then {row}owner_id
    when 'team' then {row}owner_team
    when 'manager' then {row}manager
    when 'office' then {row}office
    when 'sector' then {row}sector
    when 'size' then {row}account_size
end
