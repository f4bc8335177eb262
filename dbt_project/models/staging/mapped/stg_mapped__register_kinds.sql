with

source as (

    select * from {{ source('mapped', 'register_kinds') }}

),

renamed as (

    select

        ---------- ids
        kind as kind_as_received,

        ---------- mapped
        kind_code

    from source

)

select * from renamed
