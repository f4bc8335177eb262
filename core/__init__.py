"""What every stage shares: where things are (settings), the build database's connections and writer lock
(warehouse, locking), reporting periods (periods) and the dbt command the pipeline runs (dbt_command).
Nothing here imports from a stage."""
