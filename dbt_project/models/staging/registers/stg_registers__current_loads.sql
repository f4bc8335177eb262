{{ stg_current_loads('registers', 'register_current_loads') }}
