-- The current figures of every (uscc, period): the submission of the latest load not withdrawn.

select * exclude (superseded_at, superseded_by_file, is_current, is_withdrawn)
from {{ ref('int_enterprise_submissions_versioned') }}
where is_current
