{#- The staging select of one kind's current loads (source <kind>.<kind>_current_loads, a view of
    audit.current_loads): one per kind, so each kind's models depend only on the loads of that kind. -#}
{% macro stg_current_loads(source_name, source_table) %}
with

source as (

    select * from {{ source(source_name, source_table) }}

),

renamed as (

    select

        ---------- ids
        load_id,
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
{% endmacro %}
