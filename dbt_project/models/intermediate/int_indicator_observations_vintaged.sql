with

observations as (

    select * from {{ ref('stg_releases__observations') }}

),

files as (

    select * from {{ ref('stg_releases__files') }}

),

current_loads as (

    select load_id from {{ ref('stg_releases__current_loads') }}

),

indicators as (

    select indicator_code, unit from {{ ref('ref_indicators') }}

),

statuses as (

    select status, precedence from {{ ref('ref_release_statuses') }}

),

vintaged as (

    select
        observations.load_id,
        observations.region_code,
        observations.indicator_code,
        observations.period,
        observations.year,
        observations.frequency,
        observations.value,
        indicators.unit,
        observations.published_decimals,
        observations.obs_status,
        observations.note,
        files.release_date,
        files.status,
        statuses.precedence as status_precedence,
        files.source_file,
        files.loaded_at,
        current_loads.load_id is null as is_withdrawn

    from observations
    inner join files on observations.load_id = files.load_id
    left join indicators on observations.indicator_code = indicators.indicator_code
    left join statuses on files.status = statuses.status
    left join current_loads on observations.load_id = current_loads.load_id

),

-- a withdrawn vintage (its file left the landing folder) is never the latest
ranked as (

    select
        *,
        not is_withdrawn and row_number() over (
            partition by region_code, indicator_code, period
            order by is_withdrawn, {{ latest_vintage_first() }}
        ) = 1 as is_latest_vintage
    from vintaged

)

select * from ranked
