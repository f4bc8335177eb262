with

source as (

    select * from {{ source('releases', 'release_files') }}

),

renamed as (

    select

        ---------- ids
        load_id,
        source_file,

        ---------- provenance
        format,
        publisher,
        title,
        url,
        cast(retrieved as date) as retrieved_on,
        sha256 as file_sha256,
        sidecar_sha256,
        encoding,
        notes as file_notes,

        ---------- vintage
        cast(release_date as date) as release_date,
        lower(status) as status,
        cast(loaded_at as timestamp) as loaded_at

    from source

)

select * from renamed
