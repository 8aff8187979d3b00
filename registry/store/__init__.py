"""The SQLite registry: every SQL statement (``db``), name resolution as ranking over rows (``resolve``),
and the schema as append-only migrations (``migrations``)."""
