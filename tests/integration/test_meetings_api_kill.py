"""A worker process SIGKILLed while Google holds a meeting's insert: the meeting still ends
with one Calendar event and one Meet link (the real worker process, as the Procfile starts it,
on SQLite and PostgreSQL)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.integration.conftest import Stack
from tests.integration.test_worker_process import wait_for, worker_env
from tests.meetings_api.support import ORGANIZER, bearer, create, make_key, meeting_body
from tests.procs import Proc

pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize("recurrence", [None, "FREQ=WEEKLY;COUNT=3"])
def test_worker_killed_mid_create_makes_one_event(
    stack: Stack,
    stack_env: dict[str, str],
    database_url: str,
    tmp_path: Path,
    recurrence: str | None,
) -> None:
    key = make_key(stack.client)
    made = create(stack.client, key, meeting_body(recurrence=recurrence)).json
    env = worker_env(stack_env, database_url)
    hold = stack.google.hold("insert", commit_first=True)
    first = Proc("worker", env, cwd=tmp_path, log=tmp_path / "worker1.log")
    try:
        assert hold.started.wait(30), first.output()
        first.kill(signal.SIGKILL)  # dies with Google's insert done but unanswered
        first.popen.wait(10)
    finally:
        hold.release()
        first.stop()
    assert len(stack.google.events(ORGANIZER)) == 1
    second = Proc("worker", env, cwd=tmp_path, log=tmp_path / "worker2.log")

    def meeting() -> dict:
        response = stack.client.get(f"/api/meetings/{made['id']}", headers=bearer(key))
        return dict(response.json)

    try:
        wait_for(lambda: meeting()["status"] == "succeeded", 60, "takeover")
    finally:
        assert second.stop() == 0, second.output()
    [event] = stack.google.events(ORGANIZER)
    assert event["status"] == "confirmed"
    shown = meeting()
    assert shown["calendar_event_id"] == event["id"]
    assert shown["meet_url"] == event["hangoutLink"]
    detail = stack.store.get_event(shown["event_id"])
    assert detail is not None
    assert [a.outcome for a in detail.attempt_history] == ["abandoned", "succeeded"]
    inserts = [r for r in stack.google.requests if r["op"] == "insert"]
    assert len(inserts) == 2 and inserts[1]["status"] == 409  # the retry found the first
