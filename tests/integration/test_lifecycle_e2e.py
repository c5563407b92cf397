"""The demo's whole life over real sockets (CONTRACT.md, The demo's lifecycle), for every CRM
(``crm_stack``: HubSpot and Pipedrive) on SQLite and PostgreSQL: the web app stores the CRM's
authentic webhooks, the worker runs the real CRM and Google adapters against the emulators.
Assertions are on what Google and the CRM hold. Each scenario is written once against the CRM
drivers (``crm_drivers``); what only one CRM has is a separately named test at the end. The
core scenarios (booking, cancel and restore, a new owner) also run in OAuth mode
(``@AUTH_MODES``): each rep's own refresh token instead of the service account."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from middleware.settings import load_settings
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from tests.integration.conftest import AUTH_MODES, FAST_RULES, Stack, emulator_env
from tests.integration.crm_drivers import CANCEL, NEW_REP, OTHER, REP, TRIGGER

pytestmark = pytest.mark.timeout(120)
PIPEDRIVE_ONLY = pytest.mark.parametrize("crm", ["pipedrive"], indirect=True)


def booked(life: Stack, deal: int) -> dict:
    """Deal ``deal``, added in a trigger stage and announced, booked: its one live event."""
    life.deal(deal)
    life.deliver(life.crm.stage_webhook(deal, TRIGGER, at=1))
    life.work()
    [event] = life.live()
    return event


@AUTH_MODES
def test_stage_before_time_waits_then_the_time_books_it(crm_stack: Stack) -> None:
    life, crm = crm_stack, crm_stack.crm
    crm.add_deal(701, start=None)
    life.deliver(crm.stage_webhook(701, TRIGGER, at=1))
    life.work()
    assert life.live() == [] and crm.written(701) == (None, None)
    life.deliver(crm.set_start(701, "2030-03-02T10:00:00Z", at=2))
    life.work()
    [event] = life.live()
    assert event["start"]["dateTime"].startswith("2030-03-02T10:00:00")
    assert crm.written(701) == (event["hangoutLink"], event["id"])
    assert event["extendedProperties"]["private"]["crmDeal"] == crm.tag(701)
    assert event["hangoutLink"] in event["description"]  # the link in the text too
    assert life.actions() == [
        ("stage:trigger", "waiting_for_start", None),
        ("start", "succeeded", "booked"),
    ]


def test_two_quick_reschedules_last_wins_same_event_same_link(crm_stack: Stack) -> None:
    life, crm = crm_stack, crm_stack.crm
    first = booked(life, 702)
    for at, start in enumerate(("2030-03-03T09:00:00Z", "2030-03-04T11:30:00Z"), start=2):
        life.deliver(crm.set_start(702, start, at=at))
    life.work()
    [moved] = life.live()
    assert moved["id"] == first["id"] and moved["hangoutLink"] == first["hangoutLink"]
    assert moved["start"]["dateTime"].startswith("2030-03-04T11:30:00")
    assert crm.written(702) == (moved["hangoutLink"], moved["id"])
    assert [a for _, _, a in life.actions()][1:] in (["moved", "unchanged"], ["moved", "moved"])


@AUTH_MODES
def test_cancel_then_reenter_restores_the_same_event(crm_stack: Stack) -> None:
    life, crm = crm_stack, crm_stack.crm
    first = booked(life, 703)
    life.deliver(crm.move(703, CANCEL, at=2))
    life.work()
    assert life.live() == [] and crm.written(703) == (None, None)
    assert life.google.event(REP, first["id"])["status"] == "cancelled"
    life.deliver(crm.move(703, TRIGGER, at=3))
    life.work()
    [restored] = life.live()
    assert restored["id"] == first["id"]
    assert crm.written(703) == (restored["hangoutLink"], restored["id"])
    assert life.actions() == [
        ("stage:trigger", "succeeded", "booked"),
        ("stage:cancel", "succeeded", "cancelled"),
        ("stage:trigger", "succeeded", "restored"),
    ]


@pytest.mark.parametrize("how", ["refused", "gone"])
def test_reenter_when_google_will_not_restore_makes_the_next_id(crm_stack: Stack, how: str) -> None:
    life, crm = crm_stack, crm_stack.crm
    first = booked(life, 704)
    life.google.cancel_event(REP, first["id"])  # the rep deleted the invitation by hand
    if how == "refused":
        life.google.restore_refused.add(first["id"])
    else:
        life.google.forget_cancelled(REP, first["id"])
    life.deliver(crm.set_start(704, "2030-05-05T08:00:00Z", at=2))
    life.work()
    [again] = life.live()
    assert again["id"] != first["id"]
    assert crm.written(704) == (again["hangoutLink"], again["id"])
    assert life.actions()[-1] == ("start", "succeeded", "recreated")


@AUTH_MODES
def test_owner_change_moves_the_meeting_to_the_new_owner(crm_stack: Stack) -> None:
    life, crm = crm_stack, crm_stack.crm
    old = booked(life, 705)
    life.deliver(crm.reassign(705, NEW_REP, at=2))
    life.work()
    [new] = life.live()
    assert new["_calendar_owner"] == NEW_REP and new["organizer"]["email"] == NEW_REP
    assert life.google.event(REP, old["id"])["status"] == "cancelled"
    assert crm.written(705) == (new["hangoutLink"], new["id"])
    assert life.actions()[-1] == ("owner", "succeeded", "reassigned")


def deleting_cancels(life: Stack, deal: int) -> None:
    booked(life, deal)
    life.deliver(life.crm.delete(deal, at=2))
    life.work()
    assert life.live() == []
    assert life.actions()[-1] == ("deleted", "succeeded", "cancelled")


def test_deal_deleted_cancels_its_meeting(crm_stack: Stack) -> None:
    deleting_cancels(crm_stack, 706)


def test_out_of_order_delivery_ends_right(crm_stack: Stack) -> None:
    """The time's webhook and a later cancel arrive before the stage change: the deal's
    current state (lost) wins, whatever order they are processed in."""
    life, crm = crm_stack, crm_stack.crm
    crm.add_deal(707, stage=CANCEL)
    life.deliver(
        crm.start_webhook(707, at=2),
        crm.stage_webhook(707, CANCEL, at=3),
        crm.stage_webhook(707, TRIGGER, at=1),
    )
    life.work()
    assert life.live() == [] and crm.written(707) == (None, None)
    # The deal comes back: the newest state books it exactly once.
    back = crm.move(707, TRIGGER, at=4)
    assert life.deliver(back, crm.stage_webhook(707, TRIGGER, at=4))["stored"] == 2
    life.work()
    assert len(life.live()) == 1


def test_the_reps_calendar_zone_reads_a_start_without_offset(crm_stack: Stack) -> None:
    life, crm = crm_stack, crm_stack.crm
    # 2030-03-31 is the day Europe/Berlin moves to summer time (UTC+2 from 01:00 UTC).
    life.google.time_zones[REP] = "Europe/Berlin"
    crm.add_deal(708, start="2030-03-31T10:00:00")
    crm.add_deal(709, start="2030-03-30T10:00:00")
    life.deliver(crm.stage_webhook(708, TRIGGER, at=1), crm.stage_webhook(709, TRIGGER, at=1))
    life.work()
    by_deal = {e["extendedProperties"]["private"]["crmDeal"]: e for e in life.live()}
    summer, winter = by_deal[crm.tag(708)]["start"], by_deal[crm.tag(709)]["start"]
    assert summer["timeZone"] == winter["timeZone"] == "Europe/Berlin"
    assert summer["dateTime"].startswith("2030-03-31T10:00:00+02:00")
    assert winter["dateTime"].startswith("2030-03-30T10:00:00+01:00")


def test_another_stage_or_a_rename_is_acknowledged_and_not_stored(crm_stack: Stack) -> None:
    life, crm = crm_stack, crm_stack.crm
    crm.add_deal(710, stage=OTHER)
    answer = life.deliver(crm.stage_webhook(710, OTHER, at=1), crm.unwatched_webhook(710, at=2))
    assert (answer["stored"], answer["ignored"]) == (0, 2)
    assert life.actions() == []


def test_a_webhook_that_is_not_authentic_is_refused_and_stores_nothing(crm_stack: Stack) -> None:
    life, crm = crm_stack, crm_stack.crm
    crm.add_deal(711)
    [(path, body, headers)] = crm.requests([crm.stage_webhook(711, TRIGGER, at=1)], forged=True)
    response = life.client.post(path, data=body, headers=headers)
    assert response.status_code == 401 and "error" in response.json
    challenge = response.headers.get("WWW-Authenticate")
    assert (challenge.split()[0] if challenge else None) == crm.auth_challenge
    assert life.actions() == []


# ---- what only one CRM has ------------------------------------------------------------------


@PIPEDRIVE_ONLY
def test_pipedrive_waits_for_the_time_field_and_books_at_its_zone(crm_stack: Stack) -> None:
    """Pipedrive's start is a date field and a time field whose own zone wins (CONTRACT.md,
    rules ``[pipedrive]``): with the date but no time the deal waits."""
    from tests.integration.crm_drivers.pipedrive import DAY, TIME

    life, crm = crm_stack, crm_stack.crm
    crm.add_deal(801, start=None)
    crm.emulator.set_fields(801, **{DAY: "2030-01-07"})
    life.deliver(crm.stage_webhook(801, TRIGGER, at=1))
    life.work()
    assert life.live() == [] and life.actions()[-1][1] == "waiting_for_start"
    crm.emulator.set_fields(801, **{TIME: {"value": "15:00:00", "timezone_name": "Europe/Berlin"}})
    life.deliver(crm.start_webhook(801, at=2))
    life.work()
    [event] = life.live()
    assert event["organizer"]["email"] == REP
    assert event["start"]["dateTime"].startswith(("2030-01-07T15:00:00+01:00", "2030-01-07T14:00"))
    assert crm.written(801) == (event["hangoutLink"], event["id"])


@PIPEDRIVE_ONLY
def test_pipedrive_deal_still_read_but_flagged_deleted_cancels_its_meeting(
    crm_stack: Stack,
) -> None:
    crm_stack.crm.emulator.deleted_reads = "flagged"  # Pipedrive keeps deleted deals 30 days
    deleting_cancels(crm_stack, 802)


def test_hubspot_stage_labels_resolve_when_the_worker_starts(
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
