"""Benchmarks: ``python -m bench.lint_corpus`` and friends print tables beside the anchors' targets."""
