{#-
    R&D intensity (R&D expenditure as a % of GDP) per region and year: computed from the latest
    vintages, and reconciled with the published ratio as of the day that ratio was released. The one
    definition: the mart rd_intensity shows it, int_target_observations tracks targets on it.
-#}
with

vintages as (

    select * from {{ ref('int_indicator_observations_vintaged') }}
    where frequency = 'A'
      and indicator_code in ('rd_expenditure', 'gdp', 'rd_intensity')
      and not is_withdrawn

),

latest as (

    select * from vintages where is_latest_vintage

),

published as (

    select
        region_code,
        year,
        value as published_rd_intensity_pct,
        published_decimals,
        release_date as published_release_date
    from latest
    where indicator_code = 'rd_intensity'

),

-- the newest vintage of each input that had been released on the day the ratio was published
asof_inputs as (

    select
        published.region_code,
        published.year,
        vintages.indicator_code,
        vintages.value
    from published
    inner join vintages
        on vintages.region_code = published.region_code
       and vintages.year = published.year
       and vintages.indicator_code in ('rd_expenditure', 'gdp')
       and vintages.release_date <= published.published_release_date
    qualify row_number() over (
        partition by published.region_code, published.year, vintages.indicator_code
        order by {{ latest_vintage_first('vintages.') }}
    ) = 1

),

region_years as (

    select distinct region_code, year
    from latest
    where indicator_code in ('rd_expenditure', 'rd_intensity')

),

assembled as (

    select
        region_years.region_code,
        region_years.year,
        rd.value as rd_expenditure,
        gdp.value as gdp,
        published.published_rd_intensity_pct,
        published.published_decimals,
        published.published_release_date,
        asof_rd.value as asof_rd_expenditure,
        asof_gdp.value as asof_gdp
    from region_years
    left join latest as rd
        on rd.region_code = region_years.region_code and rd.year = region_years.year
       and rd.indicator_code = 'rd_expenditure'
    left join latest as gdp
        on gdp.region_code = region_years.region_code and gdp.year = region_years.year
       and gdp.indicator_code = 'gdp'
    left join published
        on published.region_code = region_years.region_code and published.year = region_years.year
    left join asof_inputs as asof_rd
        on asof_rd.region_code = region_years.region_code and asof_rd.year = region_years.year
       and asof_rd.indicator_code = 'rd_expenditure'
    left join asof_inputs as asof_gdp
        on asof_gdp.region_code = region_years.region_code and asof_gdp.year = region_years.year
       and asof_gdp.indicator_code = 'gdp'

),

-- exact reconciliation, in DECIMAL: round(100 * R / G, d) = p  <=>  (p - h) * G <= 100 * R < (p + h) * G
-- with h = half a unit of the published last decimal (5 * 10^-(d+1)) and G > 0; no division, no floats
reconciled as (

    select
        *,
        cast(asof_rd_expenditure as decimal(38, 8)) as asof_rd_dec,
        cast(asof_gdp as decimal(38, 8)) as asof_gdp_dec,
        cast(published_rd_intensity_pct as decimal(38, 8)) as published_dec,
        cast('0.' || repeat('0', published_decimals) || '5' as decimal(38, 12)) as half_unit
    from assembled

)

select
    region_code,
    year,
    rd_expenditure,
    gdp,
    case when gdp > 0 then 100 * rd_expenditure / gdp end as rd_intensity_pct,
    published_rd_intensity_pct,
    published_release_date,
    case when asof_gdp > 0 then 100 * asof_rd_expenditure / asof_gdp end as asof_rd_intensity_pct,
    case
        when published_dec is null or asof_rd_dec is null or asof_gdp_dec is null or asof_gdp_dec <= 0 then null
        else (published_dec - half_unit) * asof_gdp_dec <= 100 * asof_rd_dec
         and 100 * asof_rd_dec < (published_dec + half_unit) * asof_gdp_dec
    end as reconciles
from reconciled
