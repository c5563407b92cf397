"""The reason codes: one enum, and the README's Troubleshooting table lists exactly those."""

from __future__ import annotations

import re

import pytest

from middleware.errors import PermanentError, Reason, RetryableError
from tests.builders import REPO


def _troubleshooting_codes() -> set[str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    codes: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            codes.update(re.findall(r"`([a-z_]+)`", first_cell))
    return codes


def test_readme_lists_exactly_the_reason_codes() -> None:
    documented = _troubleshooting_codes()
    assert sorted(set(Reason) - documented) == [], "codes missing from the README table"
    assert sorted(documented - set(Reason)) == [], "README lists codes the service never uses"


def test_an_unknown_code_is_refused_at_once() -> None:
    with pytest.raises(ValueError):
        PermanentError("no_such_reason", "x")
    error = RetryableError("crm_timeout", "HubSpot did not answer")
    assert error.reason is Reason.CRM_TIMEOUT and error.reason == "crm_timeout"
    assert repr(error) == "RetryableError(reason='crm_timeout', message='HubSpot did not answer')"
