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
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from middleware.deadlines import DeadlineExceeded, Timeouts
from middleware.errors import MiddlewareError, RetryableError, shorten
from middleware.google.credentials import Call, Delegation
from middleware.google.errors import (
    DEFAULT_QUOTA_PARK_SECONDS,
    error_status,
    from_http_error,
    not_json_error,
)
from middleware.google.oauth import OAuthCredentials, OAuthSetup
from middleware.google.sources import RepCredentials
from middleware.google.transport import DeadlineHttp, NotJsonAnswer
from middleware.metrics import google_call
from middleware.retry import parse_retry_after

__all__ = ["Client"]


class Client:
    """The way into Calendar v3 at ``api_base_url`` as each rep. Thread-safe.

    Credentials are shared per rep (:class:`RepCredentials`: the service account's delegation
    or the rep's own OAuth token) and the Calendar resources by every thread, but each thread
    has its own ``httplib2.Http`` (a :class:`~middleware.google.transport.DeadlineHttp`),
    which is not thread-safe (ref §4.4, gotcha 8).
    """

    def __init__(
        self,
        service_account_info: Mapping[str, Any] | None,
        *,
        api_base_url: str,
        timeout: Timeouts,
        quota_park_seconds: float = DEFAULT_QUOTA_PARK_SECONDS,
        pace: Callable[[str], None] | None = None,
        oauth: OAuthSetup | None = None,
        auth_mode_for: Callable[[str], str] | None = None,
    ) -> None:
        """Load the key (None: no service account). No network. Raises
        :class:`~middleware.errors.ConfigError`.

        ``timeout``: the socket timeout (``read``) and total deadline of every request.
        ``quota_park_seconds``: the shortest park after a ``quotaExceeded`` or
        ``dailyLimitExceeded`` 403 (longer when Google's ``Retry-After`` says so).
        ``oauth``: reps' own refresh tokens; ``auth_mode_for(rep)``: ``delegation`` or
        ``oauth`` (:class:`~middleware.google.sources.RepCredentials`).
        """
        self.timeout = timeout
        self.quota_park_seconds = quota_park_seconds
        #: ``pace(organizer)`` waits for the rep's and the project's next slot (Google's rate
        #: quotas, shared by every process: ``store/pacing.py``) before each request.
        self.pace = pace
        self.delegation = (
            Delegation(service_account_info, timeout=timeout, translate=self.translate)
            if service_account_info is not None
            else None
        )
        self.credentials = RepCredentials(
            delegation=self.delegation,
            oauth=OAuthCredentials(oauth, timeout=timeout, translate=self.translate)
            if oauth is not None
            else None,
            mode_for=auth_mode_for,
        )
        # api_endpoint replaces rootUrl + servicePath, so it must include calendar/v3 (ref §4.2).
        self._endpoint = api_base_url.rstrip("/") + "/calendar/v3/"
        self._local = threading.local()  # each thread's connection (_thread_http)
        self._resources: dict[str, Any] | None = None  # built once (_calendar_resources)
        self._build_lock = threading.Lock()

    def service(self, organizer: str, call: Call) -> Any:
        """The Calendar API acting as ``organizer``, over this thread's HTTP connection
        (httplib2 is not thread-safe, ref §4.4).

        Mints the rep's token first if needed (raises what :meth:`translate` maps it to).
        """
        return self._api(self.credentials.for_rep(organizer, call))

    def scoped_service(self, organizer: str, scopes: list[str]) -> Any | None:
        """The Calendar API acting as ``organizer`` with other ``scopes``; not cached. None for
        a rep connected with OAuth (their grant has ``calendar.events`` only)."""
        credentials = self.credentials.scoped(organizer, scopes)
        return None if credentials is None else self._api(credentials)

    @google_call
    def execute(
        self, request: Any, call: Call, op: str, *, allow: int | tuple[int, ...] | None = None
    ) -> Any:
        """Run one request, single-shot. ``allow``: the status(es) that return None instead.

        Raises the project's error for a known library exception, ``from`` it.
        """
        if self.pace is not None:
            self.pace(call.organizer)
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
            return self.credentials.token_error(exc, call)
        if isinstance(exc, HttpError):
            return self._http_error(exc, call, op)
        garbage = _found(exc, NotJsonAnswer)
        if garbage is not None:
            return not_json_error(
                garbage.status,
                garbage.content,
                parse_retry_after(garbage.retry_after),
                op=op,
                organizer=call.organizer,
            )
        if isinstance(exc, TimeoutError) or (
            isinstance(exc, TransportError) and _caused_by_timeout(exc)
        ):
            said = "finish" if _found(exc, DeadlineExceeded) is not None else "answer"
            return RetryableError(
                "google_timeout",
                f"Google did not {said} {op} for {call.organizer} in time "
                f"({self.timeout.describe()})",
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

    def _api(self, credentials: Any) -> _Api:
        http = google_auth_httplib2.AuthorizedHttp(credentials, http=self._thread_http())
        return _Api(self._calendar_resources(), http)

    def _thread_http(self) -> DeadlineHttp:
        """This thread's connection to Google, kept between its calls (httplib2 is not
        thread-safe, ref §4.4; a kept-alive connection spares a TLS handshake per call)."""
        http: DeadlineHttp | None = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = DeadlineHttp(self.timeout)
        return http

    def _calendar_resources(self) -> dict[str, Any]:
        """The Calendar resources, built once per client: googleapiclient makes each
        resource's methods from the discovery document, several milliseconds of CPU a time.
        They are shared by every thread and hold no connection of their own: each request
        made through them is given its call's (:class:`_Bound`), the library's own
        thread-safety pattern of a shared service and an ``Http`` per request (ref §4.4)."""
        resources = self._resources
        if resources is None:
            with self._build_lock:
                if self._resources is None:
                    root = build(
                        "calendar",
                        "v3",
                        http=_NoHttp(),
                        static_discovery=True,  # the bundled discovery document (ref §4.1)
                        cache_discovery=False,
                        client_options={"api_endpoint": self._endpoint},
                    )
                    self._resources = {"events": root.events(), "calendars": root.calendars()}
                resources = self._resources
        return resources


class _NoHttp:
    """The shared resources' own transport: never used, as every request gets its call's."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a Calendar request was sent without its call's connection")


class _Api:
    """The shared Calendar resources with the credentials and connection of one call: every
    request made through it carries ``http``."""

    def __init__(self, resources: dict[str, Any], http: Any) -> None:
        self._resources = resources
        self._http = http

    def events(self) -> _Bound:
        return _Bound(self._resources["events"], self._http)

    def calendars(self) -> _Bound:
        return _Bound(self._resources["calendars"], self._http)


class _Bound:
    """A shared resource whose requests are sent over this call's ``http`` (set on each
    request made, so the shared resource itself never changes)."""

    def __init__(self, resource: Any, http: Any) -> None:
        self._resource = resource
        self._http = http

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._resource, name)

        def request(**kwargs: Any) -> Any:
            made = method(**kwargs)
            made.http = self._http
            return made

        return request


_E = TypeVar("_E", bound=BaseException)


def _caused_by_timeout(exc: BaseException) -> bool:
    return _found(exc, TimeoutError) is not None


def _found(exc: BaseException, kind: type[_E]) -> _E | None:
    """``exc`` itself, one of its arguments or one of its causes (five deep) that is a
    ``kind`` (google-auth wraps transport errors in ``TransportError``); else None."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, kind):
            return seen
        for arg in seen.args:
            if isinstance(arg, kind):
                return arg
        seen = seen.__cause__ or seen.__context__
    return None
