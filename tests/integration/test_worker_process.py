"""The worker process started as the Procfile says: crash recovery and clean shutdown."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from middleware.database import make_engine
from middleware.store import Store
from tests.builders import notification, shown
from tests.integration.conftest import REP, Stack
from tests.procs import Proc


def wait_for(predicate: Any, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def worker_env(stack_env: dict[str, str], database_url: str) -> dict[str, str]:
    return {
        **stack_env,
        "DATABASE_URL": database_url,
        "WORKER_LEASE_SECONDS": "5",
        "WORKER_CONCURRENCY": "2",
    }


def test_worker_killed_while_google_holds_the_call(
    stack: Stack, stack_env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    stack.deal("601")
    stack.deliver(notification(601))
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
    second = Proc("worker", env, cwd=tmp_path, log=tmp_path / "worker2.log")
    try:
        wait_for(lambda: stack.events()[0]["status"] == "succeeded", 60, "takeover")
    finally:
        assert second.stop() == 0, second.output()
    [event] = stack.events()
    assert len(stack.google.events(REP)) == 1
    assert event["calendar_event_id"] == stack.google.events(REP)[0]["id"]
    assert len(stack.hubspot.patches) == 1
    detail = shown(stack.store, event["id"])
    assert detail is not None
    assert [a["outcome"] for a in detail["attempt_history"]] == ["abandoned", "succeeded"]


def test_sigterm_finishes_and_exits_cleanly(
    stack: Stack, stack_env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    stack.deal("602")
    stack.deliver(notification(602))
    stack.google.inject_delay("insert", 1.0)
    proc = Proc(
        "worker", worker_env(stack_env, database_url), cwd=tmp_path, log=tmp_path / "worker.log"
    )
    wait_for(lambda: stack.events()[0]["status"] == "processing", 30, "claim")
    proc.kill(signal.SIGTERM)
    assert proc.popen.wait(30) == 0, proc.output()
    proc.stop()
    [event] = stack.events()
    assert event["status"] == "succeeded"  # it finished the event it held before exiting
    assert "Traceback" not in proc.output()


def test_worker_refuses_a_broken_key_in_one_line(stack_env: dict[str, str], tmp_path: Path) -> None:
    key = tmp_path / "broken.json"
    key.write_text(
        '{"type": "service_account", "client_email": "a@b", "private_key": "nope", "token_uri": "http://x"}'
    )
    proc = Proc(
        "worker",
        {**stack_env, "GOOGLE_SERVICE_ACCOUNT_FILE": str(key)},
        cwd=tmp_path,
        log=tmp_path / "w.log",
    )
    assert proc.popen.wait(30) == 2
    proc.stop()
    output = proc.output().strip().splitlines()
    assert (
        output
        and output[-1].startswith("error: configuration:")
        and "Traceback" not in proc.output()
    )


def test_worker_starts_on_an_empty_database(stack_env: dict[str, str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fresh/new.db"
    proc = Proc("worker", {**stack_env, "DATABASE_URL": url}, cwd=tmp_path, log=tmp_path / "w.log")
    store = Store(make_engine(url))
    try:
        wait_for(lambda: Path(tmp_path / "fresh/new.db").exists() and _ready(store), 30, "schema")
    finally:
        assert proc.stop() == 0, proc.output()


def _ready(store: Store) -> bool:
    try:
        store.count_unfinished()
        return True
    except Exception:
        return False
