"""Builders shared by the Google adapter tests: a meeting spec, one ensure_event call, and
helpers that read what the Google emulator holds and logged."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import google_auth_httplib2
import httplib2
from google.oauth2 import service_account
from googleapiclient.discovery import build

from middleware.google import SCOPE, CalendarEvent, GoogleCalendar
from middleware.meetings import MeetingSpec, calendar_event_id, conference_request_id
from middleware.testing.google import GoogleEmulator

REP = "rep@example.com"
START = datetime(2030, 1, 7, 15, 0, tzinfo=UTC)


def make_spec(organizer: str = REP, **changes: Any) -> MeetingSpec:
    spec = MeetingSpec(
        title="Demo: Acme",
        description="Product demo for Acme. Organizer: rep@example.com.",
        start=START,
        end=START + timedelta(minutes=30),
        timezone="Europe/Berlin",
        organizer=organizer,
        attendees=("lead@acme.example", "cto@acme.example"),
    )
    return dataclasses.replace(spec, **changes)


def event_id_for(deal: str) -> str:
    return calendar_event_id("hubspot", "123", deal)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def ensure(
    cal: GoogleCalendar,
    deal: str = "1",
    spec: MeetingSpec | None = None,
    *,
    verify: bool = False,
    send_updates: str = "all",
) -> CalendarEvent:
    spec = spec or make_spec()
    event_id = event_id_for(deal)
    return cal.ensure_event(
        organizer=spec.organizer,
        calendar_id="primary",
        event_id=event_id,
        spec=spec,
        send_updates=send_updates,
        request_id=conference_request_id(event_id),
        verify=verify,
    )


def ops(emu: GoogleEmulator) -> list[str]:
    return [r["op"] for r in emu.requests]


def video_uri(event: dict) -> str:
    return next(
        e["uri"] for e in event["conferenceData"]["entryPoints"] if e["entryPointType"] == "video"
    )


def rep_service(emu: GoogleEmulator, rep: str = REP) -> Any:
    """The rep acting directly in Google (deleting an event, say), outside the middleware."""
    creds = service_account.Credentials.from_service_account_info(
        emu.service_account_info(), scopes=[SCOPE]
    ).with_subject(rep)
    return build(
        "calendar",
        "v3",
        http=google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(timeout=5)),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": emu.base_url + "calendar/v3/"},
    )


def assert_no_secrets(message: str, emu: GoogleEmulator) -> None:
    assert "PRIVATE KEY" not in message
    assert emu.service_account_info()["private_key"][40:80] not in message
    assert "ya29." not in message
