with

source as (

    select * from {{ source('mapped', 'register_record_kinds') }}

),

renamed as (

    select

        ---------- ids
        load_id,
        row_number,

        ---------- mapped
        kind_code

    from source

)

select * from renamed
