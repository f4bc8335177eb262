"""marts.target_tracking: where every policy target stands.

The structure (columns, types, not null, key, known targets, indicators and regions, statuses) is dbt's:
the enforced contract and the tests of ``target_tracking.yml``.
"""

from expectations.spec import Suite, in_set, no_rows, period_sql

SUITE = Suite(
    name="marts.target_tracking",
    table="marts.target_tracking",
    asset_key=("marts", "target_tracking"),
    blocking=True,
    description="One row per policy target of policy_targets.csv with its latest figure, gap and status.",
    expectations=(
        in_set("comparator", [">=", ">", "<=", "<", "~"]),  # no dbt test on it
        no_rows(
            "every_policy_target_tracked",
            "select target_id from {policy_target_ids} as t except select target_id from {batch}",
            "error",
            "No policy target is dropped: every row of policy_targets has its row here.",
        ),
        no_rows(
            "no_data_exactly_when_no_latest_value",
            "select target_id, status, latest_value from {batch}"
            " where (status = 'no_data') <> (latest_value is null)",
            "error",
            "The status is no_data exactly when there is no latest figure.",
        ),
        no_rows(
            "met_only_on_the_target_years_figure",
            "select target_id, target_year, judged_period from {batch}"
            " where status = 'met' and " + period_sql("period_year", "judged_period") + " is distinct from target_year",
            "error",
            "A target is met only on the figure of its target year, never on an older one.",
        ),
    ),
)
