-- Import issues of one load: one row per rejected or flagged row of the file, in file order.
-- Rejected rows were not imported; flagged rows were, and are worth a look.
-- Parameters: $load_id (text), $max_rows (int).

with

import_issues as (select * from import_issues)

select
    row_number,
    column_name,
    severity,
    reason,
    raw,
    count(*) over () as n_total
from import_issues
where load_id = $load_id
order by row_number, severity
limit $max_rows
