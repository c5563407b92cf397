"""What a stored webhook said, in a few fields: the trail of a deal shows this, not the payload.

Pure. One shape per kind of stored payload (each CRM module stores its own):

* a HubSpot notification (``subscriptionType``, ``propertyName``/``propertyValue``…);
* a HubSpot workflow enrollment (``source``, the signature version, the body's hash);
* a Pipedrive v2 webhook (``meta.action``/``entity``/``id``/``timestamp``, the deal's stage and
  owner now, and the names of the fields ``previous`` says changed);
* anything else: its scalar top-level fields.

Values are cut to :data:`MAX_VALUE` characters; at most :data:`MAX_FIELDS` fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_VALUE = 200
MAX_FIELDS = 12
_HUBSPOT = (
    "subscriptionType",
    "eventType",
    "objectTypeId",
    "propertyName",
    "propertyValue",
    "changeSource",
    "occurredAt",
    "eventId",
    "attemptNumber",
)
_WORKFLOW = ("source", "signature", "body_sha256")
_PIPEDRIVE_META = ("action", "entity", "id", "timestamp", "change_source")
_PIPEDRIVE_DATA = ("stage_id", "owner_id", "user_id", "status")


def webhook_summary(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The few fields that say what the webhook reported (see the module docstring)."""
    if isinstance(payload.get("meta"), Mapping):
        return _pipedrive(payload)
    if payload.get("source") == "hubspot workflow":
        return _pick(payload, _WORKFLOW)
    if "subscriptionType" in payload or "eventType" in payload:
        return _pick(payload, _HUBSPOT)
    scalars = [k for k, v in payload.items() if _scalar(v)][:MAX_FIELDS]
    return _pick(payload, scalars)


def _pipedrive(payload: Mapping[str, Any]) -> dict[str, Any]:
    out = {f"meta.{k}": v for k, v in _pick(payload["meta"], _PIPEDRIVE_META).items()}
    data = payload.get("data")
    if isinstance(data, Mapping):
        out.update({f"data.{k}": v for k, v in _pick(data, _PIPEDRIVE_DATA).items()})
    previous = payload.get("previous")
    if isinstance(previous, Mapping) and previous:
        out["changed"] = sorted(str(k) for k in previous)[:MAX_FIELDS]
    return out


def _pick(source: Mapping[str, Any], keys: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in keys:
        value = source.get(key)
        if key in source and _scalar(value):
            out[str(key)] = value[:MAX_VALUE] if isinstance(value, str) else value
    return out


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
