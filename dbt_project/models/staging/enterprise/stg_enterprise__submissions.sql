with

source as (

    select * from {{ source('enterprise', 'enterprise_submissions') }}

),

renamed as (

    select

        ---------- ids
        load_id,
        source_file,
        row_number,
        uscc,
        period,

        ---------- period parts (the loader writes canonical labels: 2024, 2024Q3, 2024-09)
        cast(left(period, 4) as integer) as year,
        {{ period_frequency('period') }} as frequency,
        case
            when length(period) = 4 then null
            when substr(period, 5, 1) = 'Q' then cast(right(period, 1) as integer)
            else cast(right(period, 2) as integer)
        end as period_number,

        ---------- dimensions
        enterprise_name,
        group_name,
        industry_code,
        district_code,

        ---------- measures
        revenue_10k_yuan,
        rd_expenditure_10k_yuan,
        rd_personnel,
        invention_patent_applications,
        invention_patents_granted,
        invention_patents_valid,
        high_value_invention_patents_valid,
        industrial_output_10k_yuan,
        sei_output_10k_yuan,

        ---------- flags
        is_hightech,
        is_tech_based,
        has_rd_institution,

        ---------- metadata
        loaded_at

    from source

),

dated as (

    select
        *,
        case frequency
            when 'A' then make_date(year, 1, 1)
            when 'Q' then make_date(year, 3 * period_number - 2, 1)
            else make_date(year, period_number, 1)
        end as period_start,
        case frequency
            when 'A' then make_date(year, 12, 31)
            when 'Q' then last_day(make_date(year, 3 * period_number, 1))
            else last_day(make_date(year, period_number, 1))
        end as period_end,
        case frequency
            when 'A' then cast(year - 1 as varchar)
            when 'Q' then cast(year - 1 as varchar) || 'Q' || period_number
            else cast(year - 1 as varchar) || '-' || lpad(cast(period_number as varchar), 2, '0')
        end as same_period_last_year
    from renamed

)

select * from dated
