"""Dagster wiring: assets, dbt assets, checks, jobs, schedules and sensors. No business logic here."""
