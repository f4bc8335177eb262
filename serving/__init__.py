"""What BI tools and people read: the published serving database, Parquet exports and the indicator report."""
