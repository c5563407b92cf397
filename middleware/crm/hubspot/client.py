"""HubSpot CRM API client: read a deal with its contacts and owner, write the meeting back.

The API half of the HubSpot module (:class:`~middleware.crm.base.CRMClient`); the webhook half
is ``intake.py``; the HTTP plumbing is ``http.py``, account-level reads ``metadata.py``. The calls, response shapes, error bodies and rate-limit
headers are the ones collected in ``shared/reference/crm-webhooks-and-apis.md`` §1.7:

* ``GET   /account-info/v3/details`` (the token's portal id and time zone; once, cached)
* ``GET   /crm/v3/objects/deals/{id}?properties=…``
* ``GET   /crm/v4/objects/deals/{id}/associations/contacts?limit=500&after=…`` (paged), only
  when the deal read's embedded ones may be cut at 100 (reference §A4 "Reading associations")
* ``POST  /crm/v3/objects/contacts/batch/read`` (at most 100 inputs; 207 = some not found)
* ``GET   /crm/v3/owners?limit=500`` (one page, cached: ``owners.py``), ``GET
  /crm/v3/owners/{ownerId}`` for an owner not on it, and all pages for ``check``
* ``PATCH /crm/v3/objects/deals/{id}`` with ``{"properties": {…}}``
* ``GET   /crm/v3/properties/deals/{name}`` and ``GET /crm/v3/pipelines/deals`` (for ``check``)

Every failure becomes a :class:`~middleware.errors.RetryableError` (timeouts, connection
errors, 423, 429, 477, 5xx, a 2xx that is not JSON) or a :class:`~middleware.errors.PermanentError`
(401, 403, 404, other 4xx, missing or read-only properties, validation rules, a deal of another
portal), each with a stable ``reason``; the status mapping is ``errors.py``. Messages
name the call and the deal, quote HubSpot's ``message`` cut short, and never contain the token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from middleware.crm.http import JsonDict
from middleware.crm.hubspot.errors import REQUIRED_SCOPES, write_back_error
from middleware.crm.hubspot.http import (
    AccountDetails,
    _deal_not_found,
    _embedded_contacts,
    _next_after,
    _results,
    _segment,
    _text,
    _unique,
)
from middleware.crm.hubspot.owners import HubSpotOwners
from middleware.deadlines import CRM_TIMEOUTS, Timeouts
from middleware.errors import PermanentError, RetryableError
from middleware.model import Deal
from middleware.rules import HubSpotRules

__all__ = ["REQUIRED_SCOPES", "AccountDetails", "HubSpotClient"]

log = logging.getLogger(__name__)

PROVIDER = "hubspot"
#: Batch endpoints take at most 100 inputs (reference §1.7, "a batch holds up to 100").
CONTACT_BATCH_SIZE = 100
#: Associations per v4 page: what public code asks for (reference §A4; the maximum is
#: unconfirmed, and a smaller page only means more pages).
ASSOCIATIONS_PAGE_SIZE = 500
#: Attendees invited when the rules file says nothing (``meeting.max_attendees``).
DEFAULT_MAX_ATTENDEES = 100
#: The deal properties every read asks for, before the three configured in the rules file.
DEAL_PROPERTIES = ("dealname", "dealstage", "pipeline", "hubspot_owner_id")
CONTACT_PROPERTIES = ("email", "firstname", "lastname", "company")


class HubSpotClient(HubSpotOwners):
    """HubSpot's CRM v3 API, safe to share between worker threads (one pool of kept-alive
    connections, ``crm/transport.py``)."""

    provider = PROVIDER

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        rules: HubSpotRules,
        timeout: Timeouts = CRM_TIMEOUTS,
        max_attendees: int = DEFAULT_MAX_ATTENDEES,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """See :class:`~middleware.crm.hubspot.http.HubSpotHTTP`; at most ``max_attendees``
        associated contacts are read per deal (``meeting.max_attendees``)."""
        super().__init__(base_url=base_url, access_token=access_token, timeout=timeout, clock=clock)
        self._rules = rules
        self._max_attendees = max_attendees

    # ---- the CRMClient interface -----------------------------------------------------------

    def fetch_deal(self, account_id: str, deal_id: str) -> Deal:
        """Read deal ``deal_id`` with its contacts' emails and its owner's email.

        First (once per client) the token's portal is learned; a deal of another portal
        (``account_id``, the webhook's ``portalId``) is refused before anything is read.
        A deal outside the trigger stages comes back with ``in_trigger_stage=False`` and
        without contacts or owner (those calls are skipped: the pipeline skips the deal).
        Contacts keep their association order, at most ``max_attendees`` of them (a WARNING
        is logged when more are associated); their emails are passed through as HubSpot
        holds them (None when unset) for the planner to filter; contacts HubSpot no longer
        finds (a 207 answer) are left out. A deal without ``hubspot_owner_id`` has
        ``owner_email=None``. An unset (or unknown) start property leaves ``start_value=None``.

        Raises :class:`PermanentError` with reason ``crm_wrong_account``, ``deal_not_found``,
        ``owner_not_found``, ``crm_unauthorized``, ``crm_forbidden`` or ``crm_bad_request``;
        and :class:`RetryableError` with ``crm_rate_limited``, ``crm_daily_limit``,
        ``crm_locked``, ``crm_migrating``, ``crm_unavailable``, ``crm_timeout``,
        ``crm_unreachable`` or ``crm_bad_response``.
        """
        account = self.account_details(account_id)
        if account.portal_id is not None and account.portal_id != str(account_id):
            raise PermanentError(
                "crm_wrong_account",
                f"deal {deal_id}: the event is from HubSpot account {account_id} but "
                f"HUBSPOT_ACCESS_TOKEN belongs to account {account.portal_id}: the app is "
                f"installed in another portal too; point that portal's webhook elsewhere or "
                "give this service that portal's token",
            )
        rules = self._rules
        wanted = _unique(
            (
                *DEAL_PROPERTIES,
                rules.start_property,
                rules.meet_url_property,
                rules.event_id_property,
            )
        )
        what = f"the read of deal {deal_id}"
        response = self._send(
            "GET",
            f"/crm/v3/objects/deals/{_segment(deal_id)}",
            what,
            # The embedded associations: all of them when fewer than 100 and not paged, else
            # the v4 list pages through them (reference §A4).
            params={"properties": ",".join(wanted), "associations": "contacts"},
            account_id=account_id,
        )
        if response.status_code == 404:
            raise _deal_not_found(deal_id)
        body = self._json_object(response, what)
        properties = body.get("properties")
        if not isinstance(properties, dict):
            raise RetryableError(
                "crm_bad_response", f"HubSpot's answer to {what} has no properties object"
            )
        # HubSpot's docs say unknown names in properties= are ignored, while some accounts
        # answer null for them (singer-io/tap-hubspot#139): absence and null can't be told
        # apart reliably, so both read as "empty". `middleware check` verifies the properties
        # exist; a missing write-back property still fails the PATCH (crm_property_missing).

        dealname = _text(properties.get("dealname"))
        stage = _text(properties.get("dealstage")) or ""
        name = dealname or f"Deal {deal_id}"
        in_trigger_stage = stage in rules.trigger_stages

        owner_email: str | None = None
        contacts: list[Mapping[str, Any]] = []
        if in_trigger_stage:
            contact_ids = self._contact_ids(account_id, deal_id, body)
            contacts = self._read_contacts(account_id, deal_id, contact_ids)
            owner_id = _text(properties.get("hubspot_owner_id"))
            if owner_id:
                owner_email = self._owner_email(account_id, deal_id, owner_id)

        companies = ((_text(p.get("company")) or "").strip() for p in contacts)
        company = next((c for c in companies if c), name)
        return Deal(
            provider=PROVIDER,
            account_id=account_id,
            deal_id=deal_id,
            name=name,
            stage=stage,
            in_trigger_stage=in_trigger_stage,
            in_cancel_stage=stage in rules.cancel_stages,
            owner_email=owner_email,
            company=company,
            start_value=properties.get(rules.start_property),
            start_property=rules.start_property,
            contact_emails=tuple(_text(p.get("email")) for p in contacts),
            # HubSpot reads a cleared value back as "" (reference §1.7): treat it as unset.
            current_meet_url=_text(properties.get(rules.meet_url_property)) or None,
            current_event_id=_text(properties.get(rules.event_id_property)) or None,
            properties=dict(properties),
        )

    def write_back(self, deal: Deal, *, meet_url: str, calendar_event_id: str) -> bool:
        """Store ``meet_url`` and ``calendar_event_id`` in the deal's configured properties.

        Returns False, sending nothing, when the deal already holds both values; True after
        a successful ``PATCH`` (which is idempotent, so a retry after a lost answer is safe).

        Raises :class:`PermanentError` with reason ``crm_property_missing`` or
        ``crm_property_read_only`` (HubSpot refused a property), ``crm_validation_rule`` (an
        account validation rule refused the write), ``deal_not_found`` and the others listed
        in :meth:`fetch_deal`; and the same :class:`RetryableError` reasons.
        """
        if deal.current_meet_url == meet_url and deal.current_event_id == calendar_event_id:
            return False
        self._patch_write_back(deal, meet_url, calendar_event_id)
        return True

    def clear_write_back(self, deal: Deal) -> bool:
        """Empty both write-back properties (the meeting was cancelled).

        HubSpot clears a property set to ``""`` and reads it back as ``""`` (reference §1.7).
        Returns False, sending nothing, when both are already empty. Raises like
        :meth:`write_back`.
        """
        if not deal.current_meet_url and not deal.current_event_id:
            return False
        self._patch_write_back(deal, "", "")
        return True

    def _patch_write_back(self, deal: Deal, meet_url: str, calendar_event_id: str) -> None:
        rules = self._rules
        what = f"the write-back to deal {deal.deal_id}"
        response = self._send(
            "PATCH",
            f"/crm/v3/objects/deals/{_segment(deal.deal_id)}",
            what,
            json_body={
                "properties": {
                    rules.meet_url_property: meet_url,
                    rules.event_id_property: calendar_event_id,
                }
            },
            pass_through=(400, 404),
            account_id=deal.account_id,
        )
        if response.status_code == 404:
            raise _deal_not_found(deal.deal_id)
        if response.status_code == 400:
            raise write_back_error(
                self._answer(response),
                deal_id=deal.deal_id,
                rules_keys={
                    rules.meet_url_property: "hubspot.meet_url_property",
                    rules.event_id_property: "hubspot.event_id_property",
                },
                account_id=deal.account_id,
                zone=self._zone(),
                now=self._clock(),
            )
        self._json_object(response, what)  # a 2xx that is not JSON is not HubSpot: retry

    # ---- contacts and owner ----------------------------------------------------------------

    def _contact_ids(self, account_id: str, deal_id: str, deal: JsonDict) -> list[str]:
        """The deal's associated contact ids in HubSpot's order, each once, at most
        ``max_attendees`` of them: those embedded in the deal read ``deal`` when they are all
        of them, else through the v4 associations API, following ``paging.next.after``
        (reference §A4 "Reading associations")."""
        embedded, complete = _embedded_contacts(deal)
        if complete:
            return self._capped(deal_id, embedded)
        what = f"the read of deal {deal_id}'s contact associations"
        path = f"/crm/v4/objects/deals/{_segment(deal_id)}/associations/contacts"
        ids: dict[str, None] = {}
        after: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {"limit": ASSOCIATIONS_PAGE_SIZE}
            if after is not None:
                params["after"] = after
            response = self._send(
                "GET",
                path,
                what,
                params=params,
                account_id=account_id,
                any_body=after is None,  # the first page probes whether v4 is served
            )
            if response.status_code == 404 and after is None:
                # The deal was just read, so the v4 list is not served here: the contacts
                # embedded in the deal read (at most 100) are what there is.
                return self._capped(deal_id, embedded)
            if response.status_code == 404:
                raise _deal_not_found(deal_id)  # deleted while its contacts were paged
            body = self._json_object(response, what)
            for result in _results(body, what):
                # A contact linked by several association types is listed once with all of
                # them (v4), or several times (older answers): keep the first.
                if result.get("toObjectId") is not None:
                    ids.setdefault(str(result["toObjectId"]), None)
            after = _next_after(body)
            if len(ids) > self._max_attendees:
                return self._capped(deal_id, list(ids))  # no need to page further
            if after is None or after in seen:  # a repeated cursor would loop forever
                return list(ids)
            seen.add(after)

    def _capped(self, deal_id: str, contact_ids: list[str]) -> list[str]:
        """The first ``max_attendees`` of ``contact_ids``, with a WARNING when there are more."""
        if len(contact_ids) <= self._max_attendees:
            return contact_ids
        log.warning(
            "deal %s has more than %d associated contacts: inviting the first %d "
            "(meeting.max_attendees)",
            deal_id,
            self._max_attendees,
            self._max_attendees,
        )
        return contact_ids[: self._max_attendees]

    def _read_contacts(
        self, account_id: str, deal_id: str, contact_ids: list[str]
    ) -> list[Mapping[str, Any]]:
        """The contacts' properties in ``contact_ids`` order; ids HubSpot did not find are
        left out (a 207 answer lists them under ``errors``)."""
        found: dict[str, Mapping[str, Any]] = {}
        what = f"the read of deal {deal_id}'s contacts"
        for start in range(0, len(contact_ids), CONTACT_BATCH_SIZE):
            chunk = contact_ids[start : start + CONTACT_BATCH_SIZE]
            response = self._send(
                "POST",
                "/crm/v3/objects/contacts/batch/read",
                what,
                json_body={
                    "properties": list(CONTACT_PROPERTIES),
                    "inputs": [{"id": contact_id} for contact_id in chunk],
                },
                account_id=account_id,
            )
            if response.status_code == 404:
                continue  # none of this chunk exists (deleted contacts): invite the others
            for result in _results(self._json_object(response, what), what):
                properties = result.get("properties")
                if result.get("id") is not None and isinstance(properties, dict):
                    found[str(result["id"])] = properties
        # Batch results come in no promised order: put them back in association order.
        return [found[contact_id] for contact_id in contact_ids if contact_id in found]
