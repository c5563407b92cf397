"""What a rep's own OAuth connection failing means, as the project's errors. Pure: no I/O.

A rep who connected their calendar (``GOOGLE_AUTH_MODE=oauth``) has a refresh token; Google
stops honouring it (``invalid_grant``, "Token has been expired or revoked.") when the user
removes the app's access, changes a password (for some scopes), leaves the consent screen in
*Testing* (tokens last 7 days), or has more than 100 tokens for the client
(https://developers.google.com/identity/protocols/oauth2#expiration). Only the rep can fix
that, by connecting again: the event fails ``google_oauth_reconnect`` with the link, and every
such event of the rep is replayed once they have (``operations.replay_after_connect``), which
finds them by :func:`waiting_prefix`.
"""

from __future__ import annotations

from middleware.errors import MiddlewareError, PermanentError, RetryableError, shorten

__all__ = ["oauth_refresh_error", "reconnect_error", "waiting_prefix", "waiting_rep"]


def waiting_prefix(email: str) -> str:
    """How every ``google_oauth_reconnect`` message about ``email`` begins."""
    return f"rep {email} must "


def waiting_rep(message: str | None) -> str | None:
    """The rep a ``google_oauth_reconnect`` message is about (None for another message)."""
    words = (message or "").split(" ", 3)
    if len(words) == 4 and words[0] == "rep" and words[2] == "must" and "@" in words[1]:
        return words[1]
    return None


def reconnect_error(
    email: str, link: str, why: str, *, never_connected: bool = False
) -> PermanentError:
    """``rep X must reconnect at LINK: why`` (``connect`` when the rep never did)."""
    verb = "connect" if never_connected else "reconnect"
    return PermanentError(
        "google_oauth_reconnect",
        f"{waiting_prefix(email)}{verb} at {link}: {why}; their events waiting on this are "
        "replayed once they have",
    )


def oauth_refresh_error(
    text: str, *, retryable: bool, organizer: str, client_id: str, link: str
) -> tuple[MiddlewareError, bool]:
    """The error for a refused refresh of ``organizer``'s token, and whether their connection
    is broken for good (``invalid_grant``). ``text`` is google-auth's ``"error: description"``
    (``RefreshError.args[0]``); it never holds the token."""
    said = shorten(text, 200)
    if text.startswith("invalid_grant"):
        why = f"Google no longer honours their refresh token ({said})"
        return reconnect_error(organizer, link, why), True
    if text.startswith(("invalid_client", "unauthorized_client", "deleted_client")):
        return PermanentError(
            "google_token_refused",
            f"Google refused the OAuth client {client_id} refreshing the token of {organizer} "
            f"({said}): check GOOGLE_OAUTH_CLIENT_ID and GOOGLE_OAUTH_CLIENT_SECRET (a deleted "
            "client, or a reset secret), restart, then replay",
        ), False
    if retryable:
        return RetryableError(
            "google_token_unavailable",
            f"Google's token endpoint is not answering for {organizer} right now ({said})",
        ), False
    return PermanentError(
        "google_token_refused",
        f"Google refused to refresh the token of {organizer} ({said}): as Google says, then replay",
    ), False
