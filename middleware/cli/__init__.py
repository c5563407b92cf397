"""The ``middleware`` command line: processes, schema, and operator tools.

``base.py`` holds the group and the process commands, ``events.py`` the operator commands,
``setup.py`` the set-up commands, ``google.py`` reps' Google connections, ``api_keys.py`` the meetings API's keys; importing them registers their commands on the group.
"""

from __future__ import annotations

from middleware.cli import api_keys, events, google, setup  # noqa: F401 - registers the commands
from middleware.cli.base import cli

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="middleware")
