"""Google's transport (``middleware.google.transport``) through GoogleCalendar over real sockets:
a total deadline per request (token endpoint and Calendar) however the answer trickles in,
resets, and answers that are not Google's JSON."""

from __future__ import annotations

import threading
import time

import pytest

from middleware.deadlines import DeadlineExceeded, Timeouts
from middleware.errors import MiddlewareError, RetryableError
from middleware.google import GoogleCalendar
from middleware.google.transport import NotJsonAnswer, is_json_object
from middleware.testing.google import GoogleEmulator
from tests.google.support import REP, ensure, event_id_for, ops

pytestmark = pytest.mark.timeout(30)

#: A socket timeout the trickles never trip (one byte every 0.05 s), a short deadline.
DEADLINE = Timeouts(connect=5.0, read=5.0, total=0.6)


@pytest.fixture
def cal(emu: GoogleEmulator) -> GoogleCalendar:
    return GoogleCalendar(
        emu.service_account_info(),
        api_base_url=emu.base_url,
        timeout=DEADLINE,
        sleep=lambda _: None,
    )


def fails(reason: str, call, *args) -> MiddlewareError:
    with pytest.raises(RetryableError) as info:
        call(*args)
    assert info.value.reason == reason, info.value.message
    return info.value


@pytest.mark.parametrize("op", ["token", "insert"])
@pytest.mark.parametrize("body_only", [False, True], ids=["whole-answer", "body-only"])
def test_a_trickled_answer_ends_at_the_deadline(
    emu: GoogleEmulator, cal: GoogleCalendar, op: str, body_only: bool
) -> None:
    emu.inject_trickle(op, 0.05, body_only=body_only)
    started = time.monotonic()
    error = fails("google_timeout", ensure, cal)
    elapsed = time.monotonic() - started
    assert 0.55 <= elapsed < 2.0, elapsed  # the socket timeout is 5 s: the deadline ended it
    assert error.message == (
        f"Google did not finish {op} for {REP} in time (deadline 0.6 s (connect 5 s, read 5 s))"
    )
    assert isinstance(error.__cause__, DeadlineExceeded) or isinstance(
        error.__cause__.__cause__, DeadlineExceeded
    )
    assert ensure(cal).meet_url  # the next call goes through, and finds or makes one event
    assert len(emu.events(REP)) == 1


def test_a_slow_but_timely_answer_is_not_cut(emu: GoogleEmulator) -> None:
    patient = GoogleCalendar(
        emu.service_account_info(),
        api_base_url=emu.base_url,
        timeout=Timeouts(connect=5.0, read=5.0, total=20.0),
        sleep=lambda _: None,
    )
    emu.inject_trickle("insert", 0.001)
    assert ensure(patient).meet_url
    assert ops(emu) == ["insert"]


def test_a_reset_is_unreachable_and_the_retry_finds_the_event(
    emu: GoogleEmulator, cal: GoogleCalendar
) -> None:
    emu.inject_reset("insert", after_processing=True)  # made, answer lost
    error = fails("google_unreachable", ensure, cal)
    assert "reset by peer" in error.message
    assert ensure(cal).event_id == event_id_for("1")
    assert len(emu.events(REP)) == 1 and ops(emu) == ["insert", "insert", "get"]


@pytest.mark.parametrize("status", [200, 201, 400, 401, 404, 409])
def test_a_calendar_answer_that_is_not_json_is_a_bad_response(
    emu: GoogleEmulator, cal: GoogleCalendar, status: int
) -> None:
    emu.inject_garbage("insert", status=status, after_processing=True)
    error = fails("google_bad_response", ensure, cal)
    assert error.message.startswith(
        f"Google Calendar (insert) answered {status} for {REP} with a body that is not JSON "
        "('<html><head><title>502 Bad Gateway"
    )
    ensure(cal)  # retried: 409, read, nothing else to do
    assert len(emu.events(REP)) == 1


def test_a_proxy_404_page_is_not_a_missing_event(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    ensure(cal)
    emu.inject_garbage("get", status=404)
    # verify=True reads first: a 404 from Google means "insert it", a page from a proxy not.
    error = fails("google_bad_response", lambda: ensure(cal, verify=True))
    assert "get" in error.message and ops(emu) == ["insert", "get"]


def test_a_token_answer_that_is_not_json_is_a_bad_response(
    emu: GoogleEmulator, cal: GoogleCalendar
) -> None:
    emu.inject_garbage("token", body=b"<html>sign in to the hotel wifi</html>")
    error = fails("google_bad_response", ensure, cal)
    assert error.message.startswith("Google's token endpoint answered 200 for rep@example.com")
    emu.inject_garbage("token", status=503, body=b"down")
    fails("google_token_unavailable", ensure, cal)
    assert ensure(cal).meet_url


@pytest.mark.parametrize(
    ("status", "reason"), [(503, "google_unavailable"), (429, "google_rate_limited")]
)
def test_statuses_that_speak_for_themselves_keep_their_reason(
    emu: GoogleEmulator, cal: GoogleCalendar, status: int, reason: str
) -> None:
    emu.inject_garbage("insert", status=status)
    fails(reason, ensure, cal)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", True),
        (b"  \n", True),
        (b'{"id": "x"}', True),
        (b"[1, 2]", False),
        (b'"text"', False),
        (b"<html></html>", False),
        (b"\xff\xfe", False),
        (b'{"cut": ', False),
    ],
)
def test_only_json_objects_or_nothing_are_google_answers(content: bytes, expected: bool) -> None:
    assert is_json_object(content) is expected


def test_not_json_answer_keeps_status_and_retry_after() -> None:
    answer = NotJsonAnswer(503, b"x", "7")
    assert (answer.status, answer.content, answer.retry_after) == (503, b"x", "7")


# ---- one kept-alive connection per thread ----------------------------------------------------


def test_a_threads_calls_share_one_kept_alive_connection(
    emu: GoogleEmulator, cal: GoogleCalendar
) -> None:
    emu.keep_alive = True  # as Google's front ends
    for deal in ("1", "2", "3"):
        assert ensure(cal, deal).meet_url
    # three inserts over the connection the first one opened (the token, read once, has
    # its own)
    assert ops(emu) == ["insert"] * 3 and len(emu.token_requests) == 1
    assert emu.connections_accepted == 2


def test_a_cut_call_leaves_its_connection_behind(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    emu.keep_alive = True
    assert ensure(cal, "1").meet_url
    emu.inject_trickle("insert", 0.05)
    fails("google_timeout", ensure, cal, "2")
    before = emu.connections_accepted
    assert ensure(cal, "2").meet_url  # on a fresh connection, not the one shut down
    assert emu.connections_accepted == before + 1


def test_each_thread_has_a_connection_of_its_own(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    emu.keep_alive = True
    ensure(cal, "0")  # the token, once
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda d=d: results.append(ensure(cal, d).meet_url))
        for d in ("1", "2", "3", "4")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(results)
    assert emu.connections_accepted == 6  # the token's, the first call's and one a thread
