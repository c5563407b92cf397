"""Which host a webhook may name, and which listener serves the admin pages.

A webhook signature covers the full URI the CRM called. Without ``PUBLIC_BASE_URL`` the service
rebuilds that URI from the request's ``Host``, which the client chooses: a request signed for
another deployment sharing the app's secret (staging and production, say) would verify if it
named that deployment's host. So the host must be one this service is known by:
``ALLOWED_HOSTS``, or, with neither setting, the machine's own names (loopback, its host name
and addresses), with a warning at start. With ``PUBLIC_BASE_URL`` the host sent is irrelevant:
the URI is rebuilt from the setting.

With ``ADMIN_BIND`` the admin API (and every other operator page) answers only on that
listener, never on the public port; gunicorn gives each request its listener's address as
``SERVER_NAME``/``SERVER_PORT``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from middleware.settings import Settings

#: Paths only the admin listener serves when ``ADMIN_BIND`` is set.
OPERATOR_PREFIXES = ("/admin", "/openapi.json", "/dashboard", "/metrics")
MIN_ADMIN_TOKEN_LENGTH = 32


def split_host(value: str) -> tuple[str, str | None]:
    """``"Example.com:8443"`` → ``("example.com", "8443")``; IPv6 in brackets kept whole."""
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value.partition("]")
        port = rest[1:] if rest.startswith(":") else None
        return host + "]", port or None
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or ":" in host:
        return value, None
    return host, port


@lru_cache(maxsize=1)
def machine_names() -> frozenset[str]:
    """The names and addresses this machine answers to, loopback included."""
    names = {"localhost", "127.0.0.1", "[::1]"}
    for name in {socket.gethostname(), socket.getfqdn()}:
        if not name:
            continue
        names.add(name.lower())
        try:
            infos = socket.getaddrinfo(name, None)
        except OSError:
            continue
        for info in infos:
            address = str(info[4][0])
            names.add(f"[{address}]" if ":" in address else address)
    return frozenset(names)


def host_allowed(host_header: str, settings: Settings) -> bool:
    """May a webhook name this ``Host``? Always, when ``PUBLIC_BASE_URL`` fixes the URI."""
    if settings.public_base_url:
        return True
    host, port = split_host(host_header)
    if settings.allowed_hosts:
        for entry in settings.allowed_hosts:
            allowed, allowed_port = split_host(entry)
            if host == allowed and (allowed_port is None or allowed_port == port):
                return True
        return False
    return host in machine_names()


def host_refusal(host_header: str) -> str:
    return (
        f"Host {host_header[:100]!r} is not a name this service answers to: set PUBLIC_BASE_URL "
        "(the URL the CRM calls) or list the host in ALLOWED_HOSTS"
    )


def on_operator_listener(path: str, environ: Mapping[str, Any], settings: Settings) -> bool:
    """False for an operator page asked on the public port while ``ADMIN_BIND`` is set."""
    if not settings.admin_bind or not path.startswith(OPERATOR_PREFIXES):
        return True
    _, port = split_host(settings.admin_bind)
    return str(environ.get("SERVER_PORT", "")) == port


def startup_warnings(settings: Settings) -> Iterable[str]:
    """What the web process says once at start about how it is exposed."""
    if not settings.public_base_url and not settings.allowed_hosts:
        yield (
            "neither PUBLIC_BASE_URL nor ALLOWED_HOSTS is set: webhooks are accepted only for "
            f"this machine's own names ({', '.join(sorted(machine_names()))}); set one of them "
            "for the name the CRM calls"
        )
    if settings.admin_token and len(settings.admin_token) < MIN_ADMIN_TOKEN_LENGTH:
        yield (
            f"ADMIN_TOKEN is shorter than {MIN_ADMIN_TOKEN_LENGTH} characters: use a long random "
            "one (python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
