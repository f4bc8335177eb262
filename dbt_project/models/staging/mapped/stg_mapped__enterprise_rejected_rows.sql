with

source as (

    select * from {{ source('mapped', 'enterprise_rejected_rows') }}

),

renamed as (

    select

        ---------- ids
        load_id,
        row_number,

        ---------- why
        reason

    from source

)

select * from renamed
