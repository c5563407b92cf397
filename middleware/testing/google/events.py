"""The Calendar events resource's writes: events.insert / patch / update with Google's
documented semantics: client-supplied base32hex ids, 409 ``duplicate`` even after delete,
server-owned fields kept, patch merging, attendee and time validation ([DISC], ref §1.5-1.6)."""

from __future__ import annotations

import base64
import copy
import re
import secrets
from typing import Any

from .conferences import Conferences
from .recurring import RecurringEvents
from .responses import ApiError, Response
from .state import EventRecord, Token, norm, now_rfc3339, ordered
from .times import when

# Event ids: base32hex alphabet, 5..1024 chars (ref §1.5, Event.id in [DISC]).
_EVENT_ID_RE = re.compile(r"^[a-v0-9]{5,1024}$")
_BASE32HEX = "0123456789abcdefghijklmnopqrstuv"

# Event fields the server owns; values sent by clients are ignored ([DISC]: "Read-only").
_SERVER_OWNED_FIELDS = frozenset(
    {
        "kind",
        "etag",
        "id",
        "htmlLink",
        "created",
        "updated",
        "creator",
        "organizer",
        "iCalUID",
        "hangoutLink",
        "sequence",
        "locked",
        "recurringEventId",
        "conferenceData",  # handled separately: only honoured with conferenceDataVersion=1
    }
)
# All properties of the Event schema in the bundled calendar.v3.json (revision 20261030);
# unknown body keys are dropped, as Google does.
_EVENT_FIELDS = frozenset(
    {
        "anyoneCanAddSelf", "attachments", "attendees", "attendeesOmitted", "birthdayProperties",
        "colorId", "conferenceData", "created", "creator", "description", "end",
        "endTimeUnspecified", "etag", "eventLabelId", "eventType", "extendedProperties",
        "focusTimeProperties", "gadget", "guestsCanInviteOthers", "guestsCanModify",
        "guestsCanSeeOtherGuests", "hangoutLink", "htmlLink", "iCalUID", "id", "kind", "location",
        "locked", "organizer", "originalStartTime", "outOfOfficeProperties", "privateCopy",
        "recurrence", "recurringEventId", "reminders", "sequence", "source", "start", "status",
        "summary", "transparency", "updated", "visibility", "workingLocationProperties",
    }
)  # fmt: skip


def merge_patch(target: dict, patch: dict) -> None:
    """Google patch semantics: nested objects are merged, arrays and scalars replaced,
    JSON null clears a field (https://developers.google.com/workspace/calendar/api/guides/performance#patch;
    ref §1.6 quotes "Array fields, if specified, overwrite the existing arrays")."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class EventsResource(Conferences, RecurringEvents):
    """events.insert, events.patch and events.update on one user's calendar."""

    def _insert(
        self, token: Token, owner: str, calendar: dict, body: dict, conf_version: int
    ) -> Response:
        event_id = body.get("id")
        if event_id is None:
            event_id = "".join(secrets.choice(_BASE32HEX) for _ in range(32))
            while event_id in calendar:  # pragma: no cover - 2**160 space
                event_id = "".join(secrets.choice(_BASE32HEX) for _ in range(32))
        elif not isinstance(event_id, str) or not _EVENT_ID_RE.match(event_id):
            raise ApiError(400, "invalid", "Invalid resource id value.")
        if event_id in calendar or event_id in self._gone.get(owner, set()):
            # Cancelled events keep their id, so this fires after delete too (ref §1.5).
            raise ApiError(409, "duplicate", "The requested identifier already exists.")

        now = now_rfc3339()
        resource: dict[str, Any] = {
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "htmlLink": self._html_link(event_id, owner),
            "created": now,
            "updated": now,
            "creator": {"email": owner, "self": True},
            "organizer": {"email": owner, "self": True},
            "iCalUID": f"{event_id}@google.com",
            "sequence": 0,
            "reminders": {"useDefault": True},
            "eventType": "default",
        }
        resource.update(self._writable(body))
        record = EventRecord(resource=resource)
        self._validate(token, resource, body, owner)
        if conf_version == 1 and "conferenceData" in body:
            self._apply_conference_data(token, record, body["conferenceData"])
        calendar[event_id] = record
        self._touch(record, keep_updated=True)
        return Response.json(200, ordered(record.resource))

    def _modify(
        self,
        op: str,
        token: Token,
        owner: str,
        record: EventRecord,
        body: dict,
        conf_version: int,
    ) -> Response:
        old = record.resource
        restoring = (
            old.get("status") == "cancelled" and body.get("status", "confirmed") != "cancelled"
        )
        if restoring and old.get("id") in self.restore_refused:
            # One reading of the unconfirmed restore behaviour (reference addendum §B2).
            raise ApiError(403, "forbidden", "Forbidden")
        # Work on a copy so a validation error leaves the stored event untouched.
        new_record = copy.deepcopy(record)
        if op == "patch":
            patch = self._writable(body, keep_nulls=True)
            for which in ("start", "end"):
                # Switching an all-day event to a timed one (or back) must not leave both keys behind.
                value = patch.get(which)
                if isinstance(value, dict) and isinstance(new_record.resource.get(which), dict):
                    if value.get("dateTime"):
                        new_record.resource[which].pop("date", None)
                    if value.get("date"):
                        new_record.resource[which].pop("dateTime", None)
            if "eventType" in patch:
                patch.pop("eventType")  # "cannot be modified after the event is created" [DISC]
            merge_patch(new_record.resource, patch)
        else:
            # events.update: full replace of the writable fields, server-owned fields survive.
            kept = {k: v for k, v in old.items() if k in _SERVER_OWNED_FIELDS or k == "eventType"}
            new_record.resource = {
                **kept,
                "status": "confirmed",
                "reminders": {"useDefault": True},
                **{k: v for k, v in self._writable(body).items() if k != "eventType"},
            }
            if conf_version == 1 and "conferenceData" not in body:
                # With conferenceDataVersion=1 the conference is part of the replaced representation.
                self._clear_conference(new_record)
        resource = new_record.resource
        resource.setdefault("status", "confirmed")
        self._validate(token, resource, body, owner)
        if conf_version == 1 and "conferenceData" in body:
            self._apply_conference_data(token, new_record, body["conferenceData"])
        if resource.get("start") != old.get("start") or resource.get("end") != old.get("end"):
            resource["sequence"] = old.get("sequence", 0) + 1
        record.resource = new_record.resource
        record.conf_request_id = new_record.conf_request_id
        record.pending_reads_left = new_record.pending_reads_left
        record.pending_result = new_record.pending_result
        self._prune_exceptions(record)
        self._touch(record)
        return Response.json(200, ordered(record.resource))

    @staticmethod
    def _writable(body: dict, *, keep_nulls: bool = False) -> dict:
        return {
            k: copy.deepcopy(v)
            for k, v in body.items()
            if k in _EVENT_FIELDS
            and k not in _SERVER_OWNED_FIELDS
            and (keep_nulls or v is not None)
        }

    def _validate(self, token: Token, resource: dict, body: dict, owner: str) -> None:
        # Google reports the end time first when both are missing.
        end_kind, end = when(resource.get("end"), "end")
        start_kind, start = when(resource.get("start"), "start")
        if start_kind != end_kind:
            raise ApiError(
                400, "invalid", "Start and end times must either both be date or both be dateTime."
            )
        if end < start or (end_kind == "date" and end == start):
            raise ApiError(
                400, "timeRangeEmpty", "The specified time range is empty.", domain="calendar"
            )
        self._check_recurrence(resource)
        attendees = resource.get("attendees")
        if attendees is not None and not isinstance(attendees, list):
            raise ApiError(400, "invalid", "Invalid attendees value.")
        if attendees and "attendees" in body and token.subject is None:
            # [DISC] Event.attendees: "Service accounts need to use domain-wide delegation of
            # authority to populate the attendee list." (ref §1.6)
            raise ApiError(
                403,
                "forbiddenForServiceAccounts",
                "Service accounts cannot invite attendees without Domain-Wide Delegation of Authority.",
                domain="calendar",
            )
        for attendee in attendees or []:
            if not isinstance(attendee, dict) or not attendee.get("email"):
                raise ApiError(400, "required", "Missing attendee email.")
            attendee.setdefault("responseStatus", "needsAction")
            if norm(str(attendee["email"])) == owner:
                attendee["organizer"] = True
                attendee["self"] = True

    @staticmethod
    def _html_link(event_id: str, owner: str) -> str:
        eid = base64.urlsafe_b64encode(f"{event_id} {owner}".encode()).decode().rstrip("=")
        return f"https://www.google.com/calendar/event?eid={eid}"
