-- rollup_group(row): the group a rollup's row (queries/cube.py: funnel_cube, outcome_cube,
-- flow_cube) belongs to for $by: the attributes the rollups keep apart, or the month of its day
-- (for the flow never asked: queries/cube.py answers() refuses it); null when $by is null.
-- The breakdowns queries/cube.py ATTRIBUTES lets the rollups answer.
-- Parameters: $by.
case $by
    when 'channel' then {row}channel
    when 'region' then {row}region
    when 'segment' then {row}segment
    when 'month' then strftime({row}day, '%Y-%m')
end
