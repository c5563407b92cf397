"""The CRM APIs' transport: urllib3 pools whose connections a deadline can shut down, and the
answer a call returns.

One :class:`Transport` per CRM client, shared by its threads (urllib3's pools are
thread-safe: each connection serves one request at a time). It is urllib3 without ``requests``
on top: a booking makes three CRM calls, and ``requests`` spent more CPU preparing each one
(sessions, hooks, cookies, environment look-ups) than urllib3 spends sending it.

The environment is read once, when the transport is made: the proxy for the one host the
client calls (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``, as ``requests`` reads them) and a
CA bundle (``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``, else certifi's). A ``~/.netrc`` is never
read: the token is the only credential.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import certifi
import urllib3
from requests.utils import get_environ_proxies
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from middleware.deadlines import Timeouts, track

__all__ = ["CRMResponse", "Transport", "TransportError", "is_timeout"]

#: Connections kept per host: more than any worker's threads, so none is thrown away.
POOL_SIZE = 64

#: What a failed send raises (:func:`is_timeout` tells the timeouts).
TransportError = (urllib3.exceptions.HTTPError, OSError)


def is_timeout(exc: BaseException) -> bool:
    """A connect or read timeout. urllib3's "could not connect" (refused, no route) is a
    subclass of its connect timeout, and is not one (as ``requests`` reads it too)."""
    return isinstance(exc, urllib3.exceptions.TimeoutError) and not isinstance(
        exc, urllib3.exceptions.NewConnectionError
    )


class _WatchedHTTPConnection(HTTPConnection):
    """Puts its socket under the current call's deadline as soon as it is connected."""

    def connect(self) -> None:
        super().connect()
        track(self)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        track(self)


class _WatchedPool(HTTPConnectionPool):
    """Puts every connection it hands out (a kept-alive one too) under the current call's
    deadline; new ones again once connected."""

    ConnectionCls = _WatchedHTTPConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)
        track(connection)
        return connection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)
        track(connection)
        return connection


class CRMResponse:
    """A whole answer: status, headers (case-insensitive), body."""

    def __init__(self, status: int, reason: str | None, headers: Any, content: bytes) -> None:
        self.status_code = status
        self.reason = reason or ""
        self.headers: Mapping[str, str] = headers
        self.content = content

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def text(self) -> str:
        charset = "utf-8"
        for part in str(self.headers.get("Content-Type", "")).split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not (or is empty)."""
        return json.loads(self.content)

    def close(self) -> None:
        """Nothing to do: the body is read whole and the connection given back."""


class Transport:
    """urllib3 pools for ``base_url`` with ``headers`` on every request."""

    def __init__(self, base_url: str, headers: Mapping[str, str], timeout: Timeouts) -> None:
        self._base_url = base_url
        self._headers = dict(headers)
        self._timeout = urllib3.Timeout(connect=timeout.connect, read=timeout.read)
        options: dict[str, Any] = {
            "maxsize": POOL_SIZE,
            "ca_certs": os.environ.get("REQUESTS_CA_BUNDLE")
            or os.environ.get("CURL_CA_BUNDLE")
            or certifi.where(),
        }
        scheme = base_url.split(":", 1)[0].lower()
        proxy = get_environ_proxies(base_url).get(scheme)
        manager = (
            urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)
        )
        manager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedHTTPSPool}
        self._manager = manager

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> CRMResponse:
        """One request, its whole answer read. Raises :data:`TransportError`; redirects are not followed, nothing is
        retried (retrying is the pipeline's job)."""
        url = self._base_url + path
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if query:
            url += "?" + urlencode(query, doseq=True)
        headers = self._headers
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers = {**headers, "Content-Type": "application/json"}
        answer = self._manager.request(
            method,
            url,
            body=body,
            headers=headers,
            timeout=self._timeout,
            retries=False,
            redirect=False,
        )
        return CRMResponse(answer.status, answer.reason, answer.headers, answer.data)

    def close(self) -> None:
        """Close the pooled connections (the transport stays usable)."""
        self._manager.clear()
