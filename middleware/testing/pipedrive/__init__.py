"""A local Pipedrive API emulator for tests and the demo (see ``emulator.py``)."""

from middleware.testing.pipedrive.emulator import PipedriveEmulator

__all__ = ["PipedriveEmulator"]
