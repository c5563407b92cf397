"""HubSpot's API over ``requests``: sessions, one request, its answer mapped to errors.

The base of :class:`~middleware.crm.hubspot.client.HubSpotClient`: per-thread sessions (requests
does not promise a session is thread-safe), the token's account (read once: its portal id and
time zone), and every failure mapped by ``errors.py`` to a :class:`RetryableError` (timeouts,
connection errors, 423, 429, 477, 5xx, a 2xx that is not JSON) or a :class:`PermanentError`,
each with a stable ``reason``. Messages never contain the access token.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import quote

import requests

from middleware.crm.base import lower_headers
from middleware.crm.hubspot.errors import Answer, account_zone, error_for
from middleware.errors import PermanentError, RetryableError, shorten
from middleware.metrics import crm_call

JsonDict = dict[str, Any]

log = logging.getLogger(__name__)

USER_AGENT = "crm-meet-middleware"


@dataclass(frozen=True)
class AccountDetails:
    """The portal the access token belongs to (``GET /account-info/v3/details``)."""

    #: None when the account details cannot be read (the endpoint answered 404): the portal
    #: check is then skipped, with a warning, rather than failing every event
    portal_id: str | None
    #: HubSpot's ``timeZone`` as sent (e.g. ``"US/Eastern"``), None when absent
    time_zone: str | None
    #: the zone the daily API limit resets in (``timeZone``, else the UTC offset, else UTC)
    zone: tzinfo


class HubSpotHTTP:
    """One access token's way into HubSpot's API; safe to share between threads."""

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        timeout: tuple[float, float] = (5.0, 20.0),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """``base_url`` is ``https://api.hubapi.com`` (or an emulator); ``timeout`` is
        (connect, read) seconds, passed on every request; ``clock`` returns the aware current
        time (default: now in UTC) and dates the end of a daily rate limit."""
        self._base_url = base_url.rstrip("/")
        self._token = access_token
        self._timeout = timeout
        self._clock = clock or (lambda: datetime.now(UTC))
        self._account: AccountDetails | None = None
        self._account_lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    def __repr__(self) -> str:  # never show the token
        return f"{type(self).__name__}(base_url={self._base_url!r})"

    def close(self) -> None:
        """Close every thread's session (their pooled connections). The client stays usable."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    # ---- the token's account -----------------------------------------------------------------

    def account_details(self, account_id: str | None = None) -> AccountDetails:
        """The portal the access token belongs to, read once and cached (thread-safe).

        ``GET /account-info/v3/details`` answers ``portalId`` and ``timeZone`` (HubSpot's
        account information API; same shape at ``/account-info/2026-03/details``). A failed
        read is not cached. ``account_id``, when given, is the portal the caller expects (it
        scopes an account-wide wait). Raises like :meth:`fetch_deal`; ``crm_bad_response``
        when the answer has no ``portalId``.
        """
        account = self._account
        if account is not None:
            return account
        with self._account_lock:
            if self._account is None:
                what = "the read of the account details (GET /account-info/v3/details)"
                response = self._send(
                    "GET", "/account-info/v3/details", what, account_id=account_id
                )
                if response.status_code == 404:
                    # Not served here (a proxy, an emulator, an old API gateway): the portal
                    # cannot be checked. Say so once; the token still only reaches its portal.
                    log.warning("%s answered 404: the portal check is skipped", what)
                    self._account = AccountDetails(portal_id=None, time_zone=None, zone=UTC)
                    return self._account
                body = self._json_object(response, what)
                portal_id = body.get("portalId")
                if isinstance(portal_id, bool) or not isinstance(portal_id, (int, str)):
                    raise RetryableError(
                        "crm_bad_response", f"HubSpot's answer to {what} has no portalId"
                    )
                time_zone = body.get("timeZone") if isinstance(body.get("timeZone"), str) else None
                self._account = AccountDetails(
                    portal_id=str(portal_id),
                    time_zone=time_zone,
                    zone=account_zone(time_zone, body.get("utcOffsetMilliseconds")),
                )
            return self._account

    def _zone(self) -> tzinfo:
        """The account's time zone when already known (never a call: used while mapping)."""
        return self._account.zone if self._account is not None else UTC

    # ---- HTTP plumbing -----------------------------------------------------------------------

    def _session(self) -> requests.Session:
        """This thread's session, made on first use."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(
                {
                    "Authorization": f"Bearer {self._token}",
                    "Accept": "application/json",
                    "User-Agent": USER_AGENT,
                }
            )
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    @crm_call("hubspot")
    def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        pass_through: tuple[int, ...] = (404,),
        account_id: str | None = None,
    ) -> requests.Response:
        """Make one request; return a 2xx response or one whose status is in
        ``pass_through``; raise for everything else (``errors.error_for``).

        404 is passed through by default because what it means depends on the call (a
        missing deal, owner or property). ``what`` names the call in error messages;
        ``account_id`` (else the token's portal, when known) scopes an account-wide wait.
        """
        try:
            response = self._session().request(
                method,
                self._base_url + path,
                params=params,
                json=json_body,
                timeout=self._timeout,
            )
        # Timeout first: ConnectTimeout is both a Timeout and a ConnectionError.
        except requests.Timeout as exc:
            connect, read = self._timeout
            raise RetryableError(
                "crm_timeout",
                f"HubSpot did not answer {what} in time "
                f"(timeouts: connect {connect:g} s, read {read:g} s)",
            ) from exc
        except requests.RequestException as exc:
            # ConnectionError, or the connection broke while the body was read.
            raise RetryableError(
                "crm_unreachable",
                self._scrub(f"could not reach HubSpot for {what}: {shorten(str(exc), 200)}"),
            ) from exc
        if response.ok or response.status_code in pass_through:
            return response
        if account_id is None and self._account is not None:
            account_id = self._account.portal_id
        raise error_for(
            self._answer(response),
            what=what,
            account_id=account_id,
            zone=self._zone(),
            now=self._clock(),
        )

    def _answer(self, response: requests.Response) -> Answer:
        """An error answer for ``errors.py``: parsed body, scrubbed message."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            message = shorten(body["message"])
        else:
            message = shorten(response.text) or response.reason or "(no body)"
        return Answer(
            status=response.status_code,
            headers=lower_headers(response.headers),
            body=body,
            text=response.text,
            message=self._scrub(message),
        )

    def _json_object(self, response: requests.Response, what: str) -> JsonDict:
        """The body of a 2xx answer as a JSON object, else ``crm_bad_response`` (retryable:
        a proxy or an outage page, not HubSpot)."""
        try:
            body = response.json()
        except ValueError as exc:  # requests' JSONDecodeError is a ValueError
            raise RetryableError(
                "crm_bad_response",
                self._scrub(
                    f"HubSpot answered {response.status_code} to {what} with a body that is "
                    f"not JSON: {shorten(response.text, 200)!r}"
                ),
            ) from exc
        if not isinstance(body, dict):
            raise RetryableError(
                "crm_bad_response", f"HubSpot answered {what} with JSON that is not an object"
            )
        return body

    def _scrub(self, text: str) -> str:
        """Belt and braces: a message never carries the token, even if a body echoed it."""
        return text.replace(self._token, "[token]") if self._token else text


# ---- pure helpers ----------------------------------------------------------------------------


def _segment(value: str) -> str:
    """An id as one URL path segment: ``/`` or ``?`` in it cannot reach another endpoint."""
    return quote(str(value), safe="")


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _text(value: Any) -> str | None:
    """A property value as text (HubSpot sends strings; None stays None)."""
    return None if value is None else str(value)


def _results(body: JsonDict, what: str) -> list[dict[str, Any]]:
    results = body.get("results", [])
    if not isinstance(results, list):
        raise RetryableError("crm_bad_response", f"HubSpot's answer to {what} has no results list")
    return [r for r in results if isinstance(r, dict)]


def _next_after(body: JsonDict) -> str | None:
    paging = body.get("paging")
    next_page = paging.get("next") if isinstance(paging, dict) else None
    after = next_page.get("after") if isinstance(next_page, dict) else None
    return str(after) if after not in (None, "") else None


def _deal_not_found(deal_id: str) -> PermanentError:
    return PermanentError(
        "deal_not_found", f"deal {deal_id} not found in HubSpot (deleted or merged?)"
    )
