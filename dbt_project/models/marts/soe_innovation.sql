-- The SOE innovation figures of int_soe_innovation (where they are aggregated, incrementally by period),
-- as the mart readers query: a few hundred rows, copied whole.

select * from {{ ref('int_soe_innovation') }}
