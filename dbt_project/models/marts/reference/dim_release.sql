{#- Every release file loaded, with its origin (the sidecar): who published it, its title, release date
    and URL, so every figure of marts.fct_indicator_vintages / fct_indicator_values (by load_id) names
    its source the way a reader can follow. -#}
with

files as (

    select * from {{ ref('stg_releases__files') }}

)

select
    cast(load_id as varchar) as load_id,
    cast(source_file as varchar) as source_file,
    cast(publisher as varchar) as publisher,
    cast(title as varchar) as title,
    cast(release_date as date) as release_date,
    cast(status as varchar) as status,
    cast(url as varchar) as url,
    cast(retrieved_on as date) as retrieved_on,
    cast(format as varchar) as format,
    cast(file_sha256 as varchar) as file_sha256
from files
