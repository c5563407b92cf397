"""The Pipedrive custom fields the rules name: each exists and has a type the service can use.
Pure: it judges the deal fields ``GET /api/v2/dealFields`` listed.

Types (CONTRACT.md, rules ``[pipedrive]``; the v2 ``field_type`` values,
``pipedrive/client-nodejs`` ``src/versions/v2/models/get-deal-fields200-response-data-inner.ts``):
Pipedrive has no date-and-time field, so the start is a ``date`` field with a ``time`` field
(``start_time_field``), or one text field holding ISO 8601. The write-back fields are text
the service writes through ``PATCH /api/v2/deals/{id}`` ``custom_fields``, so they must be
custom fields: ``varchar`` (text up to 255 characters), ``varchar_auto`` (autocomplete text)
or ``text`` (long text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from middleware.check.base import CheckResult
from middleware.rules import PipedriveRules

TEXT_TYPES = frozenset({"varchar", "varchar_auto", "text"})
_CREATE = "create it under Settings → Data fields → Deal and put its key in"
_KINDS = {
    "date": "a date field",
    "time": "a time field",
    "text": "a text field (Text, Large text or Autocomplete)",
}
#: how many fields of the wanted type a failure suggests
_SUGGESTED = 5


def check_fields(fields: Sequence[Mapping[str, Any]], rules: PipedriveRules) -> list[CheckResult]:
    """One line per field the rules name (``start_time_field`` only when set)."""
    by_key = {str(f.get("field_code")): f for f in fields if f.get("field_code")}
    start_kind = "date" if rules.start_time_field else "text"
    wanted = [("start_field", rules.start_field, start_kind)]
    if rules.start_time_field:
        wanted.append(("start_time_field", rules.start_time_field, "time"))
    wanted += [
        ("meet_url_field", rules.meet_url_field, "text"),
        ("event_id_field", rules.event_id_field, "text"),
    ]
    results: list[CheckResult] = []
    seen: dict[str, str] = {}
    for role, key, kind in wanted:
        name, rules_key = f"pipedrive field {role}", f"pipedrive.{role}"
        if key and key in seen:
            results.append(
                CheckResult(
                    False,
                    name,
                    f"is the same field as pipedrive.{seen[key]}: each needs its own field",
                )
            )
            continue
        seen.setdefault(key, role)
        results.append(_check_field(name, rules_key, key, kind, by_key, fields, rules))
    return results


def _check_field(
    name: str,
    rules_key: str,
    key: str,
    kind: str,
    by_key: Mapping[str, Mapping[str, Any]],
    fields: Sequence[Mapping[str, Any]],
    rules: PipedriveRules,
) -> CheckResult:
    wanted = _KINDS[kind]
    if not key:
        return CheckResult(
            False, name, f"not set: {wanted} holds it; {_CREATE} {rules_key}{_hint(kind, fields)}"
        )
    field = by_key.get(key)
    if field is None:
        return CheckResult(
            False,
            name,
            f"no deal field has the key {key!r}: {_CREATE} {rules_key} "
            f"(the field's ⋯ menu → Copy API key){_hint(kind, fields)}",
        )
    label, type_ = str(field.get("field_name") or key), str(field.get("field_type"))
    if not field.get("is_custom_field"):
        return CheckResult(
            False,
            name,
            f"{label!r} is one of Pipedrive's own deal fields, not a custom field: "
            f"use {wanted} of your own; {_CREATE} {rules_key}",
        )
    if kind == "text" and type_ == "date" and rules_key == "pipedrive.start_field":
        return CheckResult(
            False,
            name,
            f"{label!r} has type 'date' (a day without a time of day: every invitation would be "
            "at 00:00): add a time field and put its key in pipedrive.start_time_field, or use "
            "a text field holding ISO 8601 such as 2026-12-01T15:00:00+01:00",
        )
    if type_ not in (TEXT_TYPES if kind == "text" else {kind}):
        extra = (
            " (or leave pipedrive.start_time_field empty and use one ISO 8601 text field)"
            if rules.start_time_field and rules_key == "pipedrive.start_field"
            else ""
        )
        return CheckResult(
            False, name, f"{label!r} has type {type_!r}; it must be {wanted} ({rules_key}){extra}"
        )
    return CheckResult(True, name, f"{label!r} exists ({type_})")


def _hint(kind: str, fields: Sequence[Mapping[str, Any]]) -> str:
    """``; custom date fields: 'Demo day' = 40-hex key, …`` or nothing."""
    types = TEXT_TYPES if kind == "text" else {kind}
    found = [
        f"{f.get('field_name')!r} = {f.get('field_code')}"
        for f in fields
        if f.get("is_custom_field") and f.get("field_type") in types
    ]
    if not found:
        return ""
    more = f", and {len(found) - _SUGGESTED} more" if len(found) > _SUGGESTED else ""
    return f"; custom {kind} fields: {', '.join(found[:_SUGGESTED])}{more}"
