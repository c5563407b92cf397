"""Recurring events: ``recurrence`` (RFC 5545 lines) on an event, its instances, and exceptions.

As the Calendar API documents them (guide *Recurring events*; Event resource [DISC]):

* a recurring event is one event whose ``recurrence`` lists ``RRULE``/``EXRULE``/``RDATE``/
  ``EXDATE`` lines; "a timezone identifier for both the start and end time is always required
  for recurring events" (Calendar v3 best practices, recurring events), else 400;
* its *instances* are expanded from the rule in the start's time zone, each named
  ``{event id}_{original start in UTC, YYYYMMDDTHHMMSSZ}``, carrying ``recurringEventId`` and
  ``originalStartTime``, no ``recurrence``, and the series' conference;
* ``events.get`` / ``patch`` / ``update`` / ``delete`` on an instance id read or change that one
  occurrence: a change or a delete makes an *exception*, kept as what it overrides, so a later
  change of the series reaches the fields the exception did not change; a second delete is 410;
* ``events.instances`` lists them (cancelled ones only with ``showDeleted``).

Unconfirmed, one reading: an exception whose original start is no longer an occurrence after
the series' rule or start changed is dropped (Google's UI offers to drop such changes).
"""

from __future__ import annotations

import copy
import datetime as dt
import zoneinfo
from typing import Any

from dateutil.rrule import rrulestr

from .responses import ApiError, Response
from .state import EmulatorState, EventRecord, now_rfc3339, ordered
from .times import when

_STAMP = "%Y%m%dT%H%M%SZ"
_LINE_KINDS = ("RRULE:", "EXRULE:", "RDATE", "EXDATE")
#: Most instances ``events.instances`` expands for an endless rule.
_MAX_INSTANCES = 2500


def _zone(resource: dict) -> dt.tzinfo:
    name = (resource.get("start") or {}).get("timeZone")
    try:
        return zoneinfo.ZoneInfo(name) if name else dt.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _rule(resource: dict) -> Any:
    """The event's recurrence as a dateutil rule set (dtstart: its start in its zone)."""
    start = when(resource.get("start"), "start")[1].astimezone(_zone(resource))
    return rrulestr("\n".join(resource["recurrence"]), dtstart=start, forceset=True)


def stamp_of(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime(_STAMP)


class RecurringEvents(EmulatorState):
    """Validation of ``recurrence``, and the instances of recurring events."""

    def _check_recurrence(self, resource: dict) -> None:
        lines = resource.get("recurrence")
        if lines is None:
            return
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            raise ApiError(400, "invalid", "Invalid recurrence rule.")
        if not lines:
            resource.pop("recurrence")
            return
        for which in ("start", "end"):
            if not (resource.get(which) or {}).get("timeZone"):
                raise ApiError(400, "required", f"Missing time zone definition for {which} time.")
        if not all(line.upper().startswith(_LINE_KINDS) for line in lines):
            raise ApiError(400, "invalid", "Invalid recurrence rule.")
        try:
            _rule(resource)
        except (ValueError, TypeError):
            raise ApiError(400, "invalid", "Invalid recurrence rule.") from None

    def _is_occurrence(self, resource: dict, original: dt.datetime) -> bool:
        found = _rule(resource).between(
            original - dt.timedelta(seconds=1), original + dt.timedelta(seconds=1), inc=True
        )
        return any(o.astimezone(dt.UTC) == original for o in found)

    def _instance(self, record: EventRecord, stamp: str) -> dict:
        """The occurrence ``stamp`` of ``record``: generated from the series, with its
        exception's overrides on top."""
        parent = record.resource
        zone = _zone(parent)
        original = dt.datetime.strptime(stamp, _STAMP).replace(tzinfo=dt.UTC).astimezone(zone)
        length = when(parent.get("end"), "end")[1] - when(parent.get("start"), "start")[1]
        instance = {k: copy.deepcopy(v) for k, v in parent.items() if k != "recurrence"}
        zone_name = (parent.get("start") or {}).get("timeZone")
        instance.update(
            id=f"{parent['id']}_{stamp}",
            recurringEventId=parent["id"],
            originalStartTime={"dateTime": original.isoformat(), "timeZone": zone_name},
            start={"dateTime": original.isoformat(), "timeZone": zone_name},
            end={"dateTime": (original + length).isoformat(), "timeZone": zone_name},
        )
        instance.update(copy.deepcopy(record.exceptions.get(stamp, {})))
        if parent.get("status") == "cancelled":
            instance["status"] = "cancelled"  # the whole series is
        return instance

    def _find_instance(
        self, calendar: dict[str, EventRecord], event_id: str
    ) -> tuple[EventRecord, str] | None:
        """(the series, the occurrence's stamp) for an instance id; None when it names none."""
        base, sep, stamp = event_id.rpartition("_")
        record = calendar.get(base) if sep else None
        if record is None or not record.resource.get("recurrence"):
            return None
        try:
            original = dt.datetime.strptime(stamp, _STAMP).replace(tzinfo=dt.UTC)
        except ValueError:
            return None
        if stamp not in record.exceptions and not self._is_occurrence(record.resource, original):
            return None
        return record, stamp

    def _instance_op(
        self, op: str, calendar: dict[str, EventRecord], event_id: str, body: dict
    ) -> Response:
        """events.get / patch / update / delete on one occurrence."""
        found = self._find_instance(calendar, event_id)
        if found is None or op not in ("get", "patch", "update", "delete"):
            raise ApiError(404, "notFound", "Not Found")
        record, stamp = found
        instance = self._instance(record, stamp)
        if op == "get":
            return Response.json(200, ordered(instance))
        if op == "delete":
            if instance.get("status") == "cancelled":
                raise ApiError(410, "deleted", "Resource has been deleted")
            record.exceptions.setdefault(stamp, {})["status"] = "cancelled"
            self._touch(record)
            return Response(204)
        if "recurrence" in body:
            raise ApiError(400, "invalid", "Invalid recurrence rule.")  # an instance has none
        overrides = copy.deepcopy(record.exceptions.get(stamp, {}))
        for key, value in body.items():
            if key in ("start", "end", "summary", "description", "attendees", "status", "location"):
                overrides[key] = copy.deepcopy(value)
        candidate = {**instance, **overrides}
        end_kind, end = when(candidate.get("end"), "end")
        start_kind, start = when(candidate.get("start"), "start")
        if start_kind != end_kind or end < start:
            raise ApiError(
                400, "timeRangeEmpty", "The specified time range is empty.", domain="calendar"
            )
        overrides["updated"] = now_rfc3339()
        record.exceptions[stamp] = overrides
        self._touch(record)
        return Response.json(200, ordered(self._instance(record, stamp)))

    def _instances(self, record: EventRecord, query: dict[str, str]) -> Response:
        """events.instances: every occurrence of a recurring event, in order."""
        if not record.resource.get("recurrence"):
            raise ApiError(400, "invalid", "The event is not a recurring event.")
        items = self.instances_of(record, limit=_MAX_INSTANCES)
        if query.get("showDeleted") != "true":
            items = [i for i in items if i.get("status") != "cancelled"]
        try:
            limit = int(query.get("maxResults") or 250)
        except ValueError:
            raise ApiError(400, "badRequest", "Bad Request") from None
        body = {"kind": "calendar#events", "items": [ordered(i) for i in items[:limit]]}
        return Response.json(200, body)

    def instances_of(self, record: EventRecord, *, limit: int = 500) -> list[dict]:
        stamps: list[str] = []
        for moment in _rule(record.resource):
            if len(stamps) >= limit:
                break
            stamps.append(stamp_of(moment))
        return [self._instance(record, s) for s in stamps]

    def _prune_exceptions(self, record: EventRecord) -> None:
        """Drop exceptions that are no longer occurrences (the series' rule or start moved)."""
        if not record.resource.get("recurrence"):
            record.exceptions.clear()
            return
        for stamp in list(record.exceptions):
            original = dt.datetime.strptime(stamp, _STAMP).replace(tzinfo=dt.UTC)
            if not self._is_occurrence(record.resource, original):
                del record.exceptions[stamp]
