"""HubSpot's API: the token's account, and its answers mapped to errors.

The base of :class:`~middleware.crm.hubspot.client.HubSpotClient`, over the shared
:class:`~middleware.crm.http.CRMHTTP` (pooled connections, a total deadline per request,
answers that are not JSON): the token's account (read once: its portal id and time zone), and
every failure mapped by ``errors.py`` to a :class:`RetryableError` (timeouts, connection
errors, 423, 429, 477, 5xx, an answer that is not JSON) or a :class:`PermanentError`, each with
a stable ``reason``. Messages never contain the access token.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import quote

from middleware.crm.base import lower_headers
from middleware.crm.http import CRMHTTP, CRMResponse, JsonDict
from middleware.crm.hubspot.errors import Answer, account_zone, error_for
from middleware.crm.owners import OwnerCache
from middleware.deadlines import CRM_TIMEOUTS, Timeouts
from middleware.errors import MiddlewareError, PermanentError, RetryableError, shorten

log = logging.getLogger(__name__)

#: Associations of one type a v3 object read embeds at most (reference §A4).
EMBEDDED_ASSOCIATIONS_LIMIT = 100


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


class HubSpotHTTP(CRMHTTP):
    """One access token's way into HubSpot's API; safe to share between threads."""

    label = "HubSpot"
    provider = "hubspot"

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        timeout: Timeouts = CRM_TIMEOUTS,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """``base_url`` is ``https://api.hubapi.com`` (or an emulator); ``timeout``: the
        connect, read and total seconds of every request (:mod:`middleware.deadlines`);
        ``clock`` returns the aware current time (default: now in UTC) and dates the end of
        a daily rate limit."""
        super().__init__(
            base_url=base_url,
            token=access_token,
            auth_headers={"Authorization": f"Bearer {access_token}"},
            timeout=timeout,
        )
        self._clock = clock or (lambda: datetime.now(UTC))
        self._account: AccountDetails | None = None
        self._owners = OwnerCache()  # owner id → email, read by client.py
        self._account_lock = threading.Lock()

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
                    "GET",
                    "/account-info/v3/details",
                    what,
                    account_id=account_id,
                    any_body=True,  # a 404 of any kind: the endpoint is not served here
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

    # ---- errors ------------------------------------------------------------------------------

    def _error(
        self, response: CRMResponse, what: str, *, account_id: str | None
    ) -> MiddlewareError:
        """``errors.error_for``; ``account_id`` (else the token's portal, when known) scopes
        an account-wide wait."""
        if account_id is None and self._account is not None:
            account_id = self._account.portal_id
        return error_for(
            self._answer(response),
            what=what,
            account_id=account_id,
            zone=self._zone(),
            now=self._clock(),
        )

    def _answer(self, response: CRMResponse) -> Answer:
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


def _embedded_contacts(deal: JsonDict) -> tuple[list[str], bool]:
    """Contact ids embedded in a deal read (``associations=contacts``), each once, in order,
    and whether they are all of them.

    v3 object reads embed at most ``EMBEDDED_ASSOCIATIONS_LIMIT`` associations, with the next
    page's ``after`` in the block's ``paging`` when there are more (reference §A4 "Reading
    associations"). The list is taken as complete only when it is shorter than that *and*
    has no ``paging.next``: exactly 100 may be an account that cuts without saying so.
    """
    associations = deal.get("associations")
    contacts = associations.get("contacts") if isinstance(associations, dict) else None
    if contacts is None:
        return [], True  # HubSpot leaves "associations" out when there are none
    results = contacts.get("results") if isinstance(contacts, dict) else None
    if not isinstance(results, list):
        return [], False  # a block we cannot read: ask the v4 list
    linked = [r for r in results if isinstance(r, dict) and r.get("id") is not None]
    complete = len(results) < EMBEDDED_ASSOCIATIONS_LIMIT and _next_after(contacts) is None
    return _unique(str(r["id"]) for r in linked), complete
