"""Developer tools that are not part of the pipeline (synthetic data generators)."""
