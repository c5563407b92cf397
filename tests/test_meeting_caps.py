"""Caps on what a deal's data can make an invitation carry, as tables: text is cut with an
ellipsis (the demo is still booked), guests are capped, and a start that is no demo date is
``bad_start``. Pure: ``meetings.plan_meeting`` and the event bodies of ``google/events.py``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from middleware.errors import PermanentError
from middleware.google.events import insert_body, reconcile
from middleware.meetings import (
    DESCRIPTION_MAX_CHARS,
    EMAIL_MAX_CHARS,
    TITLE_MAX_CHARS,
    MeetingRules,
    MeetingSpecSchema,
    calendar_event_id,
    clean_attendees,
    plan_meeting,
    shorten_to,
)
from middleware.testing.memory import make_deal

MB = 1024 * 1024


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("eleven char", 10, "eleven ch…"),
        ("words then   spaces", 14, "words then…"),  # no dangling spaces before the ellipsis
        ("", 5, ""),
        ("abc", 1, "…"),
    ],
)
def test_shorten_to(text: str, limit: int, expected: str) -> None:
    assert shorten_to(text, limit) == expected
    assert len(shorten_to(text, limit)) <= limit


def test_the_caps_are_googles_limits() -> None:
    assert (TITLE_MAX_CHARS, DESCRIPTION_MAX_CHARS, EMAIL_MAX_CHARS) == (1024, 8000, 254)
    assert MeetingRules().max_attendees == 100  # meeting.max_attendees' default


def test_a_megabyte_deal_name_makes_a_small_insert() -> None:
    rules = MeetingRules(
        title="Demo: {deal_name} for {company}",
        description="\n".join(["{deal_name} {company}"] * 5),
    )
    deal = make_deal("7", name="N" * MB, company="C" * MB)
    spec = plan_meeting(deal, rules)
    assert len(spec.title) == TITLE_MAX_CHARS and spec.title.endswith("…")
    assert spec.title.startswith("Demo: NNN")
    # Each field is cut to 1,024 first; ten of them are still cut to the description's cap.
    assert len(spec.description) == DESCRIPTION_MAX_CHARS and spec.description.endswith("…")
    body = json.dumps(insert_body(calendar_event_id("hubspot", "1", "7"), spec, "meet-x"))
    assert len(body) < 12_000  # not the 2 MB the deal name would make
    assert MeetingSpecSchema().validate(MeetingSpecSchema().dump(spec)) == {}


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("Acme", "Demo: Acme"),
        ("x" * (TITLE_MAX_CHARS - 6), "Demo: " + "x" * (TITLE_MAX_CHARS - 6)),  # fits exactly
        ("x" * TITLE_MAX_CHARS, "Demo: " + "x" * (TITLE_MAX_CHARS - 7) + "…"),
    ],
)
def test_the_title_is_cut_only_over_the_cap(name: str, title: str) -> None:
    assert plan_meeting(make_deal("7", name=name), MeetingRules()).title == title


def test_five_thousand_contacts_send_at_most_the_cap() -> None:
    guests = tuple(f"guest{i}@buyer.example" for i in range(5000))
    deal = make_deal("8", owner_email="rep@seller.example", contact_emails=guests)
    spec = plan_meeting(deal, MeetingRules())
    assert spec.attendees == guests[:100]
    assert len(insert_body("e" * 10, spec, "r")["attendees"]) == 100


@pytest.mark.parametrize(
    ("address", "kept"),
    [
        ("a@b.example", True),
        ("x" * (EMAIL_MAX_CHARS - 10) + "@b.example", True),  # 254 characters
        ("x" * (EMAIL_MAX_CHARS - 9) + "@b.example", False),  # 255
        ("x" * MB + "@b.example", False),
    ],
)
def test_an_overlong_address_is_not_an_attendee(address: str, kept: bool) -> None:
    assert clean_attendees([address], exclude="rep@seller.example") == ((address,) if kept else ())


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("1900-01-01T00:00:00Z", True),
        ("2030-01-07T15:00:00+14:00", True),
        ("9998-12-30T10:00:00-12:00", True),
        ("1899-12-31T23:59:00Z", False),
        ("0001-01-01T00:00:00+05:00", False),  # not even expressible in UTC
        ("0001-01-01T00:00:00Z", False),
        ("9998-12-31T12:00:00Z", False),
        ("9999-12-31T20:00:00-05:00", False),  # its UTC instant is in year 10000
        ("9999-12-31T23:50:00Z", False),  # its end is past what a datetime holds
        ("253402300799000", False),  # epoch ms of 9999-12-31T23:59:59Z
        ("-99999999999999", False),  # epoch ms before year 1
        ("9" * 5000, False),  # more digits than int() takes
    ],
)
def test_a_start_outside_1900_to_9998_is_bad_start(value: str, ok: bool) -> None:
    deal = make_deal("9", start_value=value)
    if ok:
        spec = plan_meeting(deal, MeetingRules(timezone="Pacific/Kiritimati"))
        # The event bodies handle it too (UTC comparisons, ISO text): no overflow anywhere.
        assert reconcile({"status": "confirmed"}, spec, organizer=spec.organizer, request_id="r")[
            "start"
        ] == {"dateTime": spec.start.isoformat(), "timeZone": "Pacific/Kiritimati"}
        return
    with pytest.raises(PermanentError) as info:
        plan_meeting(deal, MeetingRules())
    assert info.value.reason == "bad_start"
    assert info.value.message.startswith("deal 9: property demo_start_time = ")
    assert len(info.value.message) < 400


def test_a_start_in_range_is_kept_as_given() -> None:
    spec = plan_meeting(make_deal("9", start_value="1900-01-01T00:00:00Z"), MeetingRules())
    assert spec.start == datetime(1900, 1, 1, tzinfo=UTC)
