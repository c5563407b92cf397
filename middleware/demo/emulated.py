"""What each CRM's side of the demo shares: its emulator, run for as long as it is ``with``-ed."""

from __future__ import annotations

from typing import Any, Self


class EmulatedCRM:
    """A CRM in the demo; a subclass sets ``emulator`` (and ``name``, ``deal_id``)."""

    emulator: Any

    def __enter__(self) -> Self:
        self.emulator.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.emulator.stop()

    @property
    def base_url(self) -> str:
        return str(self.emulator.base_url)
