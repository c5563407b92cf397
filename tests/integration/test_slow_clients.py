"""The web process against slow and hostile clients, over real sockets (issue 13, point 2).

One gunicorn for the module, started as the Procfile says (2 workers × 4 threads, SQLite),
with a read deadline of ``DEADLINE`` seconds. Every hostile request here is a correctly signed
HubSpot webhook that would be stored if it were sent properly, so "nothing stored" means the
refusal, and nothing else, kept it out.
"""

from __future__ import annotations

import json
import selectors
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.builders import ADMIN_TOKEN, SECRET, body_of, hubspot_headers, notification, rules_file
from tests.integration.wire import Answer, Wire, chunks, head, signed_head
from tests.procs import Proc, free_port

DEADLINE = 4.0
SLOW_CLIENTS = 100
MIB = 1024 * 1024


class Web:
    def __init__(self, proc: Proc, database_url: str) -> None:
        self.proc = proc
        self.port = proc.port or 0
        self.database_url = database_url

    def stored(self) -> list[str]:
        """Deal ids of the stored events."""
        engine = create_engine(self.database_url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT deal_id FROM events ORDER BY id")).scalars().all()
        engine.dispose()
        return list(rows)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    tmp: Path = tmp_path_factory.mktemp("web")
    env = {
        "DATABASE_URL": f"sqlite:///{tmp}/events.db",
        "MIDDLEWARE_CONFIG": str(rules_file(tmp)),
        "HUBSPOT_CLIENT_SECRET": SECRET,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "WEB_READ_DEADLINE_SECONDS": str(DEADLINE),
    }
    proc = Proc("web", env, cwd=tmp, log=tmp / "web.log", port=free_port())
    try:
        proc.wait_ready()
        yield Web(proc, env["DATABASE_URL"])
    finally:
        proc.stop()
    output = proc.output()
    assert "Traceback" not in output, output[-3000:]


def webhook(deal_id: int, pad: int = 0) -> bytes:
    """A valid batch of one notification, padded with whitespace to ``pad`` bytes."""
    body = body_of([notification(deal_id)])
    return body[:-1] + b" " * max(0, pad - len(body)) + body[-1:]


def assert_json_refusal(answer: Answer, status: int) -> None:
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["connection"] == "close"
    error = answer.json()["error"]
    assert isinstance(error, str) and error


# Each case: how to send it, and the status it must get at once (well before the deadline).
def _huge_request_line(port: int) -> list[bytes]:
    body = webhook(101)
    return [signed_head(port, body, target="/webhooks/hubspot?pad=" + "a" * 5000), body]


def _oversized_header_line(port: int) -> list[bytes]:
    body = webhook(102)
    return [signed_head(port, body, extra=("X-Pad: " + "p" * 9000,)), body]


def _too_many_headers(port: int) -> list[bytes]:
    body = webhook(103)
    return [signed_head(port, body, extra=tuple(f"X-Pad-{i}: p" for i in range(120))), body]


def _chunked_body_over_the_limit(port: int) -> list[bytes]:
    body = webhook(104, pad=MIB + 10)
    return [signed_head(port, body, chunked=True), *chunks(body, 64 * 1024)]


def _content_length_over_the_limit(port: int) -> list[bytes]:
    return [signed_head(port, webhook(105, pad=2 * MIB))]  # the body is never sent


def _bad_header_name(port: int) -> list[bytes]:  # refused by gunicorn's parser itself
    body = webhook(106)
    return [signed_head(port, body, extra=("Bad Name: x",)), body]


def _bad_request_line(port: int) -> list[bytes]:  # refused by gunicorn's parser itself
    body = webhook(107)
    return [signed_head(port, body, target="/webhooks/hub spot"), body]


def _content_length_and_chunked(port: int) -> list[bytes]:  # RFC 9112 §6.1: smuggling
    body = webhook(108)
    return [signed_head(port, body, chunked=True, extra=(f"Content-Length: {len(body)}",)), body]


@pytest.mark.parametrize(
    ("build", "status", "error"),
    [
        (_huge_request_line, 414, "the request line is longer than 4094 bytes"),
        (_oversized_header_line, 431, "a header field line is longer than 8190 bytes"),
        (_too_many_headers, 431, "more than 100 header fields"),
        (_chunked_body_over_the_limit, 413, "request body is larger than 1048576 bytes"),
        (_content_length_over_the_limit, 413, "request body is larger than 1048576 bytes"),
        (_bad_header_name, 400, "malformed header field name"),
        (_bad_request_line, 400, ""),  # gunicorn 27: "malformed request line"
        (_content_length_and_chunked, 400, "Content-Length with Transfer-Encoding"),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)).strip("_"),
)
def test_a_hostile_request_is_refused_at_once_as_json_and_nothing_is_stored(
    web: Web, build: object, status: int, error: str
) -> None:
    before = web.stored()
    wire = Wire(web.port)
    start = time.monotonic()
    for part in build(web.port):  # type: ignore[operator]
        if not wire.send(part):
            break  # refused while still sending: the answer is waiting
    answer = wire.answer(timeout=DEADLINE + 5)
    assert time.monotonic() - start < 1.5, "refused only at the deadline, not at once"
    assert_json_refusal(answer, status)
    assert error in answer.json()["error"]
    assert wire.closed()
    wire.close()
    assert web.stored() == before


def test_a_trickled_body_a_short_body_and_an_idle_connection_end_at_the_deadline(
    web: Web,
) -> None:
    before = web.stored()
    trickled, short, idle = Wire(web.port), Wire(web.port), Wire(web.port)
    start = time.monotonic()
    body = webhook(201)
    trickled.send(signed_head(web.port, body))
    short.send(signed_head(web.port, body) + body[: len(body) // 2])  # then nothing more
    readable = selectors.DefaultSelector()
    readable.register(trickled.sock, selectors.EVENT_READ)
    for byte in body[:-1]:  # one byte every 0.2 s: never the whole body
        if readable.select(0.2):
            break
        trickled.send(bytes([byte]))
    for wire in (trickled, short):
        answer = wire.answer(timeout=5)
        assert_json_refusal(answer, 408)
        assert answer.json() == {"error": f"the request did not arrive whole within {DEADLINE:g} s"}
    # Not "over a minute" (issue 13): at the deadline, give or take a poll.
    assert DEADLINE - 0.5 < time.monotonic() - start < DEADLINE + 1.5
    idle.sock.settimeout(1)
    assert idle.sock.recv(1) == b""  # an idle connection is closed, and nothing said
    for wire in (trickled, short, idle):
        wire.close()
    assert web.stored() == before


def test_past_64_mib_of_requests_arriving_new_bytes_are_refused_503(web: Web) -> None:
    # 2 workers hold at most 2 × 64 MiB of requests still arriving: 140 bodies of 1 MiB
    # (each one byte short) cannot all be held.
    before = web.stored()
    body = webhook(600, pad=MIB)
    wires = []
    for _ in range(140):
        wire = Wire(web.port)
        wire.send(signed_head(web.port, body) + body[:-1])
        wires.append(wire)
    ready = selectors.DefaultSelector()
    for wire in wires:
        ready.register(wire.sock, selectors.EVENT_READ, wire)
    answered = [key.data for key, _ in ready.select(2.0)]  # well before the deadline
    busy = [wire.answer(timeout=5) for wire in answered]
    for wire in wires:
        wire.close()
    assert busy and {a.status for a in busy} == {503}
    assert busy[0].headers["retry-after"] == "5"
    assert busy[0].json() == {"error": "too many requests arriving at once; retry"}
    assert web.stored() == before


def test_a_chunked_webhook_waiting_for_100_continue_is_stored_and_kept_alive(web: Web) -> None:
    body = webhook(301)
    wire = Wire(web.port)
    wire.send(signed_head(web.port, body, chunked=True, extra=("Expect: 100-continue",)))
    wire.sock.settimeout(2)
    assert wire.sock.recv(64).startswith(b"HTTP/1.1 100 Continue\r\n")
    for part in chunks(body, 7):
        wire.send(part)
        time.sleep(0.01)
    answer = wire.answer()
    assert answer.status == 200, answer
    assert answer.json()["stored"] == 1
    # The connection is kept alive: the next request (pipelined with a third) is answered.
    again = head("GET", "/healthz", web.port, {})
    wire.send(again + head("GET", "/healthz", web.port, {"Connection": "close"}))
    assert [wire.answer().status, wire.answer().status] == [200, 200]
    assert wire.closed()
    wire.close()
    assert "301" in web.stored()


class SlowClients:
    """``n`` connections that keep sending a byte now and then and never finish a request:
    headers trickled, bodies trickled, or a body shorter than its Content-Length."""

    def __init__(self, port: int, n: int) -> None:
        self.wires: list[Wire] = []
        self.pending: dict[Wire, bytes] = {}
        for i in range(n):
            wire = Wire(port)
            body = webhook(400 + i)
            request = signed_head(port, body) + body
            kind = i % 3
            if kind == 0:  # headers trickled
                wire.send(request[:10])
                self.pending[wire] = request[10:200]
            elif kind == 1:  # body trickled
                cut = request.index(b"\r\n\r\n") + 5
                wire.send(request[:cut])
                self.pending[wire] = request[cut:-1]
            else:  # Content-Length larger than the body sent
                wire.send(request[:-20])
            self.wires.append(wire)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        while not self._stop.wait(0.25):
            for wire, rest in list(self.pending.items()):
                if rest and wire.send(rest[:1]):
                    self.pending[wire] = rest[1:]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def test_healthz_answers_within_a_second_while_100_slow_clients_are_connected(web: Web) -> None:
    before = web.stored()
    slow = SlowClients(web.port, SLOW_CLIENTS)
    try:
        timings = []
        for _ in range(6):
            start = time.monotonic()
            response = requests.get(web.proc.url + "/healthz", timeout=5)
            timings.append(time.monotonic() - start)
            assert response.status_code == 200 and response.json() == {"status": "ok"}
            time.sleep(0.2)
        # The threads are free for real work too: a webhook is stored meanwhile.
        body = webhook(500)
        uri = web.proc.url + "/webhooks/hubspot"
        stored = requests.post(uri, data=body, headers=hubspot_headers(body, uri), timeout=5)
        assert stored.status_code == 200 and stored.json()["stored"] == 1
        assert max(timings) < 1.0, timings
    finally:
        slow.stop()
    # Each slow client is refused 408 when its deadline passes, none of them stored.
    answers = [wire.answer(timeout=DEADLINE + 5) for wire in slow.wires]
    assert {a.status for a in answers} == {408}
    assert all(json.loads(a.body)["error"] for a in answers)
    for wire in slow.wires:
        wire.close()
    assert web.stored() == [*before, "500"]
