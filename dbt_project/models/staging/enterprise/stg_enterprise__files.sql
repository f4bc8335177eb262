with

source as (

    select * from {{ source('enterprise', 'enterprise_files') }}

),

renamed as (

    select

        ---------- ids
        load_id,
        source_file,

        ---------- content
        sha256 as file_sha256,
        format,
        encoding,
        header_language,

        ---------- counts
        rows_read,
        rows_loaded,
        rows_quarantined,
        duplicate_rows_collapsed,

        ---------- metadata
        loaded_at

    from source

)

select * from renamed
