"""The service-account key and one impersonated credential per rep (domain-wide delegation).

:class:`Delegation` loads the key (no network) and hands out the rep's delegated credentials,
with a token minted once per rep, not per event (ref §3.1, gotcha 7). A failed token request
is passed to the *translation hook* the owner gives (:class:`~middleware.google.client.Client`
maps it with :func:`~middleware.google.errors.refresh_error` and the transport rules).

"ref §N" points into /work/shared/reference/google-calendar-and-service-accounts.md.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import google_auth_httplib2
from google.oauth2 import service_account

from middleware.deadlines import Timeouts
from middleware.errors import ConfigError, MiddlewareError, shorten
from middleware.google.events import normal_email
from middleware.google.scopes import SCOPE
from middleware.google.transport import DeadlineHttp
from middleware.metrics import token_fetch

__all__ = ["Call", "Delegation", "Translate", "load_key", "read_key_file"]


@dataclass(frozen=True)
class Call:
    """What one Calendar call is about (for error messages)."""

    organizer: str
    calendar_id: str
    event_id: str | None = None


#: Turns a library exception met during ``op`` of ``call`` into the project's error; None for
#: an exception it does not know (which then propagates unchanged).
Translate = Callable[[BaseException, Call, str], MiddlewareError | None]


def read_key_file(path: str) -> dict[str, Any]:
    """The JSON object of a service-account key file.

    Raises :class:`ConfigError` (one line naming ``GOOGLE_SERVICE_ACCOUNT_FILE``) when the file
    cannot be read, is not JSON, or is not a JSON object.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            info = json.load(handle)
    except OSError as exc:
        raise ConfigError(
            f"GOOGLE_SERVICE_ACCOUNT_FILE: cannot read {path}: {exc.strerror or exc}"
        ) from exc
    except ValueError as exc:
        raise ConfigError(
            f"GOOGLE_SERVICE_ACCOUNT_FILE: {path} is not a JSON service account key"
        ) from exc
    if not isinstance(info, dict):
        raise ConfigError(f"GOOGLE_SERVICE_ACCOUNT_FILE: {path} is not a JSON object")
    return info


def load_key(info: Mapping[str, Any]) -> service_account.Credentials:
    """Service-account credentials with :data:`SCOPE` from the key's JSON object. No network.

    Raises :class:`ConfigError` (one line, never key material) for a key that is not a JSON
    object, not a service-account key, or cannot be parsed.
    """
    if not isinstance(info, Mapping):
        raise ConfigError("GOOGLE_SERVICE_ACCOUNT_FILE: the key is not a JSON object")
    kind = info.get("type")
    if kind not in (None, "service_account"):
        raise ConfigError(
            f"GOOGLE_SERVICE_ACCOUNT_FILE: a {shorten(str(kind), 40)!r} key, not a service "
            "account key; create a JSON key for the service account"
        )
    data = dict(info)
    key = data.get("private_key")
    if isinstance(key, str) and "\\n" in key and "\n" not in key:
        # A key pasted through an environment variable keeps literal "\n" (ref gotcha 11).
        data["private_key"] = key.replace("\\n", "\n")
    try:
        return service_account.Credentials.from_service_account_info(data, scopes=[SCOPE])
    except Exception as exc:  # key parsing raises ValueError, TypeError or cryptography errors
        detail = shorten(str(exc), 160)
        if "PRIVATE KEY" in detail or (isinstance(key, str) and key and key[:40] in detail):
            detail = "unreadable private key"  # never echo key material
        raise ConfigError(
            f"GOOGLE_SERVICE_ACCOUNT_FILE: not a usable service account key "
            f"({type(exc).__name__}: {detail})"
        ) from exc


@dataclass
class _Rep:
    """One impersonated rep: its delegated credentials (token cache) and a refresh lock."""

    credentials: service_account.Credentials
    lock: threading.Lock


class Delegation:
    """The service account acting as reps. Thread-safe.

    ``translate`` is the hook that maps a failed token request (``op`` "token"); an exception
    it returns None for is raised unchanged.
    """

    def __init__(
        self, service_account_info: Mapping[str, Any], *, timeout: Timeouts, translate: Translate
    ) -> None:
        """Load the key. No network. Raises :class:`ConfigError` (see :func:`load_key`).

        ``timeout``: the socket timeout and total deadline of each token request."""
        self._base = load_key(service_account_info)
        self._timeout = timeout
        self._translate = translate
        self.client_email: str = self._base.service_account_email
        #: The number the Admin console's domain-wide delegation page asks for.
        self.client_id: str = str(service_account_info.get("client_id") or "(no client_id in key)")
        self._reps: dict[str, _Rep] = {}
        self._reps_lock = threading.Lock()

    def for_rep(self, organizer: str, call: Call) -> service_account.Credentials:
        """The rep's delegated credentials (:data:`SCOPE`), with a token minted once per rep.

        ``with_subject`` returns a copy with its own token cache (ref §3.1), so the copies are
        kept per rep; the per-rep lock keeps concurrent first calls to a single token request.
        google-auth refreshes the token itself when it nears expiry. A failed token request is
        not cached: the next call asks again. Raises what the translation hook returns, ``from``
        the library exception.
        """
        key = normal_email(organizer)
        with self._reps_lock:
            rep = self._reps.get(key)
            if rep is None:
                rep = _Rep(self._base.with_subject(key), threading.Lock())
                self._reps[key] = rep
        with rep.lock:
            if not rep.credentials.valid:
                request = google_auth_httplib2.Request(DeadlineHttp(self._timeout))
                with token_fetch():
                    try:
                        rep.credentials.refresh(request)
                    except Exception as exc:
                        translated = self._translate(exc, call, "token")
                        if translated is None:
                            raise
                        raise translated from exc
        return rep.credentials

    def scoped(self, organizer: str, scopes: Sequence[str]) -> service_account.Credentials:
        """Fresh, uncached credentials acting as ``organizer`` with ``scopes`` (no token yet).

        Their token is minted by the first request made with them (the preflight's read scope).
        """
        return self._base.with_scopes(list(scopes)).with_subject(normal_email(organizer))
