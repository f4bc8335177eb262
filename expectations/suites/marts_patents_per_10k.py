"""marts.patents_per_10k: invention patents per 10,000 residents, computed where possible else published."""

from expectations.spec import (
    Suite,
    between,
    column_types,
    columns_present,
    in_code_set,
    in_set,
    indicator_range,
    not_greater,
    not_null,
    unique_key,
)

SUITE = Suite(
    name="marts.patents_per_10k",
    table="marts.patents_per_10k",
    asset_key=("marts", "patents_per_10k"),
    blocking=True,
    description="Invention and high-value invention patents per 10,000 resident population, with their source.",
    expectations=(
        columns_present(["region_code", "year", "invention_patents_per_10k", "high_value_invention_patents_per_10k",
                         "source"]),
        *column_types({"year": "INTEGER", "invention_patents_per_10k": "DOUBLE"}),
        *not_null("region_code", "year", "source"),
        unique_key("region_code", "year"),
        in_code_set("region_code", "region_codes"),
        between("year", 1949, 2100, name="year_plausible"),
        in_set("source", ["computed", "published", "mixed"]),
        *indicator_range("invention_patents_per_10k", "invention_patents_per_10k"),
        *indicator_range("high_value_invention_patents_per_10k", "high_value_invention_patents_per_10k"),
        not_greater("high_value_invention_patents_per_10k", "invention_patents_per_10k", severity="warn"),
    ),
)
