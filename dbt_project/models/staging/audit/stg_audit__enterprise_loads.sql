{{ stg_current_loads('enterprise_current_loads') }}
