"""The web worker's pure parts: gunicorn's refusals as JSON, and the limits it applies."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from gunicorn.http import errors

from middleware.web.framing import Limits
from middleware.web.guard import gunicorn_limits, gunicorn_refusal, refusal_bytes


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (errors.LimitRequestLine(5000, 4094), 414),
        (errors.LimitRequestHeaders("too many"), 431),
        (errors.InvalidHeaderName("Bad Name"), 400),
        (errors.InvalidHeader("X"), 400),
        (errors.InvalidRequestLine("GET"), 400),
        (errors.InvalidChunkSize(b"zz"), 400),
        (errors.UnsupportedTransferCoding("gzip"), 501),
        (errors.InvalidResponseHeaderName("X"), 500),  # the app's fault, not the client's
        (RuntimeError("boom"), 500),
    ],
)
def test_gunicorn_refusals_keep_its_status_and_never_echo_the_request(
    exc: Exception, status: int
) -> None:
    refusal = gunicorn_refusal(exc)
    assert refusal.status == status
    for echoed in ("Bad Name", "zz", "gzip", "boom"):
        assert echoed not in refusal.message


def test_a_refusal_is_a_whole_json_answer_that_closes_the_connection() -> None:
    raw = refusal_bytes(431, 'a "quoted" limit', ("Retry-After: 5",))
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 431 Request Header Fields Too Large"
    assert set(lines[1:]) == {
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        "Retry-After: 5",
    }
    assert json.loads(body) == {"error": 'a "quoted" limit'}


def test_limits_follow_gunicorns_rules_for_its_settings() -> None:
    def cfg(line: int, fields: int, size: int) -> SimpleNamespace:
        return SimpleNamespace(
            limit_request_line=line, limit_request_fields=fields, limit_request_field_size=size
        )

    assert gunicorn_limits(cfg(4094, 100, 8190), 10) == Limits(4094, 100, 8190, 10)
    # 0 is "unlimited" (bounded at 1 MiB), past the maximum is the maximum, < 0 the default.
    assert gunicorn_limits(cfg(0, 0, 0), 10) == Limits(1024 * 1024, 32768, 8190, 10)
    assert gunicorn_limits(cfg(99999, 99999, -1), 10) == Limits(8190, 32768, 8190, 10)
