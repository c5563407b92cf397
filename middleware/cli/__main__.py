"""``python -m middleware.cli``: the same as the ``middleware`` command."""

from middleware.cli import main

main()
