"""The rule every pace follows, wherever its rows live (``pacing.py``, ``host_paces.py``).

A pace is the generic cell rate algorithm: its row keeps the time its next request is due if
requests went evenly (``next_at``, the theoretical arrival time); a request takes
``max(next_at - tolerance, now)`` and moves the row on by one interval. The tolerance,
``(burst - 1)`` intervals, lets ``burst`` requests go at once after a quiet spell, never more
in any window than the pace's own count plus that burst: with a burst of 1 the requests are
evenly spaced. Google counts its quotas per minute over a sliding window (ref §2.3), so a
pace at 90 % with a burst under a tenth of a minute's quota never meets a refusal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

__all__ = ["Pace", "paced", "take_slot"]


class Pace(NamedTuple):
    """One scope's rate: requests a minute (0: no pace) and how many may go at once."""

    scope: str
    per_minute: float
    burst: int = 1


def paced(rates: Iterable[Pace | Sequence]) -> list[Pace]:
    """The paces of ``rates`` (``Pace`` or plain ``(scope, per_minute[, burst])`` tuples) that
    pace anything: a rate of 0 is no pace."""
    return [pace for pace in (Pace(*rate) for rate in rates) if pace.per_minute > 0]


def take_slot(pace: Pace, next_at: float | None, now: float) -> tuple[float, float]:
    """``(seconds to wait, the row's new next_at)`` for a request at ``now`` (seconds on the
    store's clock) on a pace whose row holds ``next_at`` (None: never used)."""
    interval = 60.0 / pace.per_minute
    due = now if next_at is None else next_at
    slot = max(due - (max(pace.burst, 1) - 1) * interval, now)
    return slot - now, max(due, slot) + interval
