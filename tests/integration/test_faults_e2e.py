"""Faults over real sockets at every call of the pipeline, then none: Google and HubSpot timing
out, resetting connections, trickling answers, answering garbage and 5xx for a while. The
invariant: every accepted event ends ``succeeded`` once the faults stop, with exactly one live
Calendar event per deal, and never an ``internal_error`` on the way (SQLite and PostgreSQL).

Short call deadlines (1 s) and fast backoff make it run in seconds; the trickles send a byte
every 0.1 s, well inside the read timeout, so only the total deadline ends them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from middleware.deadlines import Timeouts
from middleware.settings import load_settings
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from middleware.wiring import pipeline as build_pipeline
from middleware.worker import Worker
from tests.builders import notification, shown
from tests.integration.conftest import FAST_RULES, REP, Stack, emulator_env
from tests.integration.crm_drivers import HubSpotDriver

pytestmark = pytest.mark.timeout(180)

SHORT = Timeouts(connect=1.0, read=0.8, total=1.0)
TRICKLE = 0.1  # seconds per byte: ten bytes a second, each read well inside 0.8 s
DEALS = [str(n) for n in range(801, 807)]

DEAL = r"^/crm/v3/objects/deals/\d+$"
ASSOCIATIONS = r"^/crm/v4/objects/deals/\d+/associations/contacts$"
CONTACTS = r"^/crm/v3/objects/contacts/batch/read$"
OWNER = r"^/crm/v3/owners(/\d+)?$"  # the owners page, or one owner


def hubspot_faults(hs: HubSpotEmulator) -> None:
    # Reading the deal: trickled (whole, then body only), silent, reset, garbage, 5xx.
    hs.inject_trickle("GET", DEAL, byte_seconds=TRICKLE)
    hs.inject_trickle("GET", DEAL, byte_seconds=TRICKLE, body_only=True)
    hs.inject_delay("GET", DEAL, 2.0)
    hs.inject_reset("GET", DEAL, times=2)
    hs.inject_garbage("GET", DEAL, status=200)
    hs.inject_garbage("GET", DEAL, status=404)  # a proxy's 404: not a deleted deal
    hs.inject_fault("GET", DEAL, 503, times=3)
    hs.inject_fault("GET", ASSOCIATIONS, 502)
    hs.inject_trickle("GET", ASSOCIATIONS, byte_seconds=TRICKLE)
    hs.inject_fault("POST", CONTACTS, 500, times=2)
    hs.inject_reset("POST", CONTACTS)
    hs.inject_garbage("GET", OWNER, status=200)
    # Writing the meeting back: carried out but the answer lost, trickled, garbled.
    hs.inject_reset("PATCH", DEAL, after_processing=True)
    hs.inject_trickle("PATCH", DEAL, byte_seconds=TRICKLE)
    hs.inject_garbage("PATCH", DEAL, after_processing=True)
    hs.inject_fault("PATCH", DEAL, 503, times=2)


def google_faults(google: GoogleEmulator) -> None:
    google.inject_trickle("token", TRICKLE)
    google.inject_garbage("token")
    google.inject_reset("token")
    google.inject_garbage("token", status=503)  # a proxy's page while the endpoint is down
    google.inject_trickle("list", TRICKLE)
    google.inject_fault("list", 500)
    # Inserting: made in Google but the answer trickled, lost or garbled; 5xx; silence.
    google.inject_trickle("insert", TRICKLE, body_only=True)
    google.inject_reset("insert", after_processing=True)
    google.inject_garbage("insert", after_processing=True)
    google.inject_fault("insert", 503, times=3)
    google.inject_delay("insert", 2.0)
    google.inject_garbage("get", status=404)
    google.inject_fault("get", 500, times=2)
    google.inject_trickle("patch", TRICKLE)
    google.inject_garbage("patch", status=502)


@pytest.fixture
def stack(
    make_env: Any, google: GoogleEmulator, hubspot: HubSpotEmulator, tmp_path: Path, store: Any
) -> Stack:
    env = emulator_env(make_env, google, hubspot, tmp_path)
    rules = tmp_path / "faults.toml"
    # Enough attempts that even an event hitting every fault in turn gets through.
    rules.write_text(FAST_RULES.replace("max_attempts = 10", "max_attempts = 60"))
    env["MIDDLEWARE_CONFIG"] = str(rules)
    return Stack(load_settings(env), store, google, HubSpotDriver(hubspot))


def test_every_event_succeeds_once_faults_stop_with_one_event_per_deal(stack: Stack) -> None:
    for deal in DEALS:
        # The first deal has 100 contacts: the deal read's embedded list may be cut there, so
        # its v4 list (and that list's faults) is read; the others' one contact comes embedded.
        count = 100 if deal == DEALS[0] else 1
        stack.deal(deal, contacts=tuple(f"buyer{deal}-{n}@acme.example" for n in range(count)))
    ids = [i for deal in DEALS for i in stack.deliver(notification(deal))["event_ids"]]
    hubspot_faults(stack.hubspot)
    google_faults(stack.google)

    Worker(
        stack.store,
        build_pipeline(stack.settings, stack.store, crm_timeout=SHORT, google_timeout=SHORT),
        concurrency=8,
        lease_seconds=30,
        poll_seconds=0.05,
        max_attempts=stack.settings.rules.retry.max_attempts,
    ).run_until_done(150)

    events = [shown(stack.store, i) for i in ids]
    assert {(e["deal_id"], e["status"]) for e in events} == {(d, "succeeded") for d in DEALS}
    # "unchanged": an earlier attempt booked and recorded it; a later one found it so.
    assert {e["action"] for e in events} <= {"booked", "unchanged"}
    reasons = Counter(
        a["error_reason"] for e in events for a in e["attempt_history"] if a["error_reason"]
    )
    assert "internal_error" not in reasons
    # Every kind of fault was met, and each ended as the retryable reason it should.
    assert {
        "crm_timeout",
        "crm_unreachable",
        "crm_bad_response",
        "crm_unavailable",
        "google_timeout",
        "google_unreachable",
        "google_bad_response",
        "google_unavailable",
        "google_token_unavailable",
    } <= set(reasons), reasons
    assert set(reasons) <= {
        "crm_timeout",
        "crm_unreachable",
        "crm_bad_response",
        "crm_unavailable",
        "google_timeout",
        "google_unreachable",
        "google_bad_response",
        "google_unavailable",
        "google_token_unavailable",
        "google_event_missing",  # the 404 that was not Google's, or a read right after a 409
    }, reasons

    live = stack.google.live_events()
    assert Counter(e["extendedProperties"]["private"]["crmDeal"] for e in live) == {
        f"hubspot:62515:{deal}": 1 for deal in DEALS
    }
    assert stack.google.all_events() == live  # nothing cancelled, nothing made twice
    by_id = {e["id"]: e for e in live}
    for event in events:
        meeting = by_id[event["calendar_event_id"]]
        assert meeting["organizer"]["email"] == REP
        props = stack.hubspot.deal_properties(event["deal_id"])
        assert props["demo_calendar_event_id"] == meeting["id"]
        assert props["demo_meet_url"] == event["meet_url"]
        assert event["meet_url"] in meeting["description"]  # the link patch got through too
