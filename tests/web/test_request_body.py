"""A webhook's body read by the app itself: a chunked body over 1 MiB is 413, not cut short.

Behind gunicorn the front (web/guard.py) refuses it first (tests/integration/
test_slow_clients.py); this is the app's own check, for any other WSGI server.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder, run_wsgi_app

from middleware.app import MAX_BODY_BYTES
from middleware.schema import events
from tests.builders import body_of, hubspot_headers, notification

URI = "http://localhost/webhooks/hubspot"


def post_chunked(app: Any, body: bytes, *, terminated: bool = True) -> tuple[int, Any]:
    """POST ``body`` as a server passes a chunked one: no CONTENT_LENGTH, input terminated."""
    headers = {**hubspot_headers(body, URI), "Transfer-Encoding": "chunked"}
    environ = EnvironBuilder(
        path="/webhooks/hubspot", method="POST", headers=headers, input_stream=io.BytesIO(body)
    ).get_environ()
    del environ["CONTENT_LENGTH"]
    if terminated:
        environ["wsgi.input_terminated"] = True
    answer, status, _ = run_wsgi_app(app, environ, buffered=True)
    return int(status.split()[0]), json.loads(b"".join(answer))


def stored(app: Any) -> int:
    with app.extensions["middleware"].store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


def padded(size: int) -> bytes:
    body = body_of([notification(7)])
    return body[:-1] + b" " * (size - len(body)) + body[-1:]


@pytest.mark.parametrize("over", [1, 1000])
def test_a_chunked_body_over_the_limit_is_413_and_nothing_is_stored(app: Any, over: int) -> None:
    status, answer = post_chunked(app, padded(MAX_BODY_BYTES + over))
    assert status == 413
    assert answer == {"error": f"request body is larger than {MAX_BODY_BYTES} bytes (1 MiB)"}
    assert stored(app) == 0


def test_a_chunked_body_of_exactly_the_limit_is_read_whole(app: Any) -> None:
    status, answer = post_chunked(app, padded(MAX_BODY_BYTES))
    assert (status, answer["stored"]) == (200, 1)


def test_a_body_with_no_length_and_no_end_is_empty(app: Any) -> None:
    # WSGI gives no body then (werkzeug's safe fallback): the signature cannot match.
    status, answer = post_chunked(app, padded(100), terminated=False)
    assert status == 401 and "does not match" in answer["error"]
    assert stored(app) == 0
