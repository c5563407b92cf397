"""Refresh tokens sealed at rest, and the connect flow's links and cookies: ``GOOGLE_TOKEN_KEYS``.

:class:`TokenCipher` is cryptography's Fernet (AES-128-CBC with HMAC-SHA256, a timestamp,
https://cryptography.io/en/latest/fernet/) over a list of keys, as ``MultiFernet`` does it: the
**first key seals**, **every key opens**, so a key is rotated by putting the new one first,
re-sealing what is stored (``middleware google reseal``) and then dropping the old one.

It also signs short texts (the rep of a connect link) with HMAC-SHA256, keyed by each Fernet key,
so a link made before a rotation stays valid while its key is listed. Nothing here logs, and no
error message carries a key, a token or a sealed value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["SealBroken", "TokenCipher", "fernet_key_problem", "split_keys"]

#: How a key is made (the README and the settings error say so).
NEW_KEY_COMMAND = (
    "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class SealBroken(Exception):
    """A sealed value that no listed key opens (a key was dropped, or it was tampered with), or
    one older than the age allowed."""


def split_keys(value: str | Sequence[str]) -> tuple[str, ...]:
    """``"k1, k2"`` → ``("k1", "k2")``: comma-separated, blanks dropped."""
    if not isinstance(value, str):
        return tuple(value)
    return tuple(k.strip() for k in value.split(",") if k.strip())


def fernet_key_problem(keys: Sequence[str]) -> str | None:
    """Why ``keys`` cannot be used (never quoting a key), or None when they can."""
    if not keys:
        return "no key given"
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            return (
                f"key {number} of {len(keys)} is not a Fernet key (32 url-safe base64-encoded "
                f"bytes); make one with {NEW_KEY_COMMAND}"
            )
    return None


class TokenCipher:
    """Seal, open, re-seal and sign with ``keys`` (the first seals and signs; all open and
    verify). Raises ``ValueError`` for an unusable key list (see :func:`fernet_key_problem`)."""

    def __init__(self, keys: Sequence[str]) -> None:
        problem = fernet_key_problem(keys)
        if problem:
            raise ValueError(problem)
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self._signing = [base64.urlsafe_b64decode(k) for k in keys]

    def __repr__(self) -> str:  # never the keys
        return f"TokenCipher({len(self._signing)} keys)"

    def seal(self, text: str) -> str:
        """``text`` encrypted and authenticated with the first key (a Fernet token, ASCII)."""
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def open(self, sealed: str, *, max_age: float | None = None) -> str:
        """The text ``sealed`` holds. ``max_age``: refuse a value sealed more than that many
        seconds ago. Raises :class:`SealBroken`."""
        try:
            ttl = None if max_age is None else int(max_age)
            return self._fernet.decrypt(sealed.encode("ascii"), ttl=ttl).decode()
        except (InvalidToken, UnicodeError, ValueError):
            raise SealBroken("no key of GOOGLE_TOKEN_KEYS opens this sealed value") from None

    def reseal(self, sealed: str) -> str:
        """``sealed`` sealed again with the first key (its age kept). Raises :class:`SealBroken`."""
        try:
            return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError, ValueError):
            raise SealBroken("no key of GOOGLE_TOKEN_KEYS opens this sealed value") from None

    def sign(self, purpose: str, text: str) -> str:
        """An HMAC-SHA256 of ``text`` for ``purpose`` with the first key (url-safe, 22 chars)."""
        return self._mac(self._signing[0], purpose, text)

    def verify(self, purpose: str, text: str, signature: str) -> bool:
        """Whether ``signature`` is :meth:`sign`'s for ``text`` under any key (constant time)."""
        given = signature.encode()
        return any(
            hmac.compare_digest(self._mac(key, purpose, text).encode(), given)
            for key in self._signing
        )

    @staticmethod
    def _mac(key: bytes, purpose: str, text: str) -> str:
        digest = hmac.new(key, f"{purpose}\0{text}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")
