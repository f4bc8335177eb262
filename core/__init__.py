"""What every stage shares: where things are (settings), the build database's connections and writer lock
(warehouse, locking) and reporting periods (periods). Nothing here imports from a stage."""
