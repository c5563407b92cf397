"""What the OAuth tests share: the settings of OAuth mode on the Google emulator, and a rep's
browser that follows a connect link through the service (Flask's test client) and Google's
consent screen (the emulator, over real HTTP)."""

from __future__ import annotations

import urllib.parse
from typing import Any

import requests
from cryptography.fernet import Fernet

from middleware.google_connections import connect_link
from middleware.settings import Settings
from middleware.testing.google import GoogleEmulator
from middleware.token_cipher import TokenCipher

#: the service's callback as registered with the emulator's OAuth client
REDIRECT_URI = "http://localhost/connect/google/callback"
TOKEN_KEY = Fernet.generate_key().decode()


def oauth_env(
    google: GoogleEmulator, *, keys: str = TOKEN_KEY, mode: str = "oauth"
) -> dict[str, str]:
    """The settings of OAuth mode against ``google``'s emulator."""
    config = google.oauth_client_config(REDIRECT_URI)["web"]
    return {
        "GOOGLE_AUTH_MODE": mode,
        "GOOGLE_OAUTH_CLIENT_ID": config["client_id"],
        "GOOGLE_OAUTH_CLIENT_SECRET": config["client_secret"],
        "GOOGLE_OAUTH_REDIRECT_URI": REDIRECT_URI,
        "GOOGLE_OAUTH_AUTH_URI": config["auth_uri"],
        "GOOGLE_OAUTH_TOKEN_URI": config["token_uri"],
        "GOOGLE_TOKEN_KEYS": keys,
        "GOOGLE_API_BASE_URL": google.base_url,
    }


def link_for(settings: Settings, email: str) -> str:
    """The connect link the service hands out for ``email``."""
    return connect_link(settings, TokenCipher(settings.google_token_keys), email)


def local(url: str) -> str:
    """``http://localhost/path?q`` → ``/path?q`` (for the test client)."""
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Browser:
    """A rep's browser: the service's pages through ``client`` (its cookie jar), Google's
    through plain HTTP to the emulator."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def open_link(self, link: str) -> Any:
        """Open a connect link; the service's answer (a 302 to Google when it is good)."""
        return self.client.get(local(link))

    def consent(self, google_url: str) -> str:
        """Google's consent screen: the callback URL it sends the browser back to."""
        answer = requests.get(google_url, allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        location: str = answer.headers["Location"]
        assert location.startswith(REDIRECT_URI), location
        return location

    def back(self, callback_url: str, **headers: str) -> Any:
        """Follow Google's redirect back to the service."""
        return self.client.get(local(callback_url), headers=headers)

    def connect(self, link: str, **headers: str) -> Any:
        """The whole flow; the service's last page."""
        started = self.open_link(link)
        assert started.status_code == 302, started.get_data(as_text=True)
        return self.back(self.consent(started.headers["Location"]), **headers)
