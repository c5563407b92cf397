"""Where one HTTP/1.1 request ends, decided as its bytes arrive (sans-I/O).

The web process's front (:mod:`middleware.web.guard`) reads every request whole before a
thread, gunicorn's parser or the app sees it. :class:`RequestFramer` is fed the bytes as they
come and says whether the request is complete (and where it ends), needs more, or is refused
(a status and a message). It applies RFC 9112's framing (section 6: ``Content-Length`` or
``chunked``), gunicorn's limits on the request line and the header fields, and the body limit,
each as soon as the bytes so far break it: a 10 MB ``Content-Length`` is refused before its
body is sent, a chunked body as soon as it passes the limit. It is strict only where framing
is at stake (RFC 9112 section 6.3, to leave no room for request smuggling); everything else in
the head is left for gunicorn's parser to judge. No clock here: deadlines are the caller's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CRLF = b"\r\n"
#: A chunk-size line (size, extensions) longer than this is refused.
MAX_CHUNK_LINE = 1024
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_DIGITS = re.compile(rb"[0-9]{1,19}")


@dataclass(frozen=True)
class Limits:
    """What one request may hold. Defaults are gunicorn's and CONTRACT.md's (1 MiB body)."""

    request_line: int = 4094  # bytes, without its CRLF (gunicorn's limit_request_line)
    header_fields: int = 100  # header (and trailer) fields (limit_request_fields)
    header_field: int = 8190  # bytes of one field line with its CRLF (limit_request_field_size)
    body: int = 1024 * 1024  # bytes of the body, decoded from chunks


@dataclass(frozen=True)
class Refusal:
    """The request is answered ``status`` with ``{"error": message}`` and not read further."""

    status: int
    message: str


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.refusal = Refusal(status, message)


class RequestFramer:
    """The framing of one request, fed its bytes as they arrive.

    ``feed`` returns a :class:`Refusal` or ``None``; with ``None``, ``complete`` says whether
    the whole request is in, and ``split()`` gives its bytes and whatever the client sent
    after it (a pipelined request). ``take_continue()`` is true once, when the client waits
    for ``100 Continue`` (RFC 9110 section 10.1.1) before it sends the body.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.buf = bytearray()
        self.end: int | None = None
        self._pos = 0
        self._step = self._request_line
        self._fields = 0
        self._framing: dict[bytes, list[bytes]] = {}
        self._http11 = False
        self._body_end = 0
        self._chunk_end = 0
        self._decoded = 0
        self._continue = False

    @property
    def complete(self) -> bool:
        return self.end is not None

    def feed(self, data: bytes) -> Refusal | None:
        if self.end is not None:
            raise RuntimeError("the request is complete; split() it")
        self.buf += data
        try:
            while self.end is None and self._step():
                pass
        except _Refused as exc:
            return exc.refusal
        return None

    def split(self) -> tuple[bytes, bytes]:
        """The request's bytes, and the bytes the client sent after it."""
        if self.end is None:
            raise RuntimeError("the request is not complete")
        return bytes(self.buf[: self.end]), bytes(self.buf[self.end :])

    def take_continue(self) -> bool:
        wanted, self._continue = self._continue, False
        return wanted

    # Each step consumes what it can from self._pos and says whether to go on.

    def _line(self, limit: int, status: int, what: str, shown: int | None = None) -> bytes | None:
        """The next CRLF-terminated line, or None while it is incomplete.

        A line longer than ``limit`` (without its CRLF) is refused ``status``, saying
        ``shown`` (the limit as the setting counts it) bytes.
        """
        eol = self.buf.find(CRLF, self._pos)
        end = eol if eol >= 0 else len(self.buf)
        if self.buf.find(b"\n", self._pos, end) >= 0:
            raise _Refused(400, f"malformed request: {what} ends with a bare LF (RFC 9112 §2.2)")
        # An incomplete line may end with the CR of its CRLF: it is not counted yet.
        length = end - self._pos - (0 if eol >= 0 or not self.buf.endswith(b"\r") else 1)
        if length > limit:
            raise _Refused(status, f"{what} is longer than {shown or limit} bytes")
        if eol < 0:
            return None
        line = bytes(self.buf[self._pos : eol])
        self._pos = eol + 2
        return line

    def _request_line(self) -> bool:
        if self._pos == 0 and self.buf[:1] == b"\r":
            # RFC 9112 section 2.2: one empty line before the request line is ignored.
            if len(self.buf) < 2:
                return False
            if self.buf[:2] == CRLF:
                self._pos = 2
        line = self._line(self.limits.request_line, 414, "the request line")
        if line is None:
            return False
        self._http11 = line.endswith(b" HTTP/1.1")
        self._step = self._field
        return True

    def _field(self) -> bool:
        limit = self.limits.header_field
        line = self._line(limit - 2, 431, "a header field line", limit)
        if line is None:
            return False
        if line == b"":
            self._head_done()
            return True
        self._fields += 1
        if self._fields > self.limits.header_fields:
            raise _Refused(431, f"more than {self.limits.header_fields} header fields")
        name, _, value = line.partition(b":")
        name = name.strip(b" \t").lower()
        if name in (b"content-length", b"transfer-encoding", b"expect"):
            self._framing.setdefault(name, []).append(value.strip(b" \t"))
        return True

    def _head_done(self) -> None:
        """The head is in: how long is the body (RFC 9112 section 6.3)?"""
        codings = [
            c.strip(b" \t").lower()
            for v in self._framing.get(b"transfer-encoding", [])
            for c in v.split(b",")
        ]
        lengths = self._framing.get(b"content-length", [])
        if codings and lengths:
            raise _Refused(400, "Content-Length with Transfer-Encoding (RFC 9112 §6.1)")
        if codings:
            if codings[-1] != b"chunked":
                raise _Refused(400, "Transfer-Encoding must end with chunked (RFC 9112 §6.3)")
            if len(codings) > 1:
                raise _Refused(501, "only the chunked transfer coding is supported")
            self._step = self._chunk_size
            self._continue_if_expected()
            return
        if not lengths:
            self.end = self._pos
            return
        if len(set(lengths)) > 1 or not _DIGITS.fullmatch(lengths[0]):
            raise _Refused(400, "malformed Content-Length (RFC 9110 §8.6)")
        length = int(lengths[0])
        if length > self.limits.body:
            raise _Refused(413, f"request body is larger than {self.limits.body} bytes")
        self._body_end = self._pos + length
        self._step = self._length_body
        if length:
            self._continue_if_expected()

    def _continue_if_expected(self) -> None:
        expect = [v.lower() for v in self._framing.get(b"expect", [])]
        self._continue = self._http11 and b"100-continue" in expect

    def _length_body(self) -> bool:
        if len(self.buf) >= self._body_end:
            self.end = self._body_end
        return False

    def _chunk_size(self) -> bool:
        line = self._line(MAX_CHUNK_LINE, 400, "a chunk-size line")
        if line is None:
            return False
        size = line.partition(b";")[0].strip(b" \t")
        if not _HEX.fullmatch(size):
            raise _Refused(400, "malformed chunked body: bad chunk size (RFC 9112 §7.1)")
        self._decoded += int(size, 16)
        if self._decoded > self.limits.body:
            raise _Refused(413, f"request body is larger than {self.limits.body} bytes")
        if size.strip(b"0") == b"":
            self._fields = 0
            self._step = self._trailer
        else:
            self._chunk_end = self._pos + int(size, 16)
            self._step = self._chunk_data
        return True

    def _chunk_data(self) -> bool:
        if len(self.buf) < self._chunk_end + 2:
            return False
        if self.buf[self._chunk_end : self._chunk_end + 2] != CRLF:
            raise _Refused(400, "malformed chunked body: a chunk is not followed by CRLF")
        self._pos = self._chunk_end + 2
        self._step = self._chunk_size
        return True

    def _trailer(self) -> bool:
        limit = self.limits.header_field
        line = self._line(limit - 2, 431, "a trailer field line", limit)
        if line is None:
            return False
        if line == b"":
            self.end = self._pos
            return False
        self._fields += 1
        if self._fields > self.limits.header_fields:
            raise _Refused(431, f"more than {self.limits.header_fields} trailer fields")
        return True
