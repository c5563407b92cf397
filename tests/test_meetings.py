"""Meeting planning is pure: deal + rules → MeetingSpec, or a PermanentError naming the fix."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from middleware.errors import PermanentError
from middleware.meetings import (
    MeetingRules,
    MeetingSpecSchema,
    calendar_event_id,
    check_template,
    clean_attendees,
    parse_start,
    plan_meeting,
)
from middleware.testing.memory import make_deal

RULES = MeetingRules()


def test_plan_from_a_complete_deal() -> None:
    deal = make_deal(
        "77",
        name="Acme rollout",
        owner_email="Rep@Seller.example",
        contact_emails=(
            "buyer@acme.example",
            "BUYER@acme.example",
            "rep@seller.example",
            None,
            "not-an-email",
            "cto@acme.example",
        ),
    )
    spec = plan_meeting(
        deal,
        MeetingRules(
            title="Demo: {deal_name} ({deal_id})",
            description="For {company} by {rep_email}",
            duration_minutes=45,
        ),
    )
    assert spec.title == "Demo: Acme rollout (77)"
    assert spec.description == "For Acme Inc by rep@seller.example"
    assert spec.start == datetime(2030, 1, 7, 15, 0, tzinfo=UTC)
    assert spec.end - spec.start == timedelta(minutes=45)
    assert spec.organizer == "rep@seller.example"
    assert spec.attendees == ("buyer@acme.example", "cto@acme.example")
    assert MeetingSpecSchema().validate(MeetingSpecSchema().dump(spec)) == {}


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2030-01-07T15:00:00Z", datetime(2030, 1, 7, 15, tzinfo=UTC)),
        ("2030-01-07T16:00:00+01:00", datetime(2030, 1, 7, 15, tzinfo=UTC)),
        ("1894028400000", datetime(2030, 1, 7, 15, tzinfo=UTC)),
        (1894028400000, datetime(2030, 1, 7, 15, tzinfo=UTC)),
        ("2030-01-07T10:00:00", datetime(2030, 1, 7, 10, tzinfo=ZoneInfo("America/New_York"))),
        ("2030-01-07 10:00", datetime(2030, 1, 7, 10, tzinfo=ZoneInfo("America/New_York"))),
        # A midnight date-time (as some accounts read date properties back) has a time part.
        ("2030-01-07T00:00:00Z", datetime(2030, 1, 7, tzinfo=UTC)),
    ],
)
def test_start_formats(value: object, expected: datetime) -> None:
    parsed = parse_start(value, "America/New_York", deal_id="1", property_name="demo_start_time")
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize("value", [None, "", "   "])
def test_empty_start_fails_with_the_property_name(value: object) -> None:
    with pytest.raises(PermanentError) as info:
        plan_meeting(make_deal("123", start_value=value), RULES)
    assert info.value.reason == "missing_start"
    assert info.value.message == "deal 123: property demo_start_time is empty"


@pytest.mark.parametrize("value", ["next tuesday", "2030-13-01T10:00:00", "99999999999999999999"])
def test_unparsable_start(value: str) -> None:
    with pytest.raises(PermanentError) as info:
        plan_meeting(make_deal("9", start_value=value), RULES)
    assert info.value.reason == "bad_start"
    assert "deal 9: property demo_start_time" in info.value.message


@pytest.mark.parametrize("value", ["2026-12-01", "20261201", " 2026-12-01 "])
def test_a_date_without_a_time_of_day_is_refused(value: str) -> None:
    with pytest.raises(PermanentError) as info:
        plan_meeting(make_deal("9", start_value=value), RULES)
    assert info.value.reason == "bad_start"
    assert info.value.message.startswith(
        f"deal 9: property demo_start_time = {value.strip()!r} is a date without a time of day"
    )
    assert "2026-12-01T15:00:00+01:00" in info.value.message  # what to store instead


def test_attendees_are_capped_at_max_attendees() -> None:
    guests = tuple(f"guest{i}@buyer.example" for i in range(30))
    deal = make_deal("8", owner_email="rep@seller.example", contact_emails=guests)
    spec = plan_meeting(deal, MeetingRules(max_attendees=25))
    assert spec.attendees == guests[:25]
    assert plan_meeting(deal, RULES).attendees == guests  # the default cap is 100


@pytest.mark.parametrize("owner", [None, "", "nobody"])
def test_missing_owner(owner: str | None) -> None:
    with pytest.raises(PermanentError) as info:
        plan_meeting(make_deal("5", owner_email=owner), RULES)
    assert info.value.reason == "missing_owner"
    assert "deal 5" in info.value.message


def test_templates_only_take_documented_fields() -> None:
    check_template("Demo {deal_name} {deal_id} {company} {rep_email:>5}")
    for bad in (
        "{deal_name.upper}",
        "{deal_name[0]}",
        "{0}",
        "{}",
        "{password}",
        "{deal_name:{x}}",
    ):
        with pytest.raises(ValueError):
            check_template(bad)


def test_braces_in_values_are_not_reinterpreted() -> None:
    spec = plan_meeting(make_deal("1", name="{rep_email}"), MeetingRules(title="Demo: {deal_name}"))
    assert spec.title == "Demo: {rep_email}"


def test_event_id_is_deterministic_base32hex() -> None:
    first = calendar_event_id("hubspot", "62515", "123")
    assert first == calendar_event_id("hubspot", "62515", "123")
    assert re.fullmatch(r"[a-v0-9]{5,1024}", first)
    assert (
        len(
            {
                first,
                calendar_event_id("hubspot", "62516", "123"),
                calendar_event_id("pipedrive", "62515", "123"),
            }
        )
        == 3
    )


def test_clean_attendees() -> None:
    assert clean_attendees([" A@x.io ", "a@x.io", "b@x.io", "rep@x.io"], exclude="REP@x.io") == (
        "a@x.io",
        "b@x.io",
    )


def test_rep_time_zone_precedence() -> None:
    from middleware.meetings import rep_timezone

    rules = MeetingRules(timezone="UTC", rep_timezones={"alex@x.example": "Asia/Tokyo"})
    assert rep_timezone("alex@x.example", rules, "Europe/Paris") == "Asia/Tokyo"
    assert rep_timezone("sam@x.example", rules, "Europe/Paris") == "Europe/Paris"
    assert rep_timezone("sam@x.example", rules, None) == "UTC"


def test_a_start_at_the_end_of_time_is_bad_start_not_a_crash() -> None:
    from middleware.errors import PermanentError
    from middleware.testing.memory import make_deal

    with pytest.raises(PermanentError) as info:
        plan_meeting(make_deal(start_value="9999-12-31T23:50:00Z"), MeetingRules())
    assert info.value.reason == "bad_start" and "too far in the future" in info.value.message
