"""Responses and the two error shapes the emulator answers with: Calendar's JSON error body
(ref §2.1) and the token endpoint's RFC 6749 §5.2 body."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from middleware.testing.delivery import Delivery


class ApiError(Exception):
    """A Calendar error, rendered as Google's JSON error body (ref §2.1)."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        domain: str = "global",
        extra: dict | None = None,
        headers: dict | None = None,
        top_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.reason, self.message, self.domain = status, reason, message, domain
        self.extra = extra or {}
        self.headers = headers or {}
        self.top_message = top_message or message  # error.message; usually equals errors[0].message

    def response(self) -> Response:
        item = {"domain": self.domain, "reason": self.reason, "message": self.message, **self.extra}
        body = {"error": {"errors": [item], "code": self.status, "message": self.top_message}}
        return Response.json(self.status, body, self.headers)


class OAuthError(Exception):
    """A token endpoint error: RFC 6749 §5.2 body {"error", "error_description"}."""

    def __init__(self, status: int, error: str, description: str | None) -> None:
        super().__init__(f"{error}: {description}")
        self.status, self.error, self.description = status, error, description


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: a wire fault for this answer (trickled, or the connection reset), else sent whole
    delivery: Delivery | None = None

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict | None = None) -> Response:
        hdrs = {"Content-Type": "application/json; charset=UTF-8", **(headers or {})}
        return cls(status, json.dumps(payload, indent=2).encode(), hdrs)
