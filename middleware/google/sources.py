"""Where each rep's Google credentials come from: the seam between the two auth modes.

The Calendar code (``client.py`` and everything above it) asks :class:`RepCredentials` for a
rep's credentials and never knows which source gave them: the service account acting as the
rep (:class:`~middleware.google.credentials.Delegation`, ``delegation``) or the rep's own
refresh token (:class:`~middleware.google.oauth.OAuthCredentials`, ``oauth``), chosen per rep
(``GOOGLE_AUTH_MODE``, overridden by ``[google.rep_auth]``: ``Settings.google_auth_mode_for``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from google.auth.exceptions import RefreshError

from middleware.errors import MiddlewareError, PermanentError
from middleware.google.credentials import Call, Delegation
from middleware.google.errors import refresh_error
from middleware.google.events import normal_email
from middleware.google.oauth import OAuthCredentials, OAuthRefreshError
from middleware.rules import DELEGATION, OAUTH

__all__ = ["RepCredentials"]


class RepCredentials:
    """Each rep's credentials from the source their auth mode names. Thread-safe.

    ``mode_for(rep)`` is ``delegation`` or ``oauth``; without it, OAuth when it is the only
    source. A rep whose source is not configured fails ``not_configured``.
    """

    def __init__(
        self,
        *,
        delegation: Delegation | None,
        oauth: OAuthCredentials | None,
        mode_for: Callable[[str], str] | None = None,
    ) -> None:
        self.delegation = delegation
        self.oauth = oauth
        only = OAUTH if delegation is None and oauth is not None else DELEGATION
        self._mode_for = mode_for or (lambda _rep: only)

    def mode(self, organizer: str) -> str:
        """``delegation`` or ``oauth`` for ``organizer``."""
        return self._mode_for(normal_email(organizer))

    def for_rep(self, organizer: str, call: Call) -> Any:
        """The rep's credentials with a valid token. Raises the source's errors."""
        if self.mode(organizer) == OAUTH:
            return self._oauth(organizer).for_rep(organizer, call)
        return self._delegation(organizer).for_rep(organizer, call)

    def scoped(self, organizer: str, scopes: Sequence[str]) -> Any | None:
        """Uncached credentials with other ``scopes`` (the preflight's read scope), or None for
        an OAuth rep: their grant holds ``calendar.events`` only."""
        if self.mode(organizer) == OAUTH:
            return None
        return self._delegation(organizer).scoped(organizer, scopes)

    def token_error(self, exc: RefreshError, call: Call) -> MiddlewareError:
        """What a refused token request means, by the source that made it."""
        if isinstance(exc, OAuthRefreshError) and self.oauth is not None:
            return self.oauth.token_error(exc, call)
        delegation = self.delegation
        return refresh_error(
            exc,
            organizer=call.organizer,
            client_email=delegation.client_email if delegation else "(no service account)",
            client_id=delegation.client_id if delegation else "(no service account)",
        )

    def _delegation(self, organizer: str) -> Delegation:
        if self.delegation is None:
            raise PermanentError(
                "not_configured",
                f"{organizer} uses domain-wide delegation (GOOGLE_AUTH_MODE, [google.rep_auth]) "
                "but GOOGLE_SERVICE_ACCOUNT_FILE is not set: set it, or connect the rep with "
                f'OAuth ([google.rep_auth] "{normal_email(organizer)}" = "oauth"), restart and '
                "replay",
            )
        return self.delegation

    def _oauth(self, organizer: str) -> OAuthCredentials:
        if self.oauth is None:
            raise PermanentError(
                "not_configured",
                f"{organizer} connects with OAuth but GOOGLE_OAUTH_CLIENT_ID, "
                "GOOGLE_OAUTH_CLIENT_SECRET, GOOGLE_OAUTH_REDIRECT_URI and GOOGLE_TOKEN_KEYS are "
                "not all set for this process: set them, restart and replay",
            )
        return self.oauth
