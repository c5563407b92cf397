"""HubSpot CRM v3 API client: read a deal with its contacts and owner, write the meeting back.

The API half of the HubSpot module (:class:`~middleware.crm.base.CRMClient`); the webhook half
is ``middleware/crm/hubspot.py``. The calls, response shapes, error bodies and rate-limit
headers are the ones collected in ``shared/reference/crm-webhooks-and-apis.md`` §1.7:

* ``GET   /crm/v3/objects/deals/{id}?properties=…&associations=contacts``
* ``POST  /crm/v3/objects/contacts/batch/read`` (at most 100 inputs; 207 = some not found)
* ``GET   /crm/v3/owners/{ownerId}`` and ``GET /crm/v3/owners`` (paged with ``after``)
* ``PATCH /crm/v3/objects/deals/{id}`` with ``{"properties": {…}}``
* ``GET   /crm/v3/properties/deals/{name}`` and ``GET /crm/v3/pipelines/deals`` (for ``check``)

Every failure becomes a :class:`~middleware.errors.RetryableError` (timeouts, connection
errors, 429, 5xx, a 2xx that is not JSON) or a :class:`~middleware.errors.PermanentError`
(401, 403, 404, other 4xx, missing or read-only properties), each with a stable ``reason``.
Messages name the call and the deal, quote HubSpot's ``message`` cut short, and never contain
the access token.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn
from urllib.parse import quote

import requests

from middleware.errors import MiddlewareError, PermanentError, RetryableError, shorten
from middleware.model import Deal
from middleware.retry import parse_retry_after
from middleware.settings import HubSpotRules

__all__ = ["HubSpotClient"]

JsonDict = dict[str, Any]

PROVIDER = "hubspot"
USER_AGENT = "crm-meet-middleware"
#: Batch endpoints take at most 100 inputs (reference §1.7, "a batch holds up to 100").
CONTACT_BATCH_SIZE = 100
#: Owners per page when listing (HubSpot's default is 100, its maximum 500).
OWNERS_PAGE_SIZE = 100
#: The deal properties every read asks for, before the three configured in the rules file.
DEAL_PROPERTIES = ("dealname", "dealstage", "pipeline", "hubspot_owner_id")
CONTACT_PROPERTIES = ("email", "firstname", "lastname", "company")
#: What a private app needs for this client (reference §1.7 lists the scope of each call).
REQUIRED_SCOPES = (
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.objects.contacts.read",
    "crm.objects.owners.read",
)
# Codes in HubSpot's 400 "Property values were not valid" answer to a PATCH.
_PROPERTY_DOESNT_EXIST = "PROPERTY_DOESNT_EXIST"
_READ_ONLY_VALUE = "READ_ONLY_VALUE"
_INVALID_PROPERTIES_PREFIX = "Property values were not valid: "


class HubSpotClient:
    """HubSpot's CRM v3 API over ``requests``, safe to share between worker threads.

    Each thread gets its own :class:`requests.Session` (``requests`` does not promise that a
    session is thread-safe), so connections are pooled per thread and never shared.
    """

    provider = PROVIDER

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        rules: HubSpotRules,
        timeout: tuple[float, float] = (5.0, 20.0),
    ) -> None:
        """``base_url`` is ``https://api.hubapi.com`` (or an emulator); ``timeout`` is
        (connect, read) seconds, passed on every request."""
        self._base_url = base_url.rstrip("/")
        self._token = access_token
        self._rules = rules
        self._timeout = timeout
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    def __repr__(self) -> str:  # never show the token
        return f"HubSpotClient(base_url={self._base_url!r})"

    # ---- the CRMClient interface -----------------------------------------------------------

    def fetch_deal(self, account_id: str, deal_id: str) -> Deal:
        """Read deal ``deal_id`` with its contacts' emails and its owner's email.

        A deal outside the trigger stages comes back with ``in_trigger_stage=False`` and
        without contacts or owner (those calls are skipped: the pipeline skips the deal).
        Contacts keep their association order; their emails are passed through as HubSpot
        holds them (None when unset) for the planner to filter; contacts HubSpot no longer
        finds (a 207 answer) are left out. A deal without ``hubspot_owner_id`` has
        ``owner_email=None``. An unset (or unknown) start property leaves ``start_value=None``.

        Raises :class:`PermanentError` with reason ``deal_not_found``, ``owner_not_found``,
        ``crm_unauthorized``, ``crm_forbidden`` or ``crm_bad_request``; and
        :class:`RetryableError` with ``crm_rate_limited``, ``crm_unavailable``,
        ``crm_timeout``, ``crm_unreachable`` or ``crm_bad_response``.
        """
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
            params={"properties": ",".join(wanted), "associations": "contacts"},
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
            contacts = self._read_contacts(deal_id, _contact_ids(body))
            owner_id = _text(properties.get("hubspot_owner_id"))
            if owner_id:
                owner_email = self._owner_email(deal_id, owner_id)

        companies = ((_text(p.get("company")) or "").strip() for p in contacts)
        company = next((c for c in companies if c), name)
        return Deal(
            provider=PROVIDER,
            account_id=account_id,
            deal_id=deal_id,
            name=name,
            stage=stage,
            in_trigger_stage=in_trigger_stage,
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
        ``crm_property_read_only`` (HubSpot refused a property), ``deal_not_found`` and the
        others listed in :meth:`fetch_deal`; and the same :class:`RetryableError` reasons.
        """
        if deal.current_meet_url == meet_url and deal.current_event_id == calendar_event_id:
            return False
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
        )
        if response.status_code == 404:
            raise _deal_not_found(deal.deal_id)
        if response.status_code == 400:
            self._raise_for_refused_properties(deal.deal_id, response)
        self._json_object(response, what)  # a 2xx that is not JSON is not HubSpot: retry
        return True

    # ---- for the `check` (doctor) command ------------------------------------------------

    def check_token(self) -> None:
        """One cheap authenticated call (``GET /crm/v3/owners?limit=1``).

        Returns None when HubSpot accepts the token; raises like :meth:`fetch_deal`
        (``crm_unauthorized`` for a bad token, ``crm_forbidden`` for a missing scope).
        """
        what = "the token check (list one owner)"
        response = self._send("GET", "/crm/v3/owners", what, params={"limit": 1})
        self._json_object(response, what)

    def get_deal_property(self, name: str) -> dict[str, Any] | None:
        """The definition of deal property ``name``, or None when the account has none.

        Raises like :meth:`fetch_deal`.
        """
        what = f"the read of deal property {name!r}"
        response = self._send("GET", f"/crm/v3/properties/deals/{_segment(name)}", what)
        if response.status_code == 404:
            return None
        return self._json_object(response, what)

    def list_pipelines(self) -> list[dict[str, Any]]:
        """Every deal pipeline with its stages (``results[].stages[].{id,label,…}``).

        Raises like :meth:`fetch_deal`.
        """
        what = "the list of deal pipelines"
        body = self._json_object(self._send("GET", "/crm/v3/pipelines/deals", what), what)
        return _results(body, what)

    def list_owners(self) -> list[dict[str, Any]]:
        """Every active (not archived) owner, following ``paging.next.after`` to the end.

        Raises like :meth:`fetch_deal`.
        """
        what = "the list of owners"
        owners: list[dict[str, Any]] = []
        after: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {"limit": OWNERS_PAGE_SIZE, "archived": "false"}
            if after is not None:
                params["after"] = after
            body = self._json_object(self._send("GET", "/crm/v3/owners", what, params=params), what)
            owners.extend(o for o in _results(body, what) if not o.get("archived"))
            after = _next_after(body)
            if after is None or after in seen:  # a repeated cursor would loop forever
                return owners
            seen.add(after)

    def close(self) -> None:
        """Close every thread's session (their pooled connections). The client stays usable."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    # ---- contacts and owner ----------------------------------------------------------------

    def _read_contacts(self, deal_id: str, contact_ids: list[str]) -> list[Mapping[str, Any]]:
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
            )
            if response.status_code == 404:
                continue  # none of this chunk exists (deleted contacts): invite the others
            for result in _results(self._json_object(response, what), what):
                properties = result.get("properties")
                if result.get("id") is not None and isinstance(properties, dict):
                    found[str(result["id"])] = properties
        # Batch results come in no promised order: put them back in association order.
        return [found[contact_id] for contact_id in contact_ids if contact_id in found]

    def _owner_email(self, deal_id: str, owner_id: str) -> str | None:
        what = f"the read of owner {owner_id} of deal {deal_id}"
        response = self._send("GET", f"/crm/v3/owners/{_segment(owner_id)}", what)
        if response.status_code == 404:
            # Owners are looked up among active ones (archived=false is the default).
            raise PermanentError(
                "owner_not_found",
                f"deal {deal_id}: owner {owner_id} not found in HubSpot (deactivated?): "
                "assign an active owner",
            )
        return _text(self._json_object(response, what).get("email")) or None

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

    def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        pass_through: tuple[int, ...] = (404,),
    ) -> requests.Response:
        """Make one request; return a 2xx response or one whose status is in
        ``pass_through``; raise for everything else (see :meth:`_raise_for_status`).

        404 is passed through by default because what it means depends on the call (a
        missing deal, owner or property). ``what`` names the call in error messages.
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
        self._raise_for_status(response, what)

    def _raise_for_status(self, response: requests.Response, what: str) -> NoReturn:
        """Map an error status to the exception tree (see the module docstring)."""
        status = response.status_code
        message = self._scrub(_hubspot_message(response))
        error: MiddlewareError
        if status == 401:
            error = PermanentError(
                "crm_unauthorized",
                f"HubSpot refused the access token (401) for {what}: check HUBSPOT_ACCESS_TOKEN",
            )
        elif status == 403:
            error = PermanentError(
                "crm_forbidden",
                f"HubSpot refused {what} (403: {message}): the private app lacks a scope: "
                f"it needs {', '.join(REQUIRED_SCOPES)}",
            )
        elif status == 429:
            # Reference §1.7 "Rate limits and 429s": HubSpot's burst limit is per 10 s window
            # and its 429 often carries no Retry-After, only the X-HubSpot-RateLimit-* headers.
            error = RetryableError(
                "crm_rate_limited",
                f"HubSpot rate-limited {what} (429): {message}",
                retry_after=_rate_limit_wait(response.headers),
            )
        elif status >= 500:
            error = RetryableError(
                "crm_unavailable",
                f"HubSpot answered {status} to {what}: {message}",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        else:
            error = PermanentError(
                "crm_bad_request", f"HubSpot answered {status} to {what}: {message}"
            )
        raise error

    def _raise_for_refused_properties(self, deal_id: str, response: requests.Response) -> NoReturn:
        """Turn a PATCH's 400 about a missing or read-only property into a message saying
        which rules key to fix; otherwise fall through to ``crm_bad_request``."""
        rules_keys = {
            self._rules.meet_url_property: "hubspot.meet_url_property",
            self._rules.event_id_property: "hubspot.event_id_property",
        }
        refused = _refused_properties(response, rules_keys)
        missing = [name for name, code in refused if code == _PROPERTY_DOESNT_EXIST]
        read_only = [name for name, code in refused if code == _READ_ONLY_VALUE]
        if missing:
            name = missing[0]
            raise PermanentError(
                "crm_property_missing",
                f"deal property {name!r} does not exist in HubSpot (write-back to deal "
                f"{deal_id}): create it as a single-line text property (Settings → Properties "
                f"→ Deal properties) or fix {rules_keys.get(name, 'the hubspot section')} "
                "in the rules file",
            )
        if read_only:
            name = read_only[0]
            raise PermanentError(
                "crm_property_read_only",
                f"deal property {name!r} is read-only in HubSpot (write-back to deal "
                f"{deal_id}): point {rules_keys.get(name, 'the hubspot section')} in the rules "
                "file at a writable single-line text property",
            )
        self._raise_for_status(response, f"the write-back to deal {deal_id}")

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


def _contact_ids(deal: JsonDict) -> list[str]:
    """Associated contact ids in HubSpot's order, each once (a contact linked by several
    association types, e.g. a labelled one, is listed once per type)."""
    associations = deal.get("associations")
    contacts = associations.get("contacts") if isinstance(associations, dict) else None
    results = contacts.get("results") if isinstance(contacts, dict) else None
    if not isinstance(results, list):
        return []  # HubSpot leaves "associations" out when there are none
    return _unique(str(r["id"]) for r in results if isinstance(r, dict) and r.get("id") is not None)


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


def _error_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _hubspot_message(response: requests.Response) -> str:
    """HubSpot's ``message`` (every field of its error body is optional), else the raw body,
    cut short."""
    body = _error_body(response)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return shorten(body["message"])
    return shorten(response.text) or response.reason or "(no body)"


def _rate_limit_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait after a 429: ``Retry-After`` if given; else, when the burst window is
    used up (``X-HubSpot-RateLimit-Remaining: 0``), the window length."""
    retry_after = parse_retry_after(headers.get("Retry-After"))
    if retry_after is not None:
        return retry_after
    if (headers.get("X-HubSpot-RateLimit-Remaining") or "").strip() == "0":
        try:
            return max(float(headers["X-HubSpot-RateLimit-Interval-Milliseconds"]) / 1000, 0.0)
        except (KeyError, ValueError):
            return None
    return None


def _refused_properties(
    response: requests.Response, known: Mapping[str, str]
) -> list[tuple[str, str]]:
    """``(property name, error code)`` pairs from a 400 answer to a deal PATCH.

    HubSpot puts a JSON list after "Property values were not valid: " in ``message``, each
    item with ``name`` and ``error`` (see the emulator's tests); newer answers may also list
    ``errors[].{code, context.propertyName}``. When neither can be read but the body names
    a code, the configured property the body mentions is blamed.
    """
    body = _error_body(response)
    if not isinstance(body, dict):
        return []
    pairs: list[tuple[str, str]] = []
    message = body.get("message")
    if isinstance(message, str) and message.startswith(_INVALID_PROPERTIES_PREFIX):
        try:
            items = json.loads(message[len(_INVALID_PROPERTIES_PREFIX) :])
        except ValueError:
            items = None
        if isinstance(items, list):
            pairs += [
                (str(i.get("name")), str(i.get("error")))
                for i in items
                if isinstance(i, dict) and i.get("name")
            ]
    errors = body.get("errors")
    for item in errors if isinstance(errors, list) else []:
        context = item.get("context") if isinstance(item, dict) else None
        names = context.get("propertyName") if isinstance(context, dict) else None
        if isinstance(names, list):
            pairs += [(str(n), str(item.get("code"))) for n in names]
    if not pairs:
        raw = response.text
        for code in (_PROPERTY_DOESNT_EXIST, _READ_ONLY_VALUE):
            if code in raw:
                pairs += [(name, code) for name in known if name in raw]
    return pairs
