"""marts.soe_innovation: innovation figures of the municipal SOE groups, and their roll-up ``ALL``.

The structure (columns, types, not null, key) is dbt's: the enforced contract and the tests of
``soe_innovation.yml``.
"""

from expectations.spec import PERIOD_REGEX, Suite, between, matches, no_rows, not_negative

COUNTS_AND_AMOUNTS = ("enterprises", "rd_expenditure_10k_yuan", "revenue_10k_yuan", "invention_patents_granted",
                      "high_value_invention_patents_valid", "tech_based_enterprises", "hightech_enterprises")

SUITE = Suite(
    name="marts.soe_innovation",
    table="marts.soe_innovation",
    asset_key=("marts", "soe_innovation"),
    blocking=True,
    description="Per SOE group and period, and for all municipal SOEs (group_name = 'ALL').",
    expectations=(
        matches("period", PERIOD_REGEX, what="a year (2024), quarter (2024Q3) or month (2024-09)"),
        *not_negative(*COUNTS_AND_AMOUNTS),
        between("rd_intensity_pct", 0, 100, why="R&D expenditure never exceeds revenue (loader rule)."),
        between("rd_intensity_pct", 0, 20, severity="warn", name="rd_intensity_pct_plausible",
                why="Even research-heavy groups spend well under 20 % of revenue on R&D."),
        between("sei_output_share_pct", 0, 100, why="SEI output never exceeds industrial output (loader rule)."),
        between("rd_growth_pct", -100, None, why="An expenditure cannot fall by more than 100 %."),
        between("rd_growth_pct", -50, 200, severity="warn", name="rd_growth_pct_plausible",
                why="A group's R&D spending rarely halves or triples in a year."),
        no_rows(
            "every_period_has_all_row",
            "select distinct period from {batch} except select period from {batch} where group_name = 'ALL'",
            "error",
            "Each period has the roll-up row for all municipal SOEs (group_name = 'ALL').",
        ),
        no_rows(
            "all_row_is_the_sum_of_groups",
            "select g.period, g.enterprises as groups_sum, a.enterprises as all_row from"
            " (select period, sum(enterprises) as enterprises, sum(rd_expenditure_10k_yuan) as rd"
            " from {batch} where group_name <> 'ALL' group by period) as g"
            " join (select period, enterprises, rd_expenditure_10k_yuan as rd from {batch} where group_name = 'ALL') as a"
            " using (period) where g.enterprises <> a.enterprises or abs(g.rd - a.rd) > 0.001 * greatest(abs(a.rd), 1)",
            "error",
            "The ALL row adds up the groups (enterprises and R&D expenditure) in each period.",
        ),
    ),
)
