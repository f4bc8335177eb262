"""marts.rd_intensity: R&D expenditure as a % of GDP, computed and reconciled with the published ratio.

The structure (columns, types, not null, key, known regions) is dbt's: the enforced contract and the tests
of ``rd_intensity.yml``.
"""

from expectations.spec import Expect, Suite, between, indicator_range, no_rows

SUITE = Suite(
    name="marts.rd_intensity",
    table="marts.rd_intensity",
    asset_key=("marts", "rd_intensity"),
    blocking=True,
    description="R&D intensity per region and year, from the latest vintages, with the as-of reconciliation.",
    expectations=(
        between("year", 1949, 2100, name="year_plausible"),
        *indicator_range("rd_intensity_pct", "rd_intensity"),
        *indicator_range("published_rd_intensity_pct", "rd_intensity"),
        *indicator_range("asof_rd_intensity_pct", "rd_intensity"),
        *indicator_range("rd_expenditure", "rd_expenditure"),
        *indicator_range("gdp", "gdp"),
        Expect(
            "reconciles",
            "ExpectColumnValuesToBeInSet",
            "error",
            {"column": "reconciles", "value_set": [True]},
            "Where the published ratio can be recomputed from the inputs known on its release day, the "
            "recomputed ratio rounded to the published decimals equals it (null rows are not compared).",
        ),
        no_rows(
            "published_after_year_end",
            "select region_code, year, published_release_date from {batch}"
            " where published_release_date < make_date(year, 12, 31)",
            "error",
            "A year's ratio is never published before the year ends.",
        ),
    ),
)
