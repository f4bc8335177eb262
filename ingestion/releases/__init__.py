"""Statistical releases: one parser module per format, harmonization against the seeds, and the loader.

Entry point: :func:`ingestion.releases.loader.load_releases`.
"""
