"""GooglePreflight (``middleware check``) against the Google emulator over real sockets, and the
pure reading of a calendar's conference properties."""

from __future__ import annotations

from pathlib import Path

import pytest

from middleware.deadlines import Timeouts
from middleware.google import CHECK_SCOPE, SCOPE
from middleware.google.preflight import GooglePreflight, conference_problems
from middleware.testing.google import GoogleEmulator
from tests.google.support import REP

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def pre(emu: GoogleEmulator) -> GooglePreflight:
    return GooglePreflight(emu.service_account_info(), api_base_url=emu.base_url)


# ---- check_access -----------------------------------------------------------------------------------


def test_check_access_reports_refused_delegation(emu: GoogleEmulator, pre: GooglePreflight) -> None:
    emu.refuse_subject(REP)
    [problem] = pre.check_access(REP)
    assert emu.client_id in problem and SCOPE in problem


def test_check_access_reports_unknown_calendar(emu: GoogleEmulator, pre: GooglePreflight) -> None:
    [problem] = pre.check_access(REP, "team@example.com")
    assert "'team@example.com'" in problem and "not found" in problem


def test_check_access_with_events_scope_only_probes_meet(
    emu: GoogleEmulator, pre: GooglePreflight
) -> None:
    # The emulator grants calendar.events only (like a minimal delegation grant): the Meet check
    # is a probe event, created with a Meet link and deleted, nobody notified.
    assert pre.check_access(REP) == []
    ops = [(r["op"], r["status"]) for r in emu.requests]
    assert ops == [("list", 200), ("insert", 200), ("delete", 204)]
    assert emu.requests[1]["query"]["sendUpdates"] == "none"
    [probe] = emu.events(REP)
    assert probe["status"] == "cancelled" and probe["start"]["dateTime"].startswith("2000-01-01")
    emu.meet_disabled.add(REP.lower())
    [problem] = pre.check_access(REP)
    assert "Meet" in problem and REP in problem


def test_check_access_with_the_read_scope_reads_the_calendar(
    emu: GoogleEmulator, pre: GooglePreflight
) -> None:
    emu.allowed_scopes = set(emu.allowed_scopes) | {CHECK_SCOPE}
    assert pre.check_access(REP) == []
    assert [r["op"] for r in emu.requests] == ["list", "calendar_get"]
    emu.meet_disabled.add(REP.lower())
    [problem] = pre.check_access(REP)
    assert "does not allow Google Meet" in problem


def test_conference_problems() -> None:
    allowed = {"conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}}
    assert conference_problems(allowed, organizer=REP, calendar_id="primary") == []
    [problem] = conference_problems(
        {"conferenceProperties": {"allowedConferenceSolutionTypes": ["eventHangout"]}},
        organizer=REP,
        calendar_id="primary",
    )
    assert "does not allow Google Meet" in problem and "eventHangout" in problem
    assert conference_problems({}, organizer=REP, calendar_id="primary")


def test_from_key_file_and_identity(emu: GoogleEmulator, tmp_path: Path) -> None:
    path = emu.write_key_file(tmp_path / "sa.json")
    pre = GooglePreflight.from_key_file(
        path, api_base_url=emu.base_url, timeout=Timeouts(5.0, 5.0, 10.0)
    )
    assert (pre.client_email, pre.client_id) == (emu.client_email, emu.client_id)
    assert pre.check_access(REP) == []
    # The read scope is refused by a SCOPE-only grant: the Meet probe event answered instead.
    assert [(t["scope"], t["ok"]) for t in emu.token_requests] == [
        (SCOPE, True),
        (CHECK_SCOPE, False),
    ]
    assert [r["op"] for r in emu.requests] == ["list", "insert", "delete"]
