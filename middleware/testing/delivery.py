"""Wire faults the emulators share: an answer trickled byte by byte, or the connection reset.

What a bad network or a stuck server does to an HTTP answer, below what a status code can say:

* **trickle**: the answer arrives one byte at a time with a pause before each, so no single
  socket read ever times out (a per-read timeout never fires, only a total deadline can end
  the call); either the whole answer, or the body only after the status line and headers;
* **reset**: the connection is closed with ``SO_LINGER`` 0, which sends a TCP RST instead of
  an answer: the client's read fails with ``ECONNRESET`` ("connection reset by peer").

Both emulator servers write an answer through :func:`deliver` when a fault applies to it. A
trickle stops early when the client has gone or the emulator stops.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler

__all__ = ["Delivery", "deliver", "raw_answer"]


@dataclass(frozen=True)
class Delivery:
    """How one answer goes out: trickled (``byte_seconds`` > 0) or not at all (``reset``)."""

    #: pause before each byte of a trickled answer
    byte_seconds: float = 0.0
    #: trickle only the body: the status line and headers go at once
    body_only: bool = False
    #: close the connection with a TCP RST instead of answering
    reset: bool = False

    def __post_init__(self) -> None:
        if self.byte_seconds < 0:
            raise ValueError("byte_seconds must be >= 0")
        if self.reset == (self.byte_seconds > 0):
            raise ValueError("a delivery either trickles (byte_seconds > 0) or resets")


def raw_answer(
    version: str, status: int, headers: list[tuple[str, str]], body: bytes
) -> tuple[bytes, bytes]:
    """(status line and headers, body) of an HTTP answer, as they go on the wire."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    lines = [f"{version} {status} {phrase}"] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), body


def deliver(
    handler: BaseHTTPRequestHandler,
    head: bytes,
    body: bytes,
    delivery: Delivery,
    stopping: threading.Event,
) -> None:
    """Write ``head`` + ``body`` to the handler's client as ``delivery`` says, then make the
    handler close the connection (a trickled or reset answer is the connection's last)."""
    handler.close_connection = True
    connection: socket.socket = handler.connection
    if delivery.reset:
        # SO_LINGER on, 0 s: close() discards what is unsent and answers with RST (socket(7)).
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            handler.wfile.flush()
        # The socket really closes once its last file is closed: the reader made by
        # makefile() (the handler's writer writes to the socket itself and stays open, to be
        # flushed by the handler as usual: nothing is left to send).
        connection.close()
        with contextlib.suppress(OSError):
            handler.rfile.close()
        return
    at_once, trickled = (head, body) if delivery.body_only else (b"", head + body)
    try:
        if at_once:
            connection.sendall(at_once)
        for index in range(len(trickled)):
            if stopping.wait(delivery.byte_seconds):
                return
            connection.sendall(trickled[index : index + 1])
    except OSError:
        return  # the client gave up (its deadline shut the connection): that is the point
