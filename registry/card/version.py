"""The version of the card analysis, stored in every registry index.

A registry indexed by another version re-analyzes every card on its next read, so a record is never older
than the code that reads it. Bump it whenever a change alters what a card's record or diagnostics are: a new
rule, a new field, another message. A refactor that changes nothing needs no bump, and
``tests/registry/card/test_analyzer_version.py`` tells which is which, from a golden digest of the analysis
of every corpus and bundled card.
"""

ANALYZER_VERSION = 4
