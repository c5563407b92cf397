"""Small pure helpers of the Pipedrive client: ids, emails, answers' data objects."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from middleware.errors import PermanentError, RetryableError

JsonDict = dict[str, Any]


def _segment(value: str) -> str:
    return quote(str(value), safe="")


def _id(value: Any) -> int | None:
    """A deal's ``owner_id``/``person_id``: a number (v2), or ``{"value": n}`` / ``{"id": n}``
    (v1 expands linked objects)."""
    if isinstance(value, dict):
        value = value.get("value", value.get("id"))
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def _emails(person: JsonDict) -> list[str]:
    """A person's emails, primary first: v2 ``emails``, v1 ``email`` (``[{value, primary}]``)."""
    raw = person.get("emails", person.get("email"))
    items = raw if isinstance(raw, list) else []
    found = [i for i in items if isinstance(i, dict) and isinstance(i.get("value"), str)]
    found.sort(key=lambda i: not i.get("primary"))
    return [i["value"] for i in found if i["value"]][:1]


def _data_object(body: JsonDict, what: str) -> JsonDict:
    data = body.get("data")
    if not isinstance(data, dict):
        raise RetryableError("crm_bad_response", f"Pipedrive's answer to {what} has no data object")
    return data


def _deal_not_found(deal_id: str) -> PermanentError:
    return PermanentError(
        "deal_not_found", f"deal {deal_id} not found in Pipedrive (deleted or merged?)"
    )
