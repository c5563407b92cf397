"""``/calendar/v3/...``: routing, bearer-token and scope checks, the per-user usage limit, and
the events resource's reads and deletes (events.get, events.delete with 410 ``deleted`` on a
re-delete, cancelled events still returned by ``get``); writes are in ``events``, listing in
``events_list``, calendars.get in ``calendars`` (ref §1-2, errors guide
https://developers.google.com/workspace/calendar/api/guides/errors)."""

from __future__ import annotations

import copy
import json
import time
import urllib.parse
from typing import Any

from .calendars import CalendarsResource
from .events import EventsResource
from .events_list import EventsList
from .injection import FaultInjection
from .quota import QuotaLimits
from .responses import ApiError, Response
from .scopes import CALENDAR_READ_SCOPES, READ_SCOPES, WRITE_SCOPES
from .state import Token, norm, ordered

# Default reason/message per status for injected Calendar faults (errors guide table, ref §2.2).
_FAULT_DEFAULTS = {
    400: ("badRequest", "Bad Request"),
    401: ("authError", "Invalid Credentials"),
    403: ("forbidden", "Forbidden"),
    404: ("notFound", "Not Found"),
    409: ("conflict", "Conflict"),
    410: ("deleted", "Resource has been deleted"),
    412: ("conditionNotMet", "Precondition Failed"),
    429: ("rateLimitExceeded", "Rate Limit Exceeded"),
    500: ("backendError", "Backend Error"),
    502: ("backendError", "Backend Error"),
    503: ("backendError", "Backend Error"),
    504: ("backendError", "Backend Error"),
}


class CalendarApi(EventsResource, EventsList, CalendarsResource, FaultInjection, QuotaLimits):
    """The Calendar v3 surface the emulator serves."""

    @staticmethod
    def _route(method: str, path: str) -> tuple[str | None, str | None, str | None]:
        """-> (op, calendarId, eventId); op None for anything not emulated."""
        parts = [urllib.parse.unquote(p) for p in path[len("/calendar/v3/") :].split("/")]
        if len(parts) == 2 and parts[0] == "calendars" and parts[1]:
            return {"GET": "calendar_get"}.get(method), parts[1], None
        if len(parts) == 3 and parts[0] == "calendars" and parts[2] == "events":
            return {"GET": "list", "POST": "insert"}.get(method), parts[1], None
        if (
            len(parts) == 5
            and parts[0] == "calendars"
            and parts[2] == "events"
            and parts[4] == "move"
        ):
            return {"POST": "move"}.get(method), parts[1], parts[3]
        if (
            len(parts) == 5
            and parts[0] == "calendars"
            and parts[2] == "events"
            and parts[4] == "instances"
        ):
            return {"GET": "instances"}.get(method), parts[1], parts[3]
        if len(parts) == 4 and parts[0] == "calendars" and parts[2] == "events" and parts[3]:
            op = {"GET": "get", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}.get(method)
            return op, parts[1], parts[3]
        return None, None, None

    def _handle_calendar(
        self,
        method: str,
        path: str,
        query_multi: dict[str, list[str]],
        headers: Any,
        raw_body: bytes,
    ) -> Response:
        op, calendar_id, event_id = self._route(method, path)
        query = {k: v[-1] for k, v in query_multi.items()}
        body: Any = None
        body_error = False
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body_error = True
        with self._lock:
            token = self._lookup_token(headers.get("Authorization"))
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "query": query,
            "query_multi": query_multi,
            "body": copy.deepcopy(body) if isinstance(body, dict) else None,
            "subject": token.subject if token else None,
            "authenticated": token is not None,
            "op": op,
            "calendar_id": calendar_id,
            "event_id": event_id,
            "status": None,
        }

        def fault_response(fault: dict) -> Response:
            status = fault["status"]
            reason, message = _FAULT_DEFAULTS.get(status, ("backendError", "Backend Error"))
            return ApiError(
                status,
                fault["reason"] or reason,
                fault["message"] or message,
                domain=fault["domain"],
                headers=fault["headers"],
            ).response()

        def compute() -> Response:
            try:
                if token is None:
                    raise ApiError(
                        401,
                        "authError",
                        "Invalid Credentials",
                        extra={"locationType": "header", "location": "Authorization"},
                        headers={
                            "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
                        },
                    )
                self._count_request(
                    token.subject or ""
                )  # QuotaLimits (quota.py), when a test set one
                if op is None or calendar_id is None:
                    raise ApiError(404, "notFound", "Not Found")
                if body_error or (raw_body and not isinstance(body, dict)):
                    raise ApiError(400, "parseError", "Parse Error")
                with self._lock:
                    return self._calendar_op(
                        op, token, calendar_id, event_id, body or {}, query, query_multi, headers
                    )
            except ApiError as err:
                return err.response()

        return self._run(op, entry, self.requests, fault_response, compute)

    def _move(self, owner: str, calendar: dict, record: Any, query: dict[str, str]) -> Response:
        """``events.move`` (reference addendum §B1): the caller needs writer access to *both*
        calendars, which domain-wide delegation does not give ("You need to have writer access
        to both calendars"): only a move between the caller's own calendars succeeds, and each
        user here has one calendar, so a move to another user's calendar is refused."""
        destination = norm(query.get("destination") or "")
        if not destination:
            raise ApiError(400, "required", "Required parameter: destination")
        if destination not in ("primary", owner):
            raise ApiError(403, "forbidden", "You need to have writer access to both calendars")
        return Response.json(200, ordered(record.resource))

    def _lookup_token(self, authorization: str | None) -> Token | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        token = self._tokens.get(authorization[len("Bearer ") :].strip())
        if token is None or token.expiry <= time.time():
            return None
        return token

    def _calendar_op(
        self,
        op: str,
        token: Token,
        calendar_id: str,
        event_id: str | None,
        body: dict,
        query: dict[str, str],
        query_multi: dict[str, list[str]],
        headers: Any,
    ) -> Response:
        needed = READ_SCOPES if op in ("get", "list", "instances") else WRITE_SCOPES
        if op == "calendar_get":
            needed = CALENDAR_READ_SCOPES
        if not token.scopes & needed:
            raise ApiError(
                403,
                "insufficientPermissions",
                "Insufficient Permission",
                top_message="Request had insufficient authentication scopes.",
            )
        owner = token.subject or self.client_email.lower()
        if op not in ("get", "list", "calendar_get", "instances") and owner in self.usage_limited:
            raise ApiError(
                403, "quotaExceeded", "Calendar usage limits exceeded.", domain="usageLimits"
            )
        # Only the caller's own calendar exists here; anything else is "not accessible" = 404.
        if calendar_id != "primary" and norm(calendar_id) != owner:
            raise ApiError(404, "notFound", "Not Found")
        calendar = self._calendars.setdefault(owner, {})
        conf_version = 1 if query.get("conferenceDataVersion") == "1" else 0

        if op == "calendar_get":
            return self._calendar_get(owner)
        if op == "insert":
            return self._insert(token, owner, calendar, body, conf_version)
        if op == "list":
            return self._list(owner, calendar, query, query_multi)

        record = calendar.get(event_id or "")
        if record is None and event_id and op != "instances":
            # An occurrence of a recurring event, by its instance id (``recurring.py``).
            return self._instance_op(op, calendar, event_id, body)
        if record is None:
            raise ApiError(404, "notFound", "Not Found")
        if op == "instances":
            return self._instances(record, query)
        if op == "get":
            self._advance_pending(record)
            return Response.json(200, ordered(record.resource))
        if_match = headers.get("If-Match")
        if if_match and if_match not in ("*", record.resource["etag"]):
            raise ApiError(
                412,
                "conditionNotMet",
                "Precondition Failed",
                extra={"locationType": "header", "location": "If-Match"},
            )
        if op == "delete":
            if record.resource["status"] == "cancelled":
                # errors guide: 410 deleted, "For already deleted events, no further action is necessary."
                raise ApiError(410, "deleted", "Resource has been deleted")
            record.resource["status"] = "cancelled"
            self._touch(record)
            return Response(204)
        if op in ("patch", "update"):
            return self._modify(op, token, owner, record, body, conf_version)
        if op == "move":
            return self._move(owner, calendar, record, query)
        raise ApiError(404, "notFound", "Not Found")  # pragma: no cover
