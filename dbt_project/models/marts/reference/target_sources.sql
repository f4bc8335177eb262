{#- The published figures behind each region target's latest figure, with the release each comes from
    (publisher, title, release date, URL): what a reader follows to check the figure. -#}
with

tracking as (

    select target_id, latest_period from {{ ref('target_tracking') }} where latest_period is not null

),

targets as (

    select * from {{ ref('dim_target') }} where subject_kind = 'region'

),

measure_inputs as (

    select * from {{ ref('ref_measure_inputs') }}

),

values_ as (

    select * from {{ ref('fct_indicator_values') }}

),

releases as (

    select * from {{ ref('dim_release') }}

),

indicators as (

    select * from {{ ref('dim_indicator') }}

),

-- the published indicators a target's measure comes from: indicator_series measures are indicators
inputs as (

    select targets.target_id, targets.subject as region_code, targets.tracked_measure as indicator_code, 1 as position
    from targets
    where targets.tracked_in = 'indicator_series'

    union all

    select targets.target_id, targets.subject, measure_inputs.indicator_code, measure_inputs.position
    from targets
    inner join measure_inputs
        on measure_inputs.source_model = targets.tracked_in
       and measure_inputs.measure = targets.tracked_measure

)

select
    cast(inputs.target_id as varchar) as target_id,
    cast(tracking.latest_period as varchar) as period,
    cast(inputs.position as integer) as position,
    cast(inputs.region_code as varchar) as region_code,
    cast(inputs.indicator_code as varchar) as indicator_code,
    cast(indicators.name_en as varchar) as indicator_name_en,
    cast(indicators.name_zh as varchar) as indicator_name_zh,
    cast(values_.value as double) as value,
    cast(values_.unit as varchar) as unit,
    cast(releases.publisher as varchar) as publisher,
    cast(releases.title as varchar) as title,
    cast(values_.release_date as date) as release_date,
    cast(values_.status as varchar) as status,
    cast(releases.url as varchar) as url,
    cast(values_.source_file as varchar) as source_file
from inputs
inner join tracking on tracking.target_id = inputs.target_id
inner join values_
    on values_.region_code = inputs.region_code
   and values_.indicator_code = inputs.indicator_code
   and values_.period = tracking.latest_period
left join releases on releases.load_id = values_.load_id
left join indicators on indicators.indicator_code = inputs.indicator_code
