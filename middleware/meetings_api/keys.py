"""API keys of the meetings API: made, checked, scoped.

A key is ``mk_`` and 43 URL-safe characters from ``secrets`` (256 random bits); the store keeps
only its SHA-256 (a key that random needs no slow hash: nothing can be guessed from it) and
its first characters, to tell keys apart. The key itself is shown once, when it is made.
Scopes: ``read`` (``GET``) and ``write`` (everything; it includes ``read``). A key may also be
limited to organizers (emails, or ``@domain`` for a whole domain).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from middleware.store import Store
from middleware.store.api_keys import ApiKeyRecord

KEY_PREFIX = "mk_"
READ = "read"
WRITE = "write"
SCOPES = (READ, WRITE)
#: characters of a key kept to show which key is which (``mk_`` and 6 more)
SHOWN_CHARS = 9
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^@[^@\s]+\.[^@\s]+$")


class KeyRefused(Exception):
    """A request's key is missing, unknown, revoked (401) or not allowed this (403)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class NewApiKey:
    """A key just made: the only time the key itself is known."""

    record: ApiKeyRecord
    key: str


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def organizer_patterns(values: Iterable[str]) -> tuple[str, ...]:
    """Emails and ``@domain`` suffixes, lower-cased. Raises ``ValueError`` naming a bad one."""
    patterns = []
    for value in values:
        text = str(value).strip().lower()
        if not (_ADDRESS.match(text) or _DOMAIN.match(text)) or len(text) > 254:
            raise ValueError(f"{value!r} is neither an email nor @domain")
        patterns.append(text)
    return tuple(dict.fromkeys(patterns))


def create_api_key(
    store: Store, *, name: str, scope: str, organizers: Iterable[str] = (), actor: str
) -> NewApiKey:
    """Make and store a key. Raises ``ValueError`` for a bad scope, name or organizer."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be {' or '.join(SCOPES)}")
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("name: 1 to 100 characters")
    patterns = organizer_patterns(organizers)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = store.add_api_key(
        name=name,
        scope=scope,
        key_hash=key_hash(key),
        prefix=key[:SHOWN_CHARS],
        organizers=patterns or None,
        actor=actor,
    )
    return NewApiKey(record, key)


def authenticate(store: Store, authorization: str | None) -> ApiKeyRecord:
    """The key of an ``Authorization: Bearer mk_…`` header. Raises :class:`KeyRefused` 401."""
    scheme, _, given = (authorization or "").partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        raise KeyRefused(401, "missing API key (Authorization: Bearer mk_…)")
    record = store.api_key_by_hash(key_hash(given)) if given.startswith(KEY_PREFIX) else None
    if record is None or not record.active:
        raise KeyRefused(401, "unknown or revoked API key")
    return record


def require_write(key: ApiKeyRecord) -> None:
    """Raises :class:`KeyRefused` 403 for a read-only key."""
    if key.scope != WRITE:
        raise KeyRefused(403, f"the API key {key.name!r} is read-only; this needs a write key")


def may_act_for(key: ApiKeyRecord, organizer: str) -> bool:
    """Whether ``key`` may see and change meetings organized by ``organizer``."""
    if key.organizers is None:
        return True
    email = organizer.strip().lower()
    return any(email == p or (p.startswith("@") and email.endswith(p)) for p in key.organizers)


def require_organizer(key: ApiKeyRecord, organizer: str) -> None:
    """Raises :class:`KeyRefused` 403 when ``key`` may not act for ``organizer``."""
    if not may_act_for(key, organizer):
        raise KeyRefused(
            403, f"the API key {key.name!r} may not make meetings organized by {organizer}"
        )
