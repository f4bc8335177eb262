"""mapped.release_observations: every usable observation of every loaded release file, mapped on this run."""

from expectations.spec import (
    PERIOD_REGEX,
    Suite,
    column_types,
    columns_present,
    in_code_set,
    matches,
    no_rows,
    not_null,
    period_end_sql,
    unique_key,
    value_ranges_by_indicator,
)
from ingestion.releases.tables import MAPPED_RELEASE_OBSERVATIONS


SUITE = Suite(
    name="mapped.release_observations",
    table="mapped.release_observations",
    asset_key=("mapped", "release_observations"),
    description="Observations mapped from the raw records and the current seeds: region, indicator, period, value.",
    expectations=(
        columns_present(MAPPED_RELEASE_OBSERVATIONS.column_names),
        *column_types(MAPPED_RELEASE_OBSERVATIONS.types("region_code", "indicator_code", "period", "value",
                                                        "published_decimals")),
        *not_null("region_code", "indicator_code", "period", "value"),
        unique_key("region_code", "indicator_code", "period", "load_id"),
        in_code_set("region_code", "region_codes"),
        in_code_set("indicator_code", "indicator_codes"),
        matches("period", PERIOD_REGEX, what="a year (2022), quarter (2022Q3) or month (2022-09)"),
        no_rows(
            "released_after_period_end",
            "select o.region_code, o.indicator_code, o.period, f.release_date, f.source_file from {batch} as o"
            " join raw.release_files as f using (load_id) where f.release_date < " + period_end_sql("o.period"),
            "error",
            "A release never predates the end of the period it reports on (sidecar release_date or period wrong).",
        ),
        no_rows(
            "provincial_release_covers_all_provinces",
            "select load_id, indicator_code, period, count(distinct region_code) as provinces from {batch}"
            " where region_code in {province_codes} group by load_id, indicator_code, period"
            " having count(distinct region_code) > 1"
            " and count(distinct region_code) < (select count(*) from {province_codes} as p)",
            "warn",
            "A release with figures for several provinces covers all 31 of them (observed: incomplete releases).",
        ),
        *value_ranges_by_indicator("value"),
    ),
)
