"""marts.rd_intensity: R&D expenditure as a % of GDP, computed and reconciled with the published ratio."""

from expectations.spec import (
    Expect,
    Suite,
    between,
    column_types,
    columns_present,
    in_code_set,
    indicator_range,
    no_rows,
    not_null,
    unique_key,
)

SUITE = Suite(
    name="marts.rd_intensity",
    table="marts.rd_intensity",
    asset_key=("marts", "rd_intensity"),
    blocking=True,
    description="R&D intensity per region and year, from the latest vintages, with the as-of reconciliation.",
    expectations=(
        columns_present(["region_code", "year", "rd_expenditure", "gdp", "rd_intensity_pct",
                         "published_rd_intensity_pct", "published_release_date", "asof_rd_intensity_pct",
                         "reconciles"]),
        *column_types({"year": "INTEGER", "rd_intensity_pct": "DOUBLE", "reconciles": "BOOLEAN"}),
        *not_null("region_code", "year"),
        unique_key("region_code", "year"),
        in_code_set("region_code", "region_codes"),
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
