"""``/connect/google``: a rep connects their own Google calendar (``GOOGLE_AUTH_MODE=oauth``).

* ``GET /connect/google?rep=EMAIL&sig=…``: a link the service made (``middleware google link``,
  the admin API, the message of an event that waits for it): the browser goes to Google's
  consent screen (:class:`~middleware.google.connect.GoogleConnect`); the flow's state, PKCE
  verifier and rep ride in a cookie sealed with ``GOOGLE_TOKEN_KEYS`` (10 minutes, this path
  only, ``HttpOnly``, ``SameSite=Lax`` so it comes back with Google's redirect).
* ``GET /connect/google/callback``: Google's redirect. The ``state`` must be the cookie's, the
  code is exchanged with the cookie's verifier, the account must be the link's rep; then the
  refresh token is sealed and stored, and the rep's events that failed waiting for it are
  replayed (``operations.replay_after_connect``, audited), and a page says so.

Pages are for people (HTML; JSON ``{"error": …}`` for a client that asks for JSON), each
refusal says what to do, and no token, code or secret is ever shown or logged.
"""

from __future__ import annotations

import hmac
import html
import json
import logging
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, redirect, request
from flask.typing import ResponseReturnValue

from middleware import operations, wiring
from middleware.google.connect import ConnectRefused, GoogleConnect
from middleware.google_connections import link_is_valid
from middleware.services import services
from middleware.token_cipher import SealBroken, TokenCipher

bp = Blueprint("connect", __name__, url_prefix="/connect")
log = logging.getLogger(__name__)

COOKIE = "mw_google_connect"
COOKIE_PATH = "/connect/google"
FLOW_SECONDS = 600


@dataclass(frozen=True)
class _Connecting:
    flow: GoogleConnect
    cipher: TokenCipher


def _connecting(app: Flask) -> _Connecting | None:
    """This app's connect flow, built once (None while OAuth is not set up)."""
    if "google_connect" not in app.extensions:
        settings = services(app).settings
        client = wiring.oauth_client(settings)
        app.extensions["google_connect"] = (
            _Connecting(GoogleConnect(client), TokenCipher(settings.google_token_keys))
            if client is not None
            else None
        )
    found: _Connecting | None = app.extensions["google_connect"]
    return found


@bp.errorhandler(ConnectRefused)
def _refused(exc: ConnectRefused) -> ResponseReturnValue:
    log.warning("google connect refused (%s): %s", exc.reason, exc.message)
    return _page(exc.status, "Not connected", exc.message, reason=exc.reason)


@bp.get("/google")
def start() -> ResponseReturnValue:
    """Send the rep's browser to Google's consent screen."""
    connecting = _require()
    rep = (request.args.get("rep") or "").strip().lower()
    signature = request.args.get("sig") or ""
    if not rep or not signature or not link_is_valid(connecting.cipher, rep, signature):
        raise ConnectRefused(
            "bad_link",
            "This connect link is not valid (cut short, or made with a key no longer in use): "
            "ask your admin for a new one.",
            status=403,
        )
    authorization = connecting.flow.start(rep)
    sealed = connecting.cipher.seal(
        json.dumps(
            {"state": authorization.state, "verifier": authorization.code_verifier, "rep": rep}
        )
    )
    response = redirect(authorization.url, code=302)
    response.set_cookie(
        COOKIE,
        sealed,
        max_age=FLOW_SECONDS,
        path=COOKIE_PATH,
        secure=(services(current_app).settings.google_oauth_redirect_uri or "").startswith(
            "https:"
        ),
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.get("/google/callback")
def callback() -> ResponseReturnValue:
    """Google's redirect after the consent screen: check, exchange, store, replay."""
    connecting = _require()
    flow_state = _flow_state(connecting.cipher)
    given = request.args.get("state") or ""
    if not hmac.compare_digest(given.encode(), str(flow_state["state"]).encode()):
        raise ConnectRefused(
            "state_mismatch",
            "This answer from Google does not belong to the sign-in started in this browser: "
            "open your connect link again.",
        )
    rep = str(flow_state["rep"])
    if request.args.get("error"):
        raise ConnectRefused(
            "access_denied",
            f"Google says the access was not given ({request.args['error'][:60]}): "
            f"nothing was connected. Open the link again and allow access to the calendar of {rep}.",
            status=403,
        )
    code = request.args.get("code") or ""
    if not code:
        raise ConnectRefused("no_code", "Google sent no sign-in code: open the link again.")
    account = connecting.flow.finish(code, str(flow_state["verifier"]), rep=rep)
    store = services(current_app).store
    replayed = operations.replay_after_connect(
        store,
        email=account.email,
        sealed_refresh_token=connecting.cipher.seal(account.refresh_token),
        scopes=list(account.scopes),
        actor=f"connect:{account.email}",
    )
    log.info("google connect: %s connected; %d waiting events replayed", account.email, replayed)
    waiting = (
        f" {replayed} event{'s' if replayed != 1 else ''} that waited for this connection "
        f"{'are' if replayed != 1 else 'is'} being processed now."
        if replayed
        else ""
    )
    response = _page(
        200,
        "Connected",
        f"The Google calendar of {account.email} is connected: demos are now booked in it, "
        f"with you as the organizer.{waiting} You can close this page.",
        rep=account.email,
        replayed=replayed,
    )
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


def _require() -> _Connecting:
    connecting = _connecting(current_app)
    if connecting is None:
        raise ConnectRefused(
            "not_configured",
            "Connecting Google calendars is not enabled on this service (GOOGLE_OAUTH_CLIENT_ID, "
            "GOOGLE_OAUTH_CLIENT_SECRET, GOOGLE_OAUTH_REDIRECT_URI and GOOGLE_TOKEN_KEYS are not "
            "all set).",
            status=404,
        )
    return connecting


def _flow_state(cipher: TokenCipher) -> dict[str, Any]:
    sealed = request.cookies.get(COOKIE) or ""
    try:
        state = json.loads(cipher.open(sealed, max_age=FLOW_SECONDS)) if sealed else None
    except (SealBroken, ValueError):
        state = None
    if not isinstance(state, dict) or not all(k in state for k in ("state", "verifier", "rep")):
        raise ConnectRefused(
            "state_missing",
            "This sign-in has expired or was started in another browser (it lasts "
            f"{FLOW_SECONDS // 60} minutes): open your connect link again.",
        )
    return state


def _page(status: int, title: str, message: str, **extra: Any) -> Response:
    """An HTML page (or JSON for a client that prefers it) with ``status``."""
    wants = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if wants == "application/json":
        key = "message" if status < 400 else "error"
        response = jsonify({key: message, **extra})
    else:
        body = _HTML.format(title=html.escape(title), message=html.escape(message))
        response = Response(body, mimetype="text/html")
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;
line-height:1.5}}h1{{font-size:1.4rem}}</style></head>
<body><h1>{title}</h1><p>{message}</p></body></html>
"""
