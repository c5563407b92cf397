"""Pipedrive API client: read a deal with its people and owner, write the meeting back.

The API half of the Pipedrive module (:class:`~middleware.crm.base.CRMClient`). Calls, from
``shared/reference/crm-webhooks-and-apis.md`` §2.5 (API v2 where it exists, ``x-api-token``):

* ``GET   /api/v2/deals/{id}`` (``stage_id``, ``owner_id``, ``person_id``, ``custom_fields``)
* ``GET   /api/v2/persons/{id}`` (``emails[{value, primary}]``)
* ``GET   /v1/deals/{id}/participants`` (no v2 endpoint found, §C; ``start``-paged)
* ``GET   /v1/users/{id}`` (``data.email``; the Users API is not in v2)
* ``PATCH /api/v2/deals/{id}`` with ``{"custom_fields": {…}}``
* ``GET   /api/v2/stages`` (cursor-paged)

Failures become :class:`RetryableError` (timeouts, connection errors, 429, 5xx, a 2xx that is
not Pipedrive's JSON) or :class:`PermanentError` (401, 403, other 4xx, a deleted deal, a
missing owner or field), each with a stable ``reason`` (``errors.py``). The token is sent only
in a header and scrubbed from every message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests

from middleware.crm.base import Stage, lower_headers
from middleware.crm.http import CRMHTTP
from middleware.crm.pipedrive.errors import Answer, error_for, message_of, write_back_error
from middleware.crm.pipedrive.start import start_value, text_value
from middleware.crm.pipedrive.values import (
    _data_object,
    _deal_not_found,
    _emails,
    _id,
    _segment,
)
from middleware.deadlines import CRM_TIMEOUTS, Timeouts
from middleware.errors import MiddlewareError, PermanentError, RetryableError, shorten
from middleware.model import Deal
from middleware.rules import PipedriveRules

PROVIDER = "pipedrive"
PAGE_SIZE = 100
DEFAULT_MAX_ATTENDEES = 100
JsonDict = dict[str, Any]


class PipedriveClient(CRMHTTP):
    """Pipedrive's API over ``requests``; one session per thread, safe to share."""

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

    # ---- the CRMClient interface -----------------------------------------------------------

    def fetch_deal(self, account_id: str, deal_id: str) -> Deal:
        """Read deal ``deal_id``; in a trigger stage also its people's and owner's emails.

        The deal's person comes first, then the other participants, each once, at most
        ``max_attendees``. A deal without ``owner_id`` has ``owner_email=None``; an empty start
        field leaves ``start_value=None``. Raises :class:`PermanentError` ``deal_not_found``
        (404, or a deal Pipedrive reports deleted), ``owner_not_found``, ``bad_start``,
        ``crm_unauthorized``, ``crm_forbidden``, ``crm_bad_request``; :class:`RetryableError`
        ``crm_rate_limited``, ``crm_unavailable``, ``crm_timeout``, ``crm_unreachable``,
        ``crm_bad_response``.
        """
        rules = self._rules
        deal = self._deal(deal_id)
        raw_fields = deal.get("custom_fields")
        fields: JsonDict = raw_fields if isinstance(raw_fields, dict) else {}
        stage_id = deal.get("stage_id")
        in_trigger = stage_id in rules.trigger_stage_ids
        name = str(deal.get("title") or f"Deal {deal_id}")
        owner_email: str | None = None
        emails: tuple[str | None, ...] = ()
        start: str | None = None
        if in_trigger:
            emails = tuple(self._people_emails(deal_id, deal.get("person_id")))
            owner_id = _id(deal.get("owner_id"))
            if owner_id is not None:
                owner_email = self._owner_email(deal_id, owner_id)
            start = start_value(
                fields,
                start_field=rules.start_field,
                start_time_field=rules.start_time_field,
                deal_id=deal_id,
            )
        start_name = rules.start_field + (
            f" + {rules.start_time_field}" if rules.start_time_field else ""
        )
        return Deal(
            provider=PROVIDER,
            account_id=account_id,
            deal_id=deal_id,
            name=name,
            stage=str(stage_id),
            in_trigger_stage=in_trigger,
            in_cancel_stage=stage_id in rules.cancel_stage_ids,
            owner_email=owner_email,
            company=name,
            start_value=start,
            start_property=f"custom field {start_name}",
            contact_emails=emails,
            current_meet_url=text_value(fields, rules.meet_url_field),
            current_event_id=text_value(fields, rules.event_id_field),
            properties=dict(fields),
        )

    def write_back(self, deal: Deal, *, meet_url: str, calendar_event_id: str) -> bool:
        """Store the Meet URL and event id in the configured text fields (``PATCH``, idempotent).
        Returns False, sending nothing, when the deal already holds both. Raises like
        :meth:`fetch_deal`, and ``crm_property_missing`` for a field Pipedrive refuses."""
        if deal.current_meet_url == meet_url and deal.current_event_id == calendar_event_id:
            return False
        self._patch(deal.deal_id, meet_url, calendar_event_id)
        return True

    def clear_write_back(self, deal: Deal) -> bool:
        """Empty both fields (``null`` clears a v2 custom field). False when already empty."""
        if not deal.current_meet_url and not deal.current_event_id:
            return False
        self._patch(deal.deal_id, None, None)
        return True

    def list_stages(self) -> list[Stage]:
        """Every stage (``GET /api/v2/stages``, following ``additional_data.next_cursor``)."""
        stages: list[Stage] = []
        for item in self._pages("/api/v2/stages", "the read of the deal stages"):
            if _id(item.get("id")) is not None and not item.get("is_deleted"):
                stages.append(
                    Stage(
                        id=str(item["id"]),
                        label=str(item.get("name") or ""),
                        pipeline=f"pipeline {item.get('pipeline_id')}",
                    )
                )
        return stages

    # ---- reads -----------------------------------------------------------------------------

    def _deal(self, deal_id: str) -> JsonDict:
        what = f"the read of deal {deal_id}"
        response = self._send("GET", f"/api/v2/deals/{_segment(deal_id)}", what)
        if response.status_code == 404:
            raise _deal_not_found(deal_id)
        deal = _data_object(self._json(response, what), what)
        # A deleted deal is kept for 30 days and may still be read, flagged (v2 is_deleted).
        if deal.get("is_deleted") is True or deal.get("status") == "deleted":
            raise _deal_not_found(deal_id)
        return deal

    def _people_emails(self, deal_id: str, person_id: Any) -> list[str | None]:
        emails: dict[str | None, None] = {}
        person = _id(person_id)
        if person is not None:
            what = f"the read of person {person} of deal {deal_id}"
            response = self._send("GET", f"/api/v2/persons/{person}", what)
            if response.status_code != 404:  # a deleted person: invite the others
                for email in _emails(_data_object(self._json(response, what), what)):
                    emails.setdefault(email, None)
        path = f"/v1/deals/{_segment(deal_id)}/participants"
        for item in self._pages(path, f"the read of deal {deal_id}'s participants", v1=True):
            for key in ("person", "person_id"):
                if isinstance(item.get(key), dict):
                    for email in _emails(item[key]):
                        emails.setdefault(email, None)
                    break
            if len(emails) >= self._max_attendees:
                break
        return list(emails)[: self._max_attendees]

    def _owner_email(self, deal_id: str, owner_id: int) -> str | None:
        what = f"the read of owner {owner_id} of deal {deal_id}"
        response = self._send("GET", f"/v1/users/{owner_id}", what)
        if response.status_code == 404:
            raise PermanentError(
                "owner_not_found",
                f"deal {deal_id}: owner {owner_id} not found in Pipedrive (deactivated?): "
                "assign an active user as the deal's owner",
            )
        email = _data_object(self._json(response, what), what).get("email")
        return str(email) if email else None

    def _pages(self, path: str, what: str, *, v1: bool = False) -> Iterator[JsonDict]:
        """Items of a list endpoint: v1 pages by ``start`` (``additional_data.pagination``),
        v2 by ``cursor`` (``additional_data.next_cursor``); a 404 is an empty list."""
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        seen: set[str] = set()
        while True:
            response = self._send("GET", path, what, params=params)
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

    def _patch(self, deal_id: str, meet_url: str | None, event_id: str | None) -> None:
        rules = self._rules
        what = f"the write-back to deal {deal_id}"
        response = self._send(
            "PATCH",
            f"/api/v2/deals/{_segment(deal_id)}",
            what,
            json_body={
                "custom_fields": {rules.meet_url_field: meet_url, rules.event_id_field: event_id}
            },
            pass_through=(400, 404),
        )
        if response.status_code == 404:
            raise _deal_not_found(deal_id)
        if response.status_code == 400:
            raise write_back_error(
                self._answer(response),
                deal_id=deal_id,
                rules_keys={
                    rules.meet_url_field: "pipedrive.meet_url_field",
                    rules.event_id_field: "pipedrive.event_id_field",
                },
            )
        self._json(response, what)

    # ---- answers ---------------------------------------------------------------------------

    def _error(
        self, response: requests.Response, what: str, *, account_id: str | None
    ) -> MiddlewareError:
        return error_for(self._answer(response), what=what)

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
        """A JSON object that does not say ``"success": false``, else ``crm_bad_response``."""
        body = self._json_object(response, what)
        if body.get("success") is False:
            raise RetryableError(
                "crm_bad_response",
                f"Pipedrive answered {what} without success: {shorten(str(body), 200)}",
            )
        return body
