-- The submission rows whose codes are in the current reference tables: the mapping step's rejected rows
-- (few, usually none) are left out by an anti-join, so ten million accepted rows pass straight through.

select s.*
from {{ ref('stg_enterprise__submissions') }} s
anti join {{ ref('stg_mapped__enterprise_rejected_rows') }} r
    on r.load_id = s.load_id and r.row_number = s.row_number
