{#-
    Every published R&D intensity whose two inputs were both known on its release day must equal the
    as-of ratio rounded to the published decimals (marts.rd_intensity.reconciles is false otherwise;
    it is null when an input is missing). A failure names the region and year to look at.
-#}
{{ config(severity='error') }}

select
    region_code,
    year,
    published_rd_intensity_pct,
    published_release_date,
    asof_rd_intensity_pct
from {{ ref('rd_intensity') }}
where reconciles = false
