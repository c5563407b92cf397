"""A worker killed right after an external write took effect: the test double of SIGKILL.

``Killed`` is a ``BaseException`` that nothing in the pipeline catches, so the event stays
``processing`` under a lease nobody renews, as after a real SIGKILL; the next claim after the
lease expires takes it over.
"""

from __future__ import annotations


class Killed(BaseException):
    """The worker process died here."""


class Killer:
    """Counts external writes; the ``kill_at``-th one takes effect, then the worker dies."""

    def __init__(self, kill_at: int | None = None) -> None:
        self.kill_at = kill_at
        self.writes = 0
        self.killed = False

    def wrote(self) -> None:
        self.writes += 1
        if self.kill_at is not None and self.writes == self.kill_at:
            self.killed = True
            raise Killed
