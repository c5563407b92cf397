"""Calendar v3 requests as a rep: a client of its own per call, single-shot, errors translated.

Shared by :mod:`middleware.google.calendar` (the event operations) and
:mod:`middleware.google.preflight` (``middleware check``). Every request is single-shot
(``execute()`` without ``num_retries``): retrying is the pipeline's job, which reschedules on
:class:`~middleware.errors.RetryableError` (ref §2.5).

"ref §N" points into /work/shared/reference/google-calendar-and-service-accounts.md.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Mapping
from typing import Any

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from middleware.errors import MiddlewareError, RetryableError, shorten
from middleware.google.credentials import Call, Delegation
from middleware.google.errors import (
    DEFAULT_QUOTA_PARK_SECONDS,
    error_status,
    from_http_error,
    refresh_error,
)
from middleware.metrics import google_call

__all__ = ["Client"]


class Client:
    """The service account's way into Calendar v3 at ``api_base_url``. Thread-safe.

    Credentials are shared per rep (:class:`Delegation`) but every call gets its own
    ``httplib2.Http``, which is not thread-safe (ref §4.4, gotcha 8).
    """

    def __init__(
        self,
        service_account_info: Mapping[str, Any],
        *,
        api_base_url: str,
        timeout: float,
        quota_park_seconds: float = DEFAULT_QUOTA_PARK_SECONDS,
    ) -> None:
        """Load the key. No network. Raises :class:`~middleware.errors.ConfigError`.

        ``quota_park_seconds``: the shortest park after a ``quotaExceeded`` or
        ``dailyLimitExceeded`` 403 (longer when Google's ``Retry-After`` says so).
        """
        self.timeout = timeout
        self.quota_park_seconds = quota_park_seconds
        self.delegation = Delegation(
            service_account_info, timeout=timeout, translate=self.translate
        )
        # api_endpoint replaces rootUrl + servicePath, so it must include calendar/v3 (ref §4.2).
        self._endpoint = api_base_url.rstrip("/") + "/calendar/v3/"

    def service(self, organizer: str, call: Call) -> Any:
        """A Calendar client of its own (httplib2 is not thread-safe, ref §4.4) for this call.

        Mints the rep's token first if needed (raises what :meth:`translate` maps it to).
        Static discovery: building makes no network call and takes about a millisecond (ref §4.1).
        """
        return self._build(self.delegation.for_rep(organizer, call))

    def scoped_service(self, organizer: str, scopes: list[str]) -> Any:
        """A Calendar client acting as ``organizer`` with other ``scopes``; not cached."""
        return self._build(self.delegation.scoped(organizer, scopes))

    @google_call
    def execute(
        self, request: Any, call: Call, op: str, *, allow: int | tuple[int, ...] | None = None
    ) -> Any:
        """Run one request, single-shot. ``allow``: the status(es) that return None instead.

        Raises the project's error for a known library exception, ``from`` it.
        """
        try:
            return request.execute()  # num_retries=0: the pipeline retries (ref §2.5)
        except HttpError as exc:
            allowed = (allow,) if isinstance(allow, int) else allow or ()
            if error_status(exc) in allowed:
                return None
            raise self._http_error(exc, call, op) from exc
        except Exception as exc:
            translated = self.translate(exc, call, op)
            if translated is None:
                raise
            raise translated from exc

    def translate(self, exc: BaseException, call: Call, op: str) -> MiddlewareError | None:
        """The project error for a library exception; None for one we do not know."""
        if isinstance(exc, RefreshError):
            return refresh_error(
                exc,
                organizer=call.organizer,
                client_email=self.delegation.client_email,
                client_id=self.delegation.client_id,
            )
        if isinstance(exc, HttpError):
            return self._http_error(exc, call, op)
        if isinstance(exc, TimeoutError) or (
            isinstance(exc, TransportError) and _caused_by_timeout(exc)
        ):
            return RetryableError(
                "google_timeout",
                f"Google did not answer {op} for {call.organizer} within {self.timeout:g} s",
            )
        if isinstance(
            exc,
            (
                TransportError,
                httplib2.HttpLib2Error,
                http.client.HTTPException,
                ConnectionError,
                ssl.SSLError,
                OSError,
            ),
        ):
            return RetryableError(
                "google_unreachable",
                f"cannot reach Google for {op} as {call.organizer}: "
                f"{type(exc).__name__}: {shorten(str(exc), 200)}",
            )
        return None

    def _http_error(self, exc: HttpError, call: Call, op: str) -> MiddlewareError:
        return from_http_error(
            exc,
            op=op,
            organizer=call.organizer,
            calendar_id=call.calendar_id,
            event_id=call.event_id,
            quota_park=self.quota_park_seconds,
        )

    def _build(self, credentials: Any) -> Any:
        http = google_auth_httplib2.AuthorizedHttp(
            credentials, http=httplib2.Http(timeout=self.timeout)
        )
        return build(
            "calendar",
            "v3",
            http=http,
            static_discovery=True,  # bundled discovery document: no network (ref §4.1)
            cache_discovery=False,
            client_options={"api_endpoint": self._endpoint},
        )


def _caused_by_timeout(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, TimeoutError) or any(isinstance(a, TimeoutError) for a in seen.args):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
