"""Dagster assets, one module per topic."""
