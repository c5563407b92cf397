"""The invariants every property asserts, in one place."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import event

MAX_ID = 2**63 - 1


class NotJSON:
    """What :func:`decoded` gives for a body that is not JSON."""


def decoded(body: bytes) -> Any:
    """What the body holds as JSON (any UTF encoding, as RFC 8259 readers detect), or
    ``NOT_JSON`` when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return NOT_JSON


NOT_JSON = NotJSON()


def assert_json_answer(response: Any, allowed: set[int]) -> Any:
    """Never a 500; the status is one of ``allowed``; the body is JSON; a 4xx carries
    ``{"error": "<text>"}``. Returns the parsed body."""
    assert response.status_code < 500, (response.status_code, response.get_data()[:300])
    assert response.status_code in allowed, (response.status_code, response.get_data()[:300])
    assert response.mimetype == "application/json", response.get_data()[:300]
    event(f"status {response.status_code}")
    body = response.get_json()
    if isinstance(body, dict) and body.get("stored"):
        event("stored something")
    for problem in body.get("problems", []) if isinstance(body, dict) else []:
        event(f"problem: {problem.split(':')[1][:30]}")
    if response.status_code >= 400:
        assert isinstance(body, dict) and isinstance(body.get("error"), str), body
        assert body["error"], body
    return body


def assert_refused(response: Any) -> Any:
    """A 4xx with a JSON error."""
    return assert_json_answer(response, set(range(400, 500)))


def strict_id_of(value: Any) -> int | None:
    """The id a CRM meant, judged independently of the code under test: a JSON integer or a
    string of ASCII digits, 1 to 2^63 - 1. Anything else (``5.9``, ``" 12 "``, ``"٣"``,
    ``True``) names no deal."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif (
        isinstance(value, str)
        and value != ""
        and all("0" <= c <= "9" for c in value)
        and len(value) <= 19
    ):
        number = int(value)
    else:
        return None
    return number if 0 < number <= MAX_ID else None
