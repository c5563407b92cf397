"""Google Calendar through a service account impersonating the rep (domain-wide delegation).

* :mod:`.credentials`: the service-account key and one impersonated credential per rep.
* :mod:`.events`: event bodies, reading an event and reconciling it with a spec (pure).
* :mod:`.errors`: Google's failures mapped onto the project's error tree (pure).
* :mod:`.client`: single-shot Calendar v3 requests with errors translated.
* :mod:`.calendar`: :class:`GoogleCalendar`, the event operations the pipeline uses.
* :mod:`.preflight`: what ``middleware check`` asks of Google.
"""

from __future__ import annotations

from middleware.google.calendar import GoogleCalendar
from middleware.google.events import CalendarEvent
from middleware.google.scopes import CHECK_SCOPE, SCOPE

__all__ = ["CHECK_SCOPE", "SCOPE", "CalendarEvent", "GoogleCalendar"]
