"""Running a loaded network: ``predict`` (top-k labels), ``evaluate`` (accuracy against the card's claim) and
the evaluation data."""
