with

source as (

    select * from {{ source('registers', 'register_records') }}

),

renamed as (

    select

        ---------- ids
        load_id,
        source_file,
        row_number,
        record_id,
        uscc,

        ---------- dimensions
        nullif(trim(holder_name), '') as holder_name,
        group_name,
        kind as kind_as_received,
        nullif(trim(title), '') as title,
        nullif(trim(recognized_by), '') as recognized_by,
        nullif(trim(reference), '') as reference,

        ---------- dates
        cast(recognized_on as date) as recognized_on,
        cast(revoked_on as date) as revoked_on,

        ---------- metadata
        cast(loaded_at as timestamp) as loaded_at

    from source

)

select * from renamed
