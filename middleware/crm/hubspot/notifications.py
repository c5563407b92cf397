"""HubSpot webhook batches judged one notification at a time. Pure: no I/O, no clock.

A batch (a JSON array) may mix every kind of notification HubSpot has: the legacy ``deal.*``
types, the generic ``object.*`` types with an ``objectTypeId`` (``0-3`` is a deal), association
changes without an ``objectId``, merges, other objects, and types added later
(shared/reference/hubspot-2026-and-calendar-lifecycle.md §A2). HubSpot retries a refused batch
for about a day and then drops it with every demo in it, so nothing in one notification may
fail its neighbours (CONTRACT.md, ``POST /webhooks/hubspot``):

* one the service acts on is validated strictly and becomes a :class:`NewEvent`;
* one it does not act on is *ignored*: acknowledged and counted by its type;
* one it would act on but cannot use (no usable deal id, a bad time stamp) is *invalid*:
  acknowledged, counted and described in one line for the log and the response.

Only a body that is not a JSON array of objects is refused (:class:`PayloadError`, HTTP 400).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from middleware.crm.base import ParsedBatch, strict_id
from middleware.errors import PayloadError
from middleware.model import NewEvent, storable_text

PROVIDER = "hubspot"
#: ``objectTypeId`` of deals in generic (``object.*``) notifications.
DEAL_OBJECT_TYPE = "0-3"
STAGE_PROPERTY = "dealstage"
#: Upper bounds of what is stored: ids fit a signed 64-bit integer, times end before year 10000.
MAX_OCCURRED_AT_MS = 253_402_300_800_000
MAX_VALUE_LENGTH = 500
MAX_TYPE_LABEL = 80
#: ``events.trigger`` and ``events.dedupe_key`` are at most 255 characters.
MAX_TRIGGER_LENGTH = 255
MAX_KEY_LENGTH = 255


class _Invalid(Exception):
    """A notification the service would act on, with a field it cannot use."""


def load_batch(body: bytes) -> list[Any]:
    """The body as a list; :class:`PayloadError` unless it is a JSON array of objects.

    An array whose items are all something else (``[1, 2]``) is not a HubSpot batch; an array
    with some objects is, and its odd items are judged like any other notification.
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("body is not valid JSON") from None
    except RecursionError:
        raise PayloadError("body is nested too deeply to be a HubSpot batch") from None
    if not isinstance(data, list):
        raise PayloadError("body must be a JSON array of HubSpot notifications")
    if data and not any(isinstance(item, dict) for item in data):
        raise PayloadError("body must be a JSON array of objects (HubSpot notifications)")
    return data


def parse_batch(
    body: bytes,
    *,
    trigger_stages: Sequence[str],
    cancel_stages: Sequence[str] = (),
    watched_properties: Sequence[str] = (),
) -> ParsedBatch:
    """Judge every notification of a batch on its own (see the module docstring).

    Acted on, in the legacy (``deal.*``) or the generic form (``object.*`` with
    ``objectTypeId`` ``0-3``): a deal's ``dealstage`` changing into one of ``trigger_stages``
    or ``cancel_stages`` (any stage change while a stage is given by label: only the worker can
    resolve labels), a change of one of ``watched_properties`` (the start property, the
    owner), and a deal's deletion. Raises :class:`PayloadError` only for the body as a whole.
    """
    data = load_batch(body)
    watch = _Watch(
        stages=None
        if any(map(is_label, (*trigger_stages, *cancel_stages)))
        else frozenset((*trigger_stages, *cancel_stages)),
        properties=frozenset(watched_properties) - {STAGE_PROPERTY},
    )
    events: list[NewEvent] = []
    ignored: Counter[str] = Counter()
    problems: list[str] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            problems.append(f"notification {index}: not a JSON object")
            continue
        action = deal_action(item)
        if not watch.acts_on(item, action):
            ignored[type_label(item)] += 1
            continue
        try:
            events.append(_new_event(item, action))
        except _Invalid as exc:
            problems.append(f"notification {index} ({type_label(item)}): {exc}")
    return ParsedBatch(
        events=events, received=len(data), ignored_types=dict(ignored), problems=problems
    )


def is_label(stage: str) -> bool:
    """HubSpot's stage ids are lower-case words (``demoscheduled``) or numbers; a name with
    capitals, spaces or punctuation is a label ("Demo Scheduled")."""
    return re.fullmatch(r"[a-z0-9_]+", stage) is None


@dataclass(frozen=True)
class _Watch:
    """What the intake stores. ``stages`` None: every stage change (labels in the rules)."""

    stages: frozenset[str] | None
    properties: frozenset[str]

    def acts_on(self, n: Mapping[str, Any], action: str | None) -> bool:
        """Whether ``n`` (whose :func:`deal_action` is ``action``) is stored."""
        if action == "deletion":
            return True
        if action != "propertyChange":
            return False
        name, value = n.get("propertyName"), n.get("propertyValue")
        if name == STAGE_PROPERTY:
            return isinstance(value, str) and (self.stages is None or value in self.stages)
        return isinstance(name, str) and name in self.properties


def type_label(n: Mapping[str, Any]) -> str:
    """A short, bounded name for a notification's kind, for counts and logs.

    The docs call the field ``eventType``; real payloads and the SDKs use
    ``subscriptionType``: either is read. Generic types carry their ``objectTypeId``.
    """
    kind = n.get("subscriptionType") or n.get("eventType")
    label = kind if isinstance(kind, str) and kind else "(no subscriptionType)"
    object_type = n.get("objectTypeId")
    if label.startswith("object.") and isinstance(object_type, str | int):
        label = f"{label}/{object_type}"
    if label.startswith(("deal.propertyChange", "object.propertyChange")) and isinstance(
        n.get("propertyName"), str
    ):
        label = f"{label}:{n['propertyName']}"
    return label[:MAX_TYPE_LABEL]


def deal_action(n: Mapping[str, Any]) -> str | None:
    """``propertyChange``, ``deletion``… for a notification about a deal, else None."""
    kind = n.get("subscriptionType") or n.get("eventType")
    if not isinstance(kind, str):
        return None
    if kind.startswith("deal."):
        return kind[len("deal.") :]
    if kind.startswith("object.") and str(n.get("objectTypeId")) == DEAL_OBJECT_TYPE:
        return kind[len("object.") :]
    return None


def _new_event(n: Mapping[str, Any], action: str | None) -> NewEvent:
    portal = strict_id(n.get("portalId"))
    if portal is None:
        raise _Invalid(f"portalId {_show(n.get('portalId'))} is not a HubSpot account id")
    deal = strict_id(n.get("objectId"))
    if deal is None:
        raise _Invalid(f"objectId {_show(n.get('objectId'))} is not a deal id")
    occurred = n.get("occurredAt")
    if (
        isinstance(occurred, bool)
        or not isinstance(occurred, int)
        or not 0 < occurred < MAX_OCCURRED_AT_MS
    ):
        raise _Invalid(f"occurredAt {_show(occurred)} is not a time in epoch milliseconds")
    event_id = n.get("eventId")
    if isinstance(event_id, bool) or not isinstance(event_id, (int, str)) or not str(event_id):
        raise _Invalid(f"eventId {_show(event_id)} is missing or not a number")
    if len(str(event_id)) > 40:
        raise _Invalid("eventId is longer than 40 characters")
    if not storable_text(str(event_id)):
        raise _Invalid(f"eventId {_show(event_id)} holds a NUL or an unpaired surrogate")
    if action == "deletion":
        trigger = "deleted"
    else:
        value = n.get("propertyValue")
        if value is None:  # a cleared property may come without a value
            value = ""
        if not isinstance(value, str) or len(value) > MAX_VALUE_LENGTH:
            raise _Invalid(f"propertyValue is not text of at most {MAX_VALUE_LENGTH} characters")
        if not storable_text(value):
            raise _Invalid("propertyValue holds a NUL or an unpaired surrogate")
        # A stage change is named by its stage (as before); any other by the property.
        trigger = value if n.get("propertyName") == STAGE_PROPERTY else str(n["propertyName"])
    return NewEvent(
        provider=PROVIDER,
        account_id=str(portal),
        deal_id=str(deal),
        dedupe_key=_key(portal, deal, n, action),
        trigger=trigger[:MAX_TRIGGER_LENGTH],
        occurred_at=datetime.fromtimestamp(occurred / 1000, tz=UTC),
        payload=dict(n),
    )


def dedupe_key(n: Mapping[str, Any]) -> str:
    """The key that makes a redelivered notification a no-op (a deletion counts as a
    change of the pseudo-property ``deleted``).

    HubSpot redelivers a batch (up to 10 times) with the same ``eventId`` and ``occurredAt``
    and only ``attemptNumber`` changed, and says ``eventId`` alone "is not guaranteed to be
    unique". So the key is account + deal + property + new value + ``occurredAt`` (ms) +
    ``eventId``, without ``attemptNumber``: identical for every redelivery of one change,
    and different for two distinct stage changes (they differ in time, value or event id).
    """
    return _key(n["portalId"], n["objectId"], n, deal_action(n))


def _key(portal: Any, deal: Any, n: Mapping[str, Any], action: str | None) -> str:
    """:func:`dedupe_key` of ``n`` with its account and deal ids as given."""
    parts = [
        PROVIDER,
        str(portal),
        str(deal),
        str(n.get("propertyName") or ("deleted" if action == "deletion" else "")),
        str(n.get("propertyValue") or ""),
        str(n["occurredAt"]),
        str(n["eventId"]),
    ]
    key = ":".join(parts)
    if len(key) <= MAX_KEY_LENGTH and storable_text(key):
        return key
    # A long value (or one the store cannot hold as text, in a field nothing else reads, such
    # as a deletion's propertyName): keep the readable head, make the rest a digest (still
    # unique, and the same for every redelivery).
    digest = hashlib.sha256(key.encode("utf-8", errors="surrogatepass")).hexdigest()
    head = key[: MAX_KEY_LENGTH - 66]
    if not storable_text(head):
        head = ":".join(parts[:3])
    return f"{head}:#{digest}"


def _show(value: Any) -> str:
    """A value quoted for a message, cut short (it came from outside)."""
    text = json.dumps(value, ensure_ascii=True) if value is not None else "(missing)"
    return text if len(text) <= 30 else text[:29] + "…"
