"""Fixtures of the Google adapter tests: the Google emulator over a real socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from middleware.google import GoogleCalendar
from middleware.testing.google import GoogleEmulator
from tests.google.support import Sleeps


@pytest.fixture
def emu() -> Iterator[GoogleEmulator]:
    with GoogleEmulator() as emulator:
        yield emulator
        assert emulator.internal_errors == []


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def cal(emu: GoogleEmulator, sleeps: Sleeps) -> GoogleCalendar:
    return GoogleCalendar(emu.service_account_info(), api_base_url=emu.base_url, sleep=sleeps)
