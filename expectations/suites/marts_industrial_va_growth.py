"""marts.industrial_va_growth: growth of industrial value added at comparable prices, as published."""

from expectations.spec import (
    Suite,
    between,
    column_types,
    columns_present,
    in_code_set,
    indicator_range,
    not_null,
    unique_key,
)

SUITE = Suite(
    name="marts.industrial_va_growth",
    table="marts.industrial_va_growth",
    asset_key=("marts", "industrial_va_growth"),
    blocking=True,
    description="Year-on-year growth of industrial value added above designated size, per region and year.",
    expectations=(
        columns_present(["region_code", "year", "industrial_va_growth_pct"]),
        *column_types({"year": "INTEGER", "industrial_va_growth_pct": "DOUBLE"}),
        *not_null("region_code", "year", "industrial_va_growth_pct"),
        unique_key("region_code", "year"),
        in_code_set("region_code", "region_codes"),
        between("year", 1949, 2100, name="year_plausible"),
        *indicator_range("industrial_va_growth_pct", "industrial_va_growth"),
    ),
)
