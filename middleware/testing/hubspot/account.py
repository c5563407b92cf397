"""Account route of the HubSpot emulator: ``GET /account-info/v3|2026-03/details``."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from middleware.testing.hubspot.state import EmulatorState
from middleware.testing.hubspot.wire import Request, Response


class AccountRoutes(EmulatorState):
    """The token's portal: its id and time zone."""

    def _get_account_details(self, request: Request) -> Response:
        """The token's account, shaped as HubSpot's account information API documents it
        (https://developers.hubspot.com/docs/api-reference/latest/account/account-information/guide)."""
        offset = datetime.now(ZoneInfo(self.time_zone)).utcoffset()
        offset_ms = int(offset.total_seconds() * 1000) if offset is not None else 0
        sign = "-" if offset_ms < 0 else "+"
        minutes = abs(offset_ms) // 60_000
        return Response(
            200,
            {
                "portalId": self.portal_id,
                "accountType": "STANDARD",
                "timeZone": self.time_zone,
                "companyCurrency": "USD",
                "additionalCurrencies": [],
                "utcOffset": f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
                "utcOffsetMilliseconds": offset_ms,
                "uiDomain": "app.hubspot.com",
                "dataHostingLocation": "na1",
            },
        )
