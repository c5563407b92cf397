"""OAuth 2.0 for web server applications, as Google serves it to one registered client
(https://developers.google.com/identity/protocols/oauth2/web-server, "OWS" below):

* ``GET /o/oauth2/auth`` (and ``/o/oauth2/v2/auth``): the consent screen. The account signed in
  to the "browser" (:attr:`signed_in`, else ``login_hint``) consents at once, or refuses
  (:attr:`consent_denied`), or unticks scopes (:attr:`consent_unticked`, Google's granular
  consent); the answer is the 302 to ``redirect_uri`` with ``code`` and ``state`` (OWS step 4),
  or ``error=access_denied``. The redirect URI must be registered exactly (else
  ``redirect_uri_mismatch``, shown to the user, no redirect).
* ``POST /token`` with ``grant_type=authorization_code``: the code, once, for the same client
  and redirect URI; with PKCE (RFC 7636) the ``code_verifier`` must hash to the challenge
  ("Missing code verifier." / "Invalid code verifier."). The answer holds an access token, a
  refresh token when ``access_type=offline`` (OWS: "Refresh tokens"; Google gives one on the
  first consent or with ``prompt=consent``), the granted ``scope`` and, with ``openid``, an
  ``id_token`` signed RS256 by the emulator's key (``iss``, ``aud`` = the client id, ``email``,
  ``email_verified``).
* ``POST /token`` with ``grant_type=refresh_token``: a new access token, or
  ``invalid_grant`` "Token has been expired or revoked." once the grant is revoked.
* ``POST /revoke`` (``token=`` in the body or the query): revokes the grant of a refresh or an
  access token, and every access token it issued (OWS "Revoking a token").

Google caps refresh tokens per account and client (OWS "Refresh token expiration": "a limit of
100 refresh tokens per Google Account per OAuth 2.0 client ID … creating a new refresh token
automatically invalidates the oldest"): :attr:`refresh_token_limit`. Client authentication is
``client_secret`` in the body or HTTP Basic (RFC 6749 §2.3.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from google.auth import crypt, jwt

from .injection import FaultInjection
from .responses import OAuthError, Response
from .state import Token, norm

AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"
USER_GRANTS = (AUTHORIZATION_CODE, REFRESH_TOKEN)
ISSUER = "https://accounts.google.com"
ACCESS_TOKEN_SECONDS = 3599
CODE_SECONDS = 600
MSG_REVOKED = "Token has been expired or revoked."
MSG_BAD_CODE = "Malformed auth code."


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    user: str
    scopes: frozenset[str]
    challenge: str | None
    method: str | None
    offline: bool
    expires: float


@dataclass
class Grant:
    """One refresh token: who consented, to which client, for which scopes."""

    client_id: str
    user: str
    scopes: frozenset[str]
    created: float
    revoked: bool = False


def user_id(email: str) -> str:
    """A stable numeric Google account id (the ``sub`` of the id_token)."""
    return str(int(hashlib.sha256(norm(email).encode()).hexdigest()[:15], 16))


class UserOAuth(FaultInjection):
    """The consent screen, the user grants of the token endpoint, and revocation."""

    # ---- set-up and test hooks -------------------------------------------------------------

    def revoke_grants(self, email: str) -> int:
        """The user removes the app's access (Google Account → Security → Third-party apps),
        or Google expires their tokens: every grant of ``email`` is revoked. Returns how many."""
        with self._lock:
            grants = [t for t, g in self._grants.items() if g.user == norm(email) and not g.revoked]
            for refresh_token in grants:
                self._revoke(refresh_token)
            return len(grants)

    def oauth_grants(self, email: str) -> list[dict[str, Any]]:
        """The live grants of ``email`` (client id and scopes; never the token)."""
        with self._lock:
            return [
                {"client_id": g.client_id, "scopes": sorted(g.scopes)}
                for g in self._grants.values()
                if g.user == norm(email) and not g.revoked
            ]

    def refresh_tokens(self, email: str) -> list[str]:
        """Every refresh token issued to ``email``, revoked ones too (tests look for them
        where they must never be: a database file, a log, an answer)."""
        with self._lock:
            return [t for t, g in self._grants.items() if g.user == norm(email)]

    # ---- GET /o/oauth2/auth ----------------------------------------------------------------

    def _handle_consent(self, query: dict[str, str]) -> Response:
        entry: dict[str, Any] = {k: v for k, v in query.items() if k != "code_challenge"}
        entry["code_challenge"] = bool(query.get("code_challenge"))  # sent, not kept
        with self._lock:
            self.consent_requests.append(entry)
            try:
                return self._consent(query)
            except OAuthError as err:  # shown to the user by Google; no redirect
                body = {"error": err.error, "error_description": err.description}
                return Response.json(err.status, body)

    def _consent(self, query: dict[str, str]) -> Response:
        client_id = query.get("client_id", "")
        if client_id != self.oauth_client_id:
            raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in self.oauth_redirect_uris:
            raise OAuthError(400, "redirect_uri_mismatch", f"redirect_uri={redirect_uri}")
        if query.get("response_type") != "code":
            raise OAuthError(400, "unsupported_response_type", "Invalid response_type")
        scopes = frozenset(query.get("scope", "").split())
        if not scopes:
            raise OAuthError(400, "invalid_request", "Missing required parameter: scope")
        method = query.get("code_challenge_method") or None
        challenge = query.get("code_challenge") or None
        if challenge and (method or "plain") not in ("S256", "plain"):
            raise OAuthError(400, "invalid_request", "Invalid code_challenge_method")
        user = self.signed_in or query.get("login_hint")
        if not user:
            raise OAuthError(400, "invalid_request", "no Google account is signed in")
        answer: dict[str, str] = {}
        if self.consent_denied:
            answer["error"] = "access_denied"
        else:
            granted = scopes - self.consent_unticked
            code = "4/0A" + secrets.token_urlsafe(40)
            self._codes[code] = AuthCode(
                client_id=client_id,
                redirect_uri=redirect_uri,
                user=norm(user),
                scopes=granted,
                challenge=challenge,
                method=method or ("plain" if challenge else None),
                offline=query.get("access_type") == "offline",
                expires=time.time() + CODE_SECONDS,
            )
            answer.update(code=code, scope=" ".join(sorted(granted)), authuser="0")
        if "state" in query:
            answer["state"] = query["state"]
        separator = "&" if "?" in redirect_uri else "?"
        location = redirect_uri + separator + urllib.parse.urlencode(answer)
        return Response(302, b"", {"Location": location})

    # ---- POST /token (user grants) ---------------------------------------------------------

    def _user_token(self, form: dict[str, str], headers: Any) -> dict[str, Any]:
        """The token answer of an ``authorization_code`` or ``refresh_token`` grant. Raises
        :class:`OAuthError` with Google's error. Called under the lock."""
        client_id = self._authenticate_client(form, headers)
        if form.get("grant_type") == AUTHORIZATION_CODE:
            return self._exchange_code(client_id, form)
        return self._refresh(client_id, form)

    def _authenticate_client(self, form: dict[str, str], headers: Any) -> str:
        client_id, secret = form.get("client_id", ""), form.get("client_secret")
        authorization = headers.get("Authorization") or ""
        if authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode()
            except (ValueError, UnicodeDecodeError):
                decoded = ":"
            basic_id, _, basic_secret = decoded.partition(":")
            client_id = urllib.parse.unquote_plus(basic_id)
            secret = urllib.parse.unquote_plus(basic_secret)
        if client_id != self.oauth_client_id:
            raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
        if not secret or not hmac.compare_digest(secret, self.oauth_client_secret):
            raise OAuthError(401, "invalid_client", "Unauthorized")
        return client_id

    def _exchange_code(self, client_id: str, form: dict[str, str]) -> dict[str, Any]:
        code = self._codes.pop(form.get("code", ""), None)  # a code is used once
        if code is None or code.expires < time.time() or code.client_id != client_id:
            raise OAuthError(400, "invalid_grant", MSG_BAD_CODE)
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError(400, "redirect_uri_mismatch", "Bad Request")
        if code.challenge is not None:
            verifier = form.get("code_verifier")
            if not verifier:
                raise OAuthError(400, "invalid_grant", "Missing code verifier.")
            if code.method == "S256":
                digest = hashlib.sha256(verifier.encode()).digest()
                expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            else:
                expected = verifier
            if not hmac.compare_digest(expected, code.challenge):
                raise OAuthError(400, "invalid_grant", "Invalid code verifier.")
        refresh_token = None
        if code.offline:
            refresh_token = "1//0g" + secrets.token_urlsafe(60)
            self._grants[refresh_token] = Grant(client_id, code.user, code.scopes, time.time())
            self._enforce_refresh_token_limit(client_id, code.user)
        answer = self._access_answer(client_id, code.user, code.scopes, refresh_token)
        if refresh_token is not None:
            answer["refresh_token"] = refresh_token
        return answer

    def _refresh(self, client_id: str, form: dict[str, str]) -> dict[str, Any]:
        refresh_token = form.get("refresh_token", "")
        grant = self._grants.get(refresh_token)
        if grant is None or grant.revoked:
            raise OAuthError(400, "invalid_grant", MSG_REVOKED)
        if grant.client_id != client_id:
            raise OAuthError(400, "unauthorized_client", "Unauthorized")
        scopes = grant.scopes
        if form.get("scope"):
            asked = frozenset(form["scope"].split())
            if not asked <= grant.scopes:
                raise OAuthError(400, "invalid_scope", "Bad Request")
            scopes = asked
        return self._access_answer(client_id, grant.user, scopes, refresh_token)

    def _access_answer(
        self, client_id: str, user: str, scopes: frozenset[str], grant: str | None
    ) -> dict[str, Any]:
        access_token = "ya29.emu-user-" + secrets.token_urlsafe(48)
        now = time.time()
        self._tokens[access_token] = Token(user, scopes, now + ACCESS_TOKEN_SECONDS, grant)
        answer: dict[str, Any] = {
            "access_token": access_token,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "scope": " ".join(sorted(scopes)),
            "token_type": "Bearer",
        }
        if "openid" in scopes:
            answer["id_token"] = self._id_token(client_id, user, scopes, now)
        return answer

    def _id_token(self, client_id: str, user: str, scopes: frozenset[str], now: float) -> str:
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "azp": client_id,
            "aud": client_id,
            "sub": user_id(user),
            "iat": int(now),
            "exp": int(now) + 3600,
        }
        if "email" in scopes or any(s.endswith("/userinfo.email") for s in scopes):
            claims.update(email=user, email_verified=True)
        signer = crypt.RSASigner.from_string(self._key.private_pem, self._key.key_id)
        return jwt.encode(signer, claims).decode()

    def _enforce_refresh_token_limit(self, client_id: str, user: str) -> None:
        live = [
            (g.created, t)
            for t, g in self._grants.items()
            if g.client_id == client_id and g.user == user and not g.revoked
        ]
        for _, oldest in sorted(live)[: max(len(live) - self.refresh_token_limit, 0)]:
            self._revoke(oldest)

    # ---- POST /revoke ----------------------------------------------------------------------

    def _handle_revoke(self, method: str, query: dict[str, str], raw_body: bytes) -> Response:
        if method != "POST":
            return Response.json(405, {"error": "invalid_request"})
        form = {
            k: v[-1] for k, v in urllib.parse.parse_qs(raw_body.decode(errors="replace")).items()
        }
        token = form.get("token") or query.get("token") or ""
        with self._lock:
            grant = token if token in self._grants else None
            if grant is None and token in self._tokens:
                grant = self._tokens[token].grant
                if grant is None:
                    self._tokens.pop(token)
                    return Response.json(200, {})
            if grant is None or self._grants[grant].revoked:
                body = {"error": "invalid_token", "error_description": "Token expired or revoked"}
                return Response.json(400, body)
            self._revoke(grant)
        return Response.json(200, {})

    def _revoke(self, refresh_token: str) -> None:
        self._grants[refresh_token].revoked = True
        for access_token in [a for a, t in self._tokens.items() if t.grant == refresh_token]:
            del self._tokens[access_token]
