"""What every CRM module provides, and the data that crosses the boundary.

A CRM module has two halves:

* sans-I/O webhook intake: ``parse_webhook(headers, body, *, method, uri, now, ...)`` verifies the
  raw bytes and returns :class:`~middleware.model.NewEvent` objects, raising
  :class:`~middleware.errors.WebhookError` subclasses; the Flask view only does the I/O;
* an API client implementing :class:`CRMClient`: read a deal, write the meeting back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from middleware.model import Deal


class CRMClient(Protocol):
    """The API half of a CRM module."""

    provider: str

    def fetch_deal(self, account_id: str, deal_id: str) -> Deal:
        """Read the deal, its contacts' emails and its owner's email.

        Raises :class:`~middleware.errors.PermanentError` or
        :class:`~middleware.errors.RetryableError`.
        """
        ...

    def write_back(self, deal: Deal, *, meet_url: str, calendar_event_id: str) -> bool:
        """Store the Meet URL and the Calendar event id on the deal.

        Returns False when the deal already held both values (nothing was sent).
        """
        ...


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names are case-insensitive (RFC 9110 §5.1): look them up lower-cased."""
    return {str(k).lower(): str(v) for k, v in headers.items()}
