"""Pipedrive's HTTP plumbing on the shared CRM base (``crm/http.py``: pooled connections, a
total deadline per request, non-JSON answers): the ``x-api-token`` header, failures mapped to
the error tree (``errors.py``), paged list endpoints (v1 ``start``, v2 ``cursor``). The token is
sent only in a header and scrubbed from every message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from middleware.crm.base import lower_headers
from middleware.crm.http import CRMHTTP, CRMResponse
from middleware.crm.owners import OwnerCache
from middleware.crm.pipedrive.errors import Answer, error_for, message_of
from middleware.deadlines import CRM_TIMEOUTS, Timeouts
from middleware.errors import MiddlewareError, RetryableError, shorten
from middleware.rules import PipedriveRules

PROVIDER = "pipedrive"
PAGE_SIZE = 100
DEFAULT_MAX_ATTENDEES = 100
JsonDict = dict[str, Any]


class PipedriveHTTP(CRMHTTP):
    """Pipedrive's API, safe to share between threads."""

    provider = PROVIDER
    label = "Pipedrive"

    def __init__(
        self,
        *,
        base_url: str,
        api_token: str,
        rules: PipedriveRules,
        timeout: Timeouts = CRM_TIMEOUTS,
        max_attendees: int = DEFAULT_MAX_ATTENDEES,
    ) -> None:
        """``base_url`` is the company's ``https://acme.pipedrive.com`` (or an emulator);
        ``timeout``: the connect, read and total seconds of every request."""
        super().__init__(
            base_url=base_url,
            token=api_token,
            auth_headers={"x-api-token": api_token},
            timeout=timeout,
        )
        self._rules = rules
        self._max_attendees = max_attendees
        self._owners = OwnerCache()  # owner id → email, read by client.py

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

    # ---- answers ---------------------------------------------------------------------------

    def _error(
        self, response: CRMResponse, what: str, *, account_id: str | None
    ) -> MiddlewareError:
        return error_for(self._answer(response), what=what)

    def _answer(self, response: CRMResponse) -> Answer:
        try:
            body = response.json()
        except ValueError:
            body = None
        return Answer(
            status=response.status_code,
            headers=lower_headers(response.headers),
            message=self._scrub(message_of(body, response.text, response.reason)),
        )

    def _json(self, response: CRMResponse, what: str) -> JsonDict:
        """A JSON object that does not say ``"success": false``, else ``crm_bad_response``."""
        body = self._json_object(response, what)
        if body.get("success") is False:
            raise RetryableError(
                "crm_bad_response",
                f"Pipedrive answered {what} without success: {shorten(str(body), 200)}",
            )
        return body
