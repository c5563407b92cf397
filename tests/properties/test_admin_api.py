"""Properties of the admin API (``/admin/*``, CONTRACT.md's endpoint list).

Without the token every call is refused and nothing changes. With it, odd ids (past 2^63,
``٣``, ``²``, NUL, very long), odd queries and bodies (nested, wrong types, text the store
cannot hold, times at the ends of the calendar) are answered 4xx with a JSON error, never a
500; what is answered 2xx matches what was asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from middleware.model import STATUSES, NewEvent
from tests.builders import ADMIN_TOKEN
from tests.properties.checks import assert_json_answer, strict_id_of
from tests.properties.conftest import Service
from tests.properties.strategies import (
    dumps,
    edge_times,
    encoded,
    header_values,
    ids,
    json_values,
    odd_bodies,
    odd_text,
)

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
MAX_ID = 2**63 - 1
SEEDED = 6


@pytest.fixture(scope="module")
def admin(service: Service) -> Iterator[Service]:
    """The service with a few events: pending, failed, of both CRMs."""
    service.empty()
    new = [
        NewEvent(provider, "62515", str(deal), f"{provider}-{deal}", "demoscheduled", None, {})
        for provider in ("hubspot", "pipedrive")
        for deal in (1, 2, 3)
    ]
    service.store.add_events(new)
    for claim in service.store.claim("w", SEEDED, 60):
        if claim.deal_id == "2":
            service.store.finish(claim, "failed", reason="google_delegation_denied", message="no")
        else:
            service.store.release(claim)
    yield service


def url_text(value: str) -> str:
    """``value`` percent-encoded as a client sends it (UTF-8; a lone surrogate as its
    surrogate-escaped bytes, which are not UTF-8: the server sees U+FFFD)."""
    return quote(value.encode("utf-8", errors="surrogatepass"), safe="")


def whole_number(value: str) -> int | None:
    """A page size: ASCII digits (at most 19), at least 1; capped at 500 by the API."""
    digits = value.isascii() and value.isdigit() and len(value) <= 19
    return int(value) if digits and int(value) >= 1 else None


def as_served(value: str) -> str:
    """What the server reads from :func:`url_text`: bytes that are not UTF-8 become U+FFFD."""
    return value.encode("utf-8", errors="surrogatepass").decode("utf-8", errors="replace")


# -- without the token ----------------------------------------------------------------------

CALLS = [
    ("GET", "/admin/events"),
    ("GET", "/admin/events/1"),
    ("POST", "/admin/events/1/replay"),
    ("POST", "/admin/events/replay"),
    ("GET", "/admin/audit"),
    ("GET", "/admin/stats"),
]


@st.composite
def wrong_tokens(draw: Any) -> dict[str, str]:
    """Headers without ``Bearer $ADMIN_TOKEN``: none, garbage, or a near miss."""
    kind = draw(st.sampled_from(["none", "garbage", "near", "basic"]))
    if kind == "none":
        return {}
    if kind == "garbage":
        return {"Authorization": draw(header_values)}
    if kind == "basic":
        return {"Authorization": f"Basic {ADMIN_TOKEN}"}
    near = draw(
        st.sampled_from(
            [ADMIN_TOKEN[:-1], ADMIN_TOKEN + "x", ADMIN_TOKEN.upper(), "", ADMIN_TOKEN[1:]]
        )
    )
    return {"Authorization": f"Bearer {near}" if near else "Bearer"}


@given(call=st.sampled_from(CALLS), headers=wrong_tokens(), body=odd_bodies)
def test_without_the_token_every_call_is_401_and_changes_nothing(
    admin: Service, call: tuple[str, str], headers: dict[str, str], body: bytes
) -> None:
    before = (admin.store.status_counts(), admin.audit_count())
    method, path = call
    response = admin.client.open(path, method=method, data=body, headers=headers)
    assert_json_answer(response, {401})
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (admin.store.status_counts(), admin.audit_count()) == before


# -- event ids in the path --------------------------------------------------------------------

segments = st.one_of(
    st.integers(1, SEEDED + 2).map(str),
    st.sampled_from(
        [str(MAX_ID), str(2**63), str(2**64), "9" * 5000, "0", "-1", "00001", "1.0", "1e3"]
    ),
    st.sampled_from(["٣", "²", "１", "1\x00", "\x00", "%00", "1 ", " 1", "a" * 5000]),
    odd_text,
).filter(lambda s: "/" not in s and s not in ("", ".", "..", "replay"))  # another route


@given(segment=segments, replay=st.booleans(), force=st.booleans())
def test_event_ids_in_the_path_are_strict(
    admin: Service, segment: str, replay: bool, force: bool
) -> None:
    path = f"/admin/events/{url_text(segment)}"
    if replay:
        response = admin.client.post(path + "/replay", json={"force": force}, headers=AUTH)
        allowed = {202, 404, 409}
    else:
        response = admin.client.get(path, headers=AUTH)
        allowed = {200, 404}
    event_id = strict_id_of(segment)
    answer = assert_json_answer(response, allowed if event_id else {404})
    if response.status_code < 300:
        assert answer["id"] == event_id


# -- queries ----------------------------------------------------------------------------------

QUERY_KEYS = [
    "status",
    "provider",
    "deal_id",
    "limit",
    "cursor",
    "created_after",
    "created_before",
    "reason",
    "nonsense",
]
query_values = st.one_of(
    odd_text,
    ids.map(str),
    edge_times,
    st.sampled_from(
        ["failed", "pending,failed", " failed , retrying ", "hubspot", "2", "500", "9" * 19]
    ),
)


times = st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
#: What an operator would ask, per query parameter (the odd values come beside them).
GOOD_QUERY = {
    "status": st.lists(st.sampled_from(STATUSES), min_size=1, max_size=3).map(",".join),
    "provider": st.sampled_from(["hubspot", "pipedrive", "other"]),
    "deal_id": st.sampled_from(["1", "2", "3", "4"]),
    "limit": st.integers(1, 600).map(str),
    "cursor": st.integers(1, 10).map(str),
    "created_after": times,
    "created_before": times,
    "reason": st.sampled_from(["google_delegation_denied", "crm_timeout"]),
    "nonsense": st.just("1"),
}


def query_params(keys: list[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Up to four distinct parameters, each an operator's value or an odd one."""
    pair = st.sampled_from(keys).flatmap(
        lambda k: st.tuples(st.just(k), st.one_of(GOOD_QUERY[k], GOOD_QUERY[k], query_values))
    )
    return st.lists(pair, max_size=4, unique_by=lambda p: p[0])


def expected_list_query(params: list[tuple[str, str]]) -> dict[str, Any] | None:
    """What ``GET /admin/events`` must make of a query, judged on its own; None: a 400.

    Only what can be judged without parsing times: the statuses, the strict paging numbers,
    the text filters (bounded, and without NUL, which no store can compare with).
    """
    params = [(k, as_served(v)) for k, v in params]
    keys = {k for k, _ in params}
    if "nonsense" in keys:
        return None
    last = dict(params)
    statuses = [s.strip() for k, v in params if k == "status" for s in v.split(",") if s.strip()]
    if any(s not in STATUSES for s in statuses):
        return None
    limit = whole_number(last["limit"]) if "limit" in last else 50
    cursor = strict_id_of(last["cursor"]) if "cursor" in last else MAX_ID
    if limit is None or cursor is None:
        return None
    for name, most in (("provider", 32), ("deal_id", 64), ("reason", 64)):
        if name in last and not (0 < len(last[name]) <= most and "\x00" not in last[name]):
            return None
    return {**last, "statuses": statuses, "limit": min(limit, 500)}


@given(params=query_params(QUERY_KEYS).filter(lambda ps: all(k != "status" or v for k, v in ps)))
def test_event_queries_answer_what_was_asked_or_400(
    admin: Service, params: list[tuple[str, str]]
) -> None:
    query = "&".join(f"{k}={url_text(v)}" for k, v in params)
    response = admin.client.get(f"/admin/events?{query}", headers=AUTH)
    expected = expected_list_query(params)
    if expected is None:
        assert_json_answer(response, {400})
        return
    has_times = any(k.startswith("created_") for k, _ in params)
    answer = assert_json_answer(response, {200, 400} if has_times else {200})
    if response.status_code == 400:
        return
    assert len(answer["events"]) <= expected["limit"]
    assert answer["next_cursor"] is None or strict_id_of(answer["next_cursor"])
    for event in answer["events"]:
        assert not expected["statuses"] or event["status"] in expected["statuses"]
        for name in ("provider", "deal_id"):
            assert name not in expected or event[name] == expected[name]


@given(params=query_params(["limit", "cursor", "nonsense"]))
def test_audit_paging_is_strict(admin: Service, params: list[tuple[str, str]]) -> None:
    query = "&".join(f"{k}={url_text(v)}" for k, v in params)
    response = admin.client.get(f"/admin/audit?{query}", headers=AUTH)
    last = dict(params)
    limit = whole_number(last.get("limit", "50"))
    good = limit is not None and ("cursor" not in last or strict_id_of(last["cursor"]))
    answer = assert_json_answer(response, {200} if good else {400})
    if limit is not None and good:
        assert len(answer["actions"]) <= min(limit, 500)


# -- bodies -----------------------------------------------------------------------------------

filter_values = st.one_of(
    json_values,
    odd_text,
    edge_times,
    st.sampled_from(["failed", ["failed", "pending"], "failed,retrying", True, "hubspot"]),
)
GOOD_FILTER = {
    "status": st.one_of(
        GOOD_QUERY["status"], st.lists(st.sampled_from(STATUSES), min_size=1, max_size=3)
    ),
    "provider": GOOD_QUERY["provider"],
    "deal_id": GOOD_QUERY["deal_id"],
    "created_after": times,
    "created_before": times,
    "reason": GOOD_QUERY["reason"],
    "dry_run": st.booleans(),
    "force": st.booleans(),
    "limit": st.integers(1, 10),  # not a field of the filter: a 400
}
filter_bodies = st.lists(
    st.sampled_from(sorted(GOOD_FILTER)).flatmap(
        lambda k: st.tuples(st.just(k), st.one_of(GOOD_FILTER[k], GOOD_FILTER[k], filter_values))
    ),
    max_size=4,
).map(dict)


@given(
    sent=st.one_of(filter_bodies, filter_bodies, json_values),
    data=st.data(),
    dry_run=st.booleans(),
)
def test_bulk_replay_bodies_answer_a_count_or_400(
    admin: Service, sent: Any, data: st.DataObject, dry_run: bool
) -> None:
    if isinstance(sent, dict) and dry_run:
        sent = {**sent, "dry_run": True}
    body = data.draw(st.one_of(st.just(dumps(sent)), encoded(sent), odd_bodies), label="body")
    audited = admin.audit_count()
    response = admin.client.post(
        "/admin/events/replay", data=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    answer = assert_json_answer(response, {200, 202, 400})
    if response.status_code == 400:
        assert admin.audit_count() == audited
        return
    assert isinstance(answer["count"], int) and answer["count"] >= 0
    if response.status_code == 200:
        assert isinstance(answer["sample"], list)


@given(body=st.one_of(odd_bodies, json_values.map(dumps)))
def test_single_replay_bodies_answer_202_409_or_400(admin: Service, body: bytes) -> None:
    response = admin.client.post(
        "/admin/events/1/replay", data=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert_json_answer(response, {202, 400, 409})


@given(path=st.sampled_from(["/admin/stats", "/admin/events", "/admin/audit"]), body=odd_bodies)
def test_writes_to_read_only_endpoints_are_405(admin: Service, path: str, body: bytes) -> None:
    response = admin.client.put(path, data=body, headers=AUTH)
    assert_json_answer(response, {405})
