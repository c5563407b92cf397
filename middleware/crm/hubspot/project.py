"""The HubSpot developer-platform project (2026.03) this service needs, generated as data.

Since October 2026 no HubSpot account can create a legacy private app; a new customer uploads a
project-based app with HubSpot's CLI instead (reference hubspot-2026-and-calendar-lifecycle.md
§A1). :func:`build_project` turns the rules file, the public URL and the ``web`` process's
capacity into that project's files: an app with static auth and private distribution asking
for exactly the scopes the service uses, and a webhooks component subscribing to exactly the
changes the service acts on. Pure: no I/O, no clock; the same inputs give the same files.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from middleware.crm.hubspot.client import REQUIRED_SCOPES
from middleware.rules import HubSpotRules

#: HubSpot's templates for this version (§A1: ``hsproject.json`` of the 2026.03 folder).
PLATFORM_VERSION = "2026.03"
DEFAULT_NAME = "CRM to Google Meet"
WEBHOOK_PATH = "/webhooks/hubspot"
#: "HubSpot sets a concurrency limit of 10 requests when sending subscription event data
#: associated with an account" (crm-webhooks-and-apis.md, webhooks): asking for more gains nothing.
HUBSPOT_MAX_CONCURRENT_REQUESTS = 10
#: The service's deal reads and write-back (client.py), plus ``oauth`` for the
#: account-info call that tells which portal the token belongs to (HubSpot's static-app
#: template lists ``oauth`` among ``requiredScopes`` too, §A1).
SCOPES: tuple[str, ...] = tuple(sorted({*REQUIRED_SCOPES, "oauth"}))
#: Deal properties the service acts on besides the configured start property (CONTRACT.md,
#: ``POST /webhooks/hubspot``): stage and owner changes.
WATCHED_DEAL_PROPERTIES = ("dealstage", "hubspot_owner_id")
#: "hs_lastmodifieddate and num_unique_conversion_events cannot be subscribed"
#: (crm-webhooks-and-apis.md, webhooks).
_UNSUBSCRIBABLE = frozenset({"hs_lastmodifieddate", "num_unique_conversion_events"})

APP_FILE = "src/app/app-hsmeta.json"
WEBHOOKS_FILE = "src/app/webhooks/webhooks-hsmeta.json"
PROJECT_FILE = "hsproject.json"


def webhook_target_url(base_url: str) -> str:
    """``base_url`` + ``/webhooks/hubspot``, after checking it is an https origin.

    Raises :class:`ValueError` (one line naming the fix) for anything but ``https://HOST[:PORT]``:
    HubSpot delivers to the URL as given, and the signature covers it, so a path, a query or
    plain http would either miss the endpoint or fail every signature check.
    """
    url = base_url.strip()
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(
            f"public URL {url!r}: give the https origin HubSpot calls, e.g. https://hooks.example.com"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(
            f"public URL {url!r}: give only scheme and host (no path or query), "
            f"e.g. https://{parts.netloc.rsplit('@', 1)[-1]}; {WEBHOOK_PATH} is added for you"
        )
    return f"https://{parts.netloc}{WEBHOOK_PATH}"


def max_concurrent_requests(web_workers: int, web_threads: int) -> int:
    """What HubSpot may send at once: no more than the ``web`` process serves at once, and
    never above HubSpot's own ceiling of 10. Raises :class:`ValueError` below 1."""
    if web_workers < 1 or web_threads < 1:
        raise ValueError("WEB_CONCURRENCY and WEB_THREADS must be at least 1")
    return min(HUBSPOT_MAX_CONCURRENT_REQUESTS, web_workers * web_threads)


def project_uid(name: str) -> str:
    """A stable uid from the project name: lower case, ``_`` between words, at most 60 chars.

    Raises :class:`ValueError` when the name has no letter or digit.
    """
    uid = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:60].strip("_")
    if not uid:
        raise ValueError(f"project name {name!r}: the name needs at least one letter or digit")
    return uid


def build_project(
    rules: HubSpotRules,
    base_url: str,
    *,
    web_workers: int,
    web_threads: int,
    name: str = DEFAULT_NAME,
    support_email: str | None = None,
) -> dict[str, dict[str, Any]]:
    """The project's files as ``{path relative to the project folder: JSON document}``.

    ``rules`` gives the start property to subscribe to; ``base_url`` is the public https origin
    HubSpot calls; ``web_workers`` × ``web_threads`` is what the ``web`` process serves at once.
    Raises :class:`ValueError` (one line) for a bad URL, name or start property.
    """
    name = " ".join(name.split())
    uid = project_uid(name)
    target = webhook_target_url(base_url)
    if rules.start_property in _UNSUBSCRIBABLE:
        raise ValueError(
            f"hubspot.start_property {rules.start_property!r}: HubSpot cannot send changes of "
            "this property; use a custom datetime property"
        )
    properties = sorted({*WATCHED_DEAL_PROPERTIES, rules.start_property})
    subscriptions: list[dict[str, Any]] = [
        {
            "subscriptionType": "object.propertyChange",
            "objectType": "deal",
            "propertyName": prop,
            "active": True,  # HubSpot's templates ship inactive ones (§A1)
        }
        for prop in properties
    ]
    subscriptions.append(
        {"subscriptionType": "object.deletion", "objectType": "deal", "active": True}
    )
    support: dict[str, str] = {"supportUrl": target.removesuffix(WEBHOOK_PATH)}
    if support_email:
        support["supportEmail"] = support_email
    files: dict[str, dict[str, Any]] = {
        PROJECT_FILE: {"name": name, "srcDir": "src", "platformVersion": PLATFORM_VERSION},
        APP_FILE: {
            "uid": uid,
            "type": "app",
            "config": {
                "name": name,
                "description": (
                    "Books a Google Calendar event with a Google Meet link when a deal enters "
                    "a demo stage, and writes the link back to the deal."
                ),
                # Static auth needs private distribution; one account at a time (§A1).
                "distribution": "private",
                "auth": {
                    "type": "static",
                    "requiredScopes": list(SCOPES),
                    "optionalScopes": [],
                    "conditionallyRequiredScopes": [],
                },
                # For UI extensions' hubspot.fetch only; this app has none.
                "permittedUrls": {"fetch": [], "iframe": [], "img": []},
                "support": support,
            },
        },
        WEBHOOKS_FILE: {
            "uid": f"{uid}_webhooks",
            "type": "webhooks",
            "config": {
                "settings": {
                    "targetUrl": target,
                    "maxConcurrentRequests": max_concurrent_requests(web_workers, web_threads),
                },
                "subscriptions": {
                    "crmObjects": subscriptions,
                    "legacyCrmObjects": [],
                    "hubEvents": [],
                },
            },
        },
    }
    return dict(sorted(files.items()))


def render(document: dict[str, Any]) -> str:
    """One file's text: two-space JSON, keys in the order built, a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
