"""Recurrence rules of the meetings API: one RFC 5545 ``RRULE``, checked with python-dateutil.

Pure: no I/O, no clock. A recurring meeting is one Calendar event whose ``recurrence`` is
``["RRULE:…"]`` (Calendar API, *Recurring events*); the rule is expanded in the meeting's time
zone from its start (RFC 5545 §3.8.5.3: DTSTART is the first occurrence), so "every Monday
at 10:00 Berlin time" stays at 10:00 across daylight saving time.

What is refused, each with one line saying why (:class:`RecurrenceError`, HTTP 400):
a rule dateutil cannot read; ``FREQ`` finer than daily; a rule without ``COUNT`` or ``UNTIL``
(an endless series is never what a booking means) or with both; a ``COUNT`` over
:data:`MAX_OCCURRENCES` or an ``UNTIL`` allowing more; a start that is not an occurrence of
the rule (Google would show it as an extra one).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from dateutil.rrule import rrule, rrulestr

#: Most occurrences one meeting may have (two years of working days, or of a daily meeting).
MAX_OCCURRENCES = 730
#: Longest rule text accepted.
MAX_RULE_CHARS = 500
_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")


class RecurrenceError(ValueError):
    """A recurrence rule the API does not accept; the message says why."""


def _parts(body: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in body.split(";"):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise RecurrenceError(f"recurrence: {item!r} is not NAME=VALUE (RFC 5545 §3.3.10)")
        if name in parts:
            raise RecurrenceError(f"recurrence: {name} is given twice")
        parts[name] = value
    return parts


def parse_rule(text: str, start: datetime) -> str:
    """The rule as Calendar takes it (``RRULE:…``, upper case) for a meeting starting at
    ``start`` (aware, in the meeting's time zone). ``text`` may omit the ``RRULE:`` prefix.

    Raises :class:`RecurrenceError` (see the module docstring).
    """
    line = " ".join(str(text).split()).upper()
    if not line:
        raise RecurrenceError("recurrence: empty; give an RRULE such as FREQ=WEEKLY;COUNT=10")
    if len(line) > MAX_RULE_CHARS:
        raise RecurrenceError(f"recurrence: longer than {MAX_RULE_CHARS} characters")
    body = line.removeprefix("RRULE:")
    if ":" in body or " " in body:
        raise RecurrenceError(
            "recurrence: one RRULE only (e.g. RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10), without "
            "DTSTART, EXDATE or other lines"
        )
    parts = _parts(body)
    if parts.get("FREQ") not in _FREQUENCIES:
        raise RecurrenceError(
            f"recurrence: FREQ must be one of {', '.join(_FREQUENCIES)} "
            f"(got {parts.get('FREQ', 'none')!r})"
        )
    if ("COUNT" in parts) == ("UNTIL" in parts):
        raise RecurrenceError(
            "recurrence: give an end, either COUNT=n (occurrences) or UNTIL=YYYYMMDDTHHMMSSZ "
            "(the last start, UTC), and not both"
        )
    count = parts.get("COUNT")
    if count is not None and not (count.isdigit() and 1 <= int(count) <= MAX_OCCURRENCES):
        raise RecurrenceError(
            f"recurrence: COUNT must be a whole number from 1 to {MAX_OCCURRENCES}"
        )
    try:
        rule = rrulestr(f"RRULE:{body}", dtstart=start)
    except (ValueError, TypeError, OverflowError) as exc:
        raise RecurrenceError(f"recurrence: not a valid RFC 5545 RRULE: {exc}") from None
    assert isinstance(rule, rrule)
    try:
        first = list(itertools.islice(rule, MAX_OCCURRENCES + 1))
    except (ValueError, OverflowError) as exc:
        raise RecurrenceError(f"recurrence: cannot be expanded: {exc}") from None
    if len(first) > MAX_OCCURRENCES:
        raise RecurrenceError(
            f"recurrence: more than {MAX_OCCURRENCES} occurrences; end it sooner (COUNT or UNTIL)"
        )
    if not first or first[0] != start:
        raise RecurrenceError(
            f"recurrence: the start {start.isoformat()} is not an occurrence of the rule (the "
            "first occurrence must be the start; e.g. BYDAY must include its weekday)"
        )
    return f"RRULE:{body}"


def occurrences(rule: str, start: datetime) -> Iterator[datetime]:
    """Every occurrence's start of ``rule`` (as :func:`parse_rule` returned it), in order."""
    expanded = rrulestr(rule, dtstart=start)
    assert isinstance(expanded, rrule)
    return iter(expanded)


def is_occurrence(rule: str, start: datetime, moment: datetime) -> bool:
    """Whether ``moment`` is when one occurrence of ``rule`` starts (by the rule)."""
    expanded = rrulestr(rule, dtstart=start)
    assert isinstance(expanded, rrule)
    found = expanded.between(moment - timedelta(seconds=1), moment + timedelta(seconds=1), inc=True)
    return any(o.astimezone(UTC) == moment.astimezone(UTC) for o in found)
