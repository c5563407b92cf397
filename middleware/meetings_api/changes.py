"""Create, change and cancel meetings (and single occurrences) over the store.

Each function validates the request's JSON (``schemas.py``), checks what the API key may do
(``keys.py``), and stores the meeting's new desired state with its event in one transaction
(``Store.create_meeting`` / ``Store.change_meeting``); the worker then brings Google to it.
Refusals are :class:`MeetingRefused` with the HTTP status to answer and one line.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from middleware.filters import InputError, load
from middleware.meetings import OccurrenceChange
from middleware.meetings_api.inputs import (
    Defaults,
    MeetingRefused,
    attendees_of,
    body_hash,
    duration_of,
    occurs,
    rule_of,
    start_of,
)
from middleware.meetings_api.keys import may_act_for, require_organizer
from middleware.meetings_api.plan import CANCELLED
from middleware.meetings_api.schemas import (
    MeetingCreateSchema,
    MeetingPatchSchema,
    OccurrencePatchSchema,
    parse_time,
)
from middleware.model import FINISHED
from middleware.store import MeetingRecord, Store
from middleware.store.api_keys import ApiKeyRecord
from middleware.store.meetings import occurrences_json

#: Longest ``wait=true`` holds an answer for Google's result.
WAIT_SECONDS = 5.0
WAIT_POLL_SECONDS = 0.1


def _load(schema: Any, body: Mapping[str, Any]) -> dict[str, Any]:
    try:
        data: dict[str, Any] = load(schema, body)
    except InputError as exc:
        raise MeetingRefused(400, str(exc)) from None
    return data


# ---- the whole meeting ----------------------------------------------------------------------


def create(
    store: Store,
    key: ApiKeyRecord,
    idempotency_key: str,
    body: Mapping[str, Any],
    defaults: Defaults,
) -> tuple[MeetingRecord, bool]:
    """A new meeting (or the one this ``Idempotency-Key`` made). Returns (it, whether new).
    Raises :class:`MeetingRefused`, :class:`~middleware.meetings_api.keys.KeyRefused` (403)
    and :class:`~middleware.store.meetings.IdempotencyConflict`."""
    data = _load(MeetingCreateSchema(), body)
    organizer = data["organizer"].strip().lower()
    require_organizer(key, organizer)
    zone = data.get("timezone") or defaults.timezone
    start = start_of(data["start"], zone)
    values: dict[str, Any] = {
        "id": "mtg_" + secrets.token_hex(10),
        "organizer": organizer,
        "attendees": json.dumps(attendees_of(data.get("attendees", []))),
        "title": data["title"].strip() or data["title"],
        "description": data.get("description", ""),
        "start": start,
        "duration_minutes": duration_of(data, start, zone, defaults.duration_minutes),
        "timezone": zone,
        "recurrence": rule_of(data.get("recurrence"), start, zone),
        "occurrences": "[]",
        "send_updates": data.get("send_updates") or defaults.send_updates,
    }
    return store.create_meeting(
        values, api_key_id=key.id, idempotency_key=idempotency_key, body_hash=body_hash(body)
    )


def change(
    store: Store, key: ApiKeyRecord, meeting_id: str, body: Mapping[str, Any]
) -> MeetingRecord:
    """The whole meeting (every occurrence) changed as ``body`` says."""
    data = _load(MeetingPatchSchema(), body)

    def apply(current: MeetingRecord) -> dict[str, Any] | None:
        _live(key, current)
        values: dict[str, Any] = {}
        if "organizer" in data:
            values["organizer"] = data["organizer"].strip().lower()
            require_organizer(key, values["organizer"])
        if "attendees" in data:
            values["attendees"] = json.dumps(attendees_of(data["attendees"]))
        for name in ("title", "description", "send_updates"):
            if name in data:
                values[name] = data[name]
        zone = data.get("timezone") or current.timezone
        start = start_of(data["start"], zone) if "start" in data else current.start
        values.update(timezone=zone, start=start)
        if "end" in data or "duration_minutes" in data:
            values["duration_minutes"] = duration_of(data, start, zone, current.duration_minutes)
        rule = current.recurrence
        if "recurrence" in data:
            if (data["recurrence"] is None) != (current.recurrence is None):
                raise MeetingRefused(
                    400,
                    "recurrence: a single meeting cannot become a series, nor a series a single "
                    "meeting; cancel it and make a new one",
                )
            rule = data["recurrence"]
        checked = rule_of(rule, start, zone)
        if checked is not None:  # the rule again, from the start: moves drop what it lost
            values["recurrence"] = checked
            kept = [
                c for c in current.occurrences if occurs(checked, start, zone, c.original_start)
            ]
            values["occurrences"] = occurrences_json(kept)
        return _changed(current, values)

    return _change(store, meeting_id, apply)


def cancel(
    store: Store, key: ApiKeyRecord, meeting_id: str, send_updates: str | None
) -> MeetingRecord:
    """The meeting cancelled (every occurrence); cancelling it again changes nothing."""

    def apply(current: MeetingRecord) -> dict[str, Any] | None:
        _visible(key, current)
        if current.state == CANCELLED:
            return None
        values: dict[str, Any] = {"state": CANCELLED}
        if send_updates:
            values["send_updates"] = send_updates
        return values

    return _change(store, meeting_id, apply)


# ---- one occurrence -------------------------------------------------------------------------


def change_occurrence(
    store: Store, key: ApiKeyRecord, meeting_id: str, original: str, body: Mapping[str, Any]
) -> MeetingRecord:
    """One occurrence (named by its start by the rule) moved."""
    data = _load(OccurrencePatchSchema(), body)

    def apply(current: MeetingRecord) -> dict[str, Any] | None:
        moment = _occurrence(key, current, original)
        start = start_of(data["start"], current.timezone)
        minutes = duration_of(data, start, current.timezone, current.duration_minutes)
        moved = OccurrenceChange(moment, start, start + timedelta(minutes=minutes))
        values = _with_occurrence(current, moved)
        if "send_updates" in data:
            values["send_updates"] = data["send_updates"]
        return _changed(current, values)

    return _change(store, meeting_id, apply)


def cancel_occurrence(
    store: Store, key: ApiKeyRecord, meeting_id: str, original: str, send_updates: str | None
) -> MeetingRecord:
    """One occurrence cancelled; cancelling it again changes nothing."""

    def apply(current: MeetingRecord) -> dict[str, Any] | None:
        moment = _occurrence(key, current, original, cancelled_ok=True)
        values = _with_occurrence(current, OccurrenceChange(moment, cancelled=True))
        if send_updates:
            values["send_updates"] = send_updates
        return _changed(current, values)

    return _change(store, meeting_id, apply)


# ---- reading --------------------------------------------------------------------------------


def visible_meeting(store: Store, key: ApiKeyRecord, meeting_id: str) -> MeetingRecord:
    """The meeting, if ``key`` may see it. Raises :class:`MeetingRefused` 404."""
    meeting = store.get_meeting(meeting_id)
    if meeting is None:
        raise _not_found(meeting_id)
    _visible(key, meeting)
    return meeting


def wait_until_done(
    store: Store,
    meeting: MeetingRecord,
    *,
    seconds: float = WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> MeetingRecord:
    """``meeting`` once its latest change is processed (succeeded, skipped or failed), or as
    it is after ``seconds``: the store is read every :data:`WAIT_POLL_SECONDS`."""
    deadline = monotonic() + seconds
    while meeting.status not in FINISHED and monotonic() < deadline:
        sleep(WAIT_POLL_SECONDS)
        meeting = store.get_meeting(meeting.id) or meeting
    return meeting


# ---- plumbing -------------------------------------------------------------------------------


def _change(
    store: Store, meeting_id: str, apply: Callable[[MeetingRecord], dict[str, Any] | None]
) -> MeetingRecord:
    meeting = store.change_meeting(meeting_id, apply)
    if meeting is None:
        raise _not_found(meeting_id)
    return meeting


def _not_found(meeting_id: str) -> MeetingRefused:
    return MeetingRefused(404, f"meeting {meeting_id[:64]} not found")


def _visible(key: ApiKeyRecord, meeting: MeetingRecord) -> None:
    if not may_act_for(key, meeting.organizer):
        raise _not_found(meeting.id)  # another organizer's meeting is not there for this key


def _live(key: ApiKeyRecord, meeting: MeetingRecord) -> None:
    _visible(key, meeting)
    if meeting.state == CANCELLED:
        raise MeetingRefused(409, f"meeting {meeting.id} is cancelled; make a new one")


def _changed(current: MeetingRecord, values: dict[str, Any]) -> dict[str, Any] | None:
    """Only the columns that differ; None when nothing does (no new version, no event)."""
    row = {
        "organizer": current.organizer,
        "attendees": json.dumps(list(current.attendees)),
        "title": current.title,
        "description": current.description,
        "start": current.start,
        "duration_minutes": current.duration_minutes,
        "timezone": current.timezone,
        "recurrence": current.recurrence,
        "occurrences": occurrences_json(current.occurrences),
        "send_updates": current.send_updates,
    }
    differing = {k: v for k, v in values.items() if row.get(k) != v}
    return differing or None


def _occurrence(
    key: ApiKeyRecord, meeting: MeetingRecord, original: str, *, cancelled_ok: bool = False
) -> datetime:
    """The occurrence ``original`` names (ISO 8601, or Calendar's ``YYYYMMDDTHHMMSSZ``);
    one already cancelled is refused (409) unless ``cancelled_ok``."""
    _live(key, meeting)
    if meeting.recurrence is None:
        raise MeetingRefused(409, f"meeting {meeting.id} does not recur; change it as a whole")
    try:
        moment = (
            datetime.strptime(original, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            if len(original) == 16
            else parse_time(original, "UTC")
        ).astimezone(UTC)
    except ValueError:
        raise MeetingRefused(
            400, "the occurrence is named by its start by the rule, e.g. 2030-01-14T09:00:00Z"
        ) from None
    if not occurs(meeting.recurrence, meeting.start, meeting.timezone, moment):
        raise MeetingRefused(404, f"meeting {meeting.id} has no occurrence at {original[:40]}")
    for existing in meeting.occurrences:
        if existing.original_start == moment and existing.cancelled and not cancelled_ok:
            raise MeetingRefused(409, f"the occurrence at {original[:40]} is cancelled")
    return moment


def _with_occurrence(meeting: MeetingRecord, change: OccurrenceChange) -> dict[str, Any]:
    others = [o for o in meeting.occurrences if o.original_start != change.original_start]
    changes = sorted([*others, change], key=lambda o: o.original_start)
    return {"occurrences": occurrences_json(changes)}


__all__ = [
    "Defaults",
    "MeetingRefused",
    "body_hash",
    "cancel",
    "cancel_occurrence",
    "change",
    "change_occurrence",
    "create",
    "visible_meeting",
    "wait_until_done",
]
