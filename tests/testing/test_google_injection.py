"""Fault, delay and hold injection of the Google emulator (``injection``, ``hold``).

Driven through the real google-auth / google-api-python-client stack the service uses, over
real sockets."""

from __future__ import annotations

import threading
import time

import google_auth_httplib2
import httplib2
import pytest
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError

from middleware.testing.google import GoogleEmulator
from tests.testing.google_client import (
    REP,
    event_body,
    insert,
    make_creds,
    make_service,
    new_id,
)

pytestmark = pytest.mark.timeout(30)


# ---- fault injection / delays / holds --------------------------------------------------------------


def test_injected_503_then_success(emu, svc):
    emu.inject_fault("insert", 503)
    body = event_body(new_id())
    with pytest.raises(HttpError) as exc:
        insert(svc, body)  # num_retries=0 (default)
    assert exc.value.resp.status == 503
    assert exc.value.error_details[0]["reason"] == "backendError"
    assert emu.events(REP) == []  # faults never touch state
    assert insert(svc, body)["id"] == body["id"]
    assert [r["status"] for r in emu.requests] == [503, 200]


def test_injected_fault_retried_by_client(emu, svc):
    emu.inject_fault("insert", 429, reason="rateLimitExceeded", domain="usageLimits", times=2)
    req = svc.events().insert(
        calendarId="primary", body=event_body(new_id()), conferenceDataVersion=1
    )
    req._sleep = lambda _s: None  # skip the library's backoff sleeps
    assert req.execute(num_retries=2)["status"] == "confirmed"
    assert [r["status"] for r in emu.requests] == [429, 429, 200]


def test_injected_token_fault(emu):
    emu.inject_fault("token", 400, reason="invalid_grant", message="Invalid JWT Signature.")
    with pytest.raises(RefreshError, match=r"invalid_grant: Invalid JWT Signature\."):
        insert(make_service(emu), event_body(new_id()))
    assert emu.token_requests[0]["sub"] == REP and emu.token_requests[0]["ok"] is False


def test_delay_provokes_client_timeout_but_is_applied(emu):
    creds = make_creds(emu)
    svc = make_service(emu)
    body = event_body(new_id())
    emu.inject_delay("insert", 0.6)
    http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(timeout=0.2))
    with pytest.raises((TimeoutError, OSError)):
        svc.events().insert(calendarId="primary", body=body, conferenceDataVersion=1).execute(
            http=http
        )
    deadline = time.monotonic() + 5
    while emu.event(REP, body["id"]) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert emu.event(REP, body["id"]) is not None  # Google finished what the client gave up on


def test_hold_commit_first(emu):
    body = event_body(new_id())
    hold = emu.hold("insert")
    result: dict = {}

    def call():
        result["ev"] = insert(make_service(emu), body)  # own service: httplib2 is not thread-safe

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    assert hold.started.wait(5)
    assert emu.event(REP, body["id"]) is not None  # committed while the response is withheld
    assert hold.request is not None and hold.request["status"] == 200
    worker.join(0.2)
    assert worker.is_alive() and "ev" not in result
    hold.release()
    worker.join(5)
    assert result["ev"]["id"] == body["id"]


def test_hold_without_commit(emu):
    body = event_body(new_id())
    hold = emu.hold("insert", commit_first=False)
    worker = threading.Thread(target=lambda: insert(make_service(emu), body), daemon=True)
    worker.start()
    assert hold.wait_started(5)
    time.sleep(0.1)
    assert emu.event(REP, body["id"]) is None
    hold.release()
    worker.join(5)
    assert emu.event(REP, body["id"]) is not None


def test_stop_releases_holds():
    emu = GoogleEmulator().start()
    hold = emu.hold("list")
    worker = threading.Thread(
        target=lambda: make_service(emu).events().list(calendarId="primary").execute(), daemon=True
    )
    worker.start()
    assert hold.started.wait(5)
    started = time.monotonic()
    emu.stop()
    assert hold.released.is_set()
    worker.join(5)
    assert not worker.is_alive()
    assert time.monotonic() - started < 5
