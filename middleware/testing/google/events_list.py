"""``events.list``: filters (showDeleted, iCalUID, extended properties, q, timeMin/timeMax),
ordering and paging as [DISC] documents them."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from .responses import ApiError, Response
from .state import EmulatorState, EventRecord, now_rfc3339, ordered
from .times import bound, parse_instant


class EventsList(EmulatorState):
    """events.list over one user's calendar."""

    def _list(
        self,
        owner: str,
        calendar: dict[str, EventRecord],
        query: dict[str, str],
        query_multi: dict[str, list[str]],
    ) -> Response:
        items = [r.resource for r in calendar.values()]
        # [DISC] status: cancelled events are listed only with showDeleted (or incremental sync).
        if query.get("showDeleted") != "true":
            items = [e for e in items if e.get("status") != "cancelled"]
        if "iCalUID" in query:
            items = [e for e in items if e.get("iCalUID") == query["iCalUID"]]
        for param, scope in (
            ("privateExtendedProperty", "private"),
            ("sharedExtendedProperty", "shared"),
        ):
            for constraint in query_multi.get(param, []):
                name, _, value = constraint.partition("=")
                items = [
                    e
                    for e in items
                    if ((e.get("extendedProperties") or {}).get(scope) or {}).get(name) == value
                ]
        if query.get("q"):
            needle = query["q"].lower()
            items = [
                e
                for e in items
                if any(
                    needle in str(e.get(f) or "").lower()
                    for f in ("summary", "description", "location")
                )
            ]
        try:
            if "timeMin" in query:  # events ending after timeMin
                tmin = parse_instant(query["timeMin"])
                items = [e for e in items if bound(e, "end") > tmin]
            if "timeMax" in query:  # events starting before timeMax
                tmax = parse_instant(query["timeMax"])
                items = [e for e in items if bound(e, "start") < tmax]
            max_results = int(query.get("maxResults") or 250)
            offset = int(query.get("pageToken") or 0)
        except ValueError:
            raise ApiError(400, "badRequest", "Bad Request") from None
        if query.get("orderBy") == "startTime":
            items = sorted(items, key=lambda e: bound(e, "start"))
        elif query.get("orderBy") == "updated":
            items = sorted(items, key=lambda e: e.get("updated", ""))
        page = items[offset : offset + max_results]
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": f'"p{next(self._etag_counter):016d}"',
            "summary": owner,
            "description": "",
            "updated": max((e.get("updated", "") for e in items), default=now_rfc3339()),
            "timeZone": self.time_zones.get(owner, "UTC"),
            "accessRole": "owner",
            "defaultReminders": [{"method": "popup", "minutes": 10}],
        }
        if offset + max_results < len(items):
            body["nextPageToken"] = str(offset + max_results)
        else:
            body["nextSyncToken"] = "emu-sync-" + secrets.token_hex(8)
        body["items"] = [ordered(copy.deepcopy(e)) for e in page]
        return Response.json(200, body)
