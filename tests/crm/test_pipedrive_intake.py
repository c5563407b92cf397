"""Pipedrive's webhook intake, sans I/O: basic auth, v1 refused, v2 shapes (official example
with string meta, Prismatic sample with numbers: reference §2.4 and §C), dedupe, stages."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from middleware.crm.base import WebhookRequest
from middleware.crm.pipedrive import PipedriveIntake
from middleware.errors import PayloadError, SignatureError, WebhookError

START = "b" * 40
TIME = "c" * 40
INTAKE = PipedriveIntake(
    user="pd-hook",
    password="s3cret:with:colons",
    trigger_stage_ids=(3,),
    cancel_stage_ids=(5,),
    start_fields=(START, TIME),
)


def auth(user: str = "pd-hook", password: str = "s3cret:with:colons") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def webhook(
    *,
    action: str = "change",
    stage: int | None = 3,
    previous: dict[str, Any] | None = None,
    numeric: bool = False,
    entity: str = "deal",
    event_id: Any = "df47d877-b58c-4886-91cd-1aa83e1d7366",
    **meta: Any,
) -> dict[str, Any]:
    data = None if action == "delete" else {"id": 8, "stage_id": stage, "owner_id": 12}
    base = {
        "action": action,
        "entity": entity,
        "entity_id": 8 if numeric else "8",
        "company_id": 8087566 if numeric else "8087566",
        "id": event_id,
        "timestamp": 1727447128 if numeric else "2022-11-24T15:11:55.724Z",
        "version": "2.0",
        "attempt": 1,
    }
    return {"meta": {**base, **meta}, "data": data, "previous": previous}


def parse(body: Any, headers: dict[str, str] | None = None, intake: PipedriveIntake = INTAKE):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = WebhookRequest(
        headers=auth() if headers is None else headers,
        body=raw,
        method="POST",
        uri="https://svc.example/webhooks/pipedrive",
        now=datetime(2026, 12, 1, tzinfo=UTC),
    )
    return intake.parse(request)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer x"},
        {"Authorization": "Basic !!!"},
        auth(password="wrong"),
        auth(user="other"),
        {"Authorization": "Basic " + base64.b64encode(b"pd-hook").decode()},
    ],
)
def test_missing_or_wrong_credentials_are_401_with_a_basic_challenge(headers) -> None:
    with pytest.raises(SignatureError) as caught:
        parse(webhook(previous={"stage_id": 2}), headers)
    assert caught.value.status == 401
    assert caught.value.headers["WWW-Authenticate"].startswith("Basic ")
    assert "s3cret" not in caught.value.message


def test_the_password_may_contain_colons_and_the_header_name_any_case() -> None:
    lower = {"authorization": auth()["Authorization"]}
    assert len(parse(webhook(previous={"stage_id": 2}), lower).events) == 1


def test_disabled_without_credentials_is_503() -> None:
    off = PipedriveIntake(user=None, password=None, trigger_stage_ids=(3,))
    with pytest.raises(WebhookError) as caught:
        parse(webhook(), {}, off)
    assert caught.value.status == 503 and "PIPEDRIVE_WEBHOOK_USER" in caught.value.message


def test_a_v1_payload_is_refused_with_the_fix() -> None:
    v1 = {
        "v": 1,
        "meta": {"v": 1, "action": "updated", "object": "deal", "id": 8},
        "current": {"id": 8, "stage_id": 3},
        "previous": {"id": 8, "stage_id": 2},
        "event": "updated.deal",
    }
    with pytest.raises(PayloadError) as caught:
        parse(v1)
    assert caught.value.status == 400 and "version to 2.0" in caught.value.message


@pytest.mark.parametrize("body", [b"not json", b"[1]", b'{"data": {}}'])
def test_a_body_that_is_not_a_v2_webhook_is_400(body: bytes) -> None:
    with pytest.raises(PayloadError):
        parse(body)


@pytest.mark.parametrize("numeric", [False, True])
def test_a_stage_change_into_a_trigger_stage_is_stored(numeric: bool) -> None:
    batch = parse(
        webhook(previous={"stage_id": 2}, numeric=numeric, event_id=77 if numeric else "e1")
    )
    [event] = batch.events
    assert (event.provider, event.account_id, event.deal_id) == ("pipedrive", "8087566", "8")
    assert event.trigger == "stage:3"
    assert event.dedupe_key == f"pipedrive:8087566:{77 if numeric else 'e1'}"
    expected = (
        datetime.fromtimestamp(1727447128, UTC)
        if numeric
        else datetime(2022, 11, 24, 15, 11, 55, 724000, tzinfo=UTC)
    )
    assert event.occurred_at == expected


def test_a_redelivery_has_the_same_key_and_another_event_another() -> None:
    first = parse(webhook(previous={"stage_id": 2}, attempt=1)).events[0]
    again = parse(webhook(previous={"stage_id": 2}, attempt=3)).events[0]
    other = parse(webhook(previous={"stage_id": 2}, event_id="another")).events[0]
    assert first.dedupe_key == again.dedupe_key != other.dedupe_key


def test_cancel_stage_owner_and_start_fields_are_stored_in_their_cases() -> None:
    assert parse(webhook(stage=5, previous={"stage_id": 3})).events[0].trigger == "stage:5"
    assert parse(webhook(previous={"owner_id": 11})).events[0].trigger == "owner_id"
    start = parse(webhook(previous={"custom_fields": {TIME: None}}))
    assert start.events[0].trigger == TIME
    created = parse(webhook(action="create", previous=None))
    assert created.events[0].trigger == "stage:3"


@pytest.mark.parametrize(
    "body, label",
    [
        (webhook(stage=2, previous={"stage_id": 1}), "deal.change"),  # not a trigger stage
        (webhook(stage=2, previous={"owner_id": 1}), "deal.change"),  # owner, other stage
        (webhook(previous={"title": "x"}), "deal.change"),  # a rename in the trigger stage
        (webhook(previous={"custom_fields": {"d" * 40: None}}), "deal.change"),
        (webhook(action="create", stage=1), "deal.create"),
        (webhook(entity="person", previous={"name": "x"}), "person.change"),
        (webhook(action="merge"), "deal.merge"),
    ],
)
def test_everything_else_authentic_is_ignored_and_counted(body: dict[str, Any], label: str) -> None:
    batch = parse(body)
    assert batch.events == [] and batch.ignored_types == {label: 1} and batch.received == 1


@pytest.mark.parametrize("action", ["delete", "deleted"])
def test_a_deletion_is_stored_with_the_deal_from_meta(action: str) -> None:
    body = webhook(action=action, previous={"id": 8, "stage_id": 1})
    [event] = parse(body).events
    assert (event.deal_id, event.trigger) == ("8", "deleted")


@pytest.mark.parametrize(
    "meta, problem",
    [
        ({"entity_id": "8.5"}, "entity_id"),
        ({"company_id": True}, "company_id"),
        ({"id": ""}, "meta.id"),
        ({"id": 1.5}, "meta.id"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": True}, "timestamp"),
        ({"timestamp": -5}, "timestamp"),
        # past year 9999 once in UTC, or past float's range (issue 13): not a 500
        ({"timestamp": "9999-12-31T23:59:59-01:00"}, "timestamp"),
        ({"timestamp": 10**400}, "timestamp"),
    ],
)
def test_unusable_ids_or_times_are_counted_invalid_not_refused(meta: dict, problem: str) -> None:
    body = webhook(previous={"stage_id": 2})
    body["meta"].update(meta)
    if meta.get("entity_id"):
        body["data"]["id"] = "x"
    batch = parse(body)
    assert batch.events == [] and batch.invalid == 1 and problem in batch.problems[0]


def test_timestamps_in_milliseconds_and_digit_strings_are_read() -> None:
    ms = parse(webhook(previous={"stage_id": 2}, timestamp=1727447128000)).events[0]
    digits = parse(webhook(previous={"stage_id": 2}, timestamp="1727447128")).events[0]
    assert ms.occurred_at == digits.occurred_at == datetime.fromtimestamp(1727447128, UTC)


def test_basic_auth_headers_are_what_check_basic_auth_accepts() -> None:
    from middleware.crm.pipedrive import basic_auth_headers, check_basic_auth

    headers = basic_auth_headers("pd-hook", "s3cret:with:colons-ü")
    assert headers["Authorization"].startswith("Basic ")
    check_basic_auth(headers, user="pd-hook", password="s3cret:with:colons-ü")
    with pytest.raises(SignatureError):
        check_basic_auth(headers, user="pd-hook", password="s3cret:with:colons")
