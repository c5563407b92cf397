"""The HubSpot emulator's HTTP plumbing: a threaded keep-alive server on 127.0.0.1.

The handler reads one request (``Content-Length`` or chunked body), hands it to the
emulator's ``handle`` callable and writes the JSON answer; nothing here knows HubSpot.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from middleware.testing.delivery import deliver, raw_answer
from middleware.testing.hubspot.wire import Response

#: ``handle(method, target, headers with lower-cased names, raw body) -> Response``.
Handle = Callable[[str, str, Mapping[str, str], bytes], Response]


class EmulatorServer(ThreadingHTTPServer):
    """Threaded server that knows its emulator and can drop its keep-alive connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handle: Handle, stopping: threading.Event) -> None:
        self.answer = handle
        #: Set while the emulator stops: answers are then dropped and connections closed.
        self.stopping = stopping
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut open connections so pooled client sockets see the server go away."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is not worth a traceback on stderr; the rest is.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, hands it to the emulator, writes the JSON answer (keep-alive)."""

    server: EmulatorServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY the second one waits
    # for the client's delayed ACK (~40 ms per request).
    disable_nagle_algorithm = True
    server_version = "HubSpotEmulator/1.0"
    sys_version = ""

    def _dispatch(self) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = self.server.answer(self.command, self.path, headers, self._read_body())
        if response.raw is not None:
            payload = response.raw
        else:
            payload = b"" if response.body is None else json.dumps(response.body).encode("utf-8")
        if self.server.stopping.is_set():
            self.close_connection = True
            return
        fields: list[tuple[str, str]] = []
        if response.body is not None:
            fields.append(("Content-Type", "application/json;charset=utf-8"))
        fields.append(("Content-Length", str(len(payload))))
        fields += [(name, str(value)) for name, value in response.headers.items()]
        if response.delivery is not None:
            head, body = raw_answer(self.protocol_version, response.status, fields, payload)
            deliver(self, head, body, response.delivery, self.server.stopping)
            return
        self.send_response(response.status)
        for name, value in fields:
            self.send_header(name, value)
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Skip trailers up to the blank line that ends the body.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _dispatch

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        # Silence the default per-request line on stderr; the emulator keeps its own log.
        pass


class Served:
    """``start``/``stop``/``with`` for an emulator that answers through ``_handle``.

    The emulator provides ``_handle``, ``_server``, ``_thread`` and ``_stopping`` (an Event
    that ends pending delays) and names its thread with ``thread_name``.
    """

    thread_name = "emulator"
    _server: EmulatorServer | None
    _thread: threading.Thread | None
    _stopping: threading.Event
    _handle: Any

    def start(self) -> Any:
        """Listen on 127.0.0.1 at a free port, serving from a daemon thread."""
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        self._stopping.clear()
        self._server = EmulatorServer(self._handle, self._stopping)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open (keep-alive) connections; pending delays end at once."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
