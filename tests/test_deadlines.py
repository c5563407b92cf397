"""The call deadlines' watchdog (``middleware.deadlines``) over real sockets: a late call's
sockets are shut down (a blocked read wakes at once), a call in time is never touched, and a
socket opened after the deadline is shut down too."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from middleware.crm.hubspot.http import HubSpotHTTP
from middleware.deadlines import (
    CRM_TIMEOUTS,
    GOOGLE_TIMEOUTS,
    LONGEST_CALL_SECONDS,
    Timeouts,
    Watch,
    track,
)
from middleware.errors import RetryableError

pytestmark = pytest.mark.timeout(30)


class Conn:
    """Stands for an ``http.client`` connection: what the watchdog reads is its ``sock``."""

    def __init__(self, sock: socket.socket | None) -> None:
        self.sock = sock


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_a_late_call_has_its_socket_shut_down(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, theirs = pair
    started = time.monotonic()
    with Watch(0.2) as watch:
        track(Conn(ours))
        got = ours.recv(10)  # blocks: nobody sends; only the watchdog can end this
    assert got == b"" and watch.expired
    assert 0.15 < time.monotonic() - started < 1.0


def test_a_call_in_time_is_never_touched(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, theirs = pair
    with Watch(0.1) as watch:
        track(Conn(ours))
        theirs.sendall(b"hi")
        assert ours.recv(10) == b"hi"
    time.sleep(0.3)  # well past the deadline
    assert not watch.expired
    theirs.sendall(b"still open")
    assert ours.recv(20) == b"still open"


def test_a_socket_opened_after_the_deadline_is_shut_down_too() -> None:
    # httplib2 reconnects and retries once by itself: the wait must not start over.
    first_a, first_b = socket.socketpair()
    second_a, second_b = socket.socketpair()
    try:
        conn = Conn(first_a)
        with Watch(0.1) as watch:
            track(conn)
            assert first_a.recv(10) == b""
            conn.sock = second_a  # "reconnected"
            started = time.monotonic()
            assert second_a.recv(10) == b""
            assert time.monotonic() - started < 0.5
        assert watch.expired
    finally:
        for s in (first_a, first_b, second_a, second_b):
            s.close()


def test_watches_nest_per_thread(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, _ = pair
    with Watch(5.0) as outer:
        with Watch(0.1) as inner:
            track(Conn(ours))
            assert ours.recv(1) == b""
        track(Conn(None))  # back to the outer watch: a connection without a socket is fine
    assert inner.expired and not outer.expired


def test_the_sockets_callable_is_read_when_the_deadline_passes(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, _ = pair
    held: list[socket.socket] = []
    with Watch(0.1, lambda: held) as watch:
        held.append(ours)  # known only after the call started
        assert ours.recv(1) == b""
    assert watch.expired


def test_a_forked_child_gets_its_own_watchdog(pair: tuple[socket.socket, socket.socket]) -> None:
    with Watch(5.0):
        pass  # the parent's watchdog thread runs now
    pid = os.fork()
    if pid == 0:  # the child: the parent's thread did not come along
        ours, _ = pair
        try:
            with Watch(0.1) as watch:
                track(Conn(ours))
                ours.settimeout(3)
                ok = ours.recv(1) == b"" and watch.expired
        except Exception:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_the_shipped_deadlines() -> None:
    assert (CRM_TIMEOUTS.connect, CRM_TIMEOUTS.read, CRM_TIMEOUTS.total) == (5.0, 20.0, 30.0)
    assert (GOOGLE_TIMEOUTS.read, GOOGLE_TIMEOUTS.total) == (30.0, 45.0)
    assert LONGEST_CALL_SECONDS == 45.0
    assert CRM_TIMEOUTS.describe() == "deadline 30 s (connect 5 s, read 20 s)"
    with pytest.raises(ValueError):
        Timeouts(connect=1, read=0, total=1)


def test_a_connection_close_answer_trickled_after_its_headers_still_ends() -> None:
    """``http.client`` drops a connection's ``sock`` once an answer says ``Connection: close``,
    while it goes on reading the body from that socket: the socket is watched from connect."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                b"Connection: close\r\nContent-Length: 40\r\n\r\n{"
            )
            while not stop.wait(0.05):
                try:
                    conn.sendall(b" ")
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = HubSpotHTTP(
        base_url=f"http://127.0.0.1:{port}",
        access_token="t",
        timeout=Timeouts(connect=2, read=5, total=0.5),
    )
    started = time.monotonic()
    try:
        with pytest.raises(RetryableError) as info:
            client.account_details()
        assert info.value.reason == "crm_timeout"
        assert time.monotonic() - started < 1.5
    finally:
        stop.set()
        client.close()
        server.close()
        thread.join(5)


def test_a_finished_call_lets_go_of_its_connections() -> None:
    """The watchdog keeps a watch until its deadline; the call's connections (and their open
    sockets) must not live that long after the call."""
    import gc
    import weakref

    conn, other = Conn(None), Conn(None)
    with Watch(30.0, [other].copy):
        track(conn)
    gone, also_gone = weakref.ref(conn), weakref.ref(other)
    del conn, other
    gc.collect()
    assert gone() is None and also_gone() is None
