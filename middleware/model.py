"""The domain's data: what crosses from the CRM modules to the store and the pipeline."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from middleware.meetings import MeetingSpec

# Event statuses (CONTRACT.md).
PENDING = "pending"
PROCESSING = "processing"
RETRYING = "retrying"
SUCCEEDED = "succeeded"
SKIPPED = "skipped"
FAILED = "failed"
STATUSES = (PENDING, PROCESSING, RETRYING, SUCCEEDED, SKIPPED, FAILED)
FINISHED = (SUCCEEDED, SKIPPED, FAILED)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(value: str) -> bool:
    """Text the store can hold as it is: no NUL (PostgreSQL's text types refuse it) and no
    lone surrogate (JSON's ``"\\ud800"`` decodes to one, and it has no UTF-8 encoding)."""
    return _UNSTORABLE.search(value) is None


@dataclass(frozen=True)
class NewEvent:
    """A notification accepted from a CRM, ready to store."""

    provider: str
    account_id: str
    deal_id: str
    dedupe_key: str
    trigger: str
    occurred_at: datetime | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class Deal:
    """A deal as the pipeline needs it, whichever CRM it came from."""

    provider: str
    account_id: str
    deal_id: str
    name: str
    stage: str
    in_trigger_stage: bool
    owner_email: str | None
    company: str
    start_value: Any
    start_property: str
    contact_emails: tuple[str | None, ...] = ()
    #: what the deal already holds in the write-back fields (to skip a needless write).
    current_meet_url: str | None = None
    current_event_id: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
    #: the stage cancels the deal's meeting (``cancel_stages``)
    in_cancel_stage: bool = False
    #: the meeting exactly as its source asks for it (the meetings API): None means it is
    #: planned from the deal and the rules file's ``[meeting]`` table (``plan_meeting``)
    meeting: MeetingSpec | None = None
    #: who Google tells of this deal's changes (``all``, ``externalOnly``, ``none``); None:
    #: the rules file's ``meeting.send_updates``
    send_updates: str | None = None
