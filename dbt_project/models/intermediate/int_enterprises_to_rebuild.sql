-- The enterprises the models rebuilt by enterprise (int_enterprise_versions) rebuild on this run: every
-- USCC with a row, loaded in any state, in a period whose submissions changed
-- (int_enterprise_periods_to_rebuild). Every row loaded, not only the accepted and current ones, so that
-- an enterprise whose rows were all withdrawn or rejected on this run is rebuilt too: to nothing. A table
-- of a few thousand rows, which the rebuilt models join instead of evaluating this query on each read.

{{ config(materialized='table') }}

select distinct uscc
from {{ ref('stg_enterprise__submissions') }}
where period in {{ periods_to_rebuild(submissions_only=true) }}
