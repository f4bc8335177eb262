"""marts.patents_per_10k: invention patents per 10,000 residents, computed where possible else published.

The structure (columns, types, not null, key, known regions, the sources) is dbt's: the enforced contract
and the tests of ``patents_per_10k.yml``.
"""

from expectations.spec import Suite, between, indicator_range, not_greater

SUITE = Suite(
    name="marts.patents_per_10k",
    table="marts.patents_per_10k",
    asset_key=("marts", "patents_per_10k"),
    blocking=True,
    description="Invention and high-value invention patents per 10,000 resident population, with their source.",
    expectations=(
        between("year", 1949, 2100, name="year_plausible"),
        *indicator_range("invention_patents_per_10k", "invention_patents_per_10k"),
        *indicator_range("high_value_invention_patents_per_10k", "high_value_invention_patents_per_10k"),
        not_greater("high_value_invention_patents_per_10k", "invention_patents_per_10k", severity="warn"),
    ),
)
