"""A Pipedrive deal's demo start, from its custom fields. Pure.

Pipedrive has no date-and-time field type (CONTRACT.md, rules ``[pipedrive]``): the start is a
date field (``start_field``) plus a time field (``start_time_field``), or one text field with
ISO 8601. API v2 formats (``shared/reference/crm-webhooks-and-apis.md`` §2.5): a date is
``"2024-01-01"``; a time is ``{"value": "09:00:00", "timezone_name": "Europe/London"}``. That
the time field always carries its zone is not confirmed first-hand, so a bare ``"09:00:00"`` (or
an object without a usable zone) is read too. v1 and webhook payloads wrap values as
``{"type": …, "value": …}`` (§2.4); such a wrapper is unwrapped.

The result is what ``meetings.parse_start`` reads: ISO text with an offset when the time
field's zone is known (its own zone wins), else naive (the rep's zone applies).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from middleware.errors import PermanentError

_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
#: subfield names a time value's zone may come under (v2: ``timezone_name``)
_ZONE_KEYS = ("timezone_name", "timezone", "time_zone")


def field_value(fields: Mapping[str, Any], key: str) -> Any:
    """The value of custom field ``key``: a ``{"type", "value"}`` wrapper is unwrapped; a
    time object (``value`` + zone) is kept whole."""
    value = fields.get(key)
    if isinstance(value, dict) and "type" in value and "value" in value:
        return value["value"]
    return value


def text_value(fields: Mapping[str, Any], key: str) -> str | None:
    """A text field as text; empty and absent read as None."""
    if not key:
        return None
    value = field_value(fields, key)
    if value is None or isinstance(value, dict | list):
        return None
    return str(value) or None


def start_value(
    fields: Mapping[str, Any], *, start_field: str, start_time_field: str, deal_id: str
) -> str | None:
    """The deal's start as ISO text, or None while a needed field is empty (waiting).

    Without ``start_time_field`` the ``start_field`` text is passed as it is (the planner
    checks it is a date-time). With it: a date ``YYYY-MM-DD`` and a time ``HH:MM[:SS]``,
    combined in the time field's zone when it names a known IANA zone.

    Raises :class:`PermanentError` ``bad_start`` for a date or time that cannot be read.
    """
    if not start_time_field:
        return text_value(fields, start_field)
    day = text_value(fields, start_field)
    raw_time = field_value(fields, start_time_field)
    zone_name: str | None = None
    if isinstance(raw_time, dict):
        zone_name = next(
            (z for k in _ZONE_KEYS if isinstance(z := raw_time.get(k), str) and z), None
        )
        raw_time = raw_time.get("value")
    if zone_name is None:  # a companion field (``<key>_timezone_name``), if the account has one
        companion = field_value(fields, f"{start_time_field}_timezone_name")
        zone_name = companion if isinstance(companion, str) and companion else None
    if not day or raw_time in (None, ""):
        return None
    try:
        the_date = date.fromisoformat(str(day)[:10])
    except ValueError:
        raise PermanentError(
            "bad_start",
            f"deal {deal_id}: date field {start_field} = {str(day)[:40]!r} is not a date "
            "YYYY-MM-DD: make it a Pipedrive date field",
        ) from None
    match = _TIME.fullmatch(str(raw_time).strip())
    hour, minute, second = (
        (int(match[1]), int(match[2]), int(match[3] or 0)) if match else (99, 0, 0)
    )
    if hour > 23 or minute > 59 or second > 59:
        raise PermanentError(
            "bad_start",
            f"deal {deal_id}: time field {start_time_field} = {str(raw_time)[:40]!r} is not a "
            "time of day HH:MM: make it a Pipedrive time field",
        )
    naive = datetime.combine(the_date, time(hour, minute, second))
    zone = _zone(zone_name)
    if zone is None:
        return naive.isoformat()
    return naive.replace(tzinfo=zone).isoformat()


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
