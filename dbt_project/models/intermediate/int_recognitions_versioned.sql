-- Every accepted recognition (a register row whose kind is in ref_recognition_kinds) of every load,
-- numbered per record_id by load: the latest load that is not withdrawn is current, every earlier one is
-- history, with the file and time that replaced it. A row whose load was withdrawn (its file left the
-- landing folder) is history too, so withdrawing a resubmission makes the previous version current again.

{{ config(materialized='table') }}

with

current_loads as (

    select load_id from {{ ref('stg_registers__current_loads') }}

),

kinds as (

    select * from {{ ref('stg_mapped__register_kinds') }}

),

accepted as (

    select
        records.*,
        kinds.kind_code,
        records.load_id not in (select load_id from current_loads) as is_withdrawn
    from {{ ref('stg_registers__records') }} as records
    inner join kinds on kinds.kind_as_received = records.kind_as_received

),

versioned as (

    select
        *,
        row_number() over by_load as version,
        case when not is_withdrawn then lead(loaded_at) over by_current_load end as superseded_at,
        case when not is_withdrawn then lead(source_file) over by_current_load end as superseded_by_file
    from accepted
    window
        by_load as (partition by record_id order by loaded_at, load_id),
        by_current_load as (partition by record_id, is_withdrawn order by loaded_at, load_id)

)

select *, not is_withdrawn and superseded_at is null as is_current
from versioned
