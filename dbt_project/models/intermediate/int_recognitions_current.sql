-- The current version of every recognition (record_id): the row of the latest load not withdrawn.

select * exclude (version, superseded_at, superseded_by_file, is_current, is_withdrawn)
from {{ ref('int_recognitions_versioned') }}
where is_current
