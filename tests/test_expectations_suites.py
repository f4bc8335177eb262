"""Every suite passes on a small clean warehouse, and each kind of bad data fails exactly the
expectations meant to catch it.

The warehouse is built here with the loaders' own DDL (raw and audit tables) and the marts' dbt
contracts; each violation is one SQL statement applied to a fresh copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from core.settings import SEEDS_DIR
from expectations import SUITES, get_suite, run_suite
from ingestion.audit import AUDIT_DDL
from ingestion.enterprise.tables import ENTERPRISE_DDL
from ingestion.registers.tables import REGISTERS_DDL
from ingestion.releases.tables import MAPPED_RELEASES_DDL, RELEASES_DDL
from tests.serving_fixtures import contract_ddl


#: The marts the suites check, created from their dbt contracts (columns, types, not null) and filled below.
CONTRACT_MARTS = ('dim_indicator', 'fct_indicator_vintages', 'fct_indicator_values', 'rd_intensity', 'patents_per_10k', 'industrial_va_growth', 'soe_innovation', 'target_tracking')


def _seed(name: str) -> str:
    return f"read_csv('{SEEDS_DIR / (name + '.csv')}', header = true, all_varchar = true)"


CLEAN_WAREHOUSE_SQL = f"""
-- ---------------------------------------------------------------- releases
insert into raw.release_files (load_id, source_file, sha256, sidecar_sha256, format, publisher, title,
                               release_date, status, retrieved, encoding, loaded_at) values
    ('L1', 'releases/nbs/rd_intensity_2020.csv', repeat('a', 64), repeat('b', 64), 'nbs_export', 'NBS',
     'R&D bulletin 2020', date '2021-09-22', 'final', date '2026-11-20', 'gb18030', timestamp '2026-11-20 10:00:00'),
    ('L2', 'releases/cq/gdp_2020.json', repeat('c', 64), repeat('d', 64), 'nbs_easyquery_json', 'NBS',
     'GDP 2020, first release', date '2021-03-18', 'preliminary', date '2026-11-20', null, timestamp '2026-11-20 10:00:01'),
    ('L3', 'releases/cq/gdp_2020_revised.json', repeat('e', 64), repeat('f', 64), 'nbs_easyquery_json', 'NBS',
     'GDP 2020, revised', date '2022-01-10', 'revised', date '2026-11-20', null, timestamp '2026-11-20 10:00:02');
insert into mapped.release_observations (load_id, row_number, region_code, indicator_code, period, value,
                                      unit_multiplier, published_decimals)
    select 'L1', row_number() over (order by region_code), region_code, 'rd_intensity', '2020',
           1.0 + (row_number() over (order by region_code)) / 10.0, 1, 2
    from {_seed('ref_regions')} where level = 'province';
insert into mapped.release_observations (load_id, row_number, region_code, indicator_code, period, value,
                                      unit_multiplier, published_decimals) values
    ('L1', 40, 'CN-CQ', 'rd_expenditure', '2020', 526.8, 100000000, 1),
    ('L2', 1, 'CN-CQ', 'gdp', '2020', 25002.79, 100000000, 2),
    ('L3', 1, 'CN-CQ', 'gdp', '2020', 25041.0, 100000000, 1);
insert into raw.release_observations (load_id, row_number, region_raw, indicator_raw, period_raw, value_raw)
    select load_id, row_number, region_code, indicator_code, period, value::varchar from mapped.release_observations;
insert into audit.load_log (load_id, source_file, sha256, format, release_date, rows_loaded, rows_quarantined,
                            status, error, loaded_at) values
    ('L0', 'releases/nbs/rd_intensity_2020.csv', null, null, null, 0, 0, 'failed',
     'releases/nbs/rd_intensity_2020.csv: no sidecar', timestamp '2026-11-20 09:00:00'),
    ('L1', 'releases/nbs/rd_intensity_2020.csv', repeat('a', 64), 'nbs_export', date '2021-09-22', 32, 0, 'loaded',
     null, timestamp '2026-11-20 10:00:00'),
    ('L2', 'releases/cq/gdp_2020.json', repeat('c', 64), 'nbs_easyquery_json', date '2021-03-18', 1, 0, 'loaded',
     null, timestamp '2026-11-20 10:00:01'),
    ('L3', 'releases/cq/gdp_2020_revised.json', repeat('e', 64), 'nbs_easyquery_json', date '2022-01-10', 1, 0,
     'loaded', null, timestamp '2026-11-20 10:00:02'),
    ('E1', 'enterprise/bulk_2024.csv', repeat('9', 64), 'enterprise_csv', null, 3, 0, 'loaded', null,
     timestamp '2026-11-20 10:00:03'),
    ('G1', 'registers/register_2024.csv', repeat('7', 64), 'register_csv', null, 3, 0, 'loaded', null,
     timestamp '2026-11-20 10:00:04');
-- ---------------------------------------------------------------- registers
insert into raw.register_files values
    ('G1', 'registers/register_2024.csv', repeat('7', 64), 'register_csv', 'utf-8', 'en', 3, 3, 0, 0,
     timestamp '2026-11-20 10:00:04');
insert into raw.register_records values
    ('G1', 'registers/register_2024.csv', 2, 'R1', '9150010641Y1ELYEEX', '渝例国028有限公司', '山城交通建设投资集团',
     'white_list_platform', '白名单平台1号', '重庆市科学技术局', '2024/6/30', date '2024-06-30', '渝示〔2024〕1号', null, null,
     timestamp '2026-11-20 10:00:04'),
    ('G1', 'registers/register_2024.csv', 3, 'R2', '91500113JDNUN8FRDM', '渝例国019有限公司', null,
     '知名品牌', '知名品牌2号', '重庆市国资委', '2023年1月2日', date '2023-01-02', '渝示〔2023〕2号', '2025-01-01',
     date '2025-01-01', timestamp '2026-11-20 10:00:04'),
    ('G1', 'registers/register_2024.csv', 4, 'R3', '91500113JDNUN8FRDM', '渝例国019有限公司', null,
     'renowned_brand', '知名品牌3号', '重庆市国资委', '2024-03-01', date '2024-03-01', '渝示〔2024〕3号', null, null,
     timestamp '2026-11-20 10:00:04');
-- ---------------------------------------------------------------- enterprise
insert into raw.enterprise_files values
    ('E1', 'enterprise/bulk_2024.csv', repeat('9', 64), 'enterprise_csv', 'utf-8', 'en', 3, 3, 0, 0,
     timestamp '2026-11-20 10:00:03');
insert into raw.enterprise_submissions
    select 'E1', 'enterprise/bulk_2024.csv', i + 1, '91500112MA5U' || lpad(i::varchar, 6, '0'), '样例' || i || '有限公司',
           '巴渝汽车工业集团', 'C3611', '500112', '2024', 1000.0 + i, 30.0, 12, 3, 1, 40, 10, 900.0, 300.0,
           true, true, false, timestamp '2026-11-20 10:00:03'
    from range(3) t(i);
-- ---------------------------------------------------------------- marts (tables from their dbt contracts)
create schema marts;
{''.join(contract_ddl(model) for model in CONTRACT_MARTS)}insert into marts.dim_indicator by name
    select indicator_code, name_zh, name_en, unit, description from {_seed('ref_indicators')};
insert into marts.fct_indicator_vintages by name
    select o.region_code, o.indicator_code, o.period, o.value, d.unit, f.release_date, f.status, f.source_file, o.load_id,
           cast(o.period as integer) as year, 'A' as frequency, f.loaded_at, o.published_decimals, false as is_withdrawn,
           row_number() over (partition by o.region_code, o.indicator_code, o.period order by f.release_date desc) = 1
               as is_latest_vintage
    from mapped.release_observations o join raw.release_files f using (load_id) join marts.dim_indicator d using (indicator_code);
insert into marts.fct_indicator_values by name
    select * exclude (is_withdrawn, is_latest_vintage) from marts.fct_indicator_vintages where is_latest_vintage;
insert into marts.rd_intensity by name select * from (values
    ('CN-CQ', 2020::integer, 526.8::double, 25041.0::double, 2.1037::double, 2.11::double, date '2021-09-22',
     2.1070::double, true),
    ('CN-BJ', 2020::integer, null, null, null, 6.44::double, date '2021-09-22', null, null)
) t(region_code, year, rd_expenditure, gdp, rd_intensity_pct, published_rd_intensity_pct, published_release_date,
    asof_rd_intensity_pct, reconciles);
insert into marts.patents_per_10k by name select * from (values
    ('CN-CQ', 2020::integer, 12.5::double, 4.1::double, 'computed'),
    ('CN-BJ', 2020::integer, 155.8::double, 81.2::double, 'published')
) t(region_code, year, invention_patents_per_10k, high_value_invention_patents_per_10k, source);
insert into marts.industrial_va_growth by name select * from (values
    ('CN-CQ', 2021::integer, 10.7::double), ('CN-CQ', 2022::integer, 6.4::double)
) t(region_code, year, industrial_va_growth_pct), (select date '2023-03-17' as release_date, 'final' as status,
                                                    'releases/cq/bulletin_2022.xlsx' as source_file);
insert into marts.soe_innovation by name select * from (values
    ('巴渝汽车工业集团', '2024', 2, 300.0, 10000.0, 3.0, 8.5, 4, 10, 2, 1, 35.0),
    ('两江电子信息集团', '2024', 1, 100.0, 5000.0, 2.0, null, 1, 5, 1, 1, 20.0),
    ('ALL', '2024', 3, 400.0, 15000.0, 2.67, 6.0, 5, 15, 3, 2, 30.0)
) t(group_name, period, enterprises, rd_expenditure_10k_yuan, revenue_10k_yuan, rd_intensity_pct, rd_growth_pct,
    invention_patents_granted, high_value_invention_patents_valid, tech_based_enterprises, hightech_enterprises,
    sei_output_share_pct);
insert into marts.target_tracking by name
    select target_id, indicator as indicator_code, geo as region_code, scope, comparator,
           cast(target_value as double) as target_value, cast(target_year as integer) as target_year,
           cast(null as double) as latest_value, cast(null as varchar) as latest_period, cast(null as double) as gap,
           cast(null as double) as required_annual_change, 'no_data' as status, cast(null as varchar) as judged_period,
           cast(null as double) as latest_age_years, cast(null as boolean) as is_stale, cast(null as double) as exceeded_by,
           date '2026-12-01' as reporting_date, i.name_zh, i.name_en, t.unit, u.label_en as unit_label_en,
           u.label_zh as unit_label_zh
    from {_seed('policy_targets')} t
    join {_seed('ref_indicators')} i on i.indicator_code = t.indicator
    join {_seed('ref_target_units')} u on u.unit = t.unit;
"""


def _quarantine(load_id: str, source_file: str, rows: int, stage: str) -> str:
    """SQL quarantining ``rows`` rows of a load, as the loader (``load``) or the mapping (``mapping``) does."""
    return (
        "insert into audit.quarantine (load_id, source_file, row_number, reason, record, quarantined_at, stage)"
        f" select '{load_id}', '{source_file}', 100 + i, 'unparseable number 1,2x', '{{}}',"
        f" timestamp '2026-11-21 08:00:00', '{stage}' from range({rows}) t(i);"
    )


def build_clean_warehouse(path: Path) -> Path:
    """A small warehouse on which every suite passes."""
    con = duckdb.connect(str(path))
    try:
        con.execute(AUDIT_DDL + RELEASES_DDL + MAPPED_RELEASES_DDL + ENTERPRISE_DDL + REGISTERS_DDL)
        con.execute(CLEAN_WAREHOUSE_SQL)
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def clean_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_clean_warehouse(tmp_path_factory.mktemp("quality") / "clean.duckdb")


def _broken(clean: Path, tmp_path: Path, sql: str) -> Path:
    path = tmp_path / "broken.duckdb"
    shutil.copy(clean, path)
    con = duckdb.connect(str(path))
    try:
        con.execute(sql)
    finally:
        con.close()
    return path


def test_every_suite_passes_on_the_clean_warehouse(clean_warehouse: Path) -> None:
    from expectations import run_suites

    results = run_suites(clean_warehouse)

    assert [r.suite for r in results] == [s.name for s in SUITES]
    assert {r.suite: r.failed() for r in results} == {s.name: [] for s in SUITES}


VIOLATIONS = [
    pytest.param(
        "mapped.release_observations",
        "update mapped.release_observations set value = 45 where region_code = 'CN-CQ' and indicator_code = 'rd_intensity'",
        {"value_in_range_rd_intensity", "value_plausible_rd_intensity"},
        id="provincial-rd-intensity-of-45-percent",
    ),
    pytest.param(
        "mapped.release_observations",
        "insert into mapped.release_observations select * from mapped.release_observations where indicator_code = 'gdp' and load_id = 'L2'",
        {"key_unique"},
        id="duplicated-observation",
    ),
    pytest.param(
        "mapped.release_observations",
        "update mapped.release_observations set region_code = 'CN-XX' where region_code = 'CN-BJ'",
        {"region_code_known", "provincial_release_covers_all_provinces"},
        id="unknown-region",
    ),
    pytest.param(
        "mapped.release_observations",
        "update mapped.release_observations set indicator_code = 'rd_spend' where indicator_code = 'rd_expenditure'",
        {"indicator_code_known"},
        id="unknown-indicator",
    ),
    pytest.param(
        "mapped.release_observations",
        "update mapped.release_observations set period = '2020年' where load_id = 'L2'",
        {"period_format"},
        id="period-not-canonical",
    ),
    pytest.param(
        "mapped.release_observations",
        "update raw.release_files set release_date = date '2020-06-30' where load_id = 'L2'",
        {"released_after_period_end"},
        id="release-before-its-period-ends",
    ),
    pytest.param(
        "mapped.release_observations",
        "delete from mapped.release_observations where region_code = 'CN-XZ'",
        {"provincial_release_covers_all_provinces"},
        id="provincial-release-missing-a-province",
    ),
    pytest.param(
        "raw.release_observations",
        "update raw.release_observations set load_id = 'L9' where load_id = 'L3'",
        {"load_id_in_release_files"},
        id="record-of-no-loaded-file",
    ),
    pytest.param(
        "raw.release_files",
        "update raw.release_files set status = 'draft', sha256 = 'not-a-digest' where load_id = 'L1'",
        {"status_in_set", "sha256_format"},
        id="release-file-status-and-digest",
    ),
    pytest.param(
        "raw.release_files",
        "update raw.release_files set release_date = date '2027-01-01' where load_id = 'L3'",
        {"release_date_not_after_load"},
        id="release-dated-in-the-future",
    ),
    pytest.param(
        "audit.load_log.releases",
        "update audit.load_log set error = null where load_id = 'L0'",
        {"failed_attempt_names_its_error"},
        id="failed-attempt-without-error",
    ),
    pytest.param(
        "audit.load_log.releases",
        "insert into audit.load_log (load_id, source_file, sha256, format, release_date, rows_loaded, rows_quarantined,"
        " status, error, loaded_at) values ('L4', 'releases/cq/gdp_2020_revised.json', null, null, null, 0, 0, "
        "'failed', 'releases/cq/gdp_2020_revised.json: sidecar has no release_date', timestamp '2026-11-21 08:00:00')",
        {"latest_attempt_of_each_file_loaded"},
        id="file-whose-latest-attempt-failed",
    ),
    pytest.param(
        "audit.load_log.releases",
        "insert into audit.load_log (load_id, source_file, sha256, format, release_date, rows_loaded, rows_quarantined,"
        " status, error, loaded_at, note) values ('L2', 'releases/cq/gdp_2020.json', repeat('c', 64), null, null, 0, 0,"
        " 'withdrawn', null, timestamp '2026-11-21 08:00:00', null), ('L9', 'releases/cq/gone.json', repeat('0', 64),"
        " null, null, 0, 0, 'restored', null, timestamp '2026-11-21 08:00:00', 'back in the landing folder')",
        {"event_says_why", "event_names_its_load"},
        id="withdrawal-without-note-and-restoration-of-no-load",
    ),
    pytest.param(
        "audit.load_log.enterprise",
        "update audit.load_log set rows_loaded = 3, rows_quarantined = 2 where load_id = 'E1'; "
        + _quarantine("E1", "enterprise/bulk_2024.csv", 2, "load"),
        {"quarantine_share_below_threshold"},
        id="enterprise-file-with-40-percent-quarantined",
    ),
    pytest.param(
        "raw.enterprise_submissions",
        "update raw.enterprise_submissions set rd_expenditure_10k_yuan = 5000 where row_number = 1",
        {"rd_expenditure_10k_yuan_not_above_revenue_10k_yuan"},
        id="rd-above-revenue",
    ),
    pytest.param(
        "raw.enterprise_submissions",
        "update raw.enterprise_submissions set industry_code = 'Z9999', uscc = 'I1500112MA5U000001', "
        "invention_patents_granted = -1 where row_number = 2",
        {"uscc_format", "invention_patents_granted_not_negative"},
        id="unknown-industry-bad-uscc-negative-count",
    ),
    pytest.param(
        "raw.enterprise_submissions",
        "insert into raw.enterprise_submissions select * from raw.enterprise_submissions where row_number = 3",
        {"key_unique"},
        id="enterprise-submitted-twice-in-one-file",
    ),
    pytest.param(
        "raw.register_files",
        "update raw.register_files set rows_loaded = 2, rows_read = 2 where load_id = 'G1'",
        {"rows_loaded_match_records"},
        id="register-rows-loaded-do-not-match-the-records",
    ),
    pytest.param(
        "raw.register_records",
        "update raw.register_records set revoked_on = date '2024-01-01', revoked_on_text = '2024-01-01' where record_id = 'R1';"
        " update raw.register_records set recognized_on = date '2099-01-01', uscc = '9150011O' where record_id = 'R3'",
        {"revoked_not_before_recognized", "dates_not_after_loading", "uscc_format"},
        id="register-revoked-before-recognized-future-date-bad-uscc",
    ),
    pytest.param(
        "raw.register_records",
        "insert into raw.register_records select * replace (5 as row_number, null as revoked_on) from raw.register_records"
        " where record_id = 'R2'",
        {"key_unique", "revocation_text_parsed"},
        id="register-record-twice-in-one-load-and-unparsed-revocation",
    ),
    pytest.param(
        "audit.load_log.registers",
        "update audit.load_log set rows_loaded = 3 where load_id = 'G1'; "
        + _quarantine("G1", "registers/register_2024.csv", 1, "mapping"),
        {"quarantine_share_below_threshold"},
        id="register-file-with-a-quarter-of-its-kinds-unknown",
    ),
    pytest.param(
        "raw.enterprise_files",
        "update raw.enterprise_files set rows_read = 4 where load_id = 'E1'",
        {"rows_read_reconcile"},
        id="enterprise-rows-read-do-not-add-up",
    ),
    pytest.param(
        "marts.fct_indicator_vintages",
        "update marts.fct_indicator_vintages set value = 45 where region_code = 'CN-CQ' and indicator_code = 'rd_intensity'",
        {"value_in_range_rd_intensity", "value_plausible_rd_intensity"},
        id="vintage-rd-intensity-of-45-percent",
    ),
    pytest.param(
        "marts.fct_indicator_vintages",
        "update marts.fct_indicator_vintages set value = 45, release_date = date '2019-01-10', is_withdrawn = true"
        " where indicator_code = 'rd_intensity'",
        set(),
        id="withdrawn-vintage-of-45-percent-released-before-its-period-blocks-nothing",
    ),
    pytest.param(
        "marts.fct_indicator_vintages",
        "update marts.fct_indicator_vintages set unit = '10,000 yuan' where indicator_code = 'gdp'",
        {"unit_is_the_indicator_unit"},
        id="vintage-in-the-wrong-unit",
    ),
    pytest.param(
        "marts.fct_indicator_values",
        "update marts.fct_indicator_values set release_date = date '2021-03-18', value = 25002.79 where indicator_code = 'gdp'",
        {"is_the_latest_vintage"},
        id="value-shown-is-not-the-latest-vintage",
    ),
    pytest.param(
        "marts.fct_indicator_values",
        "delete from marts.fct_indicator_values where indicator_code = 'rd_expenditure'",
        {"covers_every_vintaged_figure"},
        id="figure-without-latest-value",
    ),
    pytest.param(
        "marts.fct_indicator_values",
        "update marts.fct_indicator_vintages set is_withdrawn = true where indicator_code = 'rd_expenditure';"
        " delete from marts.fct_indicator_values where indicator_code = 'rd_expenditure';"
        " update marts.fct_indicator_vintages set release_date = date '2030-01-01', is_withdrawn = true"
        " where indicator_code = 'gdp' and load_id = 'L3'",
        set(),
        id="withdrawn-vintages-are-neither-latest-nor-missing",
    ),
    pytest.param(
        "marts.rd_intensity",
        "update marts.rd_intensity set reconciles = false where region_code = 'CN-CQ'",
        {"reconciles"},
        id="non-reconciling-ratio",
    ),
    pytest.param(
        "marts.rd_intensity",
        "update marts.rd_intensity set rd_intensity_pct = 45 where region_code = 'CN-CQ'",
        {"rd_intensity_pct_in_range", "rd_intensity_pct_plausible"},
        id="mart-rd-intensity-of-45-percent",
    ),
    pytest.param(
        "marts.patents_per_10k",
        "update marts.patents_per_10k set high_value_invention_patents_per_10k = 20 where region_code = 'CN-CQ'",
        {"high_value_invention_patents_per_10k_not_above_invention_patents_per_10k"},
        id="patents-high-value-above-all",
    ),
    pytest.param(
        "marts.industrial_va_growth",
        "update marts.industrial_va_growth set industrial_va_growth_pct = -150 where year = 2022",
        {"industrial_va_growth_pct_in_range", "industrial_va_growth_pct_plausible"},
        id="growth-below-minus-100-percent",
    ),
    pytest.param(
        "marts.soe_innovation",
        "update marts.soe_innovation set enterprises = 4 where group_name = 'ALL'",
        {"all_row_is_the_sum_of_groups"},
        id="all-row-does-not-add-up",
    ),
    pytest.param(
        "marts.soe_innovation",
        "delete from marts.soe_innovation where group_name = 'ALL'",
        {"every_period_has_all_row"},
        id="period-without-all-row",
    ),
    pytest.param(
        "marts.target_tracking",
        "update marts.target_tracking set comparator = '=' where target_id = 'T01'; "
        "delete from marts.target_tracking where target_id = 'T02'",
        {"comparator_in_set", "every_policy_target_tracked"},
        id="unknown-comparator-and-dropped-target",
    ),
    pytest.param(
        "marts.target_tracking",
        "update marts.target_tracking set latest_value = 9.5 where target_id = 'T01'",
        {"no_data_exactly_when_no_latest_value"},
        id="no-data-with-a-figure",
    ),
]


@pytest.mark.parametrize(("suite_name", "violation", "expected_failures"), VIOLATIONS)
def test_violation_fails_exactly_its_expectations(
    clean_warehouse: Path, tmp_path: Path, suite_name: str, violation: str, expected_failures: set[str]
) -> None:
    broken = _broken(clean_warehouse, tmp_path, violation)

    result = run_suite(broken, suite_name)

    assert set(result.failed()) == expected_failures
    assert result.error is None


def test_every_suite_has_a_violation_test() -> None:
    covered = {p.values[0] for p in VIOLATIONS}

    assert covered == {s.name for s in SUITES}


def test_failed_outcome_carries_count_observed_value_and_examples(clean_warehouse: Path, tmp_path: Path) -> None:
    broken = _broken(
        clean_warehouse, tmp_path,
        "update mapped.release_observations set value = 45 where region_code in ('CN-CQ', 'CN-SC') "
        "and indicator_code = 'rd_intensity'",
    )

    outcome = run_suite(broken, "mapped.release_observations").outcome("value_in_range_rd_intensity")

    assert (outcome.passed, outcome.severity, outcome.blocking) == (False, "error", False)
    assert outcome.unexpected_count == 2
    assert outcome.observed_value == "2 of 31 rows unexpected"
    assert outcome.examples == [45.0, 45.0]


def test_only_error_expectations_of_a_mart_block(clean_warehouse: Path, tmp_path: Path) -> None:
    broken = _broken(
        clean_warehouse, tmp_path,
        "update marts.rd_intensity set reconciles = false where region_code = 'CN-CQ'; "
        "update marts.rd_intensity set published_rd_intensity_pct = 7.9 where region_code = 'CN-BJ'",
    )

    result = run_suite(broken, "marts.rd_intensity")

    assert set(result.failed()) == {"reconciles", "published_rd_intensity_pct_plausible"}
    assert [(o.name, o.severity) for o in result.blocking_failures] == [("reconciles", "error")]
    assert result.outcome("published_rd_intensity_pct_plausible").blocking is False


def test_suites_validated_in_one_session_give_the_results_of_separate_validations(clean_warehouse: Path, tmp_path: Path) -> None:
    """The checks steps validate their suites in one session (one datasource, one connection): a suite
    validated again in it (its GX asset replaced) gives its result again, and the file is released after."""
    from expectations.runner import validating

    broken = _broken(
        clean_warehouse, tmp_path,
        "update mapped.release_observations set value = 45 where region_code in ('CN-CQ', 'CN-SC') "
        "and indicator_code = 'rd_intensity'; "
        "update marts.rd_intensity set reconciles = false where region_code = 'CN-CQ'",
    )
    names = ["mapped.release_observations", "marts.rd_intensity", "raw.release_files", "mapped.release_observations"]
    separate = [run_suite(broken, name) for name in names]

    with validating(broken) as session:
        together = [session.validate(get_suite(name)).result for name in names]

    assert [r.outcomes for r in together] == [r.outcomes for r in separate]
    out_of_range = ["value_in_range_rd_intensity", "value_plausible_rd_intensity"]
    assert [r.failed() for r in together] == [out_of_range, ["reconciles"], [], out_of_range]
    duckdb.connect(str(broken)).close()  # read-write: refused while a read-only connection is open in the process


def test_duplicated_keys_are_counted_and_listed(clean_warehouse: Path, tmp_path: Path) -> None:
    broken = _broken(
        clean_warehouse, tmp_path,
        "insert into mapped.release_observations select * from mapped.release_observations"
        " where load_id = 'L2' or (load_id = 'L1' and region_code = 'CN-BJ'); "
        "insert into mapped.release_observations select * from mapped.release_observations where load_id = 'L2'",
    )

    outcome = run_suite(broken, "mapped.release_observations").outcome("key_unique")

    assert outcome.unexpected_count == 2
    assert sorted((r["region_code"], r["indicator_code"], r["load_id"], r["rows"]) for r in outcome.examples) == [
        ("CN-BJ", "rd_intensity", "L1", 2), ("CN-CQ", "gdp", "L2", 4)
    ]


def test_missing_table_fails_every_expectation_with_the_reason(clean_warehouse: Path, tmp_path: Path) -> None:
    broken = _broken(clean_warehouse, tmp_path, "drop table marts.soe_innovation")

    result = run_suite(broken, "marts.soe_innovation")

    assert result.error == "table marts.soe_innovation does not exist"
    assert result.failed() == [e.name for e in get_suite("marts.soe_innovation").expectations]
    assert {o.observed_value for o in result.outcomes} == {
        "could not be evaluated: table marts.soe_innovation does not exist"
    }


def test_expectation_on_a_missing_column_fails_with_the_sql_error(clean_warehouse: Path, tmp_path: Path) -> None:
    broken = _broken(clean_warehouse, tmp_path, "alter table raw.release_files drop column status")

    result = run_suite(broken, "raw.release_files")

    assert set(result.failed()) == {"columns_present", "status_not_null", "status_in_set"}
    assert result.outcome("columns_present").examples["missing"] == ["status"]
    assert result.outcome("status_in_set").observed_value.startswith("could not be evaluated")


def test_code_sets_come_from_the_seed_tables_in_the_warehouse(clean_warehouse: Path, tmp_path: Path) -> None:
    # Once dbt has loaded the seeds, the warehouse's copy is the reference, not the CSV in the repository.
    broken = _broken(
        clean_warehouse, tmp_path,
        f"create schema reference; create table reference.ref_regions as select * from {_seed('ref_regions')} "
        "where region_code <> 'CN-CQ'",
    )

    outcome = run_suite(broken, "mapped.release_observations").outcome("region_code_known")

    assert (outcome.passed, outcome.unexpected_count) == (False, 4)  # rd_intensity, rd_expenditure, gdp twice
    assert outcome.examples == [{"region_code": "CN-CQ"}] * 4


def test_examples_are_plain_json_values(clean_warehouse: Path, tmp_path: Path) -> None:
    broken = _broken(clean_warehouse, tmp_path, "update raw.release_files set release_date = date '2020-06-30' where load_id = 'L2'")

    outcome = run_suite(broken, "mapped.release_observations").outcome("released_after_period_end")

    assert outcome.examples == [{
        "region_code": "CN-CQ", "indicator_code": "gdp", "period": "2020", "release_date": "2020-06-30",
        "source_file": "releases/cq/gdp_2020.json",
    }]


def test_quarantine_share_fails_on_a_current_release_file_above_the_threshold(clean_warehouse: Path, tmp_path: Path) -> None:
    # rd_intensity_2020.csv gave 32 rows: 4 unmapped at this run's mapping are 12.5 %; gdp_2020_revised.json's
    # one row is quarantined too, but the file was removed from the landing folder: no longer counted
    broken = _broken(
        clean_warehouse, tmp_path,
        _quarantine("L1", "releases/nbs/rd_intensity_2020.csv", 4, "mapping")
        + _quarantine("L3", "releases/cq/gdp_2020_revised.json", 1, "load")
        + "insert into audit.load_log (load_id, source_file, sha256, format, release_date, rows_loaded, "
        "rows_quarantined, status, error, loaded_at, note) values ('L3', 'releases/cq/gdp_2020_revised.json', "
        "repeat('e', 64), null, null, 0, 0, 'withdrawn', null, timestamp '2026-11-21 08:00:01', "
        "'removed from the landing folder')",
    )

    result = run_suite(broken, "audit.load_log.releases")

    assert result.failed() == ["quarantine_share_below_threshold"]
    outcome = result.outcome("quarantine_share_below_threshold")
    assert (outcome.severity, outcome.unexpected_count) == ("warn", 1)
    assert outcome.examples == [
        {"source_file": "releases/nbs/rd_intensity_2020.csv", "rows_received": 32, "rows_quarantined_now": 4}
    ]
    assert run_suite(broken, "audit.load_log.enterprise").failed() == []


def test_quarantine_share_at_most_the_threshold_passes(clean_warehouse: Path, tmp_path: Path) -> None:
    broken = _broken(clean_warehouse, tmp_path, _quarantine("L1", "releases/nbs/rd_intensity_2020.csv", 3, "mapping"))

    assert run_suite(broken, "audit.load_log.releases").failed() == []
