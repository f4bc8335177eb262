"""When an asset downstream of the landing files materializes by itself (declarative automation).

:data:`ON_CHANGE` is Dagster's ``eager`` condition (an upstream asset or partition was updated, nothing
upstream is in progress) without its ``~any_deps_missing`` part, or the asset's code version changed
(a dbt model or seed edited, the seeds a mapping reads). Without that part because the raw assets have
one partition per landed file: a file whose partition has not been materialized yet must not hold back
every mart for ever. Under ``make dev`` the automation sensor evaluates it; ``make run`` runs what is
downstream of what changed directly (:mod:`orchestration.run`).
"""

import dagster as dg

ON_CHANGE = (
    dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())
    | dg.AutomationCondition.code_version_changed()
).with_label("on_change")
