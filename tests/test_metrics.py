"""Metric labels stay low-cardinality: path templates, bounded types, outcome codes."""

from __future__ import annotations

from middleware import metrics
from middleware.errors import PermanentError, RetryableError


def test_operation_replaces_ids_but_keeps_api_versions() -> None:
    assert metrics.operation("get", "/crm/v3/objects/deals/301") == "GET /crm/v3/objects/deals/{id}"
    assert metrics.operation("GET", "/crm/v4/objects/deals/9/associations/contacts?after=5") == (
        "GET /crm/v4/objects/deals/{id}/associations/contacts"
    )
    assert metrics.operation("GET", "/account-info/2026-03/details") == (
        "GET /account-info/2026-03/details"
    )
    assert metrics.operation("PATCH", "/api/v2/deals/8%2F1") == "PATCH /api/v2/deals/{id}"
    assert metrics.operation("GET", "/v1/users/me") == "GET /v1/users/me"
    assert metrics.operation("GET", "/api/v2/persons/" + "a1" * 20) == "GET /api/v2/persons/{id}"


def test_bounded_label_keeps_tidy_words_up_to_a_limit() -> None:
    label = metrics.BoundedLabel(limit=2)
    assert label("deal.associationChange") == "deal.associationChange"
    assert label("(no subscriptionType)") == "other"
    assert label("a" * 81) == "other"
    assert label("contact.creation") == "contact.creation"
    assert label("company.merge") == "other"  # past the limit
    assert label("deal.associationChange") == "deal.associationChange"  # seen before


def test_outcome_is_the_reason_code_or_error() -> None:
    assert metrics.outcome_of(RetryableError("google_rate_limited", "slow down")) == (
        "google_rate_limited"
    )
    assert metrics.outcome_of(PermanentError("crm_forbidden", "no scope")) == "crm_forbidden"
    assert metrics.outcome_of(ValueError("x")) == "error"
