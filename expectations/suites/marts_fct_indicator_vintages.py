"""marts.fct_indicator_vintages: every vintage of every figure."""

from expectations.spec import Suite, no_rows
from expectations.suites.indicator_facts import indicator_fact_expectations

SUITE = Suite(
    name="marts.fct_indicator_vintages",
    table="marts.fct_indicator_vintages",
    asset_key=("marts", "fct_indicator_vintages"),
    blocking=True,
    description="Every vintage of every (region, indicator, period): one row per figure per loaded release.",
    expectations=(
        *indicator_fact_expectations(current_only=True),
        no_rows(
            "provincial_release_covers_all_provinces",
            "select source_file, release_date, indicator_code, period, count(distinct region_code) as provinces"
            " from {batch} where region_code in {province_codes}"
            " group by source_file, release_date, indicator_code, period having count(distinct region_code) > 1"
            " and count(distinct region_code) < (select count(*) from {province_codes} as p)",
            "warn",
            "A release with figures for several provinces covers all 31 of them (observed: incomplete releases).",
        ),
    ),
)
