"""What to do about each reason code: the *fix* column of the README's Troubleshooting table.

The one source of that advice in code: the dashboard shows it beside every error, and
``tests/test_errors.py`` checks that the README's table says the same, word for word (the first
row naming a code gives its fix). Text is Markdown as the README has it (backticks for code).
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from middleware.errors import Reason

FIXES: Mapping[Reason, str] = {
    Reason.GOOGLE_DELEGATION_DENIED: "Admin console → Security → API controls → Domain-wide delegation: add the client id named in the message with scope `https://www.googleapis.com/auth/calendar.events`; then replay",
    Reason.GOOGLE_USER_INVALID: "make the deal owner a Workspace user, or fix the owner's email in HubSpot; replay",
    Reason.GOOGLE_KEY_INVALID: "create a new JSON key, point `GOOGLE_SERVICE_ACCOUNT_FILE` at it, restart, replay",
    Reason.GOOGLE_TOKEN_REFUSED: "as the message says",
    Reason.GOOGLE_TOKEN_UNAVAILABLE: "nothing",
    Reason.GOOGLE_CONFERENCE_TYPE_INVALID: "enable Google Meet for the rep's organizational unit; make sure delegation works (events must be created as the rep)",
    Reason.GOOGLE_ATTENDEES_FORBIDDEN: "set up domain-wide delegation (see `google_delegation_denied`)",
    Reason.GOOGLE_CALENDAR_NOT_FOUND: 'use `"primary"` or a calendar the rep owns',
    Reason.GOOGLE_FORBIDDEN: "as the message says",
    Reason.GOOGLE_AUTH_FAILED: "as the message says",
    Reason.GOOGLE_BAD_REQUEST: "as the message says",
    Reason.GOOGLE_RATE_LIMITED: "nothing; if it ends `failed` (budget spent), replay later",
    Reason.GOOGLE_QUOTA_EXCEEDED: 'nothing: they are booked when the park ends; if it keeps coming back, have the rep send fewer external invitations (Admin help "Avoid Calendar use limits"), or for `dailyLimitExceeded` raise the Calendar API quota in the Google Cloud console',
    Reason.GOOGLE_OAUTH_RECONNECT: "send the rep the URL in the message (also `middleware google link EMAIL`); once they connect, every event of theirs that failed this way is replayed at once (audited), nothing else to do",
    Reason.GOOGLE_BAD_RESPONSE: "nothing if it passes; if it keeps coming, check the network path to Google and `GOOGLE_API_BASE_URL`, then replay",
    Reason.STORE_BUSY: "nothing if it passes (the CRM retries; `Retry-After: 5`); if it lasts, find the writer holding the lock",
    Reason.STORE_FULL: "free disk space; the CRM's retries are then stored",
    Reason.STORE_READ_ONLY: "point `DATABASE_URL` at a writable database (the primary), fix the file's permissions",
    Reason.STORE_UNREACHABLE: "start it, or fix `DATABASE_URL`",
    Reason.GOOGLE_UNAVAILABLE: "nothing; if it ends `failed` (budget spent), replay later",
    Reason.GOOGLE_TIMEOUT: "nothing; if it ends `failed` (budget spent), replay later",
    Reason.GOOGLE_UNREACHABLE: "nothing; if it ends `failed` (budget spent), replay later",
    Reason.GOOGLE_EVENT_MISSING: "nothing; if it ends `failed` (budget spent), replay later",
    Reason.GOOGLE_RESTORE_REFUSED: "nothing",
    Reason.CONFERENCE_PENDING: "nothing",
    Reason.CONFERENCE_FAILED: "nothing",
    Reason.CRM_UNAUTHORIZED: "set the app's current access token (Distribution tab → Show); replay",
    Reason.CRM_FORBIDDEN: "regenerate and upload the project (`middleware hubspot-project`), reinstall; a legacy private app needs `crm.objects.deals.read`, `crm.objects.deals.write`, `crm.objects.contacts.read`, `crm.objects.owners.read`",
    Reason.CRM_PROPERTY_MISSING: "create it as single-line text, or fix the `[hubspot]` key the message names; replay (no second meeting is made)",
    Reason.CRM_PROPERTY_READ_ONLY: "use a plain text property",
    Reason.CRM_BAD_REQUEST: "as the message says",
    **dict.fromkeys(
        (
            Reason.CRM_RATE_LIMITED,
            Reason.CRM_UNAVAILABLE,
            Reason.CRM_TIMEOUT,
            Reason.CRM_UNREACHABLE,
            Reason.CRM_BAD_RESPONSE,
        ),
        "nothing; if `crm_bad_response` keeps coming, check the network path and "
        "`HUBSPOT_API_BASE_URL` / `PIPEDRIVE_API_BASE_URL`",
    ),
    Reason.CRM_LOCKED: "nothing; the event is tried again after at least 2 s",
    Reason.CRM_MIGRATING: "nothing: the event, and the account's other events, wait until the time in the message",
    Reason.CRM_DAILY_LIMIT: "nothing: the account's events wait until midnight in the account's time zone (the message says when). If it recurs, cut other integrations' API use or raise the limit",
    Reason.CRM_WRONG_ACCOUNT: "point that portal's webhook elsewhere, or run an instance with that portal's token; replay only there",
    Reason.CRM_VALIDATION_RULE: "fill what the rule asks for on the deal, or change the rule in HubSpot; replay (no second meeting is made)",
    Reason.DEAL_NOT_FOUND: "nothing to do, or replay after restoring it",
    Reason.OWNER_NOT_FOUND: "assign an active owner with a Workspace account (the owner change books it)",
    Reason.MISSING_OWNER: "assign an active owner with a Workspace account (the owner change books it)",
    Reason.MISSING_START: "fix `demo_start_time` (or your `start_property`): the property change books it",
    Reason.BAD_START: "fix `demo_start_time` (or your `start_property`): the property change books it",
    Reason.NOT_CONFIGURED: "set it, restart the worker, replay",
    Reason.WORKER_LOST: "read the worker logs (memory? crash?), then replay",
    Reason.INTERNAL_ERROR: "report it",
    Reason.LEASE_EXPIRED: "nothing",
    Reason.NOT_IN_TRIGGER_STAGE: "nothing",
    Reason.WAITING_FOR_START: "nothing: the webhook for that property books the demo",
    Reason.WAITING_FOR_OWNER: "nothing: the webhook for that property books the demo",
    Reason.DEAL_DELETED: "nothing",
}


def fix_for(reason: str | None) -> str | None:
    """The fix for a reason code, or None for no code or one the service does not know."""
    if not reason:
        return None
    try:
        return FIXES[Reason(reason)]
    except ValueError:
        return None
