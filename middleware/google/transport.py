"""httplib2 for Google's token endpoint and Calendar: a total deadline per request, and only
Google's JSON accepted as an answer.

:class:`DeadlineHttp` is the ``httplib2.Http`` Google calls go through (one per thread, kept
between its calls: httplib2 is not thread-safe, ref §4.4). Its socket timeout bounds each
read; on top of that each
request runs under a :class:`~middleware.deadlines.Watch` of ``total`` seconds that shuts the
connection down when the answer has not fully arrived by then, and raises
:class:`~middleware.deadlines.DeadlineExceeded` (a ``TimeoutError``: ``google_timeout``).
After a failed or cut request its connections are closed, so the next call starts afresh.

Google answers both APIs with JSON objects (Calendar's error bodies, ref §2.1; the token
endpoint's RFC 6749 §5.1/§5.2 bodies) or nothing (``204`` of a delete). Any other body (an HTML
page from a proxy or a captive portal, a cut answer) raises :class:`NotJsonAnswer`, whatever
the status, before googleapiclient or google-auth read it: otherwise a ``200`` of garbage
surfaces as a ``JSONDecodeError`` (or a ``TypeError`` in google-auth), and a ``404`` page from
a proxy would read as "no such event".

"ref §N" points into /work/shared/reference/google-calendar-and-service-accounts.md.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httplib2

from middleware.deadlines import DeadlineExceeded, Timeouts, Watch, track

__all__ = ["DeadlineHttp", "NotJsonAnswer", "is_json_object"]


class NotJsonAnswer(Exception):
    """Google's side answered with a body that is not a JSON object."""

    def __init__(self, status: int, content: bytes, retry_after: str | None = None) -> None:
        super().__init__(f"HTTP {status} with a body that is not JSON")
        self.status = status
        self.content = content
        #: the answer's ``Retry-After`` header, if any
        self.retry_after = retry_after


def is_json_object(content: bytes | str | None) -> bool:
    """True for an empty body or a JSON object (what Google answers), False otherwise."""
    if not content or not content.strip():
        return True
    try:
        return isinstance(json.loads(content), dict)
    except (ValueError, UnicodeDecodeError):
        return False


class _WatchedHTTP(httplib2.HTTPConnectionWithTimeout):
    """Puts its socket under the current call's deadline as soon as it is connected (the
    answer is read from it even after ``http.client`` drops ``sock`` on ``Connection:
    close``)."""

    def connect(self) -> None:
        super().connect()
        track(self)


class _WatchedHTTPS(httplib2.HTTPSConnectionWithTimeout):
    def connect(self) -> None:
        super().connect()
        track(self)


_CONNECTIONS: dict[str, type[httplib2.HTTPConnectionWithTimeout]] = {
    "http": _WatchedHTTP,
    "https": _WatchedHTTPS,
}


class DeadlineHttp(httplib2.Http):
    """``httplib2.Http`` whose every request ends within ``timeout.total`` seconds.

    The socket timeout is ``timeout.read`` (httplib2 has one timeout, which bounds
    connecting too). Raises :class:`DeadlineExceeded` past the deadline, even when a cut
    answer came back, and :class:`NotJsonAnswer` for a body that is not JSON.
    """

    def __init__(self, timeout: Timeouts) -> None:
        super().__init__(timeout=timeout.read)
        self.deadline = timeout.total

    def drop_connections(self) -> None:
        """Close the kept connections (a cut or broken one must not be used again)."""
        connections = list(self.connections.values())
        self.connections.clear()
        for connection in connections:
            connection.close()

    def _sockets(self) -> list[Any]:
        return [getattr(c, "sock", None) for c in list(self.connections.values())]

    def request(
        self, uri: str, *args: Any, connection_type: Any = None, **kwargs: Any
    ) -> tuple[httplib2.Response, bytes]:
        if connection_type is None:
            connection_type = _CONNECTIONS.get(urlsplit(uri).scheme.lower())
        with Watch(self.deadline, self._sockets) as watch:
            try:
                response, content = super().request(
                    uri, *args, connection_type=connection_type, **kwargs
                )
            except Exception as exc:
                self.drop_connections()
                if watch.expired:
                    raise DeadlineExceeded(self.deadline) from exc
                raise
        if watch.expired:
            self.drop_connections()
            raise DeadlineExceeded(self.deadline)
        if not is_json_object(content):
            raise NotJsonAnswer(int(response.status), content, response.get("retry-after"))
        return response, content
