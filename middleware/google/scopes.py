"""The OAuth scopes the domain-wide delegation grant is asked for.

"ref §N" points into /work/shared/reference/google-calendar-and-service-accounts.md.
"""

from __future__ import annotations

__all__ = ["CHECK_SCOPE", "SCOPE"]

#: The one scope the domain-wide delegation grant needs for events (insert/get/patch, ref §1.1).
SCOPE = "https://www.googleapis.com/auth/calendar.events"
#: Read-only scope used by the preflight (``middleware check``) only: ``calendars.get`` (which
#: holds ``conferenceProperties``) does not accept ``calendar.events`` (bundled calendar.v3.json).
CHECK_SCOPE = "https://www.googleapis.com/auth/calendar.calendars.readonly"
