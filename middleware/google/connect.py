"""A rep connects their own Google calendar: OAuth 2.0 for web server apps with
google-auth-oauthlib (https://developers.google.com/identity/protocols/oauth2/web-server).
No web framework here: ``web/connect.py`` keeps the state between the two steps (a sealed
cookie) and draws the pages.

1. :meth:`GoogleConnect.start`: the authorization URL with a fresh ``state`` (CSRF, checked
   against the cookie) and a PKCE ``code_verifier`` (RFC 7636, S256: a code stolen on its way
   back is useless without it), ``access_type=offline`` (a refresh token), ``prompt=consent``
   (Google gives a refresh token again on every connect, also to a rep who connected before),
   and ``login_hint`` = the rep. Scopes: ``calendar.events``, and ``openid`` with
   ``userinfo.email`` for the id_token that says which account consented.
2. :meth:`GoogleConnect.finish`: the code exchanged with the verifier, then the account checked:
   the id_token's ``email`` (verified) must be the rep's. The id_token comes straight from
   Google's token endpoint over TLS with our client secret, so its signature need not be checked
   ("since you are communicating directly with Google over an intermediary-free HTTPS channel
   and using your client secret to authenticate yourself to Google, you can be confident that the
   token you receive really comes from Google and is valid", OpenID Connect, "Obtain user
   information from the ID token"); its ``aud`` and ``iss`` are.

Every refusal is :class:`ConnectRefused` with a stable ``reason`` and a sentence for the rep;
no token, code or secret is ever in one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from google.auth import jwt
from google_auth_oauthlib.flow import Flow

from middleware.deadlines import GOOGLE_TIMEOUTS, Timeouts
from middleware.errors import shorten
from middleware.google.events import normal_email
from middleware.google.oauth import OAuthClient
from middleware.google.scopes import SCOPE

__all__ = [
    "CONNECT_SCOPES",
    "Authorization",
    "ConnectRefused",
    "ConnectedAccount",
    "GoogleConnect",
    "client_problem",
]

#: What the consent screen asks for (Google echoes these exact names in the token answer).
CONNECT_SCOPES = ("openid", "https://www.googleapis.com/auth/userinfo.email", SCOPE)
#: The id_token's ``iss`` (OpenID Connect, "An ID token's payload").
ISSUERS = ("https://accounts.google.com", "accounts.google.com")
#: Libraries that log whole token answers (refresh token, client secret in the Basic header)
#: at DEBUG: kept at WARNING whatever LOG_LEVEL says, so no log ever carries a token.
TOKEN_LOGGERS = ("requests_oauthlib", "oauthlib")


@dataclass(frozen=True)
class Authorization:
    """Where to send the rep's browser, and what the callback must find again."""

    url: str
    state: str
    code_verifier: str = field(repr=False)


@dataclass(frozen=True)
class ConnectedAccount:
    email: str
    refresh_token: str = field(repr=False)
    scopes: tuple[str, ...] = ()


class ConnectRefused(Exception):
    """The connect flow stopped: ``reason`` (a code), ``message`` (for the rep), ``status``."""

    def __init__(self, reason: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status


class GoogleConnect:
    """The two steps of the connect flow for one OAuth client. Thread-safe (a flow per call)."""

    def __init__(self, client: OAuthClient, *, timeout: Timeouts = GOOGLE_TIMEOUTS) -> None:
        self.client = client
        self._timeout = timeout
        for name in TOKEN_LOGGERS:
            logger = logging.getLogger(name)
            if logger.getEffectiveLevel() < logging.WARNING:
                logger.setLevel(logging.WARNING)

    def start(self, rep: str) -> Authorization:
        """The authorization URL for ``rep``, with its state and PKCE verifier."""
        flow = self._flow()
        try:
            url, state = flow.authorization_url(
                access_type="offline", prompt="consent", login_hint=normal_email(rep)
            )
        except Exception as exc:  # oauthlib's InsecureTransportError: a plain http:// URI
            raise self._transport_refusal(exc) from exc
        return Authorization(url, state, flow.code_verifier or "")

    def finish(self, code: str, code_verifier: str, *, rep: str) -> ConnectedAccount:
        """Exchange ``code`` (with the verifier ``start`` made) and check that the account is
        ``rep``'s. Raises :class:`ConnectRefused`."""
        flow = self._flow(code_verifier)
        try:
            token: dict[str, Any] = dict(
                flow.fetch_token(code=code, timeout=(self._timeout.connect, self._timeout.read))
            )
        except Warning as changed:  # oauthlib: the granted scopes differ from those asked
            token = dict(getattr(changed, "token", {}) or {})
        except Exception as exc:
            raise self._exchange_refusal(exc) from exc
        granted = tuple(sorted(_scopes(token.get("scope"))))
        email = self._account(token)
        if email != normal_email(rep):
            raise ConnectRefused(
                "wrong_account",
                f"You signed in to Google as {email}, but this link is for {normal_email(rep)}: "
                f"nothing was connected. Sign in to Google as {normal_email(rep)} (or use a "
                "private window) and open the link again.",
                status=403,
            )
        if SCOPE not in granted:
            raise ConnectRefused(
                "calendar_not_granted",
                "Google did not give access to your calendar (the box for Google Calendar was "
                "left unticked): open the link again and allow it, or the demos cannot be booked.",
                status=403,
            )
        refresh_token = token.get("refresh_token")
        if not refresh_token:
            raise ConnectRefused(
                "no_refresh_token",
                "Google gave no lasting access (no refresh token): remove this app under "
                "myaccount.google.com → Security → Third-party apps, then open the link again.",
                status=502,
            )
        return ConnectedAccount(email, str(refresh_token), granted)

    def _flow(self, code_verifier: str | None = None) -> Flow:
        config = {
            "web": {
                "client_id": self.client.client_id,
                "client_secret": self.client.client_secret,
                "auth_uri": self.client.auth_uri,
                "token_uri": self.client.token_uri,
                "redirect_uris": [self.client.redirect_uri],
            }
        }
        return Flow.from_client_config(
            config,
            scopes=list(CONNECT_SCOPES),
            redirect_uri=self.client.redirect_uri,
            code_verifier=code_verifier,
            autogenerate_code_verifier=code_verifier is None,
        )

    def _account(self, token: dict[str, Any]) -> str:
        """The verified email of the id_token (checked: ``aud`` our client, ``iss`` Google)."""
        try:
            claims = jwt.decode(str(token.get("id_token") or ""), verify=False)
        except (ValueError, TypeError):
            claims = {}
        if claims.get("aud") != self.client.client_id or claims.get("iss") not in ISSUERS:
            raise ConnectRefused(
                "bad_id_token",
                "Google's answer did not say which account signed in: open the link again.",
                status=502,
            )
        if not claims.get("email") or claims.get("email_verified") is not True:
            raise ConnectRefused(
                "email_not_verified",
                "Google did not confirm the email address of this account: sign in with your "
                "work account and open the link again.",
                status=403,
            )
        return normal_email(str(claims["email"]))

    @staticmethod
    def _exchange_refusal(exc: Exception) -> ConnectRefused:
        error = str(getattr(exc, "error", "") or "")
        if error in ("invalid_grant", "redirect_uri_mismatch"):
            # a spent, stale or foreign code, or one whose PKCE verifier does not match
            return ConnectRefused(
                "code_refused",
                f"Google refused this sign-in ({error}: "
                f"{shorten(str(getattr(exc, 'description', '') or ''), 120)}): open the link "
                "again to start over.",
            )
        if error in ("invalid_client", "unauthorized_client", "deleted_client"):
            return ConnectRefused(
                "client_refused",
                f"Google refused this service's OAuth client ({error}): ask your admin to check "
                "GOOGLE_OAUTH_CLIENT_ID and GOOGLE_OAUTH_CLIENT_SECRET.",
                status=502,
            )
        if type(exc).__name__ == "InsecureTransportError":
            return GoogleConnect._transport_refusal(exc)
        return ConnectRefused(
            "google_unreachable",
            f"Google could not be reached to finish signing in ({type(exc).__name__}): try "
            "the link again in a minute.",
            status=502,
        )

    @staticmethod
    def _transport_refusal(exc: Exception) -> ConnectRefused:
        return ConnectRefused(
            "insecure_transport",
            f"the OAuth endpoints are not https ({type(exc).__name__}): set "
            "GOOGLE_OAUTH_AUTH_URI and GOOGLE_OAUTH_TOKEN_URI to Google's https URLs "
            "(OAUTHLIB_INSECURE_TRANSPORT=1 allows http for a local emulator only)",
            status=500,
        )


def client_problem(client: OAuthClient, *, timeout: Timeouts = GOOGLE_TIMEOUTS) -> str | None:
    """Whether Google accepts the OAuth client's id and secret, without any rep: a code
    exchange with a code that cannot exist is refused ``invalid_grant`` when the client
    authenticates, ``invalid_client`` (or ``unauthorized_client``, ``deleted_client``) when it
    does not (RFC 6749 §5.2: the client is authenticated before the grant is looked at).
    Returns the problem (one line naming the fix), or None."""
    import requests

    try:
        answer = requests.post(
            client.token_uri,
            data={
                "grant_type": "authorization_code",
                "code": "middleware-check-not-a-code",
                "redirect_uri": client.redirect_uri,
                "client_id": client.client_id,
                "client_secret": client.client_secret,
            },
            timeout=(timeout.connect, timeout.read),
        )
        error = str(answer.json().get("error") or "")
    except (requests.RequestException, ValueError, AttributeError) as exc:
        return f"cannot ask Google's token endpoint {client.token_uri} ({type(exc).__name__})"
    if error in ("invalid_client", "unauthorized_client", "deleted_client"):
        return (
            f"Google refused the OAuth client ({error}): check GOOGLE_OAUTH_CLIENT_ID and "
            "GOOGLE_OAUTH_CLIENT_SECRET (Google Cloud console → APIs & Services → Credentials)"
        )
    if error == "redirect_uri_mismatch":
        return (
            f"Google does not know the redirect URI {client.redirect_uri}: add it to the "
            "client's Authorized redirect URIs"
        )
    return None


def _scopes(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list | tuple):
        return [str(s) for s in value]
    return []
