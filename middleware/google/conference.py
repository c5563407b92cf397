"""A new event's Meet conference, seen through to "ready" (ref §1.3), and the events.patch
every change of an event goes through (``conferenceDataVersion=1``, ref §1.1)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from middleware.errors import RetryableError
from middleware.google.client import Client
from middleware.google.credentials import Call
from middleware.google.events import conference_state, create_request, next_request_id


@dataclass(frozen=True)
class Rerequest:
    """What asking Google again for a conference needs: the first ``requestId``, the event's
    ``sendUpdates``, and whether it was already asked again."""

    request_id: str
    send_updates: str
    rerequested: bool


def patch_event(client: Client, events: Any, call: Call, body: dict, send_updates: str) -> dict:
    # conferenceDataVersion=1 on every modification or conference data is dropped (ref §1.1).
    result: dict = client.execute(
        events.patch(
            calendarId=call.calendar_id,
            eventId=call.event_id,
            body=body,
            conferenceDataVersion=1,
            sendUpdates=send_updates,
        ),
        call,
        "patch",
    )
    return result


def await_conference(
    client: Client,
    events: Any,
    call: Call,
    event: dict,
    again: Rerequest,
    *,
    poll: Sequence[float],
    sleep: Callable[[float], None],
) -> dict:
    """Return ``event`` once its Meet conference is ready (ref §1.3).

    "pending": poll ``events.get`` after each delay of ``poll``. "failure" or no conference at
    all: ask once for a new one with a fresh ``requestId`` and poll again.
    """
    delays = iter(poll)
    rerequested = again.rerequested
    while True:
        state = conference_state(event)
        if state == "ready":
            return event
        if state == "pending":
            delay = next(delays, None)
            if delay is None:
                raise RetryableError(
                    "conference_pending",
                    f"Google is still creating the Meet conference of event {call.event_id} "
                    f"in {call.organizer}'s calendar after {sum(poll):g} s; it will be checked "
                    "again",
                )
            sleep(delay)
            event = client.execute(
                events.get(calendarId=call.calendar_id, eventId=call.event_id), call, "get"
            )
            continue
        if rerequested:
            raise RetryableError(
                "conference_failed",
                f"Google could not create a Meet conference for event {call.event_id} in "
                f"{call.organizer}'s calendar (createRequest status {state}, also after "
                "asking again); it will be asked again later",
            )
        rerequested = True
        delays = iter(poll)
        body = {"conferenceData": create_request(next_request_id(again.request_id, event))}
        event = patch_event(client, events, call, body, again.send_updates)
