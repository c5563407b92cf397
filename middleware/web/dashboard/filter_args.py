"""The list's filter form ↔ the operator filter the admin API and the CLI take (``filters.py``).

The form adds what a browser needs and the API does not: a time range as a preset ("last 24
hours") or as ``datetime-local`` fields, which carry no offset and are read in the viewer's time
zone (``tz``, filled in by ``dashboard.js``; UTC without it). Everything else is passed through
as the API's query would be, and validated by the same schemas.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from werkzeug.datastructures import MultiDict

from middleware.filters import InputError
from middleware.json_shapes import iso_z
from middleware.store import EventFilter

#: The form's fields, in the order a link repeats them.
FORM_FIELDS = (
    "status",
    "provider",
    "deal_id",
    "reason",
    "action",
    "since",
    "created_after",
    "created_before",
    "tz",
)
PLAIN_FIELDS = ("provider", "deal_id", "reason", "action")
SINCE = {
    "1h": ("last hour", timedelta(hours=1)),
    "24h": ("last 24 hours", timedelta(hours=24)),
    "7d": ("last 7 days", timedelta(days=7)),
    "30d": ("last 30 days", timedelta(days=30)),
}


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"tz: {(name or '')[:60]!r} is not a time zone") from None


def _aware(value: str, zone: ZoneInfo, field: str) -> str:
    """ISO 8601 with an offset: one given with an offset stays, a local one gets ``zone``'s."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{field}: {value[:40]!r} is not a date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def filter_input(args: MultiDict[str, str], now: datetime) -> dict[str, Any]:
    """The form's values as the input of :class:`~middleware.filters.FilterSchema`."""
    data: dict[str, Any] = {}
    statuses = [s for value in args.getlist("status") for s in value.split(",") if s.strip()]
    if statuses:
        data["status"] = statuses
    for name in PLAIN_FIELDS:
        value = args.get(name, "").strip()
        if value:
            data[name] = value
    since = args.get("since", "")
    if since:
        if since not in SINCE:
            raise InputError(f"since: must be one of {', '.join(SINCE)}")
        data["created_after"] = (now - SINCE[since][1]).isoformat()
    zone = _zone(args.get("tz") or None)
    for name in ("created_after", "created_before"):
        value = args.get(name, "").strip()
        if value:
            data[name] = _aware(value, zone, name)
    return data


def form_args(args: MultiDict[str, str]) -> MultiDict[str, str]:
    """The filter fields of a request, non-empty ones only, to repeat in links and forms."""
    kept: MultiDict[str, str] = MultiDict()
    for name in FORM_FIELDS:
        for value in args.getlist(name):
            if value.strip():
                kept.add(name, value)
    return kept


def filter_fields(flt: EventFilter) -> MultiDict[str, str]:
    """A loaded filter as form fields with absolute times (a confirmation replays exactly it)."""
    fields: MultiDict[str, str] = MultiDict()
    for status in flt.statuses:
        fields.add("status", status)
    for name in PLAIN_FIELDS:
        value = getattr(flt, name)
        if value:
            fields.add(name, value)
    for name in ("created_after", "created_before"):
        moment = getattr(flt, name)
        if moment is not None:
            fields.add(name, iso_z(moment) or "")
    return fields


def describe(flt: EventFilter) -> list[tuple[str, str | datetime]]:
    """What a filter selects, as (field, value) pairs for a person to read (times as times)."""
    shown: list[tuple[str, str | datetime]] = []
    if flt.statuses:
        shown.append(("status", ", ".join(flt.statuses)))
    for name in PLAIN_FIELDS:
        if getattr(flt, name):
            shown.append((name.replace("_", " "), getattr(flt, name)))
    for name, label in (("created_after", "received after"), ("created_before", "received before")):
        if getattr(flt, name) is not None:
            shown.append((label, getattr(flt, name)))
    return shown
