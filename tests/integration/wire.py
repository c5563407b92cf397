"""Raw HTTP/1.1 over a socket, for tests that must send what no HTTP client would."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from typing import Any

from tests.builders import hubspot_headers


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float  # from the call to read_answer until the answer was whole
    interim: tuple[int, ...] = ()  # 1xx answers before it

    def json(self) -> Any:
        return json.loads(self.body)


def head(method: str, target: str, port: int, headers: dict[str, str] | list[str]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += headers if isinstance(headers, list) else [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def signed_head(
    port: int,
    body: bytes,
    *,
    target: str = "/webhooks/hubspot",
    chunked: bool = False,
    extra: tuple[str, ...] = (),
) -> bytes:
    """The head of a HubSpot webhook correctly signed for ``body`` (sent as it says)."""
    signed = hubspot_headers(body, f"http://127.0.0.1:{port}{target}")
    lines = [f"{k}: {v}" for k, v in {"Content-Type": "application/json", **signed}.items()]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}")
    return head("POST", target, port, lines + list(extra))


def chunks(body: bytes, size: int) -> list[bytes]:
    """``body`` as chunked transfer coding (RFC 9112 section 7.1), the last chunk included."""
    out = [b"%x\r\n%s\r\n" % (len(part), part) for part in _parts(body, size)]
    return [*out, b"0\r\n\r\n"]


def _parts(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


class Wire:
    """One client connection to the web process."""

    def __init__(self, port: int, timeout: float = 10) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = b""

    def send(self, data: bytes) -> bool:
        """Send; False if the server has closed (it may refuse before the client is done)."""
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def answer(self, timeout: float = 10) -> Answer:
        """Read one whole answer (after any 1xx); raises TimeoutError past ``timeout``."""
        start = time.monotonic()
        interim: list[int] = []
        while True:
            while b"\r\n\r\n" not in self._buf:
                self._buf += self._recv(start + timeout)
            raw_head, self._buf = self._buf.split(b"\r\n\r\n", 1)
            lines = raw_head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            fields = (line.split(":", 1) for line in lines[1:])
            headers = {k.strip().lower(): v.strip() for k, v in fields}
            if 100 <= status < 200:
                interim.append(status)
                continue
            length = int(headers.get("content-length", "0"))
            while len(self._buf) < length:
                self._buf += self._recv(start + timeout)
            body, self._buf = self._buf[:length], self._buf[length:]
            return Answer(status, headers, body, time.monotonic() - start, tuple(interim))

    def closed(self, timeout: float = 3) -> bool:
        """Whether the server closes the connection (EOF or reset) within ``timeout``."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()

    def _recv(self, deadline: float) -> bytes:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no whole answer in time")
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection before a whole answer")
        return data
