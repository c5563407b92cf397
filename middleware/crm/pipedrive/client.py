"""Pipedrive API client: read a deal with its people and owner, write the meeting back.

The API half of the Pipedrive module (:class:`~middleware.crm.base.CRMClient`). Calls, from
``shared/reference/crm-webhooks-and-apis.md`` §2.5 (API v2 where it exists, ``x-api-token``):

* ``GET   /api/v2/deals/{id}`` (``stage_id``, ``owner_id``, ``person_id``, ``custom_fields``)
* ``GET   /api/v2/persons/{id}`` (``emails[{value, primary}]``)
* ``GET   /v1/deals/{id}/participants`` (no v2 endpoint found, §C; ``start``-paged)
* ``GET   /v1/users/{id}`` (``data.email``; the Users API is not in v2)
* ``PATCH /api/v2/deals/{id}`` with ``{"custom_fields": {…}}``

and, in ``metadata.py``, the stages and what ``middleware check`` reads.

Failures become :class:`RetryableError` (timeouts, connection errors, 429, 5xx, a 2xx that is
not Pipedrive's JSON) or :class:`PermanentError` (401, 403, other 4xx, a deleted deal, a
missing owner or field), each with a stable ``reason`` (``errors.py``). The token is sent only
in a header and scrubbed from every message.
"""

from __future__ import annotations

from typing import Any

from middleware.crm.pipedrive.errors import write_back_error
from middleware.crm.pipedrive.http import PROVIDER, JsonDict
from middleware.crm.pipedrive.metadata import PipedriveMetadata
from middleware.crm.pipedrive.start import start_value, text_value
from middleware.crm.pipedrive.values import (
    _data_object,
    _deal_not_found,
    _emails,
    _id,
    _segment,
)
from middleware.errors import PermanentError
from middleware.model import Deal

__all__ = ["PROVIDER", "PipedriveClient"]


class PipedriveClient(PipedriveMetadata):
    """Pipedrive's API, safe to share between threads.

    The account-level reads ``middleware check`` uses (token, deal fields, users, stages) are
    in ``metadata.py``, the HTTP plumbing in ``http.py``."""

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
        return self._owners.get(owner_id, lambda: self._read_owner(deal_id, owner_id))

    def _read_owner(self, deal_id: str, owner_id: int) -> str | None:
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
