"""The demo's whole life over real sockets (CONTRACT.md, The demo's lifecycle), on SQLite and
PostgreSQL: the web app stores signed webhooks, the worker runs the real HubSpot and Google
adapters against the emulators. Assertions are on what Google and HubSpot hold."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from middleware.settings import load_settings
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from tests.builders import notification
from tests.integration.conftest import FAST_RULES, REP, Stack, emulator_env

pytestmark = pytest.mark.timeout(120)

NEW_REP = "new-rep@seller.example"
LIFECYCLE_RULES = FAST_RULES.replace("cancel_stages = []", 'cancel_stages = ["closedlost"]')
_events = iter(range(10_000, 1_000_000))


@pytest.fixture
def life(
    make_env: Callable[..., dict[str, str]],
    google: GoogleEmulator,
    hubspot: HubSpotEmulator,
    tmp_path: Path,
    store: Store,
) -> Stack:
    assert LIFECYCLE_RULES != FAST_RULES
    env = emulator_env(make_env, google, hubspot, tmp_path)
    env["MIDDLEWARE_CONFIG"] = str(tmp_path / "lifecycle.toml")
    Path(env["MIDDLEWARE_CONFIG"]).write_text(LIFECYCLE_RULES)
    hubspot.add_owner("102", NEW_REP, "Nia", "New")
    return Stack(load_settings(env), store, google, hubspot)


def change(deal: int, name: str, value: str, at: int) -> dict[str, Any]:
    """A HubSpot property-change notification of ``deal`` at ``at`` ms."""
    return notification(
        deal, propertyName=name, propertyValue=value, occurred_at=at, event_id=next(_events)
    )


def stage(deal: int, value: str, at: int) -> dict[str, Any]:
    return change(deal, "dealstage", value, at)


def live(stack: Stack) -> list[dict[str, Any]]:
    return stack.google.live_events()


def written(stack: Stack, deal: str) -> tuple[str | None, str | None]:
    props = stack.hubspot.deal_properties(deal)
    return props["demo_meet_url"], props["demo_calendar_event_id"]


def actions(stack: Stack) -> list[tuple[str, str | None, str | None]]:
    """(trigger, status/reason, action) of every event, oldest first."""
    return [
        (e["trigger"], e["last_error_reason"] or e["status"], e["action"])
        for e in reversed(stack.events())
    ]


def test_stage_before_time_waits_then_the_time_books_it(life: Stack) -> None:
    life.deal("701", start=None)
    life.deliver(stage(701, "demoscheduled", 1))
    life.work()
    assert live(life) == [] and written(life, "701") == (None, None)
    life.hubspot.set_deal_properties("701", demo_start_time="2030-03-02T10:00:00Z")
    life.deliver(change(701, "demo_start_time", "2030-03-02T10:00:00Z", 2))
    life.work()
    [event] = live(life)
    assert event["start"]["dateTime"].startswith("2030-03-02T10:00:00")
    assert written(life, "701") == (event["hangoutLink"], event["id"])
    assert event["extendedProperties"]["private"]["crmDeal"] == "hubspot:62515:701"
    assert event["hangoutLink"] in event["description"]  # the link in the text too
    assert actions(life) == [
        ("demoscheduled", "waiting_for_start", None),
        ("demo_start_time", "succeeded", "booked"),
    ]


def test_two_quick_reschedules_last_wins_same_event_same_link(life: Stack) -> None:
    life.deal("702")
    life.deliver(stage(702, "demoscheduled", 1))
    life.work()
    [first] = live(life)
    for n, start in enumerate(("2030-03-03T09:00:00Z", "2030-03-04T11:30:00Z"), start=2):
        life.hubspot.set_deal_properties("702", demo_start_time=start)
        life.deliver(change(702, "demo_start_time", start, n))
    life.work()
    [moved] = live(life)
    assert moved["id"] == first["id"] and moved["hangoutLink"] == first["hangoutLink"]
    assert moved["start"]["dateTime"].startswith("2030-03-04T11:30:00")
    assert [a for _, _, a in actions(life)][1:] in (["moved", "unchanged"], ["moved", "moved"])


def test_cancel_then_reenter_restores_the_same_event(life: Stack) -> None:
    life.deal("703")
    life.deliver(stage(703, "demoscheduled", 1))
    life.work()
    [booked] = live(life)
    life.hubspot.set_deal_properties("703", dealstage="closedlost")
    life.deliver(stage(703, "closedlost", 2))
    life.work()
    assert live(life) == []
    assert life.google.event(REP, booked["id"])["status"] == "cancelled"
    assert written(life, "703") in (("", ""), (None, None))
    life.hubspot.set_deal_properties("703", dealstage="demoscheduled")
    life.deliver(stage(703, "demoscheduled", 3))
    life.work()
    [restored] = live(life)
    assert restored["id"] == booked["id"]
    assert written(life, "703") == (restored["hangoutLink"], restored["id"])
    assert [a for _, _, a in actions(life)] == ["booked", "cancelled", "restored"]


@pytest.mark.parametrize("how", ["refused", "gone"])
def test_reenter_when_google_will_not_restore_makes_the_next_id(life: Stack, how: str) -> None:
    life.deal("704")
    life.deliver(stage(704, "demoscheduled", 1))
    life.work()
    [booked] = live(life)
    life.google.cancel_event(REP, booked["id"])  # the rep deleted the invitation by hand
    if how == "refused":
        life.google.restore_refused.add(booked["id"])
    else:
        life.google.forget_cancelled(REP, booked["id"])
    life.hubspot.set_deal_properties("704", demo_start_time="2030-05-05T08:00:00Z")
    life.deliver(change(704, "demo_start_time", "2030-05-05T08:00:00Z", 2))
    life.work()
    [again] = live(life)
    assert again["id"] != booked["id"]
    assert written(life, "704") == (again["hangoutLink"], again["id"])
    assert actions(life)[-1][2] == "recreated"


def test_owner_change_moves_the_meeting_to_the_new_owner(life: Stack) -> None:
    life.deal("705")
    life.deliver(stage(705, "demoscheduled", 1))
    life.work()
    [old] = live(life)
    life.hubspot.set_deal_properties("705", hubspot_owner_id="102")
    life.deliver(change(705, "hubspot_owner_id", "102", 2))
    life.work()
    [new] = live(life)
    assert new["_calendar_owner"] == NEW_REP and new["organizer"]["email"] == NEW_REP
    assert life.google.event(REP, old["id"])["status"] == "cancelled"
    assert written(life, "705") == (new["hangoutLink"], new["id"])
    assert actions(life)[-1][2] == "reassigned"


def test_deal_deleted_cancels_its_meeting(life: Stack) -> None:
    life.deal("706")
    life.deliver(stage(706, "demoscheduled", 1))
    life.work()
    life.hubspot.delete_deal("706")
    deletion = {
        "eventId": 55,
        "portalId": 62515,
        "occurredAt": 2,
        "subscriptionType": "deal.deletion",
        "objectId": 706,
    }
    life.deliver(deletion)
    life.work()
    assert live(life) == []
    assert actions(life)[-1] == ("deleted", "succeeded", "cancelled")


def test_out_of_order_delivery_ends_right(life: Stack) -> None:
    """The time's webhook and a later cancel arrive before the stage change: the deal's
    current state (lost) wins, whatever order they are processed in."""
    life.deal("707", dealstage="closedlost")
    life.deliver(
        change(707, "demo_start_time", "2030-01-07T15:00:00Z", 2),
        stage(707, "closedlost", 3),
        stage(707, "demoscheduled", 1),
    )
    life.work()
    assert live(life) == [] and written(life, "707") == (None, None)
    # The deal comes back: the newest state books it exactly once.
    life.hubspot.set_deal_properties("707", dealstage="demoscheduled")
    life.deliver(stage(707, "demoscheduled", 4), stage(707, "demoscheduled", 4))
    life.work()
    assert len(live(life)) == 1


def test_the_reps_calendar_zone_reads_a_start_without_offset(life: Stack) -> None:
    # 2030-03-31 is the day Europe/Berlin moves to summer time (UTC+2 from 01:00 UTC).
    life.google.time_zones[REP] = "Europe/Berlin"
    life.deal("708", start="2030-03-31T10:00:00")
    life.deal("709", start="2030-03-30T10:00:00")
    life.deliver(stage(708, "demoscheduled", 1), stage(709, "demoscheduled", 1))
    life.work()
    by_deal = {e["extendedProperties"]["private"]["crmDeal"]: e for e in live(life)}
    summer = by_deal["hubspot:62515:708"]["start"]
    winter = by_deal["hubspot:62515:709"]["start"]
    assert summer["timeZone"] == winter["timeZone"] == "Europe/Berlin"
    assert summer["dateTime"].startswith("2030-03-31T10:00:00+02:00")
    assert winter["dateTime"].startswith("2030-03-30T10:00:00+01:00")


def test_stage_labels_resolve_when_the_worker_starts(
    make_env: Callable[..., dict[str, str]],
    google: GoogleEmulator,
    hubspot: HubSpotEmulator,
    tmp_path: Path,
) -> None:
    from middleware.errors import ConfigError
    from middleware.wiring import with_resolved_stages

    env = emulator_env(make_env, google, hubspot, tmp_path)
    rules = Path(env["MIDDLEWARE_CONFIG"])
    rules.write_text(
        FAST_RULES.replace(
            'trigger_stages = ["demoscheduled"]', 'trigger_stages = ["Demo Scheduled"]'
        ).replace("cancel_stages = []", 'cancel_stages = ["closed lost"]')
    )
    resolved = with_resolved_stages(load_settings(env)).rules.hubspot
    assert (resolved.trigger_stages, resolved.cancel_stages) == (
        ("demoscheduled",),
        ("closedlost",),
    )
    rules.write_text(FAST_RULES.replace("cancel_stages = []", 'cancel_stages = ["Lost forever"]'))
    with pytest.raises(
        ConfigError, match=r"^hubspot\.cancel_stages: no deal stage .*'Lost forever'"
    ):
        with_resolved_stages(load_settings(env))
    hubspot.add_stage("default", "991", "Demo Scheduled")  # now the label names two stages
    rules.write_text(
        FAST_RULES.replace(
            'trigger_stages = ["demoscheduled"]', 'trigger_stages = ["Demo Scheduled"]'
        )
    )
    with pytest.raises(ConfigError, match="names 2 stages"):
        with_resolved_stages(load_settings(env))
