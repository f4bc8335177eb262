with

source as (

    select * from {{ source('mapped', 'release_observations') }}

),

renamed as (

    select

        ---------- ids
        load_id,
        row_number,
        region_code,
        indicator_code,
        period,

        ---------- period parts
        {{ period_year('period') }} as year,
        {{ period_frequency('period') }} as frequency,

        ---------- measures
        cast(value as double) as value,
        cast(unit_multiplier as double) as unit_multiplier,
        cast(published_decimals as integer) as published_decimals,

        ---------- annotations
        obs_status,
        note,

        ---------- as received
        region_raw,
        indicator_raw,
        unit_raw,
        period_raw,
        value_raw

    from source

)

select * from renamed
