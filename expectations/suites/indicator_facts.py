"""Expectations shared by the two long indicator marts (every vintage, and the latest vintage of each).

The structure (columns, types, not null, key, known regions and indicators, statuses) is dbt's: the
enforced contracts and the tests of ``fct_indicator_vintages.yml`` and ``fct_indicator_values.yml``. What
is left is what dbt does not express: period spellings, vintages against periods, units against the
indicator, value ranges per indicator.
"""

from expectations.spec import (
    PERIOD_REGEX,
    Expect,
    matches,
    no_rows,
    period_end_sql,
    value_ranges_by_indicator,
)


def indicator_fact_expectations(*, current_only: bool = False) -> tuple[Expect, ...]:
    """With ``current_only`` (fct_indicator_vintages, which keeps withdrawn vintages as history) the checks a
    bad file trips (its release date, its values) look at vintages of current loads only, so removing or
    correcting the file unblocks publishing."""
    current = {"is_withdrawn": False} if current_only else {}
    return (
        matches("period", PERIOD_REGEX, what="a year (2022), quarter (2022Q3) or month (2022-09)"),
        no_rows(
            "released_after_period_end",
            "select region_code, indicator_code, period, release_date, source_file from {batch}"
            " where release_date < " + period_end_sql("period") + (" and not is_withdrawn" if current_only else ""),
            "error",
            "A vintage is never released before the end of the period it reports on.",
        ),
        no_rows(
            "unit_is_the_indicator_unit",
            "select f.indicator_code, f.unit, d.unit as expected_unit, count(*) as rows from {batch} as f"
            " join marts.dim_indicator as d using (indicator_code) where f.unit is distinct from d.unit"
            " group by f.indicator_code, f.unit, d.unit",
            "error",
            "Values are in the canonical unit of their indicator (marts.dim_indicator).",
        ),
        *value_ranges_by_indicator("value", when=current),
    )
