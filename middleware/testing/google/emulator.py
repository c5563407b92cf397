"""``GoogleEmulator``: the token endpoint and the Calendar API assembled, served on
127.0.0.1:<ephemeral>, with its lifecycle, its key file and the state inspection tests use."""

from __future__ import annotations

import copy
import json
import threading
import traceback
import urllib.parse
from pathlib import Path
from typing import Any

from .calendar_api import CalendarApi
from .responses import ApiError, Response
from .server import Handler, Server
from .state import norm, ordered
from .tokens import TokenEndpoint


class GoogleEmulator(CalendarApi, TokenEndpoint):
    """Google OAuth token endpoint + Calendar v3 Events emulator on 127.0.0.1:<ephemeral>.

    State is protected by one lock; every public method is thread-safe.
    """

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> GoogleEmulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = Server(("127.0.0.1", 0), Handler)
        server.emulator = self
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="google-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        self._stopping.set()  # interrupts inject_delay sleeps
        with self._lock:
            holds = list(self._all_holds)
        for hold in holds:  # held handlers answer (to whoever is still listening) and exit
            hold.release()
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> GoogleEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("GoogleEmulator not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def token_uri(self) -> str:
        return self.base_url + "token"

    # ---- key file --------------------------------------------------------------------------

    def service_account_info(self) -> dict:
        """A complete service-account key JSON dict whose token_uri points at this emulator."""
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self._key.key_id,
            "private_key": self._key.private_pem,
            "client_email": self.client_email,
            "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
            + urllib.parse.quote(self.client_email),
            "universe_domain": "googleapis.com",
        }

    def write_key_file(self, path: str | Path) -> str:
        Path(path).write_text(json.dumps(self.service_account_info(), indent=2))
        return str(path)

    def oauth_client_config(self, redirect_uri: str) -> dict[str, Any]:
        """The client as a Google ``client_secret.json`` ("web"), ``redirect_uri`` registered."""
        self.oauth_redirect_uris.add(redirect_uri)
        return {
            "web": {
                "client_id": self.oauth_client_id,
                "client_secret": self.oauth_client_secret,
                "auth_uri": self.base_url + "o/oauth2/auth",
                "token_uri": self.token_uri,
                "redirect_uris": [redirect_uri],
            }
        }

    # ---- subject control -------------------------------------------------------------------

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

    # ---- state inspection ------------------------------------------------------------------

    def events(self, calendar_owner: str) -> list[dict]:
        """Events (cancelled included) of that user's primary calendar, in insertion order."""
        with self._lock:
            cal = self._calendars.get(norm(calendar_owner), {})
            return [ordered(copy.deepcopy(r.resource)) for r in cal.values()]

    def all_events(self) -> list[dict]:
        with self._lock:
            return [
                {**ordered(copy.deepcopy(r.resource)), "_calendar_owner": owner}
                for owner, cal in self._calendars.items()
                for r in cal.values()
            ]

    def event(self, calendar_owner: str, event_id: str) -> dict | None:
        with self._lock:
            record = self._calendars.get(norm(calendar_owner), {}).get(event_id)
            return None if record is None else ordered(copy.deepcopy(record.resource))

    def instances(self, calendar_owner: str, event_id: str, *, limit: int = 500) -> list[dict]:
        """The occurrences of a recurring event (cancelled ones too), in order, as
        ``events.instances`` shows them; [] for an event that does not recur."""
        with self._lock:
            record = self._calendars.get(norm(calendar_owner), {}).get(event_id)
            if record is None or not record.resource.get("recurrence"):
                return []
            return [ordered(i) for i in self.instances_of(record, limit=limit)]

    def cancel_event(self, calendar_owner: str, event_id: str) -> None:
        """Cancel an event as its owner would in the Calendar UI (it keeps its id: 409 on insert)."""
        with self._lock:
            record = self._calendars[norm(calendar_owner)][event_id]
            record.resource["status"] = "cancelled"

    def forget_cancelled(self, calendar_owner: str, event_id: str) -> None:
        """Let a cancelled event "eventually disappear": get/list answer 404 and no longer
        show it, but its id stays taken (insert answers 409)."""
        with self._lock:
            owner = norm(calendar_owner)
            record = self._calendars[owner].pop(event_id)
            assert record.resource["status"] == "cancelled", "only cancelled events disappear"
            self._gone.setdefault(owner, set()).add(event_id)

    def live_events(self) -> list[dict]:
        """Every event not cancelled, in every calendar (with ``_calendar_owner``)."""
        return [e for e in self.all_events() if e.get("status") != "cancelled"]

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.token_requests.clear()

    # ---- request dispatch ------------------------------------------------------------------

    def _handle(self, method: str, raw_path: str, headers: Any, raw_body: bytes) -> Response:
        try:
            parsed = urllib.parse.urlsplit(raw_path)
            query_multi = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
            if parsed.path == "/token":
                return self._handle_token(method, headers, raw_body)
            query = {k: v[-1] for k, v in query_multi.items()}
            if parsed.path in ("/o/oauth2/auth", "/o/oauth2/v2/auth") and method == "GET":
                return self._handle_consent(query)
            if parsed.path == "/revoke":
                return self._handle_revoke(method, query, raw_body)
            if parsed.path.startswith("/calendar/v3/"):
                return self._handle_calendar(method, parsed.path, query_multi, headers, raw_body)
            return ApiError(404, "notFound", "Not Found").response()
        except Exception:  # pragma: no cover - only on emulator bugs
            with self._lock:
                self.internal_errors.append(traceback.format_exc())
            return ApiError(500, "backendError", "Backend Error").response()
