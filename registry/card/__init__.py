"""One card in, a record and diagnostics out: the file format, YAML with positions, the two dialects, checks.

Nothing is imported here, so a module that needs one piece (``hashes`` for a download) loads only that.
"""
