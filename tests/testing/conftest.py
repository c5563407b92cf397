"""Fixtures of the emulator tests: a running Google emulator (which must log no internal
error) and a Calendar client impersonating ``REP`` on it."""

from __future__ import annotations

import pytest

from middleware.testing.google import GoogleEmulator
from tests.testing.google_client import make_service


@pytest.fixture
def emu():
    with GoogleEmulator() as emulator:
        yield emulator
        assert emulator.internal_errors == []


@pytest.fixture
def svc(emu):
    return make_service(emu)
