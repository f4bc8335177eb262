{{ stg_current_loads('enterprise', 'enterprise_current_loads') }}
