"""Reps' own Google credentials: one OAuth refresh token per rep (``GOOGLE_AUTH_MODE=oauth``).

The other credential source beside :class:`~middleware.google.credentials.Delegation`: the
rep connected their calendar once (``web/connect.py``), the service keeps their refresh token
(sealed, in the store: :class:`RefreshTokens`), and google-auth's user ``Credentials`` mint
access tokens from it (``grant_type=refresh_token``, https://developers.google.com/identity/
protocols/oauth2/web-server#offline), one per rep reused until it expires, as for delegation.

The refresh token is read from the store for every call (a short read): a rep who connected
again since is used with the new token at once, and a connection marked broken fails at once,
without asking Google. Each token carries its connection's *generation*: a refusal marks that
generation broken, never a newer one made meanwhile.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

import google_auth_httplib2
from google.auth.exceptions import RefreshError
from google.auth.transport import Request
from google.oauth2.credentials import Credentials

from middleware.deadlines import Timeouts
from middleware.errors import MiddlewareError, RetryableError, shorten
from middleware.google.credentials import Call, Translate
from middleware.google.events import normal_email
from middleware.google.oauth_errors import oauth_refresh_error, reconnect_error
from middleware.google.scopes import SCOPE
from middleware.google.transport import DeadlineHttp

__all__ = [
    "OAuthClient",
    "OAuthCredentials",
    "OAuthRefreshError",
    "OAuthSetup",
    "RefreshTokens",
    "StoredToken",
]


@dataclass(frozen=True)
class OAuthClient:
    """The OAuth client (a *Web application* client of the Google Cloud project)."""

    client_id: str
    client_secret: str = field(repr=False)
    token_uri: str
    auth_uri: str
    redirect_uri: str


@dataclass(frozen=True)
class StoredToken:
    """A rep's connection as the store has it: ``connected`` with its refresh token, or
    ``broken`` / ``not_connected`` (``refresh_token`` None, ``reason`` saying why)."""

    state: str
    generation: int = 0
    refresh_token: str | None = field(default=None, repr=False)
    reason: str | None = None


class RefreshTokens(Protocol):
    """The reps' refresh tokens (``middleware.google_connections.ConnectionVault``)."""

    def current(self, email: str) -> StoredToken:
        """The connection of ``email`` (lower case). Raises :class:`PermanentError` when the
        stored token cannot be opened (``google_oauth_reconnect``)."""
        ...

    def mark_broken(self, email: str, generation: int, reason: str) -> bool:
        """Mark ``generation`` of the connection broken; False if a newer one exists."""
        ...

    def connect_link(self, email: str) -> str:
        """The link ``email`` connects (again) at."""
        ...


@dataclass(frozen=True)
class OAuthSetup:
    """What OAuth mode needs: the client, and where the reps' tokens are kept."""

    client: OAuthClient
    tokens: RefreshTokens


class OAuthRefreshError(RefreshError):
    """google-auth's refusal of a rep's refresh, naming the connection's generation."""

    def __init__(self, exc: RefreshError, *, email: str, generation: int) -> None:
        super().__init__(*exc.args, retryable=exc.retryable)
        self.email = email
        self.generation = generation


class _RepCredentials(Credentials):
    """A rep's user credentials that name their generation when Google refuses a refresh
    (also the refresh googleapiclient's transport makes on a 401)."""

    def __init__(self, *, email: str, generation: int, refresh_token: str, client: OAuthClient):
        super().__init__(
            None,
            refresh_token=refresh_token,
            token_uri=client.token_uri,
            client_id=client.client_id,
            client_secret=client.client_secret,
            scopes=[SCOPE],
        )
        self.email = email
        self.generation = generation

    def refresh(self, request: Request) -> None:
        try:
            super().refresh(request)
        except OAuthRefreshError:
            raise
        except RefreshError as exc:
            raise OAuthRefreshError(exc, email=self.email, generation=self.generation) from exc


@dataclass
class _Rep:
    credentials: _RepCredentials
    lock: threading.Lock


class OAuthCredentials:
    """Reps' credentials from their refresh tokens. Thread-safe.

    ``translate`` maps a failed token request (``op`` "token"), as for delegation; the
    owner's hook sends an :class:`OAuthRefreshError` back to :meth:`token_error`.
    """

    def __init__(self, setup: OAuthSetup, *, timeout: Timeouts, translate: Translate) -> None:
        self.client = setup.client
        self._tokens = setup.tokens
        self._timeout = timeout
        self._translate = translate
        self._reps: dict[str, _Rep] = {}
        self._reps_lock = threading.Lock()

    def for_rep(self, organizer: str, call: Call) -> Credentials:
        """The rep's credentials (:data:`SCOPE`), with an access token minted once per rep.

        Raises ``google_oauth_reconnect`` at once, without asking Google, for a rep who never
        connected or whose connection is broken; else what the translation hook returns for a
        failed refresh (see :meth:`token_error`)."""
        email = normal_email(organizer)
        stored = self._tokens.current(email)
        if stored.refresh_token is None:
            link = self._tokens.connect_link(email)
            if stored.state == "broken":
                why = f"their Google connection is broken ({stored.reason or 'invalid_grant'})"
                raise reconnect_error(email, link, why)
            why = "they have not connected their Google calendar yet (GOOGLE_AUTH_MODE=oauth)"
            raise reconnect_error(email, link, why, never_connected=True)
        with self._reps_lock:
            rep = self._reps.get(email)
            if rep is None or rep.credentials.generation != stored.generation:
                credentials = _RepCredentials(
                    email=email,
                    generation=stored.generation,
                    refresh_token=stored.refresh_token,
                    client=self.client,
                )
                rep = self._reps[email] = _Rep(credentials, threading.Lock())
        with rep.lock:
            if not rep.credentials.valid:
                request = google_auth_httplib2.Request(DeadlineHttp(self._timeout))
                try:
                    rep.credentials.refresh(request)
                except Exception as exc:
                    translated = self._translate(exc, call, "token")
                    if translated is None:
                        raise
                    raise translated from exc
        return rep.credentials

    def token_error(self, exc: OAuthRefreshError, call: Call) -> MiddlewareError:
        """What Google's refusal of a refresh means. ``invalid_grant`` marks the connection
        broken (its generation) and is ``google_oauth_reconnect``; if the rep connected again
        meanwhile, the attempt is retried with the new token instead."""
        text = str(exc.args[0]) if exc.args else str(exc)
        error, broken = oauth_refresh_error(
            text,
            retryable=exc.retryable,
            organizer=exc.email,
            client_id=self.client.client_id,
            link=self._tokens.connect_link(exc.email),
        )
        if broken:
            with self._reps_lock:
                rep = self._reps.get(exc.email)
                if rep is not None and rep.credentials.generation == exc.generation:
                    del self._reps[exc.email]
            if not self._tokens.mark_broken(exc.email, exc.generation, shorten(text, 200)):
                return RetryableError(
                    "google_token_unavailable",
                    f"{exc.email} connected their Google calendar again while this attempt "
                    "ran; it is tried again with the new connection",
                )
        return error
