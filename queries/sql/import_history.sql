-- Import history: one row per load (an import of one file, or a sample build), newest first,
-- with its reconciliation: rows in = accepted + rejected + duplicate.
-- Parameters: none.

with

loads as (select * from loads)

select
    load_id,
    loaded_at,
    kind,
    description,
    n_rows_in,
    n_accepted,
    n_rejected,
    n_duplicate,
    n_rows_in = n_accepted + n_rejected + n_duplicate as is_reconciled
from loads
order by loaded_at desc, load_id desc
