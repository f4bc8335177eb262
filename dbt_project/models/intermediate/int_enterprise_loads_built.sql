-- The state of every SOE submission load (int_enterprise_load_states) the enterprise models were built on,
-- with the checksum of their code: what the next run compares with to find the periods to rebuild
-- (int_enterprise_periods_to_rebuild, which reads this table without a ref: it is built last). Built
-- after every model rebuilt by period or by enterprise (dim_enterprise follows int_enterprise_versions),
-- so a run that fails before them leaves the previous state here and the next run rebuilds those periods
-- again.
--
-- depends_on: {{ ref('int_soe_innovation') }}
-- depends_on: {{ ref('soe_innovation_concentration') }}
-- depends_on: {{ ref('dim_enterprise') }}

{{ config(materialized='table') }}

select
    *,
    {{ enterprise_models_checksum() }} as models_checksum
from {{ ref('int_enterprise_load_states') }}
