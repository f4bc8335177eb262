"""SOE enterprise submissions (format 5): reading, validation with quarantine, resubmission history.

The public entry point is :func:`ingestion.enterprise.loader.load_submissions`. (The synthetic generator
of the demo data and the benchmark is ``tools/synthetic_enterprises.py``, outside the pipeline.)
"""
