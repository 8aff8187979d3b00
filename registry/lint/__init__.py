"""``hub lint``: card files found under paths, their report formats, and the online link checks."""
