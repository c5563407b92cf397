"""RequestFramer: where a request ends, or why it is refused, as its bytes arrive."""

from __future__ import annotations

import pytest
from gunicorn import http
from gunicorn.config import Config

from middleware.web.framing import Limits, Refusal, RequestFramer

LIMITS = Limits(request_line=100, header_fields=5, header_field=60, body=50)
HEAD = b"POST /webhooks/hubspot HTTP/1.1\r\nHost: h\r\n"


def framed(data: bytes, *, one_byte_at_a_time: bool = False) -> RequestFramer | Refusal:
    framer = RequestFramer(LIMITS)
    pieces = [data[i : i + 1] for i in range(len(data))] if one_byte_at_a_time else [data]
    for piece in pieces:
        refusal = framer.feed(piece)
        if refusal is not None:
            return refusal
        if framer.complete:
            break
    return framer


VALID = {
    "no body": b"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n",
    "an empty line first": b"\r\nGET /healthz HTTP/1.1\r\nHost: h\r\n\r\n",
    "a length": HEAD + b"Content-Length: 5\r\n\r\nhello",
    "a zero length": HEAD + b"content-length:0\r\n\r\n",
    "chunks": HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\n\r\n",
    "chunks and trailers": HEAD
    + b"Transfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n000\r\nX-Sum: 1\r\n\r\n",
    "a body at the limit": HEAD + b"Content-Length: 50\r\n\r\n" + b"a" * 50,
}


@pytest.mark.parametrize("request_bytes", VALID.values(), ids=VALID.keys())
@pytest.mark.parametrize("one_byte_at_a_time", [False, True])
def test_a_valid_request_is_complete_exactly_at_its_end(
    request_bytes: bytes, one_byte_at_a_time: bool
) -> None:
    pipelined = b"GET /next HTTP/1.1\r\n"
    framer = framed(request_bytes + pipelined, one_byte_at_a_time=one_byte_at_a_time)
    assert isinstance(framer, RequestFramer) and framer.complete
    if one_byte_at_a_time:
        assert framer.split() == (request_bytes, b"")
    else:
        assert framer.split() == (request_bytes, pipelined)
    incomplete = framed(request_bytes[:-1])
    assert isinstance(incomplete, RequestFramer) and not incomplete.complete


BODIES = {"a length": b"hello", "chunks": b"hello!", "chunks and trailers": b"[]"}


@pytest.mark.parametrize("name", VALID)
def test_gunicorn_parses_exactly_the_request_the_framer_framed(name: str) -> None:
    framer = framed(VALID[name])
    assert isinstance(framer, RequestFramer)
    request, _ = framer.split()
    parser = http.get_parser(Config(), [request], ("127.0.0.1", 1))
    message = next(parser)
    assert message.body.read() == BODIES.get(name, b"a" * 50 if "limit" in name else b"")
    assert parser.unreader.buf.getvalue() == b""  # nothing left over, nothing missing


REFUSED = {
    "a long request line, before its end": (
        b"GET /" + b"a" * 101,
        414,
        "the request line is longer than 100 bytes",
    ),
    "a long header line, before its end": (
        HEAD + b"X: " + b"a" * 60,
        431,
        "a header field line is longer than 60 bytes",
    ),
    "too many header fields": (
        HEAD + b"".join(b"X-%d: 1\r\n" % i for i in range(5)),
        431,
        "more than 5 header fields",
    ),
    "a bare LF": (b"GET / HTTP/1.1\nHost: h\n\n", 400, "bare LF"),
    "a Content-Length over the limit, before its body": (
        HEAD + b"Content-Length: 51\r\n\r\n",
        413,
        "larger than 50 bytes",
    ),
    "chunks over the limit, before their data": (
        HEAD + b"Transfer-Encoding: chunked\r\n\r\n20\r\n" + b"a" * 32 + b"\r\n13\r\n",
        413,
        "larger than 50 bytes",
    ),
    "Content-Length and chunked": (
        HEAD + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
        "Content-Length with Transfer-Encoding",
    ),
    "two Content-Lengths": (
        HEAD + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\n",
        400,
        "malformed Content-Length",
    ),
    "a signed Content-Length": (HEAD + b"Content-Length: +3\r\n\r\n", 400, "malformed"),
    "a coding after chunked": (
        HEAD + b"Transfer-Encoding: chunked, gzip\r\n\r\n",
        400,
        "must end with chunked",
    ),
    "a coding before chunked": (
        HEAD + b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        501,
        "only the chunked transfer coding",
    ),
    "a bad chunk size": (
        HEAD + b"Transfer-Encoding: chunked\r\n\r\n-5\r\n",
        400,
        "bad chunk size",
    ),
    "a chunk longer than its size": (
        HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
        400,
        "not followed by CRLF",
    ),
    "too many trailer fields": (
        HEAD
        + b"Transfer-Encoding: chunked\r\n\r\n0\r\n"
        + b"".join(b"X-%d: 1\r\n" % i for i in range(6)),
        431,
        "more than 5 trailer fields",
    ),
}


@pytest.mark.parametrize(("request_bytes", "status", "message"), REFUSED.values(), ids=REFUSED)
@pytest.mark.parametrize("one_byte_at_a_time", [False, True])
def test_a_bad_request_is_refused_as_soon_as_its_bytes_say_so(
    request_bytes: bytes, status: int, message: str, one_byte_at_a_time: bool
) -> None:
    refusal = framed(request_bytes, one_byte_at_a_time=one_byte_at_a_time)
    assert isinstance(refusal, Refusal), "not refused"
    assert refusal.status == status
    assert message in refusal.message


def test_100_continue_is_wanted_once_when_an_http11_client_waits_to_send_a_body() -> None:
    expecting = RequestFramer(LIMITS)
    assert expecting.feed(HEAD + b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\n") is None
    assert not expecting.complete
    assert expecting.take_continue() and not expecting.take_continue()
    assert expecting.feed(b"[]") is None and expecting.complete

    for no_wait in (
        HEAD + b"Expect: 100-continue\r\nContent-Length: 0\r\n\r\n",  # no body to wait for
        b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",  # RFC 9110
        HEAD + b"Content-Length: 2\r\n\r\n",
    ):
        framer = RequestFramer(LIMITS)
        assert framer.feed(no_wait) is None
        assert not framer.take_continue()


def test_a_complete_request_takes_no_more_bytes() -> None:
    framer = RequestFramer(LIMITS)
    framer.feed(VALID["no body"])
    with pytest.raises(RuntimeError):
        framer.feed(b"more")
    with pytest.raises(RuntimeError):
        RequestFramer(LIMITS).split()
