"""HubSpot signature v3 and batch parsing, with no I/O (middleware.crm.hubspot)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from middleware.crm import hubspot
from middleware.errors import PayloadError, SignatureError
from tests.builders import REPO, SECRET, body_of, hubspot_headers, notification

URI = "https://mw.example.com/webhooks/hubspot"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_published_v3_vector() -> None:
    # HubSpot/hubspot-api-python tests/spec/utils/test_signature.py::test_get_signature__v3
    signature = hubspot.sign_v3(
        "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy",
        "POST",
        "https://www.example.com/webhook_uri",
        b"{'example_field':'example_value'}",
        "15000000",
    )
    assert signature == "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="


def test_published_vector_verifies_at_its_own_time() -> None:
    body = b"{'example_field':'example_value'}"
    headers = {
        "X-HubSpot-Signature-v3": "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=",
        "X-HubSpot-Request-Timestamp": "15000000",
    }
    at = datetime.fromtimestamp(15000, tz=UTC)
    hubspot.verify_v3(
        headers,
        body,
        method="POST",
        uri="https://www.example.com/webhook_uri",
        secrets=["yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"],
        now=at,
    )
    # ... and the same vector is stale today.
    with pytest.raises(SignatureError, match="more than 5 minutes old"):
        hubspot.verify_v3(
            headers,
            body,
            method="POST",
            uri="https://www.example.com/webhook_uri",
            secrets=["yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"],
            now=NOW,
        )


def _verify(
    headers: dict[str, str],
    body: bytes,
    *,
    uri: str = URI,
    secret: str = SECRET,
    now: datetime = NOW,
) -> None:
    hubspot.verify_v3(headers, body, method="POST", uri=uri, secrets=[secret], now=now)


def test_round_trip_and_header_case() -> None:
    body = body_of([notification(1)])
    headers = hubspot_headers(body, URI, now=NOW)
    _verify(headers, body)
    _verify({k.lower(): v for k, v in headers.items()}, body)
    _verify({k.upper(): v for k, v in headers.items()}, body)


@pytest.mark.parametrize(
    "tamper",
    ["body", "uri", "timestamp", "secret", "method", "signature"],
)
def test_tampering_is_refused(tamper: str) -> None:
    body = body_of([notification(1)])
    headers = hubspot_headers(body, URI, now=NOW)
    kwargs: dict = {}
    if tamper == "body":
        body = body.replace(b'"objectId": 1', b'"objectId": 2')
    elif tamper == "uri":
        kwargs["uri"] = URI + "?x=1"
    elif tamper == "timestamp":
        headers["X-HubSpot-Request-Timestamp"] = str(
            int(headers["X-HubSpot-Request-Timestamp"]) + 1
        )
    elif tamper == "secret":
        kwargs["secret"] = SECRET + "x"
    elif tamper == "signature":
        headers["X-HubSpot-Signature-v3"] = headers["X-HubSpot-Signature-v3"][:-2] + "A="
    if tamper == "method":
        with pytest.raises(SignatureError, match="does not match"):
            hubspot.verify_v3(headers, body, method="PUT", uri=URI, secrets=[SECRET], now=NOW)
        return
    with pytest.raises(SignatureError, match="does not match"):
        _verify(headers, body, **kwargs)


@pytest.mark.parametrize(
    "offset,message", [(timedelta(minutes=-6), "old"), (timedelta(minutes=6), "future")]
)
def test_stale_and_future_timestamps(offset: timedelta, message: str) -> None:
    body = body_of([notification(1)])
    headers = hubspot_headers(body, URI, now=NOW + offset)
    with pytest.raises(SignatureError, match=message):
        _verify(headers, body)


def test_timestamps_within_five_minutes_pass() -> None:
    body = body_of([notification(1)])
    for offset in (timedelta(minutes=-4, seconds=-59), timedelta(minutes=4, seconds=59)):
        _verify(hubspot_headers(body, URI, now=NOW + offset), body)


@pytest.mark.parametrize("missing", ["X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"])
def test_missing_headers(missing: str) -> None:
    body = body_of([notification(1)])
    headers = hubspot_headers(body, URI, now=NOW)
    del headers[missing]
    with pytest.raises(SignatureError, match="missing"):
        _verify(headers, body)


def test_non_numeric_timestamp() -> None:
    body = b"[]"
    headers = hubspot_headers(body, URI, now=NOW)
    headers["X-HubSpot-Request-Timestamp"] = "yesterday"
    with pytest.raises(SignatureError, match="milliseconds"):
        _verify(headers, body)


def test_previous_secret_still_verifies_during_rotation() -> None:
    body = body_of([notification(1)])
    headers = hubspot_headers(body, URI, secret="old-secret", now=NOW)
    hubspot.verify_v3(
        headers, body, method="POST", uri=URI, secrets=["new-secret", "old-secret"], now=NOW
    )
    with pytest.raises(SignatureError):
        hubspot.verify_v3(headers, body, method="POST", uri=URI, secrets=["new-secret"], now=NOW)


def test_uri_decoding_rule() -> None:
    # Only the 12 listed characters are decoded; %20 and %26 stay encoded (HubSpot docs).
    assert (
        hubspot.normalize_uri("https://h/p%3Aq%2f%40x%20y%26z?a=%21")
        == "https://h/p:q/@x%20y%26z?a=!"
    )
    body = b"[]"
    signed = hubspot_headers(body, "https://h/hook?user=a%40b.com", now=NOW)
    _verify(signed, body, uri="https://h/hook?user=a@b.com")


def test_sample_batch_keeps_only_trigger_stage_changes() -> None:
    body = (REPO / "tests" / "samples" / "hubspot_deal_stage_batch.json").read_bytes()
    batch = hubspot.parse_batch(body, trigger_stages=["demoscheduled"])
    assert batch.received == 4
    assert batch.ignored == 3
    assert batch.invalid == 0
    [event] = batch.events
    assert (event.provider, event.account_id, event.deal_id, event.trigger) == (
        "hubspot",
        "62515",
        "1246965",
        "demoscheduled",
    )
    assert event.occurred_at == datetime(2016, 5, 2, 19, 11, 47, 945000, tzinfo=UTC)
    assert event.payload["eventId"] == 3816279340


def test_several_trigger_stages_and_generic_subscription() -> None:
    items = [
        notification(1, "demoscheduled"),
        notification(2, "3752325848"),
        notification(
            3, "demoscheduled", subscriptionType="object.propertyChange", objectTypeId="0-3"
        ),
        notification(
            4, "demoscheduled", subscriptionType="object.propertyChange", objectTypeId="0-1"
        ),
        notification(5, "demoscheduled", subscriptionType=None, eventType="deal.propertyChange"),
    ]
    batch = hubspot.parse_batch(body_of(items), trigger_stages=["demoscheduled", "3752325848"])
    assert [e.deal_id for e in batch.events] == ["1", "2", "3", "5"]


def test_dedupe_key_ignores_attempt_number_only() -> None:
    first = notification(7, event_id=55, occurred_at=1_700_000_000_000, attempt=0)
    again = dict(first, attemptNumber=3)
    later = dict(first, occurredAt=1_700_000_000_001)
    other_event = dict(first, eventId=56)
    assert hubspot.dedupe_key(first) == hubspot.dedupe_key(again)
    assert len({hubspot.dedupe_key(x) for x in (first, later, other_event)}) == 3


@pytest.mark.parametrize(
    "body,message",
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b'{"objectId": 1}', "JSON array"),
        (b"[1, 2]", "array of objects"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_malformed_bodies(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        hubspot.parse_batch(body, trigger_stages=["demoscheduled"])


def test_an_empty_batch_is_fine() -> None:
    batch = hubspot.parse_batch(b"[]", trigger_stages=["demoscheduled"])
    assert (batch.received, batch.events, batch.ignored, batch.invalid) == (0, [], 0, 0)


@pytest.mark.parametrize("size", [100, 150])
def test_batches_of_any_size_are_parsed(size: int) -> None:
    batch = hubspot.parse_batch(
        body_of([notification(i + 1) for i in range(size)]), trigger_stages=["demoscheduled"]
    )
    assert len(batch.events) == size


# Real shapes of notifications the service does not act on (reference: hubspot-2026-and-
# calendar-lifecycle.md §A2): an association change has no objectId, a merge lists losers.
ODD_NOTIFICATIONS: list[dict[str, object]] = [
    {
        "eventId": 11,
        "subscriptionId": 26,
        "portalId": 62515,
        "appId": 1160452,
        "occurredAt": 1_795_000_000_000,
        "subscriptionType": "deal.associationChange",
        "attemptNumber": 0,
        "associationType": "DEAL_TO_LINE_ITEM",
        "fromObjectId": 9001,
        "toObjectId": 77,
        "associationRemoved": False,
        "changeSource": "USER",
    },
    {
        "eventId": 12,
        "portalId": 62515,
        "occurredAt": 1_795_000_000_000,
        "subscriptionType": "deal.merge",
        "objectId": 9002,
        "primaryObjectId": 9002,
        "mergedObjectIds": [9003, 9004],
        "newObjectId": 9005,
        "numberOfPropertiesMoved": 3,
    },
    {
        "eventId": 13,
        "portalId": 62515,
        "occurredAt": 1_795_000_000_000,
        "subscriptionType": "contact.creation",
        "objectId": 501,
        "changeFlag": "CREATED",
    },
    {
        "eventId": 14,
        "portalId": 62515,
        "occurredAt": 1_795_000_000_000,
        "subscriptionType": "object.propertyChange",
        "objectTypeId": "2-143967026",
        "objectId": 8,
        "propertyName": "dealstage",
        "propertyValue": "demoscheduled",
    },
    {"eventId": 15, "subscriptionType": "some.typeAddedIn2027", "whatever": {"nested": [1]}},
    {"no": "type at all"},
    notification(9006, "closedwon"),
    notification(9007, "demoscheduled", propertyName="dealname", propertyValue="Acme"),
]


@pytest.mark.parametrize("odd", ODD_NOTIFICATIONS, ids=lambda n: hubspot_type(n))
def test_each_odd_notification_beside_a_trigger_is_ignored(odd: dict[str, object]) -> None:
    batch = hubspot.parse_batch(
        body_of([odd, notification(42), odd]), trigger_stages=["demoscheduled"]
    )
    assert [e.deal_id for e in batch.events] == ["42"]
    assert (batch.received, batch.ignored, batch.invalid) == (3, 2, 0)
    [(label, count)] = batch.ignored_types.items()
    assert count == 2 and label == hubspot_type(odd)


def hubspot_type(n: dict[str, object]) -> str:
    from middleware.crm.hubspot.notifications import type_label

    return type_label(n)


def test_ignored_types_are_counted_by_type() -> None:
    batch = hubspot.parse_batch(body_of(ODD_NOTIFICATIONS), trigger_stages=["demoscheduled"])
    assert batch.events == [] and batch.invalid == 0
    assert batch.ignored == len(ODD_NOTIFICATIONS)
    assert batch.ignored_types["deal.associationChange"] == 1
    assert batch.ignored_types["object.propertyChange/2-143967026:dealstage"] == 1
    assert batch.ignored_types["(no subscriptionType)"] == 1


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("objectId", "abc", "objectId"),
        ("objectId", 5.9, "objectId 5.9 is not a deal id"),
        ("objectId", " 12 ", "objectId"),
        ("objectId", "\u0663", "objectId"),
        ("objectId", True, "objectId"),
        ("objectId", 2**64, "objectId"),
        ("objectId", 0, "objectId"),
        ("objectId", None, "objectId (missing)"),
        ("portalId", "x", "portalId"),
        ("occurredAt", 253_402_300_800_000, "occurredAt"),
        ("occurredAt", "1795000000000", "occurredAt"),
        ("eventId", None, "eventId"),
        ("eventId", "9" * 41, "eventId"),
        ("propertyValue", "demoscheduled" * 50, "propertyValue"),
        # PostgreSQL's text refuses NUL; a lone surrogate has no UTF-8 (issue 13)
        ("eventId", "9\x00", "eventId"),
        ("eventId", "\ud800", "eventId"),
        ("propertyValue", "demo\x00scheduled", "propertyValue"),
        ("propertyValue", "\udfff", "propertyValue"),
    ],
)
def test_unusable_trigger_is_skipped_and_the_rest_stored(
    field: str, value: object, message: str
) -> None:
    bad = notification(7)
    if value is None:
        del bad[field]
    else:
        bad[field] = value
    # A value that long is acted on only if it is a trigger stage.
    stages = ["demoscheduled", str(value)] if field == "propertyValue" else ["demoscheduled"]
    batch = hubspot.parse_batch(
        body_of([notification(1), bad, notification(2)]), trigger_stages=stages
    )
    assert [e.deal_id for e in batch.events] == ["1", "2"]
    assert batch.invalid == 1
    assert batch.problems[0].startswith("notification 1 (deal.propertyChange:dealstage): ")
    assert message in batch.problems[0]


def test_non_objects_beside_objects_are_invalid_not_fatal() -> None:
    batch = hubspot.parse_batch(
        body_of([notification(3), 5, "x", None]), trigger_stages=["demoscheduled"]
    )
    assert [e.deal_id for e in batch.events] == ["3"]
    assert batch.problems == [
        "notification 1: not a JSON object",
        "notification 2: not a JSON object",
        "notification 3: not a JSON object",
    ]


def test_ids_sent_as_digit_strings_are_read_exactly() -> None:
    n = notification(12, objectId="12", portalId="62515")
    [event] = hubspot.parse_batch(body_of([n]), trigger_stages=["demoscheduled"]).events
    assert (event.account_id, event.deal_id) == ("62515", "12")
    as_numbers = notification(12, event_id=n["eventId"], occurred_at=n["occurredAt"])
    assert event.dedupe_key == hubspot.dedupe_key(as_numbers)


# ---- what the demo's lifecycle hears (CONTRACT.md, The demo's lifecycle) ----------------

WATCHED = ("demo_start_time", "hubspot_owner_id")


def _lifecycle(items: list[dict[str, object]], **kwargs: object) -> hubspot.ParsedBatch:
    options: dict[str, object] = {
        "trigger_stages": ["demoscheduled"],
        "cancel_stages": ["closedlost"],
        "watched_properties": WATCHED,
    }
    options.update(kwargs)
    return hubspot.parse_batch(body_of(items), **options)  # type: ignore[arg-type]


def test_start_owner_cancel_stage_and_deletion_are_stored() -> None:
    items = [
        notification(1, propertyName="demo_start_time", propertyValue="1795000000000"),
        notification(2, propertyName="hubspot_owner_id", propertyValue="102"),
        notification(3, "closedlost"),
        notification(
            4,
            subscriptionType="object.propertyChange",
            objectTypeId="0-3",
            propertyName="demo_start_time",
            propertyValue="",
        ),
        {
            "eventId": 9,
            "portalId": 62515,
            "occurredAt": 1_795_000_000_000,
            "subscriptionType": "deal.deletion",
            "objectId": 5,
            "changeFlag": "DELETED",
        },
        {
            "eventId": 10,
            "portalId": 62515,
            "occurredAt": 1_795_000_000_000,
            "subscriptionType": "object.deletion",
            "objectTypeId": "0-3",
            "objectId": 6,
        },
    ]
    batch = _lifecycle(items)
    assert [(e.deal_id, e.trigger) for e in batch.events] == [
        ("1", "demo_start_time"),
        ("2", "hubspot_owner_id"),
        ("3", "closedlost"),
        ("4", "demo_start_time"),
        ("5", "deleted"),
        ("6", "deleted"),
    ]
    assert batch.ignored == 0 and batch.invalid == 0
    assert len({e.dedupe_key for e in batch.events}) == 6


def test_other_changes_stay_ignored() -> None:
    items = [
        notification(1, "closedwon"),  # neither a trigger nor a cancel stage
        notification(2, propertyName="dealname", propertyValue="x"),
        {
            "eventId": 3,
            "portalId": 62515,
            "occurredAt": 1,
            "subscriptionType": "object.deletion",
            "objectTypeId": "0-1",
            "objectId": 7,
        },  # a contact's deletion
    ]
    batch = _lifecycle(items)
    assert batch.events == [] and batch.ignored == 3


def test_stages_given_by_label_store_every_stage_change() -> None:
    batch = _lifecycle(
        [notification(1, "closedwon"), notification(2, "3752325848")],
        trigger_stages=["Demo Scheduled"],
    )
    assert [e.trigger for e in batch.events] == ["closedwon", "3752325848"]


def test_a_deletion_redelivered_is_the_same_key() -> None:
    deletion = {
        "eventId": 9,
        "portalId": 62515,
        "occurredAt": 1_795_000_000_000,
        "subscriptionType": "deal.deletion",
        "objectId": 5,
    }
    first = _lifecycle([deletion]).events[0]
    again = _lifecycle([dict(deletion, attemptNumber=2)]).events[0]
    assert first.dedupe_key == again.dedupe_key
    assert first.dedupe_key != _lifecycle([notification(5, "closedlost")]).events[0].dedupe_key


@pytest.mark.parametrize("poison", ["\x00", "\ud800", "x" * 300])
def test_a_deletion_with_odd_unread_fields_gets_a_key_the_store_can_hold(poison: str) -> None:
    """A deletion's propertyName and propertyValue are not read, but they are in the key."""
    deletion = {
        "eventId": 9,
        "portalId": 62515,
        "occurredAt": 1_795_000_000_000,
        "subscriptionType": "deal.deletion",
        "objectId": 5,
        "propertyName": poison,
        "propertyValue": poison,
    }
    [event] = _lifecycle([deletion]).events
    assert len(event.dedupe_key) <= 255 and event.dedupe_key.isprintable()
    assert event.dedupe_key.startswith("hubspot:62515:5:")
    assert _lifecycle([dict(deletion, attemptNumber=3)]).events[0].dedupe_key == event.dedupe_key
    other = _lifecycle([dict(deletion, propertyValue=poison + "y")]).events[0]
    assert other.dedupe_key != event.dedupe_key
