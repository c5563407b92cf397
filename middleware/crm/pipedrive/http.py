"""Pipedrive's HTTP plumbing: one ``requests`` session per thread, the ``x-api-token`` header,
failures mapped to the error tree (``errors.py``), paged list endpoints (v1 ``start``, v2
``cursor``). The token is sent only in a header and scrubbed from every message.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import requests

from middleware.crm.base import lower_headers
from middleware.crm.pipedrive.errors import Answer, error_for, message_of
from middleware.errors import RetryableError, shorten
from middleware.metrics import crm_call
from middleware.rules import PipedriveRules

PROVIDER = "pipedrive"
USER_AGENT = "crm-meet-middleware"
PAGE_SIZE = 100
DEFAULT_MAX_ATTENDEES = 100
JsonDict = dict[str, Any]


class PipedriveHTTP:
    """Pipedrive's API over ``requests``; one session per thread, safe to share."""

    provider = PROVIDER

    def __init__(
        self,
        *,
        base_url: str,
        api_token: str,
        rules: PipedriveRules,
        timeout: tuple[float, float] = (5.0, 20.0),
        max_attendees: int = DEFAULT_MAX_ATTENDEES,
    ) -> None:
        """``base_url`` is the company's ``https://acme.pipedrive.com`` (or an emulator);
        ``timeout`` is (connect, read) seconds."""
        self._base_url = base_url.rstrip("/")
        self._token = api_token
        self._rules = rules
        self._timeout = timeout
        self._max_attendees = max_attendees
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never show the token
        return f"{type(self).__name__}(base_url={self._base_url!r})"

    def close(self) -> None:
        """Release pooled connections."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    def _pages(
        self, path: str, what: str, *, v1: bool = False, empty_on_404: bool = True
    ) -> Iterator[JsonDict]:
        """Items of a list endpoint: v1 pages by ``start`` (``additional_data.pagination``),
        v2 by ``cursor`` (``additional_data.next_cursor``); a 404 is an empty list (the
        participants of a deal gone) unless ``empty_on_404`` is False (then it raises)."""
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        seen: set[str] = set()
        while True:
            response = self._send(
                "GET", path, what, params=params, pass_through=(404,) if empty_on_404 else ()
            )
            if response.status_code == 404:
                return
            body = self._json(response, what)
            items = body.get("data") or []
            if not isinstance(items, list):
                raise RetryableError(
                    "crm_bad_response", f"Pipedrive's answer to {what} has no list"
                )
            yield from (i for i in items if isinstance(i, dict))
            extra = body.get("additional_data")
            extra = extra if isinstance(extra, dict) else {}
            if v1:
                paging = extra.get("pagination")
                paging = paging if isinstance(paging, dict) else {}
                more, cursor = paging.get("more_items_in_collection"), paging.get("next_start")
                if not more or cursor is None:
                    return
                params["start"] = cursor
            else:
                cursor = extra.get("next_cursor")
                if not cursor:
                    return
                params["cursor"] = cursor
            if str(cursor) in seen:  # a repeated cursor would loop forever
                return
            seen.add(str(cursor))

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(
                {"x-api-token": self._token, "Accept": "application/json", "User-Agent": USER_AGENT}
            )
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    @crm_call(PROVIDER)
    def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        pass_through: tuple[int, ...] = (404,),
    ) -> requests.Response:
        try:
            response = self._session().request(
                method, self._base_url + path, params=params, json=json_body, timeout=self._timeout
            )
        except requests.Timeout as exc:
            connect, read = self._timeout
            raise RetryableError(
                "crm_timeout",
                f"Pipedrive did not answer {what} in time "
                f"(timeouts: connect {connect:g} s, read {read:g} s)",
            ) from exc
        except requests.RequestException as exc:
            raise RetryableError(
                "crm_unreachable",
                self._scrub(f"could not reach Pipedrive for {what}: {shorten(str(exc), 200)}"),
            ) from exc
        if response.ok or response.status_code in pass_through:
            return response
        raise error_for(self._answer(response), what=what)

    def _answer(self, response: requests.Response) -> Answer:
        try:
            body = response.json()
        except ValueError:
            body = None
        return Answer(
            status=response.status_code,
            headers=lower_headers(response.headers),
            message=self._scrub(message_of(body, response.text, response.reason)),
        )

    def _json(self, response: requests.Response, what: str) -> JsonDict:
        try:
            body = response.json()
        except ValueError as exc:
            raise RetryableError(
                "crm_bad_response",
                self._scrub(
                    f"Pipedrive answered {response.status_code} to {what} with a body that is "
                    f"not JSON: {shorten(response.text, 200)!r}"
                ),
            ) from exc
        if not isinstance(body, dict) or body.get("success") is False:
            raise RetryableError(
                "crm_bad_response",
                f"Pipedrive answered {what} without success: {shorten(str(body), 200)}",
            )
        return body

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[token]") if self._token else text
