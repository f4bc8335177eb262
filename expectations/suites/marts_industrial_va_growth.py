"""marts.industrial_va_growth: growth of industrial value added at comparable prices, as published.

The structure (columns, types, not null, key, known regions) is dbt's: the enforced contract and the tests
of ``industrial_va_growth.yml``.
"""

from expectations.spec import Suite, between, indicator_range

SUITE = Suite(
    name="marts.industrial_va_growth",
    table="marts.industrial_va_growth",
    asset_key=("marts", "industrial_va_growth"),
    blocking=True,
    description="Year-on-year growth of industrial value added above designated size, per region and year.",
    expectations=(
        between("year", 1949, 2100, name="year_plausible"),
        *indicator_range("industrial_va_growth_pct", "industrial_va_growth"),
    ),
)
