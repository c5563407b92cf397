"""Reps' Google OAuth connections as the service uses them: sealed in the store, opened for
the Calendar adapter, listed for operators, and the links reps connect at.

* :class:`ConnectionVault` is the adapter's :class:`~middleware.google.oauth.RefreshTokens`:
  the store keeps only what :class:`~middleware.token_cipher.TokenCipher` sealed, and a token
  no listed key opens fails the event ``google_oauth_reconnect`` (the fix: put the old key
  back, or have the rep connect again, which seals with the current key).
* :func:`connect_link` / :func:`link_is_valid`: a connect link names its rep and carries an
  HMAC of the rep (``GOOGLE_TOKEN_KEYS``), so only links the service made start a connect flow.
* :func:`rep_connections`: every rep the service knows of, with their mode and connection state
  (the admin API and ``middleware google reps``), never a token.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from middleware.errors import Reason
from middleware.google.oauth import StoredToken
from middleware.google.oauth_errors import reconnect_error, waiting_rep
from middleware.model import FAILED
from middleware.settings import Settings
from middleware.store import EventFilter, Store
from middleware.store.connections import BROKEN, CONNECTED, NOT_CONNECTED
from middleware.token_cipher import SealBroken, TokenCipher

__all__ = [
    "ConnectionVault",
    "RepConnection",
    "connect_link",
    "link_is_valid",
    "rep_connections",
]

#: what a connect link's signature is for (never valid as another kind of signature)
LINK_PURPOSE = "google-connect-link"


def connect_link(settings: Settings, cipher: TokenCipher, email: str) -> str:
    """The link ``email`` connects their calendar at: ``…/connect/google?rep=…&sig=…``."""
    base = settings.google_connect_url or "/connect/google"
    rep = email.strip().lower()
    query = urllib.parse.urlencode({"rep": rep, "sig": cipher.sign(LINK_PURPOSE, rep)})
    return f"{base}?{query}"


def link_is_valid(cipher: TokenCipher, email: str, signature: str) -> bool:
    """Whether ``signature`` is a connect link's for ``email`` under any listed key."""
    return cipher.verify(LINK_PURPOSE, email.strip().lower(), signature)


class ConnectionVault:
    """The reps' refresh tokens for the Calendar adapter, over the store. Thread-safe."""

    def __init__(self, store: Store, cipher: TokenCipher, settings: Settings) -> None:
        self._store = store
        self._cipher = cipher
        self._settings = settings

    def current(self, email: str) -> StoredToken:
        record = self._store.google_connection(email)
        if record is None:
            return StoredToken(NOT_CONNECTED)
        if record.state != CONNECTED:
            return StoredToken(record.state, record.generation, reason=record.broken_reason)
        try:
            token = self._cipher.open(record.sealed_refresh_token)
        except SealBroken:
            raise reconnect_error(
                email,
                self.connect_link(email),
                "their stored refresh token opens with no key of GOOGLE_TOKEN_KEYS (the key it "
                "was sealed with is no longer listed: putting it back also works)",
            ) from None
        return StoredToken(CONNECTED, record.generation, token)

    def mark_broken(self, email: str, generation: int, reason: str) -> bool:
        return self._store.mark_google_connection_broken(email, generation, reason)

    def connect_link(self, email: str) -> str:
        return connect_link(self._settings, self._cipher, email)


@dataclass(frozen=True)
class RepConnection:
    """One rep as operators see it (``json_shapes`` renders it)."""

    email: str
    #: ``delegation`` or ``oauth``
    mode: str
    #: ``connected``, ``broken``, ``not_connected``; None for a delegation rep
    state: str | None
    connected_at: datetime | None = None
    broken_at: datetime | None = None
    broken_reason: str | None = None
    #: the link to send an OAuth rep (None without GOOGLE_TOKEN_KEYS, or for delegation)
    connect_url: str | None = None


def rep_connections(
    settings: Settings, store: Store, *, also: Iterable[str] = ()
) -> list[RepConnection]:
    """Every rep known here: connected ones, the rules' ``[google.rep_auth]``, the organizers
    of recorded meetings, the reps events wait for (``google_oauth_reconnect``), and ``also``
    (e.g. the CRMs' owners), by email."""
    records = {r.email: r for r in store.google_connections()}
    emails = set(records) | set(settings.rules.google.rep_auth) | set(store.meeting_organizers())
    waiting = EventFilter(statuses=(FAILED,), reason=Reason.GOOGLE_OAUTH_RECONNECT.value)
    page, _ = store.list_events(waiting, limit=500)
    emails |= {rep for rep in (waiting_rep(e.last_error) for e in page) if rep}
    emails |= {e.strip().lower() for e in also if e.strip()}
    cipher = TokenCipher(settings.google_token_keys) if settings.google_token_keys else None
    reps: list[RepConnection] = []
    for email in sorted(emails):
        mode = settings.google_auth_mode_for(email)
        record = records.get(email)
        state = record.state if record else NOT_CONNECTED
        link = connect_link(settings, cipher, email) if cipher is not None else None
        if mode != "oauth" and record is None:
            reps.append(RepConnection(email, mode, None))
            continue
        reps.append(
            RepConnection(
                email,
                mode,
                state,
                connected_at=record.connected_at if record else None,
                broken_at=record.broken_at if record and state == BROKEN else None,
                broken_reason=record.broken_reason if record and state == BROKEN else None,
                connect_url=link,
            )
        )
    return reps
