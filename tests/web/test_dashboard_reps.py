"""The dashboard's reps page over the real app and store: each rep's auth mode and OAuth
connection state with the link to send them, exactly as ``GET /admin/google/reps`` lists them,
and never a token."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from cryptography.fernet import Fernet

from middleware import operations
from middleware.app import create_app
from middleware.store import Store
from middleware.token_cipher import TokenCipher
from tests.builders import ADMIN_TOKEN, SHIPPED_RULES
from tests.web.test_dashboard import sign_in, text_of

CONNECTED, BROKEN, NEVER = "alex@seller.example", "sam@seller.example", "lee@seller.example"
DELEGATED = "pat@seller.example"
KEY = Fernet.generate_key().decode()
REFRESH_TOKEN = "1//0refresh-token-of-alex"
SCOPE = "https://www.googleapis.com/auth/calendar.events"


@pytest.fixture
def app(make_settings: Any, sqlite_store: Store) -> Any:
    """Delegation by default; three reps on OAuth through ``[google.rep_auth]``."""
    oauth_reps = "".join(f'"{rep}" = "oauth"\n' for rep in (CONNECTED, BROKEN, NEVER))
    settings = make_settings(
        SHIPPED_RULES.replace("[google.rep_auth]\n", f"[google.rep_auth]\n{oauth_reps}"),
        GOOGLE_OAUTH_CLIENT_ID="client-1.apps.googleusercontent.com",
        GOOGLE_OAUTH_CLIENT_SECRET="oauth-client-secret",
        GOOGLE_OAUTH_REDIRECT_URI="https://hooks.example.com/connect/google/callback",
        GOOGLE_TOKEN_KEYS=KEY,
    )
    return create_app(settings, store=sqlite_store)


def connect(store: Store, email: str, token: str) -> None:
    """What the connect flow's callback stores (``operations.replay_after_connect``)."""
    sealed = TokenCipher((KEY,)).seal(token)
    operations.replay_after_connect(
        store, email=email, sealed_refresh_token=sealed, scopes=[SCOPE], actor=f"connect:{email}"
    )


def rows(page: str) -> dict[str, str]:
    """Each rep's row of the table as text, by email."""
    found = re.findall(r'<tr id="rep-\d+" data-rep="([^"]+)">(.*?)</tr>', page, re.S)
    return {email: " ".join(text_of(row).split()) for email, row in found}


def test_the_page_lists_what_the_admin_api_lists_and_never_a_token(
    client: Any, sqlite_store: Store
) -> None:
    connect(sqlite_store, CONNECTED, REFRESH_TOKEN)
    connect(sqlite_store, BROKEN, "1//0refresh-token-of-sam")
    generation = sqlite_store.google_connection(BROKEN).generation  # type: ignore[union-attr]
    sqlite_store.mark_google_connection_broken(
        BROKEN, generation, "invalid_grant: Token has been expired or revoked."
    )
    assert client.get(f"/dashboard/reps?rep={DELEGATED}").status_code == 303  # signed out
    sign_in(client)
    page = client.get(f"/dashboard/reps?rep={DELEGATED}")
    assert page.status_code == 200 and 'href="/dashboard/reps"' in page.text
    shown = rows(page.text)
    api = client.get(
        f"/admin/google/reps?rep={DELEGATED}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ).json["reps"]
    assert list(shown) == [r["email"] for r in api]  # the same reps, in the same order
    by_email = {r["email"]: r for r in api}
    for email in (CONNECTED, BROKEN, NEVER):
        link = by_email[email]["connect_url"]
        assert link.startswith("https://hooks.example.com/connect/google?rep=")
        assert f'value="{html.escape(link)}"' in page.text  # the API's link, to copy
        assert shown[email].startswith(f"{email} oauth")
    assert f"{CONNECTED} oauth connected" in shown[CONNECTED]
    assert shown[CONNECTED].endswith(f"UTC {CONNECTED} Copy")  # since when; the account
    assert "broken: must reconnect invalid_grant: Token has been expired" in shown[BROKEN]
    assert by_email[BROKEN]["broken_at"][:10] in shown[BROKEN]
    assert f"{NEVER} oauth never connected — — Copy" == shown[NEVER]
    assert shown[DELEGATED].startswith(f"{DELEGATED} delegation the service account")
    assert by_email[DELEGATED]["connect_url"] is None and "Copy" not in shown[DELEGATED]
    counts = dict(re.findall(r'class="count status-(\w+)">[^<]*<b>(\d+)</b>', page.text))
    assert counts == {"connected": "1", "broken": "1", "not_connected": "1"}
    for secret in (REFRESH_TOKEN, ADMIN_TOKEN, KEY, "oauth-client-secret"):
        assert secret not in page.text
    for connection in sqlite_store.google_connections():
        assert connection.sealed_refresh_token not in page.text


def test_a_bad_rep_is_said_on_the_page(client: Any) -> None:
    sign_in(client)
    page = client.get("/dashboard/reps?rep=nobody")
    assert page.status_code == 400 and "not an email address" in page.text
    assert NEVER in rows(page.text)  # the list is still there
