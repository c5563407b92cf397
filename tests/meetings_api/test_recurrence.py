"""RRULE checks of the meetings API (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from middleware.meetings_api.recurrence import (
    MAX_OCCURRENCES,
    RecurrenceError,
    is_occurrence,
    occurrences,
    parse_rule,
)

MONDAY = datetime(2030, 3, 25, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # DST starts 31 March


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("FREQ=WEEKLY;COUNT=4", "RRULE:FREQ=WEEKLY;COUNT=4"),
        ("rrule:freq=weekly;byday=mo,we;count=4", "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4"),
        ("  RRULE:FREQ=DAILY;UNTIL=20300401T080000Z ", "RRULE:FREQ=DAILY;UNTIL=20300401T080000Z"),
        ("FREQ=MONTHLY;BYMONTHDAY=25;COUNT=12", "RRULE:FREQ=MONTHLY;BYMONTHDAY=25;COUNT=12"),
    ],
)
def test_rules_calendar_takes(text: str, rule: str) -> None:
    assert parse_rule(text, MONDAY) == rule


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("FREQ=WEEKLY", "give an end"),
        ("FREQ=HOURLY;COUNT=3", "FREQ must be one of"),
        ("FREQ=WEEKLY;COUNT", "is not NAME=VALUE"),
        ("FREQ=WEEKLY;COUNT=2;COUNT=3", "given twice"),
        ("FREQ=WEEKLY;COUNT=-1", "COUNT must be a whole number"),
        ("FREQ=WEEKLY;COUNT=2;BYDAY=XX", "not a valid RFC 5545 RRULE"),
        ("FREQ=WEEKLY;BYDAY=FR;COUNT=3", "not an occurrence"),
        (f"FREQ=DAILY;COUNT={MAX_OCCURRENCES + 1}", "COUNT must be a whole number"),
        ("FREQ=DAILY;UNTIL=20350101T000000Z", "more than"),
        ("FREQ=DAILY;UNTIL=20200101T000000Z", "not an occurrence"),
        ("DTSTART:20300325T090000Z", "one RRULE only"),
        ("X" * 600, "longer than"),
    ],
)
def test_rules_refused_with_one_line(text: str, says: str) -> None:
    with pytest.raises(RecurrenceError) as exc:
        parse_rule(text, MONDAY)
    assert says in str(exc.value) and "\n" not in str(exc.value)


def test_occurrences_keep_the_local_time_across_daylight_saving() -> None:
    first, second = list(occurrences("RRULE:FREQ=WEEKLY;COUNT=2", MONDAY))
    assert first.astimezone(UTC).hour == 9 and second.astimezone(UTC).hour == 8
    assert (first.hour, second.hour) == (10, 10)
    assert is_occurrence("RRULE:FREQ=WEEKLY;COUNT=2", MONDAY, datetime(2030, 4, 1, 8, tzinfo=UTC))
    assert not is_occurrence(
        "RRULE:FREQ=WEEKLY;COUNT=2", MONDAY, datetime(2030, 4, 1, 9, tzinfo=UTC)
    )
    assert not is_occurrence(
        "RRULE:FREQ=WEEKLY;COUNT=2", MONDAY, datetime(2030, 4, 8, 8, tzinfo=UTC)
    )
