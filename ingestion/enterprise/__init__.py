"""SOE enterprise submissions (format 5): reading, validation with quarantine, resubmission history,
and a synthetic generator. The public entry point is :func:`ingestion.enterprise.loader.load_submissions`."""
