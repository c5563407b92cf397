"""Properties of ``POST /webhooks/pipedrive`` (HTTP basic auth, v2 bodies).

Without the right credentials nothing is read and nothing stored (401 with a JSON error and a
Basic challenge); with them, odd bodies are answered 200 or 400 without a 500, and an event
stored names exactly the deal and company the webhook sent, as strict integers.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.properties.checks import assert_json_answer, assert_refused, decoded, strict_id_of
from tests.properties.conftest import (
    CANCEL_STAGE,
    PER_FIELD,
    PIPEDRIVE_PASSWORD,
    PIPEDRIVE_USER,
    START_FIELD,
    TRIGGER_STAGE,
    Service,
    basic_auth,
)
from tests.properties.strategies import (
    dumps,
    edge_times,
    encoded,
    good_ids,
    header_values,
    ids,
    json_values,
    mutated,
    odd_bodies,
    odd_numbers,
    odd_text,
    one_field_odd,
)

URL = "/webhooks/pipedrive"
MAX_EPOCH_SECONDS = 253_402_300_800

stages = st.sampled_from([TRIGGER_STAGE, CANCEL_STAGE, 2, str(TRIGGER_STAGE)])
timestamps = st.one_of(
    st.sampled_from(
        ["2022-11-24T15:11:55.724Z", "2026-12-01T10:00:00+01:00", "2026-12-01T10:00:00"]
    ),
    st.integers(1, MAX_EPOCH_SECONDS - 1),
    st.integers(1, MAX_EPOCH_SECONDS - 1).map(str),
    st.integers(MAX_EPOCH_SECONDS, MAX_EPOCH_SECONDS * 1000 - 1),  # milliseconds
    st.floats(1, MAX_EPOCH_SECONDS - 1),
)


@st.composite
def real_webhooks(draw: Any) -> dict[str, Any]:
    """A v2 deal webhook as Pipedrive sends one (string or numeric meta)."""
    deal, company = draw(good_ids), draw(good_ids)
    action = draw(st.sampled_from(["create", "change", "change", "delete", "added", "updated"]))
    meta = {
        "action": action,
        "entity": draw(st.sampled_from(["deal", "deal", "deal", "person", "activity"])),
        "entity_id": draw(st.sampled_from([deal, str(deal)])),
        "company_id": draw(st.sampled_from([company, str(company)])),
        "id": draw(st.one_of(st.uuids().map(str), st.integers(1, 10**12), odd_text)),
        "timestamp": draw(timestamps),
        "version": "2.0",
        "attempt": draw(st.integers(1, 4)),
    }
    data = None if action == "delete" else {"id": deal, "stage_id": draw(stages), "owner_id": 7}
    previous = draw(
        st.one_of(
            st.none(),
            st.fixed_dictionaries({"stage_id": stages}),
            st.fixed_dictionaries({"owner_id": st.integers(1, 99)}),
            st.fixed_dictionaries(
                {"custom_fields": st.fixed_dictionaries({START_FIELD: json_values})}
            ),
        )
    )
    return {"meta": meta, "data": data, "previous": previous}


@st.composite
def webhooks(draw: Any) -> dict[str, Any]:
    """A real webhook with odd values in its envelope or its meta."""
    item = draw(real_webhooks())
    meta_odd = {
        "entity_id": ids,
        "company_id": ids,
        "id": st.one_of(ids, odd_text),
        "timestamp": st.one_of(edge_times, edge_times, odd_numbers, odd_text, json_values),
        "action": st.one_of(odd_text, json_values),
        "entity": st.one_of(odd_text, json_values),
        "v": st.sampled_from([1, 2, "1"]),
    }
    item["meta"] = draw(mutated(st.just(item["meta"]), meta_odd, max_changes=2))
    odd = {
        "meta": json_values,
        "data": st.one_of(json_values, st.fixed_dictionaries({"id": ids, "stage_id": ids})),
        "previous": st.one_of(json_values, st.fixed_dictionaries({"id": ids, "stage_id": ids})),
        "current": json_values,
        "v": st.sampled_from([1, 2]),
    }
    return draw(mutated(st.just(item), odd, max_changes=2))


def refused_as_a_whole(sent: Any) -> bool:
    """A body the endpoint answers 400: not a JSON object, a v1 envelope, or no meta."""
    if not isinstance(sent, dict):
        return True
    meta = sent.get("meta")
    v1 = "current" in sent or sent.get("v") == 1 or (isinstance(meta, dict) and meta.get("v") == 1)
    return v1 or not isinstance(meta, dict)


def post(service: Service, body: bytes, headers: dict[str, str]) -> Any:
    return service.client.post(URL, data=body, headers=headers)


@st.composite
def acted_on(draw: Any) -> dict[str, Any]:
    """A deal webhook the service stores: a stage change into a trigger or cancel stage, an
    owner or start change in a trigger stage, a creation in one, or a deletion."""
    item = draw(real_webhooks())
    deal = item["meta"]["entity_id"]
    item["meta"].update(entity="deal", id=draw(st.uuids().map(str)))
    kind = draw(st.sampled_from(["stage", "owner", "start", "create", "delete"]))
    stage = (
        draw(st.sampled_from([TRIGGER_STAGE, CANCEL_STAGE])) if kind == "stage" else TRIGGER_STAGE
    )
    item["meta"]["action"] = {"create": "create", "delete": "delete"}.get(kind, "change")
    item["data"] = None if kind == "delete" else {"id": deal, "stage_id": stage, "owner_id": 7}
    item["previous"] = {
        "stage": {"stage_id": 2},
        "owner": {"owner_id": 8},
        "start": {"custom_fields": {START_FIELD: None}},
    }.get(kind)
    return item


ODD_FIELDS = {
    "meta.entity_id": ids,
    "meta.company_id": ids,
    "meta.id": st.one_of(ids, odd_text),
    "meta.timestamp": st.one_of(edge_times, odd_numbers, odd_text, json_values),
    "meta.action": st.one_of(odd_text, json_values),
    "meta.entity": st.one_of(odd_text, json_values),
    "meta.v": st.sampled_from([1, 2, "1"]),
    "meta": json_values,
    "data": json_values,
    "data.id": ids,
    "data.stage_id": ids,
    "previous": json_values,
    "previous.id": ids,
    "previous.stage_id": json_values,
    "previous.custom_fields": json_values,
    "current": json_values,
}


def check_authenticated(service: Service, sent: Any, data: st.DataObject) -> None:
    """Answered 400 exactly when the body as a whole is not a v2 webhook, else 200; what is
    stored names the deal and company sent, as strict integers."""
    body = data.draw(st.one_of(st.just(dumps(sent)), encoded(sent)), label="body")
    headers = {"Authorization": basic_auth(), "Content-Type": "application/json"}
    service.empty()
    before = service.count()
    response = post(service, body, headers)
    sent = decoded(body)
    if refused_as_a_whole(sent):
        assert_json_answer(response, {400})
        assert service.count() == before
        return
    answer = assert_json_answer(response, {200})
    assert answer["received"] == 1
    assert answer["stored"] + answer["duplicates"] + answer["ignored"] + answer["invalid"] == 1
    assert service.count() - before == answer["stored"]
    meta = sent["meta"]
    for row in service.rows(answer["event_ids"]):
        assert meta.get("entity") == "deal"
        named = strict_id_of(meta.get("entity_id"))
        if named is None:  # the deal's own id, in the data (or the previous values)
            holders = [sent.get("data"), sent.get("previous")]
            candidates = {strict_id_of(h.get("id")) for h in holders if isinstance(h, dict)}
            assert int(row.deal_id) in candidates - {None}
        else:
            assert row.deal_id == str(named), (meta.get("entity_id"), row.deal_id)
        assert row.account_id == str(strict_id_of(meta.get("company_id")))
        assert row.provider == "pipedrive"


@pytest.mark.parametrize("path", sorted(ODD_FIELDS))
def test_one_odd_field_in_a_webhook_that_is_acted_on(service: Service, path: str) -> None:
    @PER_FIELD
    @given(sent=one_field_odd(acted_on(), path, ODD_FIELDS[path]), data=st.data())
    def judged(sent: Any, data: st.DataObject) -> None:
        check_authenticated(service, sent, data)

    judged()


@given(sent=st.one_of(webhooks(), webhooks(), json_values), data=st.data())
def test_authenticated_webhooks_store_exactly_the_deal_sent(
    service: Service, sent: Any, data: st.DataObject
) -> None:
    check_authenticated(service, sent, data)


@st.composite
def wrong_credentials(draw: Any) -> dict[str, str]:
    """An Authorization header that is not ``Basic base64(user:password)`` of the settings."""
    kind = draw(st.sampled_from(["none", "garbage", "near", "random", "bearer"]))
    if kind == "none":
        return {}
    if kind == "garbage":
        return {"Authorization": draw(header_values)}
    if kind == "bearer":
        return {"Authorization": f"Bearer {PIPEDRIVE_PASSWORD}"}
    if kind == "near":
        user, password = draw(
            st.sampled_from(
                [
                    (PIPEDRIVE_USER, ""),
                    (PIPEDRIVE_USER, PIPEDRIVE_PASSWORD + " "),
                    (PIPEDRIVE_USER.upper(), PIPEDRIVE_PASSWORD),
                    ("", PIPEDRIVE_PASSWORD),
                    (PIPEDRIVE_USER + ":" + PIPEDRIVE_PASSWORD, ""),
                    (PIPEDRIVE_PASSWORD, PIPEDRIVE_USER),
                ]
            )
        )
        return {"Authorization": basic_auth(user, password)}
    raw = draw(st.binary(max_size=40))
    token = base64.b64encode(raw).decode()
    return {"Authorization": draw(st.sampled_from(["Basic ", "basic ", "Basic  "])) + token}


@given(
    sent=st.one_of(webhooks(), json_values),
    body=st.one_of(st.none(), odd_bodies),
    headers=wrong_credentials(),
)
def test_wrong_credentials_are_401_and_store_nothing(
    sqlite_service: Service, sent: Any, body: bytes | None, headers: dict[str, str]
) -> None:
    before = sqlite_service.count()
    response = post(sqlite_service, dumps(sent) if body is None else body, headers)
    assert_json_answer(response, {401})
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert sqlite_service.count() == before


@given(body=odd_bodies)
def test_authenticated_garbage_is_400_or_200_and_never_a_500(service: Service, body: bytes) -> None:
    service.empty()
    before = service.count()
    response = post(service, body, {"Authorization": basic_auth()})
    answer = assert_json_answer(response, {200, 400})
    assert service.count() - before == (
        answer.get("stored", 0) if response.status_code == 200 else 0
    )


@given(method=st.sampled_from(["GET", "PUT", "PATCH", "DELETE"]), body=odd_bodies)
def test_other_methods_are_405_json(sqlite_service: Service, method: str, body: bytes) -> None:
    response = sqlite_service.client.open(
        URL, method=method, data=body, headers={"Authorization": basic_auth()}
    )
    assert_refused(response)
    assert response.status_code == 405
