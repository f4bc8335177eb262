"""marts.target_tracking: where every policy target stands."""

from expectations.spec import (
    Suite,
    column_types,
    columns_present,
    in_code_set,
    in_set,
    no_rows,
    not_null,
    unique_key,
)

SUITE = Suite(
    name="marts.target_tracking",
    table="marts.target_tracking",
    asset_key=("marts", "target_tracking"),
    blocking=True,
    description="One row per policy target of policy_targets.csv with its latest figure, gap and status.",
    expectations=(
        columns_present(["target_id", "indicator_code", "region_code", "scope", "comparator", "target_value",
                         "target_year", "latest_value", "latest_period", "gap", "required_annual_change",
                         "status", "judged_period", "latest_age_years", "is_stale", "exceeded_by",
                         "reporting_date", "name_zh", "name_en", "unit", "unit_label_en", "unit_label_zh"]),
        *column_types({"target_id": "VARCHAR", "target_value": "DOUBLE", "target_year": "INTEGER"}),
        *not_null("target_id", "indicator_code", "comparator", "target_value", "target_year", "status",
                  "name_en", "name_zh", "unit_label_en"),
        unique_key("target_id"),
        in_code_set("target_id", "policy_target_ids"),
        in_code_set("region_code", "region_codes"),
        in_set("status", ["met", "on_track", "at_risk", "off_track", "awaiting_data", "no_data"]),
        in_set("comparator", [">=", ">", "<=", "<", "~"]),
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
            " where status = 'met' and (judged_period is null or cast(left(judged_period, 4) as integer) <> target_year)",
            "error",
            "A target is met only on the figure of its target year, never on an older one.",
        ),
    ),
)
