"""GoogleCalendar against the Google emulator: real google-auth and google-api-python-client over
real sockets. Assertions are on what the emulator holds and logged, not on mocks."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError

from middleware.deadlines import Timeouts
from middleware.errors import ConfigError, PermanentError, RetryableError
from middleware.google import SCOPE, CalendarEvent, GoogleCalendar
from middleware.meetings import MeetingSpec, conference_request_id
from middleware.testing.google import GoogleEmulator
from tests.google.support import (
    REP,
    START,
    Sleeps,
    assert_no_secrets,
    ensure,
    event_id_for,
    make_spec,
    ops,
    rep_service,
    video_uri,
)

pytestmark = pytest.mark.timeout(30)


# ---- creating ------------------------------------------------------------------------------------


def test_creates_event_with_meet_link(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    spec = make_spec()
    event_id = event_id_for("1")

    meeting = ensure(cal, spec=spec, send_updates="externalOnly")

    stored = emu.event(REP, event_id)
    assert stored is not None
    assert meeting == CalendarEvent(
        event_id=event_id,
        calendar_id="primary",
        meet_url=video_uri(stored),
        html_link=stored["htmlLink"],
        status="confirmed",
    )
    assert meeting.meet_url.startswith("https://meet.google.com/")
    [insert] = emu.requests
    assert insert["op"] == "insert" and insert["subject"] == REP
    assert insert["query"]["conferenceDataVersion"] == "1"
    assert insert["query"]["sendUpdates"] == "externalOnly"
    assert insert["body"] == {
        "id": event_id,
        "summary": spec.title,
        "description": spec.description,
        "start": {"dateTime": "2030-01-07T15:00:00+00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2030-01-07T15:30:00+00:00", "timeZone": "Europe/Berlin"},
        "attendees": [{"email": "lead@acme.example"}, {"email": "cto@acme.example"}],
        "reminders": {"useDefault": True},
        "conferenceData": {
            "createRequest": {
                "requestId": conference_request_id(event_id),
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        },
    }
    assert stored["organizer"]["email"] == REP
    assert [a["email"] for a in stored["attendees"]] == list(spec.attendees)


def test_one_token_per_rep(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    for deal in "12345":
        ensure(cal, deal)
    assert [t["sub"] for t in emu.token_requests] == [REP]

    ensure(cal, "6", make_spec("other@example.com"))
    ensure(cal, "7", make_spec("Other@Example.com"))
    assert [t["sub"] for t in emu.token_requests] == [REP, "other@example.com"]
    assert all(t["ok"] and t["scope"] == SCOPE for t in emu.token_requests)
    assert len(emu.events(REP)) == 5 and len(emu.events("other@example.com")) == 2


def test_uses_the_keys_token_uri(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    ensure(cal)
    assert emu.token_requests[0]["iss"] == emu.client_email  # reached the emulator's /token


# ---- idempotency -----------------------------------------------------------------------------------


def test_repeat_makes_no_second_event_and_no_write(
    emu: GoogleEmulator, cal: GoogleCalendar
) -> None:
    first = ensure(cal)
    second = ensure(cal)
    third = ensure(cal, verify=True)

    assert first == second == third
    assert len(emu.events(REP)) == 1
    assert ops(emu) == ["insert", "insert", "get", "get"]
    assert [r["status"] for r in emu.requests] == [200, 409, 200, 200]


def test_lost_insert_response_then_retry(emu: GoogleEmulator) -> None:
    """Google made the event but the answer never came: the retry finds it, writes nothing."""
    cal = GoogleCalendar(
        emu.service_account_info(),
        api_base_url=emu.base_url,
        timeout=Timeouts(0.5, 0.5, 5.0),
        sleep=lambda s: None,
    )
    hold = emu.hold("insert")  # commits, then withholds the response
    try:
        with pytest.raises(RetryableError) as exc:
            ensure(cal)
        assert exc.value.reason == "google_timeout"
        assert isinstance(exc.value.__cause__, TimeoutError)
        assert emu.event(REP, event_id_for("1")) is not None
    finally:
        hold.release()

    meeting = ensure(cal)

    assert len(emu.events(REP)) == 1
    assert meeting.meet_url == video_uri(emu.events(REP)[0])
    assert "patch" not in ops(emu)


def test_changed_spec_is_patched_once(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    first = ensure(cal)
    moved = make_spec(start=START + timedelta(days=1), end=START + timedelta(days=1, minutes=45))

    second = ensure(cal, spec=moved, send_updates="none")

    [event] = emu.events(REP)
    assert event["start"] == {"dateTime": "2030-01-08T15:00:00+00:00", "timeZone": "Europe/Berlin"}
    assert event["end"]["dateTime"] == "2030-01-08T15:45:00+00:00"
    assert event["sequence"] == 1
    assert second.meet_url == first.meet_url == video_uri(event)  # same conference
    patches = [r for r in emu.requests if r["op"] == "patch"]
    assert len(patches) == 1
    assert patches[0]["body"] == {"start": moved_start(moved), "end": moved_end(moved)}
    assert patches[0]["query"]["conferenceDataVersion"] == "1"
    assert patches[0]["query"]["sendUpdates"] == "none"

    ensure(cal, spec=moved)  # now it matches: no further write
    assert ops(emu).count("patch") == 1


def moved_start(spec: MeetingSpec) -> dict:
    return {"dateTime": spec.start.isoformat(), "timeZone": spec.timezone}


def moved_end(spec: MeetingSpec) -> dict:
    return {"dateTime": spec.end.isoformat(), "timeZone": spec.timezone}


def test_same_instant_other_offset_and_case_is_no_change(
    emu: GoogleEmulator, cal: GoogleCalendar
) -> None:
    ensure(cal)
    berlin = START.astimezone(ZoneInfo("Europe/Berlin"))
    same = make_spec(
        start=berlin,
        end=berlin + timedelta(minutes=30),
        attendees=("CTO@acme.example", "lead@ACME.example"),
    )
    ensure(cal, spec=same)
    assert "patch" not in ops(emu)


def test_attendee_change_keeps_answers_of_those_who_stay(
    emu: GoogleEmulator, cal: GoogleCalendar
) -> None:
    ensure(cal)
    ensure(cal, spec=make_spec(attendees=("lead@acme.example", "cfo@acme.example")))
    [event] = emu.events(REP)
    assert [a["email"] for a in event["attendees"]] == ["lead@acme.example", "cfo@acme.example"]
    [patch] = [r for r in emu.requests if r["op"] == "patch"]
    assert set(patch["body"]) == {"attendees"}


def test_cancelled_event_is_restored(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    first = ensure(cal)
    event_id = event_id_for("1")
    rep_service(emu).events().delete(calendarId="primary", eventId=event_id).execute()
    assert emu.event(REP, event_id)["status"] == "cancelled"

    again = ensure(cal)

    [event] = emu.events(REP)
    assert event["status"] == "confirmed" and again.status == "confirmed"
    assert again.meet_url == first.meet_url
    [patch] = [r for r in emu.requests if r["op"] == "patch"]
    assert patch["body"]["status"] == "confirmed"
    assert patch["body"]["summary"] == "Demo: Acme"


def test_verify_inserts_when_the_event_is_gone(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    meeting = ensure(cal, verify=True)
    assert ops(emu) == ["get", "insert"]
    assert [r["status"] for r in emu.requests] == [404, 200]
    assert meeting.meet_url == video_uri(emu.events(REP)[0])


# ---- conferences ----------------------------------------------------------------------------------


def test_pending_conference_is_polled(
    emu: GoogleEmulator, cal: GoogleCalendar, sleeps: Sleeps
) -> None:
    emu.conference_pending_reads = 2

    meeting = ensure(cal)

    assert sleeps == [0.5, 1.0, 2.0]
    assert ops(emu) == ["insert", "get", "get", "get"]
    assert meeting.meet_url == video_uri(emu.events(REP)[0])


def test_conference_pending_too_long(
    emu: GoogleEmulator, cal: GoogleCalendar, sleeps: Sleeps
) -> None:
    emu.conference_pending_reads = 100

    with pytest.raises(RetryableError) as exc:
        ensure(cal)

    assert exc.value.reason == "conference_pending"
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert ops(emu) == ["insert"] + ["get"] * 5
    assert len(emu.events(REP)) == 1


def test_failed_conference_is_asked_for_again(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    emu.conference_fail = True
    with pytest.raises(RetryableError) as exc:
        ensure(cal)
    assert exc.value.reason == "conference_failed"
    assert ops(emu) == ["insert", "patch"]  # asked once more in the same call
    request_ids = [r["body"]["conferenceData"]["createRequest"]["requestId"] for r in emu.requests]
    assert len(set(request_ids)) == 2

    emu.conference_fail = False  # Google recovers; the pipeline's retry comes
    meeting = ensure(cal)

    [event] = emu.events(REP)
    assert meeting.meet_url == video_uri(event)
    assert event["conferenceData"]["createRequest"]["status"]["statusCode"] == "success"
    new_id = event["conferenceData"]["createRequest"]["requestId"]
    assert new_id not in request_ids  # a fresh id: Google ignores a repeated one
    assert new_id.startswith(conference_request_id(event_id_for("1")) + "-")
    assert ops(emu)[2:] == ["insert", "get", "patch"]


# ---- errors: token endpoint -----------------------------------------------------------------------


def test_delegation_refused(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    emu.refuse_subject(REP)
    with pytest.raises(PermanentError) as exc:
        ensure(cal)
    err = exc.value
    assert err.reason == "google_delegation_denied"
    assert isinstance(err.__cause__, RefreshError)
    assert emu.client_id in err.message and SCOPE in err.message
    assert emu.client_email in err.message and REP in err.message
    assert "\n" not in err.message
    assert_no_secrets(err.message, emu)
    assert emu.requests == []  # never reached Calendar


def test_unknown_user(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    emu.refuse_subject(REP, "invalid_grant")
    with pytest.raises(PermanentError) as exc:
        ensure(cal)
    assert exc.value.reason == "google_user_invalid"
    assert "Invalid email or User ID" in exc.value.message
    assert_no_secrets(exc.value.message, emu)


def test_key_refused(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    emu.inject_fault("token", 400, reason="invalid_grant", message="Invalid JWT Signature.")
    with pytest.raises(PermanentError) as exc:
        ensure(cal)
    assert exc.value.reason == "google_key_invalid"
    assert "GOOGLE_SERVICE_ACCOUNT_FILE" in exc.value.message


def test_failed_token_is_not_cached(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    emu.refuse_subject(REP)
    with pytest.raises(PermanentError):
        ensure(cal)
    emu.allow_subject(REP)  # the admin fixed the delegation
    assert ensure(cal).meet_url
    assert [t["ok"] for t in emu.token_requests] == [False, True]


# ---- errors: Calendar API -------------------------------------------------------------------------


def test_server_error_is_retryable(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    emu.inject_fault("insert", 503)
    with pytest.raises(RetryableError) as exc:
        ensure(cal)
    assert exc.value.reason == "google_unavailable"
    assert isinstance(exc.value.__cause__, HttpError)
    assert emu.events(REP) == [] and ops(emu) == ["insert"]  # single-shot: no library retry


def test_rate_limit_honours_retry_after(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    emu.inject_fault("insert", 429, domain="usageLimits", headers={"Retry-After": "7"})
    with pytest.raises(RetryableError) as exc:
        ensure(cal)
    assert (exc.value.reason, exc.value.retry_after) == ("google_rate_limited", 7.0)


@pytest.mark.parametrize("reason", ["rateLimitExceeded", "userRateLimitExceeded"])
def test_rate_limit_403_is_retryable(emu: GoogleEmulator, cal: GoogleCalendar, reason: str) -> None:
    emu.inject_fault("insert", 403, reason=reason, domain="usageLimits")
    with pytest.raises(RetryableError) as exc:
        ensure(cal)
    assert exc.value.reason == "google_rate_limited"


def test_quota_exceeded_parks_the_rep(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    emu.usage_limited.add(REP)
    with pytest.raises(RetryableError) as exc:
        ensure(cal)
    assert exc.value.reason == "google_quota_exceeded"
    assert exc.value.park_scope == "google:rep@example.com"
    assert exc.value.retry_after == 30 * 60  # the default retry.quota_park_minutes
    assert "rep@example.com" in exc.value.message and "30 min" in exc.value.message


def test_quota_park_comes_from_the_constructor_and_a_longer_retry_after_wins(
    emu: GoogleEmulator,
) -> None:
    cal = GoogleCalendar(
        emu.service_account_info(), api_base_url=emu.base_url, quota_park_seconds=120
    )
    emu.usage_limited.add(REP)
    with pytest.raises(RetryableError) as exc:
        ensure(cal)
    assert (exc.value.retry_after, exc.value.park_scope) == (120, "google:rep@example.com")
    emu.usage_limited.clear()
    emu.inject_fault(
        "insert",
        403,
        reason="quotaExceeded",
        message="Calendar usage limits exceeded.",
        domain="usageLimits",
        headers={"Retry-After": "7200"},
    )
    with pytest.raises(RetryableError) as exc:
        ensure(cal)
    assert exc.value.retry_after == 7200


def test_daily_limit_parks_every_rep(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    emu.inject_fault(
        "insert",
        403,
        reason="dailyLimitExceeded",
        message="Daily Limit Exceeded",
        domain="usageLimits",
    )
    with pytest.raises(RetryableError) as exc:
        ensure(cal)
    assert (exc.value.reason, exc.value.park_scope) == ("google_quota_exceeded", "google")
    assert exc.value.retry_after == 30 * 60


def test_rate_limits_are_not_parked(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    emu.inject_fault("insert", 403, reason="userRateLimitExceeded", domain="usageLimits")
    with pytest.raises(RetryableError) as exc:
        ensure(cal)
    assert exc.value.park_scope is None


@pytest.mark.parametrize(
    ("status", "reason", "message", "expected"),
    [
        (400, "invalid", "Invalid conference type value.", "google_conference_type_invalid"),
        (
            403,
            "forbiddenForServiceAccounts",
            "Service accounts cannot invite attendees without Domain-Wide Delegation of Authority.",
            "google_attendees_forbidden",
        ),
        (403, "forbiddenForNonOrganizer", "Shared properties ...", "google_forbidden"),
        (404, "notFound", "Not Found", "google_calendar_not_found"),
        (401, "authError", "Invalid Credentials", "google_auth_failed"),
        (400, "invalid", "Invalid resource id value.", "google_bad_request"),
    ],
)
def test_permanent_api_errors(
    emu: GoogleEmulator,
    cal: GoogleCalendar,
    status: int,
    reason: str,
    message: str,
    expected: str,
) -> None:
    emu.inject_fault("insert", status, reason=reason, message=message, times=3)
    with pytest.raises(PermanentError) as exc:
        ensure(cal)
    assert exc.value.reason == expected
    assert isinstance(exc.value.__cause__, HttpError)
    assert "\n" not in exc.value.message
    assert emu.events(REP) == []


def test_conference_type_message_names_the_fix(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    emu.inject_fault("insert", 400, reason="invalid", message="Invalid conference type value.")
    with pytest.raises(PermanentError) as exc:
        ensure(cal)
    assert "Google Meet must be enabled for rep@example.com's organizational unit" in str(exc.value)


def test_bad_request_quotes_google(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    emu.inject_fault("insert", 400, reason="invalid", message="Invalid resource id value.")
    with pytest.raises(PermanentError) as exc:
        ensure(cal)
    assert exc.value.message == (
        "Google refused the event (400 invalid): Invalid resource id value."
    )


def test_unknown_calendar(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    with pytest.raises(PermanentError) as exc:
        cal.ensure_event(
            organizer=REP,
            calendar_id="team@example.com",
            event_id=event_id_for("1"),
            spec=make_spec(),
            send_updates="all",
            request_id="meet-1",
        )
    assert exc.value.reason == "google_calendar_not_found"
    assert "'team@example.com'" in exc.value.message and "meeting.calendar_id" in exc.value.message


def test_timeout_is_retryable(emu: GoogleEmulator) -> None:
    cal = GoogleCalendar(
        emu.service_account_info(),
        api_base_url=emu.base_url,
        timeout=Timeouts(0.3, 0.3, 5.0),
        sleep=lambda s: None,
    )
    emu.inject_delay("insert", 0.8)
    with pytest.raises(RetryableError) as exc:
        ensure(cal)
    assert exc.value.reason == "google_timeout"
    assert exc.value.__cause__ is not None


def test_unreachable_is_retryable(emu: GoogleEmulator) -> None:
    info = emu.service_account_info()
    # The token comes from the emulator (the key's token_uri); nothing listens on the API port.
    cal = GoogleCalendar(info, api_base_url="http://127.0.0.1:9/", sleep=lambda s: None)
    with pytest.raises(RetryableError) as exc:
        ensure(cal)
    assert exc.value.reason == "google_unreachable"
    assert isinstance(exc.value.__cause__, OSError)
    assert emu.token_requests and emu.token_requests[0]["ok"]


# ---- concurrency ------------------------------------------------------------------------------------


def test_concurrent_calls_make_each_event_once(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    reps = ["a@example.com", "b@example.com", "c@example.com"]
    jobs = [(f"{rep}-{n}", rep) for rep in reps for n in range(6)]
    jobs = [job for job in jobs for _ in range(2)]  # each event asked for twice, side by side

    def run(job: tuple[str, str]) -> tuple[str, str]:
        deal, rep = job
        return deal, ensure(cal, deal, make_spec(rep)).meet_url

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, jobs))

    urls: dict[str, set[str]] = {}
    for deal, url in results:
        assert url.startswith("https://meet.google.com/")
        urls.setdefault(deal, set()).add(url)
    assert all(len(u) == 1 for u in urls.values())  # both calls saw the same conference
    for rep in reps:
        events = emu.events(rep)
        assert sorted(e["id"] for e in events) == sorted(
            event_id_for(f"{rep}-{n}") for n in range(6)
        )
        assert all(e["status"] == "confirmed" and e["hangoutLink"] for e in events)
    inserts = Counter(r["body"]["id"] for r in emu.requests if r["op"] == "insert")
    assert set(inserts.values()) == {2}
    assert sum(r["status"] == 200 for r in emu.requests if r["op"] == "insert") == 18
    assert "patch" not in ops(emu)
    assert sorted(t["sub"] for t in emu.token_requests) == reps  # one token per rep


# ---- configuration ----------------------------------------------------------------------------------


def test_exposes_key_identity(emu: GoogleEmulator, cal: GoogleCalendar) -> None:
    assert cal.client_id == emu.client_id
    assert cal.client_email == emu.client_email


@pytest.mark.parametrize(
    "change",
    [
        {"private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"},
        {"token_uri": None},
        {"client_email": None},
        {"type": "authorized_user"},
    ],
)
def test_broken_key_is_config_error(emu: GoogleEmulator, change: dict) -> None:
    info = {**emu.service_account_info(), **change}
    info = {k: v for k, v in info.items() if v is not None}
    with pytest.raises(ConfigError) as exc:
        GoogleCalendar(info)
    message = str(exc.value)
    assert message.startswith("GOOGLE_SERVICE_ACCOUNT_FILE:") and "\n" not in message
    assert_no_secrets(message, emu)


def test_key_with_literal_backslash_n_loads(emu: GoogleEmulator) -> None:
    info = emu.service_account_info()
    info["private_key"] = info["private_key"].replace("\n", "\\n")
    cal = GoogleCalendar(info, api_base_url=emu.base_url, sleep=lambda s: None)
    assert ensure(cal).meet_url


def test_from_key_file(emu: GoogleEmulator, tmp_path: Path) -> None:
    path = emu.write_key_file(tmp_path / "sa.json")
    cal = GoogleCalendar.from_key_file(path, api_base_url=emu.base_url, sleep=lambda s: None)
    assert ensure(cal).meet_url

    with pytest.raises(ConfigError, match="cannot read"):
        GoogleCalendar.from_key_file(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not a JSON"):
        GoogleCalendar.from_key_file(str(tmp_path / "bad.json"))
    (tmp_path / "list.json").write_text(json.dumps([1]))
    with pytest.raises(ConfigError, match="not a JSON object"):
        GoogleCalendar.from_key_file(str(tmp_path / "list.json"))


def test_calendar_time_zone_is_read_once_and_a_refusal_is_no_zone(
    emu: GoogleEmulator, cal: GoogleCalendar
) -> None:
    emu.time_zones[REP] = "Asia/Tokyo"
    assert cal.calendar_time_zone(REP, "primary") == "Asia/Tokyo"
    assert cal.calendar_time_zone(REP, "primary") == "Asia/Tokyo"
    assert ops(emu).count("list") == 1
    assert cal.calendar_time_zone(REP, "someone-else@example.com") is None  # 404: not the rep's


def test_cancel_is_idempotent_and_restore_brings_it_back(
    emu: GoogleEmulator, cal: GoogleCalendar
) -> None:
    meeting = ensure(cal)
    for _ in range(2):  # the second delete is Google's 410: done already
        cal.cancel_event(
            organizer=REP, calendar_id="primary", event_id=meeting.event_id, send_updates="all"
        )
    assert emu.event(REP, meeting.event_id)["status"] == "cancelled"
    restored = cal.restore_event(
        organizer=REP,
        calendar_id="primary",
        event_id=meeting.event_id,
        spec=make_spec(),
        send_updates="all",
        request_id=conference_request_id(meeting.event_id),
    )
    assert restored.event_id == meeting.event_id and "status" in restored.changed
    assert emu.event(REP, meeting.event_id)["status"] == "confirmed"


def test_requests_of_two_reps_in_one_thread_each_carry_their_own_token(
    emu: GoogleEmulator, cal: GoogleCalendar
) -> None:
    """The Calendar resources are built once per thread and shared between calls: a request
    made through an earlier call's handle still goes out as that call's rep."""
    from middleware.google.credentials import Call

    other = "other.rep@seller.example"
    client = cal._client
    as_rep = client.service(REP, Call(REP, "primary")).events()
    as_other = client.service(other, Call(other, "primary")).events()
    client.execute(as_rep.list(calendarId="primary"), Call(REP, "primary"), "list")
    client.execute(as_other.list(calendarId="primary"), Call(other, "primary"), "list")
    lists = [r for r in emu.requests if r["op"] == "list"]
    assert [r["subject"] for r in lists] == [REP, other]
