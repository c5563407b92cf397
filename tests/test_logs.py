"""Structured logs: JSON lines with the bound ids, the text form, and secrets scrubbed."""

from __future__ import annotations

import io
import json
import logging
import threading
from typing import Any

import pytest

from middleware import logs
from middleware.errors import ConfigError
from middleware.settings import load_settings

PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"


@pytest.fixture
def capture(make_settings: Any) -> Any:
    """Configure logging like a process does; yield the stream and restore the root logger."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, threading.excepthook)

    def _configure(**env: str) -> io.StringIO:
        stream = io.StringIO()
        logs.configure(make_settings(**env), stream=stream)
        return stream

    yield _configure
    for handler in list(root.handlers):
        if getattr(handler, "_middleware", False):
            root.removeHandler(handler)
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    threading.excepthook = saved[2]
    logging.captureWarnings(False)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_bound_ids_and_extras(capture: Any) -> None:
    stream = capture(LOG_FORMAT="json")
    log = logging.getLogger("middleware.test")
    with logs.bound(event_id=7, provider="hubspot", deal_id="42", attempt=2, ignored=None):
        log.info("processing %s", "now", extra={"action": "booked"})
        with logs.bound(request_id="r-1"):
            log.warning("inner")
    log.info("outside")
    first, inner, outside = lines(stream)
    assert first["message"] == "processing now" and first["level"] == "INFO"
    assert first["logger"] == "middleware.test" and first["time"].endswith("Z")
    assert isinstance(first["pid"], int)
    assert {k: first[k] for k in ("event_id", "provider", "deal_id", "attempt", "action")} == {
        "event_id": 7,
        "provider": "hubspot",
        "deal_id": "42",
        "attempt": 2,
        "action": "booked",
    }
    assert "ignored" not in first
    assert inner["request_id"] == "r-1" and inner["deal_id"] == "42"
    assert "deal_id" not in outside and "request_id" not in outside


def test_an_exception_is_one_line_with_its_traceback(capture: Any) -> None:
    stream = capture()  # json is the default
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("middleware.test").exception("failed")
    [line] = lines(stream)
    assert line["message"] == "failed" and "RuntimeError: boom" in line["exception"]


def test_with_claim_binds_the_event_of_the_call(capture: Any) -> None:
    stream = capture()
    claim = type(
        "C",
        (),
        {"event_id": 9, "provider": "pipedrive", "account_id": "1", "deal_id": "5", "attempt": 3},
    )()

    class Runner:
        @logs.with_claim
        def run(self, claim: Any) -> str:
            logging.getLogger("middleware.test").info("inside")
            return "done"

    assert Runner().run(claim) == "done"
    [line] = lines(stream)
    assert (line["event_id"], line["provider"], line["deal_id"], line["attempt"]) == (
        9,
        "pipedrive",
        "5",
        3,
    )
    assert logs.current() == {}


def test_text_form_for_a_terminal_appends_only_the_ids(capture: Any) -> None:
    stream = capture(LOG_FORMAT="text")
    with logs.bound(event_id=3, deal_id="8"):
        logging.getLogger("middleware.test").info("hello", extra={"duration_ms": 5})
    line = stream.getvalue().strip()
    assert " INFO middleware.test: hello [event_id=3 deal_id=8]" in line
    assert "duration_ms" not in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_known_secrets_and_credential_shapes_are_scrubbed(capture: Any) -> None:
    stream = capture(
        HUBSPOT_ACCESS_TOKEN="pat-na1-secret-token-value",
        PIPEDRIVE_WEBHOOK_USER="hook",
        PIPEDRIVE_WEBHOOK_PASSWORD="pw-very-secret",
    )
    log = logging.getLogger("middleware.test")
    log.info("token pat-na1-secret-token-value in a message", extra={"echo": "pw-very-secret"})
    log.info("Authorization: Bearer abcdefghijklmnop and Basic aG9vazpwdy12ZXJ5")
    log.info("a key: %s", PEM)
    log.info("google said ya29.a0AfH6SMBx-token", extra={"nested": {"k": ["ya29.xyz123"]}})
    text = stream.getvalue()
    for secret in ("pat-na1-secret-token-value", "pw-very-secret", "abcdefghijklmnop", "MIIEvQ"):
        assert secret not in text
    assert "ya29." not in text
    assert all(isinstance(line, dict) for line in lines(stream))  # still JSON
    assert "[redacted]" in text and "[private key]" in text and "[google token]" in text


def test_secrets_of_settings_include_the_database_password(make_settings: Any) -> None:
    settings = make_settings(
        DATABASE_URL="postgresql+psycopg://mw:db-pass-123@db/mw", ADMIN_TOKEN="a" * 40
    )
    found = logs.secrets_of(settings)
    assert "db-pass-123" in found and "a" * 40 in found


def test_a_thread_that_dies_is_logged_as_json(capture: Any) -> None:
    stream = capture()

    def die() -> None:
        raise ValueError("thread fault")

    thread = threading.Thread(target=die, name="doomed")
    thread.start()
    thread.join()
    [line] = lines(stream)
    assert line["level"] == "CRITICAL" and "doomed" in line["message"]
    assert "ValueError: thread fault" in line["exception"]


def test_log_format_setting(make_env: Any) -> None:
    assert load_settings(make_env()).log_format == "json"
    assert load_settings(make_env(LOG_FORMAT="TEXT")).log_format == "text"
    with pytest.raises(ConfigError, match="LOG_FORMAT: must be json"):
        load_settings(make_env(LOG_FORMAT="xml"))
    with pytest.raises(ConfigError, match="METRICS_PORT"):
        load_settings(make_env(METRICS_PORT="0"))
