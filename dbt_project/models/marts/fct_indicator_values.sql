{#- The latest vintage of each figure: a view over the vintages, never a copy that is updated. -#}
with

vintages as (

    select * from {{ ref('fct_indicator_vintages') }}

)

select * exclude (is_latest_vintage, is_withdrawn)
from vintages
where is_latest_vintage
