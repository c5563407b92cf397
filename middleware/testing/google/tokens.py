"""``POST /token``: the service-account JWT-bearer grant
(https://developers.google.com/identity/protocols/oauth2/service-account) with domain-wide
delegation (the ``sub`` claim): the JWT is verified with the emulator's key, the subject and the
scopes are checked against the test's settings, and errors use Google's strings (ref §3.3)."""

from __future__ import annotations

import base64
import json
import secrets
import time
import urllib.parse
from typing import Any

from .responses import OAuthError, Response
from .state import Token, norm
from .user_oauth import USER_GRANTS, UserOAuth

# google-auth hard-codes this audience even when token_uri points elsewhere (ref §3.2, gotcha 6),
# so the emulator checks for Google's URL, never for its own.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"

# Token endpoint error strings (ref §3.3; GAM-team/GAM glapi.py and reports collected there).
MSG_UNAUTHORIZED_CLIENT = (
    "Client is unauthorized to retrieve access tokens using this method, "
    "or client not authorized for any of the scopes requested."
)
MSG_INVALID_USER = "Invalid email or User ID"
MSG_BAD_SIGNATURE = "Invalid JWT Signature."
MSG_BAD_AUDIENCE = "Invalid JWT: Failed audience check."
MSG_BAD_TIME = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
    "timeframe. Check your iat and exp values in the JWT claim."
)
MSG_UNKNOWN_ACCOUNT = "Invalid grant: account not found"
MSG_BAD_SCOPE = "Invalid OAuth scope or ID token audience provided."

# The JWT iat/exp tolerance Google applies is undocumented; 5 minutes is the usual skew allowance.
CLOCK_SKEW_SECONDS = 300
TOKEN_LIFETIME_SECONDS = 3599


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


class TokenEndpoint(UserOAuth):
    """The token endpoint (the JWT-bearer grant here, the user grants in ``user_oauth``) and
    the subject controls tests use on it."""

    def allow_subject(self, email: str) -> None:
        key = norm(email)
        with self._lock:
            self._refused.pop(key, None)
            if self.allowed_subjects is not None:
                self.allowed_subjects.add(key)

    def refuse_subject(self, email: str, error: str = "unauthorized_client") -> None:
        """Make token requests impersonating ``email`` fail like Google does.

        "unauthorized_client": DWD not granted for this client id / scope (401).
        "invalid_grant": the user does not exist in a domain trusting the SA (400).
        """
        if error not in ("unauthorized_client", "invalid_grant"):
            raise ValueError(f"unsupported error {error!r}")
        with self._lock:
            self._refused[norm(email)] = error

    def revoke_tokens(self) -> None:
        """Invalidate every issued access token (next API call gets 401 and the client refreshes)."""
        with self._lock:
            self._tokens.clear()

    def _handle_token(self, method: str, headers: Any, raw_body: bytes) -> Response:
        if method != "POST":
            return Response.json(
                405,
                {"error": "invalid_request", "error_description": "Token endpoint requires POST."},
            )
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        form: dict[str, str] = {}
        try:
            if content_type == "application/json":
                loaded = json.loads(raw_body or b"{}")
                form = {k: str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
            else:
                form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw_body.decode()).items()}
        except (ValueError, UnicodeDecodeError):
            form = {}
        entry: dict[str, Any] = {
            "grant_type": form.get("grant_type"),
            "sub": None,
            "scope": None,
            "iss": None,
            "aud": None,
            "kid": None,
            "iat": None,
            "exp": None,
            "ok": False,
            "error": None,
            "error_description": None,
            "status": None,
        }
        # Best-effort, *unverified* peek at the claims for the log (the assertion itself is not kept).
        header, claims = self._peek_jwt(form.get("assertion") or "")
        entry["kid"] = header.get("kid")
        for claim in ("sub", "scope", "iss", "aud", "iat", "exp"):
            entry[claim] = claims.get(claim)

        def fault_response(fault: dict) -> Response:
            entry["error"] = fault["reason"] or "temporarily_unavailable"
            entry["error_description"] = fault["message"]
            body = {"error": entry["error"], "error_description": fault["message"]}
            return Response.json(fault["status"], body, fault["headers"])

        def compute() -> Response:
            try:
                with self._lock:
                    if form.get("grant_type") in USER_GRANTS:  # user OAuth (``user_oauth``)
                        answer = self._user_token(form, headers)
                    else:
                        answer = {
                            "access_token": self._mint_token(form),
                            "expires_in": TOKEN_LIFETIME_SECONDS,
                            "token_type": "Bearer",
                        }
            except OAuthError as err:
                entry["error"], entry["error_description"] = err.error, err.description
                return Response.json(
                    err.status,
                    {"error": err.error, "error_description": err.description},
                    {"Cache-Control": "no-store", "Pragma": "no-cache"},
                )
            entry["ok"] = True
            return Response.json(200, answer, {"Cache-Control": "no-store", "Pragma": "no-cache"})

        return self._run("token", entry, self.token_requests, fault_response, compute)

    @staticmethod
    def _peek_jwt(assertion: str) -> tuple[dict, dict]:
        try:
            head, payload, _sig = assertion.split(".")
            header, claims = json.loads(_b64url_decode(head)), json.loads(_b64url_decode(payload))
            if isinstance(header, dict) and isinstance(claims, dict):
                return header, claims
        except (ValueError, TypeError):
            pass
        return {}, {}

    def _mint_token(self, form: dict[str, str]) -> str:
        """Validate a JWT-bearer grant (https://developers.google.com/identity/protocols/oauth2/service-account,
        "Making the access token request") and issue an opaque access token."""
        if form.get("grant_type") != JWT_BEARER_GRANT:
            raise OAuthError(
                400,
                "unsupported_grant_type",
                "Invalid grant_type: " + (form.get("grant_type") or ""),
            )
        assertion = form.get("assertion")
        if not assertion:
            raise OAuthError(400, "invalid_request", "Missing required parameter: assertion")
        try:
            head_b64, payload_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64url_decode(head_b64))
            claims = json.loads(_b64url_decode(payload_b64))
            signature = _b64url_decode(sig_b64)
            if not isinstance(header, dict) or not isinstance(claims, dict):
                raise ValueError("not an object")
        except (ValueError, TypeError):
            # Exact Google wording for a malformed assertion is not documented.
            raise OAuthError(400, "invalid_grant", "Invalid JWT: malformed assertion.") from None

        # Google looks the key up through the issuer first ("account not found"), then by kid.
        if claims.get("iss") != self.client_email:
            raise OAuthError(400, "invalid_grant", MSG_UNKNOWN_ACCOUNT)
        if header.get("alg") != "RS256" or header.get("kid") != self._key.key_id:
            # A deleted/unknown key id looks exactly like a bad signature to Google clients.
            raise OAuthError(400, "invalid_grant", MSG_BAD_SIGNATURE)
        if not self._verifier.verify(f"{head_b64}.{payload_b64}".encode(), signature):
            raise OAuthError(400, "invalid_grant", MSG_BAD_SIGNATURE)

        iat, exp = claims.get("iat"), claims.get("exp")
        now = time.time()
        if (
            not isinstance(iat, (int, float))
            or not isinstance(exp, (int, float))
            or exp <= iat
            or exp - iat > 3600  # "a maximum of 1 hour after the issued time" (ref §3.2)
            or iat > now + CLOCK_SKEW_SECONDS
            or exp < now - CLOCK_SKEW_SECONDS
        ):
            raise OAuthError(400, "invalid_grant", MSG_BAD_TIME)
        if claims.get("aud") != GOOGLE_TOKEN_AUDIENCE:
            raise OAuthError(400, "invalid_grant", MSG_BAD_AUDIENCE)

        scopes = frozenset(str(claims.get("scope") or "").split())
        if not scopes:
            raise OAuthError(400, "invalid_scope", MSG_BAD_SCOPE)

        sub = claims.get("sub")
        subject = norm(sub) if isinstance(sub, str) and sub.strip() else None
        if subject is not None:
            refused = self._refused.get(subject)
            if refused == "invalid_grant":
                raise OAuthError(400, "invalid_grant", MSG_INVALID_USER)
            if refused is not None or (
                self.allowed_subjects is not None and subject not in self.allowed_subjects
            ):
                raise OAuthError(401, "unauthorized_client", MSG_UNAUTHORIZED_CLIENT)
        # The DWD grant in the Admin console lists scopes exactly (ref §3.3).
        if not scopes <= self.allowed_scopes:
            raise OAuthError(401, "unauthorized_client", MSG_UNAUTHORIZED_CLIENT)

        access_token = "ya29.emu-" + secrets.token_urlsafe(48)
        self._tokens[access_token] = Token(subject, scopes, now + TOKEN_LIFETIME_SECONDS)
        return access_token
