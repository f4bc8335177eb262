{#-
    Invention patents per 10,000 resident population: computed from year-end patent stocks and the
    year-end resident population (held in 10,000 persons, so count / population is per 10,000 persons)
    where both exist, else the figure as published. The one definition: the mart patents_per_10k shows
    it, int_target_observations tracks targets on it.
-#}
with

annual as (

    select region_code, indicator_code, year, value
    from {{ ref('int_indicator_values_annual') }}
    where indicator_code in (
        'invention_patents_valid', 'high_value_invention_patents_valid', 'resident_population',
        'invention_patents_per_10k', 'high_value_invention_patents_per_10k'
    )

),

pivoted as (

    select
        region_code,
        year,
        max(value) filter (where indicator_code = 'invention_patents_valid') as invention_patents_valid,
        max(value) filter (where indicator_code = 'high_value_invention_patents_valid') as high_value_invention_patents_valid,
        max(value) filter (where indicator_code = 'resident_population') as resident_population_10k,
        max(value) filter (where indicator_code = 'invention_patents_per_10k') as published_invention_per_10k,
        max(value) filter (where indicator_code = 'high_value_invention_patents_per_10k') as published_high_value_per_10k
    from annual
    group by region_code, year

),

per_10k as (

    select
        region_code,
        year,
        case
            when resident_population_10k > 0 and invention_patents_valid is not null
                then invention_patents_valid / resident_population_10k
            else published_invention_per_10k
        end as invention_patents_per_10k,
        case
            when resident_population_10k > 0 and invention_patents_valid is not null then 'computed'
            when published_invention_per_10k is not null then 'published'
        end as invention_patents_per_10k_source,
        case
            when resident_population_10k > 0 and high_value_invention_patents_valid is not null
                then high_value_invention_patents_valid / resident_population_10k
            else published_high_value_per_10k
        end as high_value_invention_patents_per_10k,
        case
            when resident_population_10k > 0 and high_value_invention_patents_valid is not null then 'computed'
            when published_high_value_per_10k is not null then 'published'
        end as high_value_invention_patents_per_10k_source
    from pivoted

)

select
    region_code,
    year,
    invention_patents_per_10k,
    high_value_invention_patents_per_10k,
    case
        when coalesce(invention_patents_per_10k_source, high_value_invention_patents_per_10k_source)
             = coalesce(high_value_invention_patents_per_10k_source, invention_patents_per_10k_source)
            then coalesce(invention_patents_per_10k_source, high_value_invention_patents_per_10k_source)
        else 'mixed'
    end as source,
    invention_patents_per_10k_source,
    high_value_invention_patents_per_10k_source
from per_10k
where invention_patents_per_10k is not null
   or high_value_invention_patents_per_10k is not null
