"""marts.fct_indicator_values: the latest vintage of each (region, indicator, period)."""

from expectations.spec import Suite, no_rows
from expectations.suites.indicator_facts import indicator_fact_expectations

SUITE = Suite(
    name="marts.fct_indicator_values",
    table="marts.fct_indicator_values",
    asset_key=("marts", "fct_indicator_values"),
    blocking=True,
    description="The latest vintage of each figure: what dashboards show.",
    expectations=(
        *indicator_fact_expectations(),
        no_rows(
            "is_the_latest_vintage",
            "select v.region_code, v.indicator_code, v.period, v.release_date, max(w.release_date) as newer_release"
            " from {batch} as v join marts.fct_indicator_vintages as w"
            " on w.region_code = v.region_code and w.indicator_code = v.indicator_code and w.period = v.period"
            " and w.release_date > v.release_date and not w.is_withdrawn group by v.region_code, v.indicator_code, v.period, v.release_date",
            "error",
            "No current vintage of the same figure was released later than the one shown.",
        ),
        no_rows(
            "covers_every_vintaged_figure",
            "select region_code, indicator_code, period from marts.fct_indicator_vintages where not is_withdrawn"
            " except select region_code, indicator_code, period from {batch}",
            "error",
            "Every figure that has a current vintage has a latest value.",
        ),
    ),
)
