"""The meetings API's input turned into stored values: times, durations, guests, rules. Pure.

Refusals are :class:`MeetingRefused` (HTTP 400) with one line naming the field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from middleware.meetings import EARLIEST_START, LATEST_START, MeetingRules
from middleware.meetings_api import recurrence
from middleware.meetings_api.schemas import parse_time


class MeetingRefused(Exception):
    """A request refused: ``status`` (400, 404, 409) and one line saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Defaults:
    """What a create leaves out: the rules file's ``[meeting]`` values."""

    timezone: str = "UTC"
    send_updates: str = "all"
    duration_minutes: int = 30

    @classmethod
    def of(cls, rules: MeetingRules) -> Defaults:
        return cls(rules.timezone, rules.send_updates, rules.duration_minutes)


def body_hash(body: Mapping[str, Any]) -> str:
    """The same JSON, however spaced or ordered, hashes the same."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def start_of(text: str, zone: str) -> datetime:
    """A start (ISO 8601; no offset: in ``zone``) between the years a meeting may be in."""
    start = parse_time(text, zone)
    if not EARLIEST_START <= start.astimezone(UTC) <= LATEST_START:
        raise MeetingRefused(
            400,
            f"start: {text[:40]!r} is not between {EARLIEST_START.year} and {LATEST_START.year}",
        )
    return start


def duration_of(data: Mapping[str, Any], start: datetime, zone: str, default: int) -> int:
    """Minutes from ``end`` (whole minutes, at most a day) or ``duration_minutes``."""
    if "end" in data:
        length = parse_time(data["end"], zone) - start
        minutes, rest = divmod(length.total_seconds(), 60)
        if rest or not 1 <= minutes <= 1440:
            raise MeetingRefused(
                400, "end: must be whole minutes after start, at most 24 hours later"
            )
        return int(minutes)
    return int(data.get("duration_minutes") or default)


def attendees_of(emails: list[str]) -> list[str]:
    """Guests lower-cased, each once, in the order given."""
    return list(dict.fromkeys(e.strip().lower() for e in emails))


def rule_of(text: str | None, start: datetime, zone: str) -> str | None:
    """The checked RRULE for a meeting starting at ``start`` in ``zone`` (None: no rule)."""
    if text is None:
        return None
    try:
        return recurrence.parse_rule(text, start.astimezone(ZoneInfo(zone)))
    except recurrence.RecurrenceError as exc:
        raise MeetingRefused(400, str(exc)) from None


def occurs(rule: str, start: datetime, zone: str, moment: datetime) -> bool:
    """Whether an occurrence of ``rule`` starts at ``moment``."""
    return recurrence.is_occurrence(rule, start.astimezone(ZoneInfo(zone)), moment)
