"""The web process's gunicorn worker: a front that reads each request whole before a thread.

gunicorn's ``gthread`` worker gives a connection to a thread as soon as its first byte
arrives, and the thread then reads the request from the socket: a few clients trickling their
headers or bodies hold every thread, and ``/healthz`` stops answering (issue 13). This worker
is ``gthread`` with one change of order: its main loop (one selector, non-blocking sockets)
reads every request whole first, framed by :class:`~middleware.web.framing.RequestFramer`
within a deadline, and only a complete request goes to a thread, where gunicorn's parser and
the app read it from memory. A slow client costs a buffer, never a thread, and the threads
keep doing what may block (SQLite, PostgreSQL, Google and CRM calls) as before: no
monkey-patching, no event loop under the app.

Refusals are JSON ``{"error": ...}`` with ``Connection: close``, the front's own (408 too slow,
413 body too large, 414/431 head too large, 400/501 framing, 503 reading too much at once) and
gunicorn's (:meth:`GuardedWorker.handle_error`). After one, the connection lingers a moment,
discarding what the client still sends, so that it reads the answer rather than a reset
(RFC 9112 section 9.6).
"""

from __future__ import annotations

import contextlib
import json
import selectors
import socket
import time
from concurrent import futures
from functools import partial
from http import HTTPStatus
from typing import Any

from gunicorn import http
from gunicorn.http import errors as gerrors
from gunicorn.http.message import DEFAULT_MAX_HEADERFIELD_SIZE, MAX_HEADERS, MAX_REQUEST_LINE
from gunicorn.workers.gthread import ThreadWorker

from middleware.app import MAX_BODY_BYTES
from middleware.web.framing import Limits, Refusal, RequestFramer

#: Bytes the front may hold for requests still arriving, per worker process; past it new
#: bytes are refused 503 (clients together cannot make one worker hold more than this).
MAX_BUFFERED_BYTES = 64 * 1024 * 1024
#: After a refusal: how long, and how much, is read and discarded before the socket closes.
LINGER_SECONDS = 2.0
LINGER_BYTES = 2 * 1024 * 1024
_RECV = 64 * 1024
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_INTERNAL = "internal error; the request was not processed, retry it"  # as app.py says it

#: gunicorn's parse errors → status and what the client is told (never its own bytes back).
_GUNICORN_REFUSALS: tuple[tuple[str, int, str], ...] = (
    # The app's own bad response headers (subclasses of InvalidHeader*) are not the client's.
    ("InvalidResponseHeader", 500, _INTERNAL),
    ("InvalidResponseHeaderName", 500, _INTERNAL),
    ("LimitRequestLine", 414, "the request line is too long"),
    ("LimitRequestHeaders", 431, "the request's header fields are too large or too many"),
    ("UnsupportedTransferCoding", 501, "only the chunked transfer coding is supported"),
    ("ExpectationFailed", 417, "only the 100-continue expectation is supported"),
    ("ForbiddenProxyRequest", 403, "request forbidden"),
    ("ConfigurationProblem", 500, _INTERNAL),
    ("InvalidRequestLine", 400, "malformed request line"),
    ("InvalidRequestMethod", 400, "malformed request method"),
    ("InvalidHTTPVersion", 400, "unsupported HTTP version"),
    ("InvalidHeaderName", 400, "malformed header field name"),
    ("InvalidHeader", 400, "malformed header field"),
    ("ObsoleteFolding", 400, "obsolete line folding in a header field (RFC 9112 §5.2)"),
    ("InvalidChunkSize", 400, "malformed chunked body"),
    ("ChunkMissingTerminator", 400, "malformed chunked body"),
    ("InvalidChunkExtension", 400, "malformed chunked body"),
    ("InvalidSchemeHeaders", 400, "contradictory forwarded scheme headers"),
    ("ParseException", 400, "malformed request"),
)


def refusal_bytes(status: int, message: str, headers: tuple[str, ...] = ()) -> bytes:
    """A whole HTTP/1.1 answer ``status`` with ``{"error": message}`` that closes the connection."""
    body = json.dumps({"error": message}).encode()
    head = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *headers,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def gunicorn_refusal(exc: BaseException) -> Refusal:
    """What to answer for an exception gunicorn's parser (or the worker) raised."""
    for name, status, message in _GUNICORN_REFUSALS:
        cls = getattr(gerrors, name, None)
        if cls is not None and isinstance(exc, cls):
            return Refusal(status, message)
    return Refusal(500, _INTERNAL)


def gunicorn_limits(cfg: Any, body: int) -> Limits:
    """The head limits gunicorn's parser applies for ``cfg`` (its own rules for 0 and < 0)."""
    line = cfg.limit_request_line
    line = MAX_REQUEST_LINE if line < 0 or line >= MAX_REQUEST_LINE else line or 1024 * 1024
    fields = cfg.limit_request_fields
    fields = MAX_HEADERS if fields <= 0 or fields > MAX_HEADERS else fields
    size = cfg.limit_request_field_size
    return Limits(line, fields, size if size > 0 else DEFAULT_MAX_HEADERFIELD_SIZE, body)


class _Arriving:
    """A connection whose request is still arriving."""

    __slots__ = ("conn", "deadline", "framer")

    def __init__(self, conn: Any, framer: RequestFramer, deadline: float) -> None:
        self.conn = conn
        self.framer = framer
        self.deadline = deadline


class GuardedWorker(ThreadWorker):
    """gthread, with the request read whole by the main loop before it goes to a thread."""

    #: Seconds a request has to arrive whole: from the connection's accept, or from the first
    #: byte of a kept-alive connection's next request. Set by :func:`guarded_worker_class`.
    read_deadline: float = 10.0
    max_body: int = MAX_BODY_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._arriving: dict[Any, _Arriving] = {}
        self._lingering: dict[Any, float] = {}
        self._buffered = 0
        self._limits = gunicorn_limits(self.cfg, self.max_body)

    # gthread's entry points: every connection with a request to read comes through here.

    def enqueue_req(self, conn: Any) -> None:
        if self.cfg.is_ssl:  # TLS ends at the proxy; gthread reads TLS itself
            super().enqueue_req(conn)
            return
        arriving = _Arriving(
            conn, RequestFramer(self._limits), time.monotonic() + self.read_deadline
        )
        conn.sock.setblocking(False)
        self._arriving[conn] = arriving
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, arriving))
        leftover = getattr(conn, "guard_leftover", b"")
        if leftover:  # a pipelined request, already read with the one before it
            conn.guard_leftover = b""
            self._buffered += len(leftover)
            self._judge(arriving, arriving.framer.feed(leftover))

    def finish_request(self, conn: Any, fs: futures.Future[Any]) -> None:
        if self.cfg.is_ssl or fs.cancelled() or fs.exception() is not None:
            super().finish_request(conn, fs)
            return
        result = fs.result()
        if result is True and not conn.parser.unreader.buf.getvalue():
            if getattr(conn, "guard_leftover", b"") and self.alive:
                self.enqueue_req(conn)  # the next request is already (partly) here
            else:
                super().finish_request(conn, fs)  # kept alive: back to gthread's poller
        elif result is True or result is False:
            # Closed after the answer; also when gunicorn's parser left bytes of what the
            # front framed as one request (the two disagree on where it ended). gthread
            # would linger for the client's FIN in this loop, blocking it; the front doesn't.
            self._linger(conn)
        else:
            super().finish_request(conn, fs)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        now = time.monotonic()
        deadlines = [a.deadline for a in self._arriving.values()]
        deadlines += self._lingering.values()
        if deadlines:
            timeout = max(0.0, min(timeout, min(deadlines) - now))
        super().wait_for_and_dispatch_events(timeout)
        self._expire(time.monotonic())

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """gunicorn's error page, as JSON: ``{"error": ...}`` with the status gunicorn chose."""
        refusal = gunicorn_refusal(exc)
        ip = addr[0] if isinstance(addr, tuple) and addr else ""
        if refusal.status >= 500:
            self.log.exception("error handling a request from %s", ip)
        else:
            name = type(exc).__name__
            self.log.warning("refused a request from %s: %s (%s)", ip, refusal.status, name)
        try:
            client.setblocking(False)
            client.send(refusal_bytes(refusal.status, refusal.message))
        except OSError:
            self.log.debug("could not send the refusal")

    # The front: reading, judging, refusing, lingering.

    def _readable(self, arriving: _Arriving, sock: socket.socket) -> None:
        try:
            data = sock.recv(_RECV)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away before its request was whole
            self._forget(arriving)
            self._close(arriving.conn)
            return
        if self._buffered + len(data) > MAX_BUFFERED_BYTES:
            busy = Refusal(503, "too many requests arriving at once; retry")
            self._refuse(arriving, busy, ("Retry-After: 5",))
            return
        self._buffered += len(data)
        self._judge(arriving, arriving.framer.feed(data))

    def _judge(self, arriving: _Arriving, refusal: Refusal | None) -> None:
        conn, framer = arriving.conn, arriving.framer
        if refusal is not None:
            self._refuse(arriving, refusal)
        elif framer.complete:
            self._forget(arriving)
            request, conn.guard_leftover = framer.split()
            # gunicorn's parser reads this request from memory, never from the socket.
            conn.parser = http.get_parser(self.cfg, [request], conn.client)
            conn.data_ready = True  # gthread >= 26 must not wait for bytes already read
            super().enqueue_req(conn)
        elif framer.take_continue():
            self._send(conn.sock, _CONTINUE)

    def _refuse(self, arriving: _Arriving, refusal: Refusal, headers: tuple[str, ...] = ()) -> None:
        self._forget(arriving)
        conn = arriving.conn
        self.log.warning(
            "refused a request from %s: %s %s", _peer(conn), refusal.status, refusal.message
        )
        self._send(conn.sock, refusal_bytes(refusal.status, refusal.message, headers))
        self._linger(conn)

    def _linger(self, conn: Any) -> None:
        """Close after the answer: FIN now, then discard what the client still sends."""
        try:
            conn.sock.setblocking(False)
            conn.sock.shutdown(socket.SHUT_WR)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._drain, conn))
        except (OSError, ValueError, KeyError):  # already closed, or gone
            self._close(conn)
            return
        conn.guard_drained = 0
        self._lingering[conn] = time.monotonic() + LINGER_SECONDS

    def _drain(self, conn: Any, sock: socket.socket) -> None:
        try:
            data = sock.recv(_RECV)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        conn.guard_drained += len(data)
        if not data or conn.guard_drained > LINGER_BYTES:
            self._lingering.pop(conn, None)
            self._unregister(conn)
            self._close(conn)

    def _expire(self, now: float) -> None:
        for arriving in [a for a in self._arriving.values() if a.deadline <= now]:
            if arriving.framer.buf:
                message = f"the request did not arrive whole within {self.read_deadline:g} s"
                self._refuse(arriving, Refusal(408, message))
            else:  # nothing was asked: an idle connection is closed without an answer
                self._forget(arriving)
                self._close(arriving.conn)
        for conn in [c for c, deadline in self._lingering.items() if deadline <= now]:
            del self._lingering[conn]
            self._unregister(conn)
            self._close(conn)

    def _forget(self, arriving: _Arriving) -> None:
        if self._arriving.pop(arriving.conn, None) is not None:
            self._buffered -= len(arriving.framer.buf)
            self._unregister(arriving.conn)

    def _unregister(self, conn: Any) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)

    def _close(self, conn: Any) -> None:
        self.nr_conns -= 1
        conn.close()

    @staticmethod
    def _send(sock: socket.socket, data: bytes) -> None:
        """Send a small answer on a non-blocking socket (it fits in any socket buffer)."""
        with contextlib.suppress(OSError):  # the client is gone; closing is all that is left
            sock.send(data)


def _peer(conn: Any) -> str:
    client = conn.client
    return str(client[0]) if isinstance(client, tuple) and client else str(client or "")


def guarded_worker_class(*, read_deadline: float) -> type[GuardedWorker]:
    """The worker class for gunicorn's ``worker_class``, with the deadline from the settings."""
    return type("GuardedWorker", (GuardedWorker,), {"read_deadline": read_deadline})
