{{ stg_current_loads('register_current_loads') }}
