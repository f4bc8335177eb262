-- What each SOE submission load contributes to the enterprise models beyond its rows, which never change
-- (raw tables are append-only): whether it is withdrawn, and which of its rows the mapping step rejects
-- with the current seeds. A load whose state differs from the one the models were last built on
-- (int_enterprise_loads_built) has its periods rebuilt (int_enterprise_periods_to_rebuild).

with

loads as (

    select load_id from {{ ref('stg_enterprise__files') }}

),

current_loads as (

    select load_id from {{ ref('stg_enterprise__current_loads') }}

),

rejected as (

    select
        load_id,
        count(*) as rejected_rows,
        hash(list(row_number order by row_number)) as rejected_rows_checksum
    from {{ ref('stg_mapped__enterprise_rejected_rows') }}
    group by load_id

)

select
    l.load_id,
    l.load_id not in (select load_id from current_loads) as is_withdrawn,
    coalesce(r.rejected_rows, 0) as rejected_rows,
    r.rejected_rows_checksum
from loads l
left join rejected r on r.load_id = l.load_id
