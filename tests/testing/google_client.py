"""Helpers for the Google emulator's tests: credentials and a Calendar client built with the
real google-auth / google-api-python-client stack the service uses, and event bodies."""

from __future__ import annotations

import json
import re
import uuid

from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from middleware.testing.google import (
    SCOPE_CALENDAR_EVENTS,
    GoogleEmulator,
)

REP = "rep@example.com"
MEET_CODE_RE = re.compile(r"^[a-z]{3}-[a-z]{4}-[a-z]{3}$")


def make_creds(
    emu: GoogleEmulator, subject: str | None = REP, *, info: dict | None = None, scopes=None
):
    creds = service_account.Credentials.from_service_account_info(
        info or emu.service_account_info(), scopes=scopes or [SCOPE_CALENDAR_EVENTS]
    )
    return creds.with_subject(subject) if subject else creds


def make_service(emu: GoogleEmulator, subject: str | None = REP, **kwargs):
    return build(
        "calendar",
        "v3",
        credentials=make_creds(emu, subject, **kwargs),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": emu.base_url + "calendar/v3/"},
    )


def event_body(
    event_id: str | None = None, *, meet: bool = True, request_id: str = "req-1", **extra
):
    body = {
        "summary": "Demo call",
        "start": {"dateTime": "2030-01-01T10:00:00Z"},
        "end": {"dateTime": "2030-01-01T10:30:00Z"},
        "attendees": [{"email": "lead@customer.example"}],
        **extra,
    }
    if event_id:
        body["id"] = event_id
    if meet:
        body["conferenceData"] = {
            "createRequest": {
                "requestId": request_id,
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        }
    return body


def new_id() -> str:
    return uuid.uuid4().hex  # [0-9a-f] is a subset of base32hex


def insert(svc, body, **params):
    params.setdefault("conferenceDataVersion", 1)
    return svc.events().insert(calendarId="primary", body=body, **params).execute()


def error_details(exc: HttpError) -> dict:
    return json.loads(exc.content)["error"]


def video_uri(ev: dict) -> str:
    return next(
        e["uri"] for e in ev["conferenceData"]["entryPoints"] if e["entryPointType"] == "video"
    )
