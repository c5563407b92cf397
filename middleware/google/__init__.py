"""Google Calendar as the rep: a service account impersonating them (domain-wide delegation),
or their own OAuth connection (``GOOGLE_AUTH_MODE=oauth``).

* :mod:`.credentials`: the service-account key and one impersonated credential per rep.
* :mod:`.oauth`, :mod:`.oauth_errors`: a rep's own refresh token, and what its refusals mean.
* :mod:`.sources`: which of the two each rep's credentials come from.
* :mod:`.connect`: the OAuth connect flow a rep goes through once (no web framework).
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
