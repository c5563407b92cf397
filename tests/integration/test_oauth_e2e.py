"""Per-rep Google OAuth end to end (CONTRACT.md guarantees, issue 17): a rep whose refresh
token Google revokes fails with the link to reconnect, reconnects through the real connect
flow, and every event that waited is replayed by itself, each demo still one Calendar event.
The web app, the worker, the CRM and Google's emulator over real sockets, on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from middleware.settings import load_settings
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from tests.builders import ADMIN_TOKEN
from tests.integration.conftest import FAST_RULES, Stack, service_env
from tests.integration.crm_drivers import CANCEL, NEW_REP, REP, TRIGGER, CRMDriver
from tests.integration.crm_drivers.base import replace_once
from tests.oauth.support import Browser, link_for, oauth_env

pytestmark = pytest.mark.timeout(120)
OAUTH = pytest.mark.parametrize("auth_mode", ["oauth"], indirect=True)
HUBSPOT = pytest.mark.parametrize("crm", ["hubspot"], indirect=True)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NEWCOMER = "newcomer@seller.example"


def link_in(message: str) -> str:
    """The connect link of a ``google_oauth_reconnect`` message."""
    return message.split(" at ", 1)[1].split(": ", 1)[0]


def reps(life: Stack, *also: str) -> dict[str, dict]:
    """``GET /admin/google/reps`` (``also``: reps to list besides those the service knows)."""
    answer = life.client.get("/admin/google/reps", query_string={"rep": also}, headers=ADMIN)
    assert answer.status_code == 200
    return {r["email"]: r for r in answer.json["reps"]}


def events_per_deal(google: GoogleEmulator) -> Counter[str]:
    """How many Calendar events (cancelled ones too) each deal has, in every calendar."""
    return Counter(e["extendedProperties"]["private"]["crmDeal"] for e in google.all_events())


@HUBSPOT
@OAUTH
def test_revoked_then_reconnected_the_waiting_events_replay_and_each_demo_is_one_event(
    crm_stack: Stack,
) -> None:
    life, crm, google = crm_stack, crm_stack.crm, crm_stack.google
    crm.add_deal(901)
    life.deliver(crm.stage_webhook(901, TRIGGER, at=1))
    life.work()
    [first] = life.live()
    assert reps(life)[REP]["state"] == "connected"

    assert google.revoke_grants(REP) == 1  # the rep removed the app's access in Google
    crm.add_deal(902)
    crm.add_deal(903)
    life.deliver(
        crm.stage_webhook(902, TRIGGER, at=2),
        crm.stage_webhook(903, TRIGGER, at=2),
        crm.move(901, CANCEL, at=3),
    )
    life.work()
    failed = [e for e in life.events() if e["status"] == "failed"]
    assert len(failed) == 3
    assert {e["last_error_reason"] for e in failed} == {"google_oauth_reconnect"}
    for event in failed:
        assert event["last_error"].startswith(
            f"rep {REP} must reconnect at http://localhost/connect/google?rep="
        )
    record = life.store.google_connection(REP)
    assert record is not None and record.state == "broken"
    assert "invalid_grant" in (record.broken_reason or "")
    shown = reps(life)[REP]
    assert shown["state"] == "broken" and shown["connect_url"] == link_in(failed[0]["last_error"])
    assert life.live() == [first]  # nothing cancelled nor booked while broken

    # A broken connection fails at once, without asking Google again.
    asked = len(google.token_requests)
    crm.add_deal(904)
    life.deliver(crm.stage_webhook(904, TRIGGER, at=4))
    life.work()
    assert len(google.token_requests) == asked
    assert life.events()[0]["last_error_reason"] == "google_oauth_reconnect"

    page = Browser(life.client).connect(link_in(failed[0]["last_error"]))
    assert page.status_code == 200
    assert "4 events that waited for this connection are being processed now" in page.get_data(
        as_text=True
    )
    assert [e["status"] for e in life.events()].count("pending") == 4
    life.work()
    assert {e["status"] for e in life.events()} == {"succeeded"}
    live = {e["extendedProperties"]["private"]["crmDeal"]: e for e in life.live()}
    assert set(live) == {crm.tag(902), crm.tag(903), crm.tag(904)}
    for deal in (902, 903, 904):
        event = live[crm.tag(deal)]
        assert event["organizer"]["email"] == REP
        assert crm.written(deal) == (event["hangoutLink"], event["id"])
    assert google.event(REP, first["id"])["status"] == "cancelled"
    assert crm.written(901) == (None, None)
    per_deal = events_per_deal(google)
    assert [per_deal[crm.tag(d)] for d in (901, 902, 903, 904)] == [1, 1, 1, 1]
    [connect, *_] = life.client.get("/admin/audit", headers=ADMIN).json["actions"]
    assert (connect["action"], connect["count"]) == ("google_connect", 4)
    assert connect["target"]["rep"] == REP
    assert reps(life)[REP]["state"] == "connected"


@HUBSPOT
@OAUTH
def test_a_rep_who_never_connected_is_booked_once_they_do(crm_stack: Stack) -> None:
    life, crm, google = crm_stack, crm_stack.crm, crm_stack.google
    crm.add_deal(911, owner=NEWCOMER)
    life.deliver(crm.stage_webhook(911, TRIGGER, at=1))
    life.work()
    [event] = life.events()
    assert event["status"] == "failed" and event["last_error_reason"] == "google_oauth_reconnect"
    assert event["last_error"].startswith(f"rep {NEWCOMER} must connect at ")
    assert "have not connected" in event["last_error"]
    assert reps(life)[NEWCOMER]["state"] == "not_connected"
    page = Browser(life.client).connect(link_in(event["last_error"]))
    assert page.status_code == 200
    life.work()
    [booked] = life.live()
    assert booked["_calendar_owner"] == NEWCOMER and life.events()[0]["status"] == "succeeded"
    assert events_per_deal(google)[crm.tag(911)] == 1


@HUBSPOT
def test_mixed_modes_one_rep_by_delegation_another_by_oauth(
    make_env: Callable[..., dict[str, str]],
    google: GoogleEmulator,
    crm: CRMDriver,
    tmp_path: Path,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``GOOGLE_AUTH_MODE=delegation`` with ``[google.rep_auth]`` naming one rep ``oauth``: the
    deal moves from the delegated rep to the OAuth rep, each credential from its own source."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    rules = replace_once(
        crm.rules(FAST_RULES), "[google.rep_auth]\n", f'[google.rep_auth]\n"{NEW_REP}" = "oauth"\n'
    )
    env = service_env(make_env, google, crm, tmp_path, rules=rules)
    env.update(oauth_env(google, mode="delegation"))
    life = Stack(load_settings(env), store, google, crm)
    assert Browser(life.client).connect(link_for(life.settings, NEW_REP)).status_code == 200
    crm.add_deal(921)
    life.deliver(crm.stage_webhook(921, TRIGGER, at=1))
    life.work()
    [old] = life.live()
    life.deliver(crm.reassign(921, NEW_REP, at=2))
    life.work()
    [new] = life.live()
    assert (old["_calendar_owner"], new["_calendar_owner"]) == (REP, NEW_REP)
    assert new["organizer"]["email"] == NEW_REP
    by_grant = {(t["grant_type"], t["sub"]) for t in google.token_requests if t["ok"]}
    assert ("urn:ietf:params:oauth:grant-type:jwt-bearer", REP) in by_grant
    assert ("refresh_token", None) in by_grant
    assert not any(t["sub"] == NEW_REP for t in google.token_requests)  # never impersonated
    shown = reps(life, REP)
    assert (shown[REP]["mode"], shown[REP]["state"]) == ("delegation", None)
    assert (shown[NEW_REP]["mode"], shown[NEW_REP]["state"]) == ("oauth", "connected")
