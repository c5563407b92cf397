"""The shape of a HubSpot developer-platform project (2026.03), as HubSpot documents it.

Written from the reference (../shared/reference/hubspot-2026-and-calendar-lifecycle.md §A1) and
the files it cites, not from our generator: HubSpot's 2026.03 templates
(github.com/HubSpot/hubspot-project-components, 2026.03/defaultFiles/hsproject.json,
components/app/static-private and oauth-private/src/app/app-hsmeta.json,
components/webhooks/src/app/webhooks/webhooks-hsmeta.json), its AGENTS.md placement rules and
the app-configuration and configure-webhooks pages. Where the reference marks a rule as
second-hand it says so beside the rule.

:func:`project_errors` checks a whole project (``{relative path: document}``): the layout rules
plus one JSON Schema per component type. It returns the problems found; empty means valid.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from jsonschema import Draft202012Validator

_STRINGS = {"type": "array", "items": {"type": "string"}}
_HTTPS = {"type": "string", "pattern": r"^https://[^/?#\s]+(/[^\s]*)?$"}
_UID = {"type": "string", "minLength": 1, "pattern": r"^[A-Za-z0-9_-]+$"}

#: hsproject.json: {"name", "srcDir", "platformVersion"} (2026.03/defaultFiles/hsproject.json).
HSPROJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "srcDir", "platformVersion"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "srcDir": {"type": "string", "minLength": 1},
        # Folders of the templates repo: 2025.2, 2026.03, 2026.03-beta, 2026.09-beta (§A1).
        "platformVersion": {"type": "string", "pattern": r"^20\d\d\.\d{1,2}(-beta)?$"},
    },
}

_STATIC_AUTH = {
    "type": "object",
    "required": ["type", "requiredScopes"],
    "properties": {
        "type": {"const": "static"},
        "requiredScopes": {**_STRINGS, "minItems": 1, "uniqueItems": True},
        "optionalScopes": _STRINGS,
        "conditionallyRequiredScopes": _STRINGS,
    },
    # "StaticAppAuth rejects redirectUrls": second-hand in §A1; the static template has none.
    "additionalProperties": False,
}
_OAUTH_AUTH = {
    "type": "object",
    "required": ["type", "requiredScopes", "redirectUrls"],
    "properties": {
        "type": {"const": "oauth"},
        "redirectUrls": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "requiredScopes": {**_STRINGS, "minItems": 1, "uniqueItems": True},
        "optionalScopes": _STRINGS,
        "conditionallyRequiredScopes": _STRINGS,
    },
}

#: src/app/app-hsmeta.json (static-private and oauth-private templates).
APP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["uid", "type", "config"],
    "properties": {
        "uid": _UID,
        "type": {"const": "app"},
        "config": {
            "type": "object",
            "required": ["name", "distribution", "auth"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "description": {"type": "string"},
                "distribution": {"enum": ["private", "marketplace"]},
                "auth": {"oneOf": [_STATIC_AUTH, _OAUTH_AUTH]},
                # hubspot.fetch "requires fully qualified HTTPS URLs" (AGENTS.md).
                "permittedUrls": {
                    "type": "object",
                    "properties": {
                        "fetch": {"type": "array", "items": _HTTPS},
                        "iframe": _STRINGS,
                        "img": _STRINGS,
                    },
                    "additionalProperties": False,
                },
                "support": {
                    "type": "object",
                    "properties": {
                        "supportEmail": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+$"},
                        "documentationUrl": _HTTPS,
                        "supportUrl": _HTTPS,
                        "supportPhone": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
            },
            # "A static app must use distribution: private"; marketplace needs OAuth (§A1).
            "if": {"properties": {"auth": {"properties": {"type": {"const": "static"}}}}},
            "then": {"properties": {"distribution": {"const": "private"}}},
        },
    },
}

_CRM_OBJECT_SUBSCRIPTION = {
    "type": "object",
    "required": ["subscriptionType", "objectType", "active"],
    "properties": {
        # object.creation, object.propertyChange, object.deletion, … (generic form).
        "subscriptionType": {"type": "string", "pattern": r"^object\.[A-Za-z]+$"},
        "objectType": {"type": "string", "minLength": 1},
        "propertyName": {"type": "string", "minLength": 1},
        "active": {"type": "boolean"},
    },
    # 2025.1 and earlier used `objectName`; 2026.03 uses `objectType` (§A1): do not mix.
    "additionalProperties": False,
    "if": {"properties": {"subscriptionType": {"const": "object.propertyChange"}}},
    "then": {"required": ["propertyName"]},
}
_LEGACY_SUBSCRIPTION = {
    "type": "object",
    "required": ["subscriptionType", "active"],
    "properties": {
        # contact.propertyChange, deal.deletion, … (legacy form, object in the type).
        "subscriptionType": {"type": "string", "pattern": r"^[a-z_]+\.[A-Za-z]+$"},
        "propertyName": {"type": "string", "minLength": 1},
        "active": {"type": "boolean"},
    },
    "additionalProperties": False,
    "if": {"properties": {"subscriptionType": {"pattern": r"\.propertyChange$"}}},
    "then": {"required": ["propertyName"]},
}

#: src/app/webhooks/webhooks-hsmeta.json (webhooks template).
WEBHOOKS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["uid", "type", "config"],
    "properties": {
        "uid": _UID,
        "type": {"const": "webhooks"},
        "config": {
            "type": "object",
            "required": ["settings", "subscriptions"],
            "properties": {
                "settings": {
                    "type": "object",
                    "required": ["targetUrl", "maxConcurrentRequests"],
                    "properties": {
                        "targetUrl": _HTTPS,
                        # HubSpot's concurrency limit is 10 per account (crm-webhooks-and-apis.md).
                        "maxConcurrentRequests": {"type": "integer", "minimum": 1, "maximum": 10},
                    },
                    "additionalProperties": False,
                },
                "subscriptions": {
                    "type": "object",
                    "properties": {
                        "crmObjects": {"type": "array", "items": _CRM_OBJECT_SUBSCRIPTION},
                        "legacyCrmObjects": {"type": "array", "items": _LEGACY_SUBSCRIPTION},
                        "hubEvents": {"type": "array", "items": _LEGACY_SUBSCRIPTION},
                    },
                    "additionalProperties": False,
                },
            },
        },
    },
}

COMPONENT_SCHEMAS = {"app": APP_SCHEMA, "webhooks": WEBHOOKS_SCHEMA}
#: Where each component type's config file must sit, relative to srcDir (§A1, AGENTS.md).
COMPONENT_FOLDERS = {"app": "app", "webhooks": "app/webhooks"}


def _schema_errors(schema: dict[str, Any], document: Any, where: str) -> list[str]:
    validator = Draft202012Validator(schema)
    return [
        f"{where}: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]


def project_errors(files: dict[str, Any]) -> list[str]:
    """Every way ``files`` breaks HubSpot's documented project rules (empty when it is valid)."""
    if "hsproject.json" not in files:
        return ["hsproject.json: missing at the project root"]
    errors = _schema_errors(HSPROJECT_SCHEMA, files["hsproject.json"], "hsproject.json")
    if errors:
        return errors
    src = PurePosixPath(files["hsproject.json"]["srcDir"])
    counts: dict[str, int] = {}
    uids: set[str] = set()
    for name, document in files.items():
        path = PurePosixPath(name)
        if name == "hsproject.json":
            continue
        if src not in path.parents:
            errors.append(f"{name}: components must live under srcDir {src}/")
            continue
        if not path.name.endswith("-hsmeta.json"):
            errors.append(f"{name}: a component's config file must end with -hsmeta.json")
            continue
        kind = document.get("type") if isinstance(document, dict) else None
        if kind not in COMPONENT_SCHEMAS:
            errors.append(f"{name}: unknown component type {kind!r}")
            continue
        counts[kind] = counts.get(kind, 0) + 1
        if path.parent != src / COMPONENT_FOLDERS[kind]:
            errors.append(f"{name}: a {kind} component belongs in {src}/{COMPONENT_FOLDERS[kind]}/")
        errors += _schema_errors(COMPONENT_SCHEMAS[kind], document, name)
        uid = document.get("uid")
        if uid in uids:
            errors.append(f"{name}: uid {uid!r} is not unique in the project")
        uids.add(uid)
    if counts.get("app", 0) != 1:
        errors.append(f"a project needs exactly one app component, found {counts.get('app', 0)}")
    if counts.get("webhooks", 0) > 1:
        errors.append("a project has at most one webhooks component")
    return errors
