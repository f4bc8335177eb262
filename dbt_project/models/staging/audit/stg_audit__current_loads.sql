with

source as (

    select * from {{ source('audit', 'current_loads') }}

),

renamed as (

    select

        ---------- ids
        load_id,
        kind,
        source_file,

        ---------- content
        sha256 as file_sha256,
        sidecar_sha256,
        format,

        ---------- vintage
        cast(release_date as date) as release_date,
        cast(loaded_at as timestamp) as loaded_at

    from source

)

select * from renamed
