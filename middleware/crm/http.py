"""A CRM's API over urllib3 (``transport.py``): one request under a total deadline, and the
answers every CRM maps the same way.

The base of :class:`~middleware.crm.hubspot.http.HubSpotHTTP` and
:class:`~middleware.crm.pipedrive.client.PipedriveClient`:

* one pool of kept-alive connections per client, shared by its threads (urllib3's pools are
  thread-safe), the environment's proxy and CA bundle read once (``transport.py``);
* every request runs under a total deadline (:mod:`middleware.deadlines`): connect, send and
  the whole answer, however slowly it trickles in; past it the call ends as ``crm_timeout``;
* transport failures are ``crm_unreachable``; an answer that is not the CRM's JSON (a proxy's
  or an outage page, a cut body) is ``crm_bad_response``, except where the status says all
  (408, 423, 429, 477, 5xx: the CRM's own mapping, which reads headers only); all retryable;
* every other non-2xx answer goes to the CRM's own mapping (:meth:`CRMHTTP._error`).

Messages never carry the token (:meth:`CRMHTTP._scrub`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from middleware.crm.transport import CRMResponse, Transport, TransportError, is_timeout
from middleware.deadlines import CRM_TIMEOUTS, Timeouts, Watch
from middleware.errors import MiddlewareError, RetryableError, shorten
from middleware.metrics import crm_call

__all__ = ["CRMHTTP", "USER_AGENT", "CRMResponse", "JsonDict"]

USER_AGENT = "crm-meet-middleware"
JsonDict = dict[str, Any]

#: Statuses whose meaning does not depend on the body (the CRM's mapping reads headers).
_STATUS_SAYS_ALL = (408, 423, 429, 477)


class CRMHTTP:
    """One API token's way into a CRM's API; safe to share between threads.

    Subclasses set :attr:`label` and implement :meth:`_error`.
    """

    #: the CRM's name in messages, and its provider name (metrics' label)
    label = "the CRM"
    provider = "crm"

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        auth_headers: Mapping[str, str],
        timeout: Timeouts = CRM_TIMEOUTS,
    ) -> None:
        """``auth_headers`` carry ``token`` (scrubbed from every message); ``timeout``: the
        connect, read and total seconds of each request."""
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._auth_headers = dict(auth_headers)
        self._timeout = timeout
        self._transport: Transport | None = None
        self._transport_lock = threading.Lock()

    def __repr__(self) -> str:  # never show the token
        return f"{type(self).__name__}(base_url={self._base_url!r})"

    def close(self) -> None:
        """Close the pooled connections. The client stays usable."""
        if self._transport is not None:
            self._transport.close()

    # ---- one request -------------------------------------------------------------------------

    def _connections(self) -> Transport:
        """The client's pools, made on first use (the environment is read then)."""
        transport = self._transport
        if transport is None:
            with self._transport_lock:
                if self._transport is None:
                    self._transport = Transport(
                        self._base_url,
                        {
                            **self._auth_headers,
                            "Accept": "application/json",
                            "Accept-Encoding": "gzip, deflate",
                            "User-Agent": USER_AGENT,
                        },
                        self._timeout,
                    )
                transport = self._transport
        return transport

    def _request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> CRMResponse:
        """One request, its whole answer read within the total deadline.

        Raises :class:`RetryableError` ``crm_timeout`` (a timeout, or the deadline passed,
        even if a cut answer came back) or ``crm_unreachable`` (the connection failed or broke).
        """
        timeout = self._timeout
        with Watch(timeout.total) as watch:
            try:
                response = self._connections().request(
                    method, path, params=params, json_body=json_body
                )
            except TransportError as exc:
                if watch.expired or is_timeout(exc):  # or the watchdog cut the connection
                    raise self._timed_out(what) from exc
                raise RetryableError(
                    "crm_unreachable",
                    self._scrub(
                        f"could not reach {self.label} for {what}: {shorten(str(exc), 200)}"
                    ),
                ) from exc
        if watch.expired:
            response.close()
            raise self._timed_out(what)
        return response

    def _timed_out(self, what: str) -> RetryableError:
        return RetryableError(
            "crm_timeout",
            f"{self.label} did not answer {what} in time ({self._timeout.describe()})",
        )

    @crm_call()
    def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        pass_through: tuple[int, ...] = (404,),
        any_body: bool = False,
        account_id: str | None = None,
    ) -> CRMResponse:
        """Make one request; return a 2xx answer or one whose status is in ``pass_through``;
        raise for everything else.

        A passed-through answer must be the CRM's JSON (a proxy's 404 page is not "deal
        deleted"), unless ``any_body`` (a probe of whether an endpoint is served at all).
        404 is passed through by default because what it means depends on the call.
        ``what`` names the call in messages; ``account_id`` goes to :meth:`_error`.
        """
        response = self._request(method, path, what, params=params, json_body=json_body)
        status = response.status_code
        if response.ok:
            return response
        if status in pass_through:
            if not any_body and _json_body(response) is None:
                raise self._not_json(response, what)
            return response
        if status == 408:
            raise RetryableError("crm_timeout", f"{self.label} timed out on {what} (408)")
        if status < 500 and status not in _STATUS_SAYS_ALL and _json_body(response) is None:
            raise self._not_json(response, what)
        raise self._error(response, what, account_id=account_id)

    def _error(
        self, response: CRMResponse, what: str, *, account_id: str | None
    ) -> MiddlewareError:
        """The CRM's error for a non-2xx answer (its ``errors.py``)."""
        raise NotImplementedError

    # ---- answers -----------------------------------------------------------------------------

    def _json_object(self, response: CRMResponse, what: str) -> JsonDict:
        """The body of an answer as a JSON object, else ``crm_bad_response`` (retryable: a
        proxy or an outage page, not the CRM)."""
        try:
            body = response.json()
        except ValueError as exc:  # json's JSONDecodeError is a ValueError
            raise self._not_json(response, what) from exc
        if not isinstance(body, dict):
            raise RetryableError(
                "crm_bad_response",
                f"{self.label} answered {what} with JSON that is not an object",
            )
        return body

    def _not_json(self, response: CRMResponse, what: str) -> RetryableError:
        return RetryableError(
            "crm_bad_response",
            self._scrub(
                f"{self.label} answered {response.status_code} to {what} with a body that is "
                f"not JSON (a proxy or an outage page?): {shorten(response.text, 200)!r}"
            ),
        )

    def _scrub(self, text: str) -> str:
        """Belt and braces: a message never carries the token, even if a body echoed it."""
        return text.replace(self._token, "[token]") if self._token else text


def _json_body(response: CRMResponse) -> Any:
    """The parsed JSON body, or None when there is none or it is not JSON."""
    try:
        return response.json()
    except ValueError:  # json's JSONDecodeError is a ValueError
        return None
