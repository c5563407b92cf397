"""The reason codes: one enum, and the README's Troubleshooting table lists exactly those, with
the fix ``middleware/troubleshooting.py`` gives for each."""

from __future__ import annotations

import re

import pytest

from middleware.errors import PermanentError, Reason, RetryableError
from middleware.troubleshooting import FIXES, fix_for
from tests.builders import REPO


def _troubleshooting_rows() -> list[tuple[list[str], str]]:
    """(codes, fix) of each row of the README's Troubleshooting table, in order."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            assert len(cells) == 4, line
            rows.append((re.findall(r"`([a-z_]+)`", cells[0]), cells[3]))
    return rows


def _troubleshooting_codes() -> set[str]:
    return {code for codes, _ in _troubleshooting_rows() for code in codes}


def test_readme_lists_exactly_the_reason_codes() -> None:
    documented = _troubleshooting_codes()
    assert sorted(set(Reason) - documented) == [], "codes missing from the README table"
    assert sorted(documented - set(Reason)) == [], "README lists codes the service never uses"


def test_every_code_has_the_fix_the_readme_gives_it() -> None:
    """The first row naming a code gives its fix (a later row may add a special case)."""
    readme_fix: dict[str, str] = {}
    for codes, fix in _troubleshooting_rows():
        for code in codes:
            readme_fix.setdefault(code, fix)
    assert set(FIXES) == set(Reason)
    assert {str(code): fix for code, fix in FIXES.items()} == readme_fix
    assert fix_for("crm_locked") == "nothing; the event is tried again after at least 2 s"
    assert fix_for(None) is None and fix_for("no_such_reason") is None


def test_an_unknown_code_is_refused_at_once() -> None:
    with pytest.raises(ValueError):
        PermanentError("no_such_reason", "x")
    error = RetryableError("crm_timeout", "HubSpot did not answer")
    assert error.reason is Reason.CRM_TIMEOUT and error.reason == "crm_timeout"
    assert repr(error) == "RetryableError(reason='crm_timeout', message='HubSpot did not answer')"
