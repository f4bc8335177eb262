"""A small build database with every table of CONTRACT.md, for the serving and report tests, and the
enterprise marts on top of it, published in tiers by the real publishing code (:func:`build_tiered_warehouse`).

Every mart table is created from its dbt contract (:func:`contract_ddl`: the columns, types, not-null
constraints and descriptions of the model's yml), so a contract change reaches these fixtures, and rows are
inserted by column name, so a renamed or new not-null column fails here rather than drifting.
The figures are realistic in size but are test data, not the official statistics.
"""

from __future__ import annotations

import csv
import functools
import os
from collections.abc import Sequence
from pathlib import Path

import duckdb
import yaml

from core import settings
from ingestion.audit import AUDIT_DDL
from serving.disclosure import DisclosureRules
from serving.tiers import export_tiers, publish_tiers

#: Every table CONTRACT.md promises in serving.duckdb (audit.current_loads: the view of ingestion/audit.py,
#: published as a table).
CONTRACT_TABLES = (
    "audit.current_loads",
    "audit.load_log",
    "audit.quarantine",
    "marts.dim_indicator",
    "marts.dim_plan",
    "marts.dim_region",
    "marts.dim_release",
    "marts.dim_target",
    "marts.dim_unit",
    "marts.fct_indicator_values",
    "marts.fct_indicator_vintages",
    "marts.indicator_series",
    "marts.industrial_va_growth",
    "marts.patents_per_10k",
    "marts.rd_intensity",
    "marts.soe_innovation",
    "marts.target_observations",
    "marts.target_sources",
    "marts.target_tracking",
)
#: The marts :func:`build_marts_db` creates (those of CONTRACT_TABLES), and those :func:`build_enterprise_db` adds.
PUBLIC_MARTS = tuple(t.removeprefix("marts.") for t in CONTRACT_TABLES if t.startswith("marts."))
ENTERPRISE_MARTS = ("dim_enterprise", "fct_enterprise_submissions", "fct_enterprise_submission_history",
                    "soe_innovation_concentration")
MARTS_DIR = settings.DBT_PROJECT_DIR / "models" / "marts"


@functools.cache
def _mart_specs() -> dict[str, dict]:
    models = {}
    for path in sorted(MARTS_DIR.rglob("*.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models") or []:
            models[model["name"]] = model
    return models


def mart_spec(model: str) -> dict:
    """The mart model's entry in its yml under models/marts (description, config, columns)."""
    return _mart_specs()[model]


def contract_columns(model: str) -> list[tuple[str, str, bool]]:
    """(name, data type, not null) of each column of the model's enforced dbt contract, in its order."""
    spec = mart_spec(model)
    assert spec.get("config", {}).get("contract", {}).get("enforced"), f"{model}: no enforced contract"
    return [
        (c["name"], c["data_type"], any(k.get("type") == "not_null" for k in c.get("constraints") or []))
        for c in spec["columns"]
    ]


def _comment(target: str, text: str | None) -> str:
    return f"comment on {target} is '{text.strip().replace(chr(39), chr(39) * 2)}';\n" if text else ""


def contract_ddl(model: str) -> str:
    """``create table marts.<model>`` as dbt builds it from the model's contract, with the descriptions as
    comments (the project persists docs)."""
    spec = mart_spec(model)
    columns = ", ".join(f"{name} {data_type}{' not null' if not_null else ''}" for name, data_type, not_null in contract_columns(model))
    return (
        f"create table marts.{model} ({columns});\n"
        + _comment(f"table marts.{model}", spec.get("description"))
        + "".join(_comment(f"column marts.{model}.{c['name']}", c.get("description")) for c in spec["columns"])
    )


def insert(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Insert ``rows`` into ``table`` by column name (the contract's other columns stay null)."""
    con.executemany(f"insert into {table} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})", rows)


CQ_FILE = "releases/cq/chongqing_innovation_indicators_2023.xlsx"
CN_FILE = "releases/sdmx/cn_2023_final.csv"

REGIONS = [("CN", "000000", "全国", "China", "country"), ("CN-CQ", "500000", "重庆市", "Chongqing", "province")]
INDICATORS = [  # indicator_code, name_zh, name_en, unit, description
    ("rd_intensity", "研究与试验发展(R&D)经费投入强度", "R&D intensity", "% of GDP (as published)", "R&D / GDP"),
    ("rd_expenditure", "研究与试验发展(R&D)经费支出", "R&D expenditure", "100 million yuan", "GERD"),
    ("gdp", "地区生产总值", "Gross (regional) domestic product", "100 million yuan", "GDP"),
    ("tech_based_enterprises", "科技型企业数", "Technology-based enterprises", "count, year end", "count"),
]
VINTAGE_COLUMNS = ("region_code", "indicator_code", "period", "value", "unit", "release_date", "status", "source_file")
VINTAGES = [
    ("CN-CQ", "rd_intensity", "2021", 2.14, "%", "2022-08-31", "preliminary", "releases/cq/cq_2021_preliminary.xlsx"),
    ("CN-CQ", "rd_intensity", "2021", 2.16, "%", "2022-09-30", "final", CQ_FILE),
    ("CN-CQ", "rd_intensity", "2022", 2.36, "%", "2023-09-28", "final", CQ_FILE),
    ("CN-CQ", "rd_intensity", "2023", 2.46, "%", "2024-09-30", "final", CQ_FILE),
    ("CN-CQ", "rd_expenditure", "2023", 737.6, "100 million yuan", "2024-09-30", "final", CQ_FILE),
    ("CN-CQ", "gdp", "2023", 30145.8, "100 million yuan", "2024-03-20", "final", "releases/nbs_json/chongqing_gdp_2023.json"),
    ("CN", "rd_intensity", "2023", 2.65, "%", "2024-10-02", "final", CN_FILE),
    ("CN-CQ", "tech_based_enterprises", "2022", 42900, "count, year end", "2023-03-15", "final", CQ_FILE),
]
RD_INTENSITY_COLUMNS = (
    "region_code", "year", "rd_expenditure", "gdp", "rd_intensity_pct", "published_rd_intensity_pct",
    "published_release_date", "asof_rd_intensity_pct", "reconciles",
)
RD_INTENSITY = [
    ("CN-CQ", 2019, 469.6, 23605.8, 1.99, 1.99, "2020-08-27", 1.99, True),
    ("CN-CQ", 2020, 526.8, 25002.8, 2.11, 2.11, "2021-09-22", 2.11, True),
    ("CN-CQ", 2021, 603.8, 27894.0, 2.16, 2.16, "2022-09-30", 2.16, True),
    ("CN-CQ", 2022, 686.6, 29129.0, 2.36, 2.36, "2023-09-28", 2.36, True),
    ("CN-CQ", 2023, 737.6, 30145.8, 2.45, 2.46, "2024-09-30", 2.45, False),
    ("CN", 2019, 22143.6, 990865.0, 2.23, 2.23, "2020-08-27", 2.23, True),
    ("CN", 2020, 24393.1, 1015986.0, 2.40, 2.40, "2021-09-22", 2.40, True),
    ("CN", 2021, 27956.3, 1143670.0, 2.44, 2.43, "2022-08-31", 2.44, False),
    ("CN", 2022, 30782.9, 1210207.0, 2.54, 2.54, "2023-09-18", 2.54, True),
    ("CN", 2023, 33357.1, 1260582.0, 2.65, 2.65, "2024-10-02", 2.65, True),
]
PATENTS_COLUMNS = ("region_code", "year", "invention_patents_per_10k", "high_value_invention_patents_per_10k", "source")
PATENTS = [
    ("CN-CQ", 2021, 12.1, 4.0, "computed"), ("CN-CQ", 2022, 14.3, 5.2, "computed"), ("CN-CQ", 2023, 16.2, 6.3, "published"),
    ("CN", 2021, 19.1, 7.5, "published"), ("CN", 2022, 24.0, 9.4, "published"), ("CN", 2023, 27.6, 11.8, "published"),
]
INDUSTRIAL_VA_COLUMNS = ("region_code", "year", "industrial_va_growth_pct", "release_date", "status", "source_file")
INDUSTRIAL_VA = [
    ("CN-CQ", 2019, 6.2, "2020-03-16", "final", CQ_FILE), ("CN-CQ", 2020, 5.8, "2021-03-18", "final", CQ_FILE),
    ("CN-CQ", 2021, 10.7, "2022-03-17", "final", CQ_FILE), ("CN-CQ", 2022, 3.2, "2023-03-20", "final", CQ_FILE),
    ("CN", 2019, 5.7, "2020-02-28", "final", CN_FILE), ("CN", 2020, 2.8, "2021-02-28", "final", CN_FILE),
    ("CN", 2021, 9.6, "2022-02-28", "final", CN_FILE), ("CN", 2022, 3.6, "2023-02-28", "final", CN_FILE),
]

CTDI_GROUP = "重庆城市交通开发投资（集团）有限公司"
#: The columns of marts.soe_innovation the SOE rows below give (high_value_invention_patents_added stays null).
SOE_COLUMNS = (
    "group_name", "period", "enterprises", "rd_expenditure_10k_yuan", "revenue_10k_yuan", "rd_intensity_pct",
    "rd_growth_pct", "invention_patents_granted", "high_value_invention_patents_valid", "tech_based_enterprises",
    "hightech_enterprises", "sei_output_share_pct",
)
SOE = [  # group, period, enterprises, rd, revenue, intensity, growth, granted, hv valid, tech, hightech, sei share
    ("ALL", "2022", 412, 1_150_000.0, 52_000_000.0, 2.21, 6.5, 820, 1310, 160, 110, 28.0),
    ("ALL", "2023", 425, 1_240_000.0, 54_100_000.0, 2.29, 7.8, 905, 1422, 178, 121, 30.5),
    ("ALL", "2024", 431, 1_352_000.0, 55_300_000.0, 2.44, 9.1, 1010, 1560, 195, 133, 32.1),
    ("ALL", "2024Q2", 430, 610_000.0, 26_900_000.0, 2.27, 8.4, 470, 1490, 188, 127, 31.0),
    (CTDI_GROUP, "2023", 18, 38_000.0, 2_250_000.0, 1.69, 3.1, 5, 17, 9, 6, 12.1),
    (CTDI_GROUP, "2024", 18, 41_000.0, 2_300_000.0, 1.78, 5.2, 7, 19, 9, 6, 12.5),
]
REPORTING_DATE = "2026-12-01"
# target_id -> (latest_value, latest_period, gap, required_annual_change, status, latest_age_years, exceeded_by);
# the others are no_data. As of REPORTING_DATE: T01 is beyond its 2026 target already but not met (its year
# is not over); T17's year 2022 is judged on its own figure (missed); T22 and T23 (2025) await their 2025 figure.
TRACKED = {
    "T01": (9.1, "2024", -1.1, None, "on_track", 1.92, 1.1),
    "T03": (32.1, "2024", 2.9, 1.45, "at_risk", 1.92, None),
    "T12": (195.0, "2024", 25.0, 8.33, "on_track", 1.92, None),
    "T14": (12.0, "2024", 18.0, 6.0, "on_track", 1.92, None),
    "T17": (3.2, "2022", 2.8, None, "off_track", 3.92, None),
    "T22": (2.46, "2023", 0.14, 0.07, "awaiting_data", 2.92, None),
    "T23": (6.3, "2023", 5.7, 2.85, "awaiting_data", 2.92, None),
}
RELEASES = [  # load_id, source_file, publisher, title, release_date, status, url
    ("l-cq", CQ_FILE, "Chongqing Municipal Bureau of Statistics", "2023年重庆市科技创新主要指标", "2024-09-30", "final",
     "http://tjj.cq.gov.cn/zwgk_233/fdzdgknr/tjxx/sjjd_55469/202409/t20240930.html"),
    ("l-gdp", "releases/nbs_json/chongqing_gdp_2023.json", "National Bureau of Statistics of China (provincial data)",
     "分省年度数据：重庆市", "2024-03-20", "final", "https://data.stats.gov.cn/easyquery.htm?cn=E0103"),
]
# the releases behind T22's latest figure (2023): target_id, period, position, region, indicator, load
TARGET_SOURCES = [
    ("T22", "2023", 1, "CN-CQ", "rd_intensity", "l-cq"),
    ("T22", "2023", 2, "CN-CQ", "rd_expenditure", "l-cq"),
    ("T22", "2023", 3, "CN-CQ", "gdp", "l-gdp"),
]
# target_id, period, period_end_year, value: the series each tracked target is measured on
OBSERVATIONS = [
    ("T01", "2022", 2022.0, 6.5), ("T01", "2023", 2023.0, 7.8), ("T01", "2024", 2024.0, 9.1), ("T01", "2024Q2", 2023.5, 8.4),
    ("T03", "2022", 2022.0, 28.0), ("T03", "2023", 2023.0, 30.5), ("T03", "2024", 2024.0, 32.1),
    ("T12", "2022", 2022.0, 160.0), ("T12", "2023", 2023.0, 178.0), ("T12", "2024", 2024.0, 195.0),
    ("T14", "2023", 2023.0, 5.0), ("T14", "2024", 2024.0, 12.0),
    ("T17", "2021", 2021.0, 10.7), ("T17", "2022", 2022.0, 3.2),
    ("T22", "2019", 2019.0, 1.99), ("T22", "2020", 2020.0, 2.11), ("T22", "2021", 2021.0, 2.16),
    ("T22", "2022", 2022.0, 2.36), ("T22", "2023", 2023.0, 2.46),
    ("T23", "2021", 2021.0, 4.0), ("T23", "2022", 2022.0, 5.2), ("T23", "2023", 2023.0, 6.3),
]


def policy_targets() -> list[dict[str, str]]:
    with open(settings.SEEDS_DIR / "policy_targets.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _seed(name: str) -> str:
    return f"read_csv('{settings.SEEDS_DIR / (name + '.csv')}', header = true, all_varchar = true)"


#: The columns of marts.target_tracking :func:`target_rows` gives; the labels come from marts.dim_target.
TRACKING_COLUMNS = (
    "target_id", "indicator_code", "region_code", "scope", "comparator", "target_value", "target_year",
    "latest_value", "latest_period", "gap", "required_annual_change", "status", "judged_period",
    "latest_age_years", "is_stale", "exceeded_by", "reporting_date", "unit",
)


def target_rows() -> list[tuple]:
    """One marts.target_tracking row (TRACKING_COLUMNS) per seed target: the TRACKED ones with data, the rest
    no_data."""
    rows = []
    for seed in policy_targets():
        latest, period, gap, required, status, age, exceeded = TRACKED.get(
            seed["target_id"], (None, None, None, None, "no_data", None, None)
        )
        judged = period if status not in ("no_data", "awaiting_data") else None
        rows.append((
            seed["target_id"], seed["indicator"], seed["geo"], seed["scope"], seed["comparator"], float(seed["target_value"]),
            int(seed["target_year"]), latest, period, gap, required, status, judged, age,
            None if age is None else age > 2, exceeded, REPORTING_DATE, seed["unit"],
        ))
    return rows


#: marts.dim_unit, dim_target and dim_plan as dbt builds them, from the seeds.
REFERENCE_SQL = f"""
insert into marts.dim_unit by name
    select unit, coalesce(suffix, '') as suffix, label_en, label_zh from {_seed('ref_target_units')};
insert into marts.dim_target by name
    select t.target_id, t.plan, t.indicator as indicator_code, i.name_zh, i.name_en, t.issuer, t.quote, t.source_doc,
           t.scope, s.subject_kind, case s.subject_kind when 'region' then t.geo else s.group_name end as subject,
           t.geo as region_code, t.comparator, t.target_value::double as target_value, t.unit,
           u.label_en as unit_label_en, u.label_zh as unit_label_zh, coalesce(u.suffix, '') as unit_suffix,
           t.baseline_value::double as baseline_value, t.baseline_year::integer as baseline_year,
           t.target_year::integer as target_year, t.kind, m.source_model as tracked_in, m.measure as tracked_measure,
           m.note as tracking_note, n.input
    from {_seed('policy_targets')} t
    left join {_seed('ref_indicators')} i on i.indicator_code = t.indicator
    left join {_seed('ref_target_units')} u on u.unit = t.unit
    left join {_seed('ref_target_indicators')} m on m.indicator = t.indicator
    left join {_seed('ref_target_scopes')} s on s.scope = t.scope
    left join {_seed('ref_target_inputs')} n on n.indicator = t.indicator;
insert into marts.dim_plan by name
    select p.plan, min(t.issuer) as issuer, p.first_year::integer as first_year, p.last_year::integer as last_year,
           p.note as years_note, min(t.source_doc) as source_doc, count(*) as targets, min(t.target_year::integer) as first_target_year,
           max(t.target_year::integer) as last_target_year
    from {_seed('ref_policy_plans')} p join {_seed('policy_targets')} t using (plan) group by all;
"""

#: The other columns of marts.fct_indicator_vintages as dbt derives them from VINTAGES (in ``vintages``):
#: annual periods, each file one load (dim_release's when it lists the file), none withdrawn, the latest
#: vintage of an observation its latest release; fct_indicator_values and indicator_series from them.
INDICATOR_FACTS_SQL = """
insert into marts.fct_indicator_vintages by name
    select v.*, v.period::integer as year, 'A' as frequency, timestamp '2026-11-20 10:00:00' as loaded_at,
           coalesce(r.load_id, 'l-' || left(md5(v.source_file), 8)) as load_id,
           row_number() over (partition by v.region_code, v.indicator_code, v.period order by v.release_date desc) = 1
               as is_latest_vintage,
           false as is_withdrawn
    from vintages v left join marts.dim_release r using (source_file);
insert into marts.fct_indicator_values by name
    select * exclude (is_latest_vintage, is_withdrawn) from marts.fct_indicator_vintages where is_latest_vintage;
insert into marts.indicator_series by name
    select region_code, indicator_code, year, value, unit, release_date, status, source_file
    from marts.fct_indicator_values where frequency = 'A';
"""

#: The seeds (schema ``reference``, as dbt seeds them) that publishing reads: the SOE targets' groups and measures.
SEEDS_SQL = "create schema if not exists reference;\n" + "".join(
    f"create table reference.{seed} as select * from {_seed(seed)};\n"
    for seed in ("policy_targets", "ref_target_scopes", "ref_target_indicators")
)


def insert_soe_innovation(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    insert(con, "marts.soe_innovation", SOE_COLUMNS, rows)


def build_marts_db(path: Path) -> Path:
    """Write a build database with every CONTRACT table (and one table that must not be published)."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts; create schema if not exists staging;")
        con.execute("".join(contract_ddl(model) for model in PUBLIC_MARTS))
        con.execute("create table staging.not_published as select 1 as x;")
        con.execute(AUDIT_DDL)
        insert(con, "marts.dim_region", ("region_code", "gb2260_code", "name_zh", "name_en", "level"), REGIONS)
        insert(con, "marts.dim_indicator", ("indicator_code", "name_zh", "name_en", "unit", "description"), INDICATORS)
        insert(con, "marts.dim_release", ("load_id", "source_file", "publisher", "title", "release_date", "status", "url"), RELEASES)
        con.execute(f"create temporary table vintages as select {', '.join(VINTAGE_COLUMNS)} from marts.fct_indicator_vintages limit 0")
        insert(con, "vintages", VINTAGE_COLUMNS, VINTAGES)
        con.execute(INDICATOR_FACTS_SQL)
        insert(con, "marts.rd_intensity", RD_INTENSITY_COLUMNS, RD_INTENSITY)
        insert(con, "marts.patents_per_10k", PATENTS_COLUMNS, PATENTS)
        insert(con, "marts.industrial_va_growth", INDUSTRIAL_VA_COLUMNS, INDUSTRIAL_VA)
        insert_soe_innovation(con, SOE)
        con.execute(REFERENCE_SQL)
        con.execute(SEEDS_SQL)
        con.execute("create temporary table tracking as select * from marts.target_tracking limit 0")  # no not-null
        insert(con, "tracking", TRACKING_COLUMNS, target_rows())
        con.execute(
            """insert into marts.target_tracking by name
               select t.* exclude (name_zh, name_en, unit_label_en, unit_label_zh), d.name_zh, d.name_en,
                      d.unit_label_en, d.unit_label_zh
               from tracking t join marts.dim_target d using (target_id)"""
        )
        con.executemany(
            """insert into marts.target_sources by name
               select s.target_id, s.period, s.position, s.region_code, s.indicator_code, i.name_en as indicator_name_en,
                      i.name_zh as indicator_name_zh, v.value,
                      v.unit, r.publisher, r.title, r.release_date, r.status, r.url, r.source_file
               from (select ?::varchar as target_id, ?::varchar as period, ?::integer as position,
                            ?::varchar as region_code, ?::varchar as indicator_code, ?::varchar as load_id) s
               join marts.fct_indicator_vintages v on v.region_code = s.region_code and v.indicator_code = s.indicator_code
                    and v.period = s.period and v.source_file = (select source_file from marts.dim_release where load_id = s.load_id)
               join marts.dim_release r on r.load_id = s.load_id
               left join marts.dim_indicator i on i.indicator_code = s.indicator_code""",
            TARGET_SOURCES,
        )
        insert(con, "marts.target_observations", ("target_id", "period", "period_end_year", "value"), OBSERVATIONS)
        con.execute(
            """insert into audit.load_log (load_id, source_file, sha256, format, release_date, rows_loaded,
                                          rows_quarantined, status, error, loaded_at, kind) values
               ('l1', 'releases/cq/chongqing_innovation_indicators_2023.xlsx', 'ab12', 'bulletin_xlsx', '2024-09-30', 8, 1, 'loaded', null, '2026-11-20 10:00:00', 'releases'),
               ('l2', 'enterprise/bulk_2024q2.csv', 'cd34', 'enterprise_csv', null, 1200, 2, 'loaded', null, '2026-11-20 10:00:05', 'enterprise')"""
        )
        con.execute(
            """insert into audit.quarantine (load_id, source_file, row_number, reason, record, quarantined_at) values
               ('l1', 'releases/cq/chongqing_innovation_indicators_2023.xlsx', 14, 'value is not a number',
                '{"指标": "规模以上工业企业R&D经费支出", "2023": "—"}', '2026-11-20 10:00:00'),
               ('l2', 'enterprise/bulk_2024q2.csv', 17, 'uscc: check character does not match (GB 32100-2015)',
                '{"uscc": "91500000MA5U7XXXX1", "企业名称": "重庆某公司"}', '2026-11-20 10:00:05'),
               ('l2', 'enterprise/bulk_2024q2.csv', 42, 'rd_expenditure_10k_yuan above revenue_10k_yuan',
                '{"uscc": "91500000202866617L"}', '2026-11-20 10:00:05')"""
        )
    finally:
        con.close()
    return path


# --- The published tiers (docs/connecting.md): public, restricted and one extract per SOE group ----------------

OTHER_GROUP = "重庆化医控股（集团）公司"
#: A third group: no submissions here (so no extract), only its aggregates, which absorb the secondary suppression.
THIRD_GROUP = "重庆机电控股（集团）有限公司"
# uscc, name, group, industry (GB/T 4754), district (GB/T 2260), high-tech, technology-based, R&D institution:
# test data (the USCCs are made up and fail the GB 32100 check on purpose)
ENTERPRISES = [
    ("91500000TEST00001A", "重庆城投路桥管理有限公司", CTDI_GROUP, "E4812", "500103", False, True, False),
    ("91500000TEST00002B", "重庆轨道交通设计研究院有限公司", CTDI_GROUP, "M7484", "500112", True, True, True),
    ("91500000TEST00003C", "重庆医药化工研究院有限公司", OTHER_GROUP, "C2710", "500105", True, True, True),
]
ANNUAL_FILE = "enterprise/annual_2024.csv"
RESUBMISSION_FILE = "enterprise/annual_2024_resubmitted.csv"
# load_id, source_file, loaded_at, rows: the enterprise loads behind the submissions
ENTERPRISE_LOADS = [("l3", ANNUAL_FILE, "2025-02-10 09:00:00", 3), ("l4", RESUBMISSION_FILE, "2025-03-01 09:00:00", 1)]
# uscc, period, version, load_id, row_number, rd, revenue, invention patents granted, high-value patents valid:
# the highest version of (uscc, period) is current (fct_enterprise_submissions), the others are history
SUBMISSIONS = [
    ("91500000TEST00001A", "2024", 1, "l3", 1, 20_000.0, 1_200_000.0, 1, 3),
    ("91500000TEST00001A", "2024", 2, "l4", 1, 21_000.0, 1_200_000.0, 1, 3),
    ("91500000TEST00002B", "2024", 1, "l3", 2, 20_000.0, 1_100_000.0, 2, 5),
    ("91500000TEST00003C", "2024", 1, "l3", 3, 8_000.0, 400_000.0, 1, 2),
]
#: The 2024 aggregates of OTHER_GROUP (one enterprise) and THIRD_GROUP (five), besides SOE's.
GROUP_SOE = [
    (OTHER_GROUP, "2024", 1, 8_000.0, 400_000.0, 2.0, None, 1, 2, 1, 1, 15.0),
    (THIRD_GROUP, "2024", 5, 12_000.0, 900_000.0, 1.33, 4.35, 3, 6, 3, 2, 20.0),
]
#: Fails the threshold rule (one enterprise): every column but ``enterprises`` is withheld from the public tier.
SUPPRESSED_CELL = (OTHER_GROUP, "2024")
#: Suppressed only to protect SUPPRESSED_CELL (ALL = the sum of the groups): the smallest group cell of 2024
#: that hides it, so its amounts and the figures computed from them are withheld, its counts are not.
SECONDARY_CELL = (THIRD_GROUP, "2024")

CONCENTRATION_COLUMNS = ("group_name", "period", "measure", "contributors", "total", "largest", "second_largest")
# group, period, measure, contributors, total, largest, second largest: marts.soe_innovation_concentration.
# Every cell but OTHER_GROUP's passes the rules (at least 3 enterprises, the largest two under 85 %, the
# rest above 10 % of the largest).
CONCENTRATION = [
    *(
        ("ALL", period, measure, enterprises, total, round(total * 0.06, 1), round(total * 0.05, 1))
        for period, enterprises, rd, revenue, granted, hv_valid, industrial, sei in [
            ("2022", 412, 1_150_000.0, 52_000_000.0, 820, 1310, 30_000_000.0, 8_400_000.0),
            ("2023", 425, 1_240_000.0, 54_100_000.0, 905, 1422, 31_000_000.0, 9_455_000.0),
            ("2024", 431, 1_352_000.0, 55_300_000.0, 1010, 1560, 32_000_000.0, 10_272_000.0),
            ("2024Q2", 430, 610_000.0, 26_900_000.0, 470, 1490, 15_000_000.0, 4_650_000.0),
        ]
        for measure, total in [
            ("rd_expenditure_10k_yuan", rd), ("revenue_10k_yuan", revenue), ("invention_patents_granted", granted),
            ("high_value_invention_patents_valid", hv_valid), ("industrial_output_10k_yuan", industrial),
            ("sei_output_10k_yuan", sei),
        ]
    ),
    ("ALL", "2023", "rd_expenditure_year_before", 405, 1_120_000.0, 67_000.0, 56_000.0),
    ("ALL", "2024", "rd_expenditure_year_before", 418, 1_230_000.0, 74_000.0, 62_000.0),
    (CTDI_GROUP, "2023", "rd_expenditure_10k_yuan", 18, 38_000.0, 8_000.0, 6_000.0),
    (CTDI_GROUP, "2023", "revenue_10k_yuan", 18, 2_250_000.0, 560_000.0, 390_000.0),
    (CTDI_GROUP, "2023", "invention_patents_granted", 5, 5.0, 1.0, 1.0),
    (CTDI_GROUP, "2023", "high_value_invention_patents_valid", 9, 17.0, 4.0, 3.0),
    (CTDI_GROUP, "2023", "industrial_output_10k_yuan", 6, 1_500_000.0, 400_000.0, 350_000.0),
    (CTDI_GROUP, "2023", "sei_output_10k_yuan", 4, 181_500.0, 60_000.0, 50_000.0),
    (CTDI_GROUP, "2024", "rd_expenditure_10k_yuan", 18, 41_000.0, 9_000.0, 7_000.0),
    (CTDI_GROUP, "2024", "revenue_10k_yuan", 18, 2_300_000.0, 600_000.0, 400_000.0),
    (CTDI_GROUP, "2024", "invention_patents_granted", 6, 7.0, 2.0, 1.0),
    (CTDI_GROUP, "2024", "high_value_invention_patents_valid", 10, 19.0, 4.0, 3.0),
    (CTDI_GROUP, "2024", "industrial_output_10k_yuan", 6, 1_600_000.0, 420_000.0, 360_000.0),
    (CTDI_GROUP, "2024", "sei_output_10k_yuan", 4, 200_000.0, 65_000.0, 55_000.0),
    (CTDI_GROUP, "2024", "rd_expenditure_year_before", 17, 39_000.0, 8_500.0, 6_500.0),
    *(
        (OTHER_GROUP, "2024", measure, 1, total, total, 0.0)
        for measure, total in [
            ("rd_expenditure_10k_yuan", 8_000.0), ("revenue_10k_yuan", 400_000.0), ("invention_patents_granted", 1.0),
            ("high_value_invention_patents_valid", 2.0), ("industrial_output_10k_yuan", 200_000.0),
            ("sei_output_10k_yuan", 30_000.0),
        ]
    ),
    (THIRD_GROUP, "2024", "rd_expenditure_10k_yuan", 5, 12_000.0, 4_000.0, 3_000.0),
    (THIRD_GROUP, "2024", "revenue_10k_yuan", 5, 900_000.0, 300_000.0, 250_000.0),
    (THIRD_GROUP, "2024", "invention_patents_granted", 5, 3.0, 1.0, 1.0),
    (THIRD_GROUP, "2024", "high_value_invention_patents_valid", 5, 6.0, 2.0, 2.0),
    (THIRD_GROUP, "2024", "industrial_output_10k_yuan", 5, 700_000.0, 200_000.0, 180_000.0),
    (THIRD_GROUP, "2024", "sei_output_10k_yuan", 3, 140_000.0, 60_000.0, 50_000.0),
    (THIRD_GROUP, "2024", "rd_expenditure_year_before", 5, 11_500.0, 3_900.0, 2_900.0),
]

#: The enterprise marts as dbt builds them from the submissions above (see dbt_project/models/marts/).
ENTERPRISE_MARTS_SQL = """
create temporary table enterprises (uscc varchar, enterprise_name varchar, group_name varchar, industry_code varchar,
    district_code varchar, is_hightech boolean, is_tech_based boolean, has_rd_institution boolean);
create temporary table submissions (uscc varchar, period varchar, version bigint, load_id varchar, row_number bigint,
    rd_expenditure_10k_yuan double, revenue_10k_yuan double, invention_patents_granted bigint,
    high_value_invention_patents_valid bigint);
create temporary table loads (load_id varchar, source_file varchar, loaded_at timestamp, rows_loaded bigint);
"""
SUBMISSION_COLUMNS = """s.uscc, s.period, e.enterprise_name, e.group_name, e.industry_code, e.district_code,
    s.revenue_10k_yuan, s.rd_expenditure_10k_yuan, null as rd_personnel, null as invention_patent_applications,
    s.invention_patents_granted, null as invention_patents_valid, s.high_value_invention_patents_valid,
    null as industrial_output_10k_yuan, null as sei_output_10k_yuan, e.is_hightech, e.is_tech_based,
    e.has_rd_institution, s.version, l.source_file, s.row_number, s.load_id, l.loaded_at"""
ENTERPRISE_INSERT_SQL = f"""
create temporary table versioned as
    select {SUBMISSION_COLUMNS},
           lead(l.loaded_at) over (partition by s.uscc, s.period order by s.version) as superseded_at,
           lead(l.source_file) over (partition by s.uscc, s.period order by s.version) as superseded_by_file
    from submissions s join enterprises e using (uscc) join loads l using (load_id);
insert into marts.fct_enterprise_submissions by name
    select * exclude (superseded_at, superseded_by_file), make_date(period::integer, 1, 1) as period_start,
           make_date(period::integer, 12, 31) as period_end, 'A' as frequency
    from versioned where superseded_at is null;
insert into marts.fct_enterprise_submission_history by name
    select *, false as is_withdrawn from versioned where superseded_at is not null;
insert into marts.dim_enterprise by name
    select e.*, 1 as version, i.name_zh as industry_name_zh, i.section_code as industry_section_code,
           d.name_zh as district_name_zh, min(s.period) as first_period, max(s.period) as last_period,
           count(distinct s.period) as periods_reported, make_date(min(s.period)::integer, 12, 31) as valid_from,
           null as valid_to, true as is_current
    from enterprises e join submissions s using (uscc)
    left join {_seed('ref_industry_codes')} i using (industry_code)
    left join {_seed('ref_chongqing_districts')} d using (district_code)
    group by all;
insert into audit.load_log (load_id, source_file, sha256, format, release_date, rows_loaded, rows_quarantined, status,
                            error, loaded_at, kind)
    select load_id, source_file, md5(source_file), 'enterprise_csv', null, rows_loaded, 0, 'loaded', null, loaded_at,
           'enterprise'
    from loads;
"""


def build_enterprise_db(path: Path) -> Path:
    """:func:`build_marts_db` plus the enterprise marts in their contracted shapes (``dim_enterprise``,
    ``fct_enterprise_submissions``, ``fct_enterprise_submission_history``, ``soe_innovation_concentration``),
    the submissions' loads and the 2024 aggregates of OTHER_GROUP and THIRD_GROUP."""
    build_marts_db(path)
    con = duckdb.connect(str(path))
    try:
        con.execute("".join(contract_ddl(model) for model in ENTERPRISE_MARTS))
        con.execute(ENTERPRISE_MARTS_SQL)
        con.executemany("insert into enterprises values (?, ?, ?, ?, ?, ?, ?, ?)", ENTERPRISES)
        con.executemany("insert into submissions values (?, ?, ?, ?, ?, ?, ?, ?, ?)", SUBMISSIONS)
        con.executemany("insert into loads values (?, ?, ?, ?)", ENTERPRISE_LOADS)
        con.execute(ENTERPRISE_INSERT_SQL)
        insert_soe_innovation(con, GROUP_SOE)
        insert(con, "marts.soe_innovation_concentration", CONCENTRATION_COLUMNS, CONCENTRATION)
    finally:
        con.close()
    return path


def build_tiered_warehouse(warehouse: Path, run_id: str = "run-1") -> Path:
    """A WAREHOUSE_DIR as the pipeline publishes it (docs/connecting.md): :func:`build_enterprise_db` as its
    ``warehouse.duckdb``, then the real :func:`serving.tiers.publish_tiers` (public ``serving.duckdb``,
    ``restricted/``, ``groups/<group>/``, with the default disclosure rules) and the real
    :func:`serving.tiers.export_tiers`, as the ``parquet_exports`` asset runs it.
    ``WAREHOUSE_DIR`` points at ``warehouse`` meanwhile and is restored afterwards."""
    warehouse.mkdir(parents=True, exist_ok=True)
    build = build_enterprise_db(warehouse / "warehouse.duckdb")
    previous = os.environ.get("WAREHOUSE_DIR")
    os.environ["WAREHOUSE_DIR"] = str(warehouse)
    try:
        publish_tiers(build, run_id, DisclosureRules())
        list(export_tiers())
    finally:
        if previous is None:
            del os.environ["WAREHOUSE_DIR"]
        else:
            os.environ["WAREHOUSE_DIR"] = previous
    return warehouse
