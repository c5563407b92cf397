"""The Google emulator's random-failure mode (``fail_randomly``), through the real google-auth /
google-api-python-client stack over real sockets."""

from __future__ import annotations

import contextlib
from collections import Counter

import pytest
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError

from middleware.testing.google import GoogleEmulator
from tests.testing.google_client import REP, event_body, insert, make_service, new_id

pytestmark = pytest.mark.timeout(60)


def _statuses(emu: GoogleEmulator, svc, calls: int) -> list[int]:
    """Call events.list ``calls`` times; the status each call was answered."""
    for _ in range(calls):
        with contextlib.suppress(HttpError):
            svc.events().list(calendarId="primary").execute()
    return [r["status"] for r in emu.requests if r["op"] == "list"]


def test_a_share_of_calls_fails_with_the_given_statuses_and_is_counted(emu, svc):
    svc.events().list(calendarId="primary").execute()  # the token, before the faults
    emu.reset_log()
    emu.fail_randomly(0.2, statuses=(500, 503, 429), seed=7)
    statuses = _statuses(emu, svc, 400)
    failed = Counter(s for s in statuses if s != 200)
    assert set(failed) <= {500, 503, 429} and len(failed) == 3
    assert 40 <= sum(failed.values()) <= 120  # 20 % of 400 is 80; binomial sd is 8
    assert emu.random_faults_injected == failed
    assert all(r.get("random_fault") == "before" for r in emu.requests if r["status"] != 200)


def test_the_same_seed_draws_the_same_faults(emu, svc):
    svc.events().list(calendarId="primary").execute()
    runs = []
    for _ in range(2):
        emu.reset_log()
        emu.fail_randomly(0.3, seed="same")
        runs.append(_statuses(emu, svc, 60))
    emu.reset_log()
    emu.fail_randomly(0.3, seed="other")
    other = _statuses(emu, svc, 60)
    assert runs[0] == runs[1] and 200 in runs[0] and any(s != 200 for s in runs[0])
    assert other != runs[0]


def test_a_fault_before_processing_changes_nothing(emu, svc):
    body = event_body(new_id())
    emu.fail_randomly(1.0, statuses=(503,), ops=("insert",))
    with pytest.raises(HttpError) as exc:
        insert(svc, body)
    assert exc.value.resp.status == 503
    assert exc.value.error_details[0]["reason"] == "backendError"
    assert emu.events(REP) == []
    svc.events().list(calendarId="primary").execute()  # other ops are untouched


def test_a_fault_after_processing_makes_the_change_and_loses_the_answer(emu, svc):
    body = event_body(new_id())
    emu.fail_randomly(1.0, statuses=(500,), ops=("insert",), after_processing=1.0)
    with pytest.raises(HttpError) as exc:
        insert(svc, body)
    assert exc.value.resp.status == 500
    assert emu.event(REP, body["id"]) is not None  # made, though the caller was told 500
    entry = emu.requests[-1]
    assert entry["random_fault"] == "after" and entry["applied_status"] == 200
    emu.fail_randomly(0)
    with pytest.raises(HttpError) as again:
        insert(svc, body)  # the retry of a caller who believed the 500
    assert again.value.resp.status == 409
    assert len(emu.events(REP)) == 1


def test_a_429_is_never_carried_out(emu, svc):
    emu.fail_randomly(1.0, statuses=(429,), ops=("insert",), after_processing=1.0)
    with pytest.raises(HttpError) as exc:
        insert(svc, event_body(new_id()))
    assert exc.value.resp.status == 429
    assert emu.events(REP) == [] and emu.requests[-1]["random_fault"] == "before"


def test_the_token_endpoint_fails_too_unless_left_out(emu):
    emu.fail_randomly(1.0, statuses=(503,))
    with pytest.raises(RefreshError):
        insert(make_service(emu), event_body(new_id()))
    assert emu.token_requests and all(r["status"] == 503 for r in emu.token_requests)
    emu.fail_randomly(1.0, statuses=(503,), ops=("insert", "patch"))
    svc = make_service(emu)
    svc.events().list(calendarId="primary").execute()  # a token, then a list: both go through
    with pytest.raises(HttpError):
        insert(svc, event_body(new_id()))


def test_scheduled_faults_go_first_and_clear_faults_stops_it(emu, svc):
    emu.fail_randomly(1.0, statuses=(500,), ops=("list",))
    emu.inject_fault("list", 404)
    with pytest.raises(HttpError) as exc:
        svc.events().list(calendarId="primary").execute()
    assert exc.value.resp.status == 404
    with pytest.raises(HttpError) as exc:
        svc.events().list(calendarId="primary").execute()
    assert exc.value.resp.status == 500
    assert emu.random_faults_injected == Counter({500: 1})
    emu.clear_faults()
    svc.events().list(calendarId="primary").execute()
    assert emu.random_faults_injected == Counter()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": 1.5},
        {"rate": -0.1},
        {"rate": 0.2, "after_processing": 2.0},
        {"rate": 0.2, "statuses": ()},
        {"rate": 0.2, "statuses": (200,)},
        {"rate": 0.2, "ops": ("nope",)},
    ],
)
def test_bad_arguments_are_refused(emu, kwargs):
    with pytest.raises(ValueError):
        emu.fail_randomly(**kwargs)
