"""``python -m hub_client.cli``: the same as the ``hub`` console script."""

from .app import main

main()
