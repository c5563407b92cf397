"""Local HTTP emulator of Google's OAuth 2.0 token endpoint and the Calendar API v3 Events API.

It exists so the integration tests and ``middleware demo`` can run the service's *real* google-auth and
google-api-python-client code over real sockets, without network access:

* ``POST /token`` implements the service-account JWT-bearer grant
  (https://developers.google.com/identity/protocols/oauth2/service-account) including
  domain-wide delegation (``sub`` claim) and Google's error strings.
* ``GET /o/oauth2/auth``, ``POST /token`` with the ``authorization_code`` (PKCE) and
  ``refresh_token`` grants, and ``POST /revoke`` implement OAuth for web server apps
  (https://developers.google.com/identity/protocols/oauth2/web-server): a rep connecting
  their own calendar, the refresh token, its revocation (``user_oauth``).
* ``/calendar/v3/calendars/{calendarId}/events[/{eventId}]`` implements events.insert / get /
  patch / update / delete / list / instances with Google's documented semantics:
  client-supplied base32hex ids, 409 ``duplicate`` even after delete, 410 ``deleted`` on
  re-delete, cancelled events returned by ``get``, Meet conferences created through
  ``conferenceData.createRequest`` (only with ``conferenceDataVersion=1``), optionally
  asynchronous ("pending"), recurring events and their instances (``{id}_{UTC start}``).

Behaviour and error strings follow /work/shared/reference/google-calendar-and-service-accounts.md
(referenced below as "ref §N"), which cites the Calendar discovery document, the errors guide
https://developers.google.com/workspace/calendar/api/guides/errors and the google-auth source.

Usage::

    with GoogleEmulator() as emu:
        creds = service_account.Credentials.from_service_account_info(
            emu.service_account_info(), scopes=[SCOPE_CALENDAR_EVENTS]).with_subject("rep@example.com")
        svc = build("calendar", "v3", credentials=creds, static_discovery=True, cache_discovery=False,
                    client_options={"api_endpoint": emu.base_url + "calendar/v3/"})

Test hooks: ``inject_fault`` / ``inject_delay`` / ``hold`` (see ``Hold``), ``fail_randomly``
(a share of every call fails, seeded), ``refuse_subject``,
``conference_pending_reads`` / ``conference_fail``, ``usage_limited`` (per-user quotaExceeded),
``revoke_tokens``, the consent screen's ``signed_in`` / ``consent_denied`` /
``consent_unticked``, ``revoke_grants`` and the request logs ``requests`` / ``token_requests`` /
``consent_requests``.

Modules: ``emulator`` (the class, lifecycle, state inspection), ``server`` (HTTP plumbing),
``tokens`` (the token endpoint), ``user_oauth`` (consent, user grants, revocation), ``calendar_api`` (routing, auth, events.get/delete),
``events`` (insert/patch/update), ``events_list``, ``recurring`` (recurrence, instances),
``calendars`` (calendars.get),
``conferences`` (Meet), ``injection`` + ``hold`` + ``random_faults`` (faults, delays, holds),
``quota`` (a per-user rate), ``state``,
``responses``, ``scopes``, ``times``, ``keys``.
"""

from .emulator import GoogleEmulator
from .hold import Hold
from .scopes import SCOPE_CALENDAR, SCOPE_CALENDAR_EVENTS
from .tokens import GOOGLE_TOKEN_AUDIENCE

__all__ = [
    "GOOGLE_TOKEN_AUDIENCE",
    "GoogleEmulator",
    "Hold",
    "SCOPE_CALENDAR",
    "SCOPE_CALENDAR_EVENTS",
]
