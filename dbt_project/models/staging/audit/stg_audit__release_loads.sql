{{ stg_current_loads('release_current_loads') }}
