{{ stg_current_loads('releases', 'release_current_loads') }}
