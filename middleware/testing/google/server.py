"""HTTP plumbing: a threading server on 127.0.0.1 whose handler hands each request, whole, to the
emulator and writes back the ``Response`` it returns."""

from __future__ import annotations

import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast

from middleware.testing.delivery import deliver, raw_answer

if TYPE_CHECKING:
    from .emulator import GoogleEmulator


class Server(ThreadingHTTPServer):
    daemon_threads = True  # held/delayed handlers must never block interpreter exit
    allow_reuse_address = True
    request_queue_size = 128  # concurrent clients (bench, thread pools) must not hit a tiny backlog
    emulator: GoogleEmulator

    def get_request(self) -> Any:
        accepted = super().get_request()
        with self.emulator._lock:
            self.emulator.connections_accepted += 1
        return accepted


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.0 by default: one request per connection, so no keep-alive connection outlives
    # stop(); the emulator's ``keep_alive`` answers HTTP/1.1 and keeps them, as Google does.
    protocol_version = "HTTP/1.0"
    server_version = "ESF"  # what Google's front ends call themselves
    sys_version = ""
    timeout = 30  # never let a half-open client pin a handler thread forever

    def setup(self) -> None:
        super().setup()
        if cast(Server, self.server).emulator.keep_alive:
            self.protocol_version = "HTTP/1.1"
            # Head and body are separate writes: without it the body waits for a delayed ACK.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean; the emulator keeps its own structured logs

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        emulator = cast(Server, self.server).emulator
        response = emulator._handle(self.command, self.path, self.headers, raw)
        if emulator._stopping.is_set():
            self.close_connection = True
        if response.delivery is not None:
            headers = list(response.headers.items())
            if response.status != 204:
                headers.append(("Content-Length", str(len(response.body))))
            head, body = raw_answer(self.protocol_version, response.status, headers, response.body)
            deliver(self, head, body, response.delivery, emulator._stopping)
            return
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.status != 204:
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if response.body and response.status != 204:
                self.wfile.write(response.body)
        except OSError:
            pass  # the client went away (timed out or was killed while held): that is the point

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch
