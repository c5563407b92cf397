"""The service's own part of ``middleware check``: the database, and Google (the service
account key, and per rep a token, the calendar and Meet)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from middleware.check.base import CheckResult
from middleware.errors import ConfigError
from middleware.settings import Settings


def check_database(settings: Settings) -> CheckResult:
    from sqlalchemy.exc import SQLAlchemyError

    from middleware.database import make_engine, schema_is_current

    engine = make_engine(settings.database_url, pool_size=1)
    try:
        current = schema_is_current(engine)
    except SQLAlchemyError as exc:
        return CheckResult(
            False, "database", f"cannot connect ({type(exc).__name__}): check DATABASE_URL"
        )
    finally:
        engine.dispose()
    if not current:
        return CheckResult(
            True, "database", "reachable; the schema will be migrated when the service starts"
        )
    return CheckResult(True, "database", f"reachable, schema current ({engine.dialect.name})")


def check_admin_token(settings: Settings) -> CheckResult:
    from middleware.web.hosts import MIN_ADMIN_TOKEN_LENGTH

    token = settings.admin_token
    if not token:
        return CheckResult(True, "admin token", "ADMIN_TOKEN is not set: the admin API is closed")
    if len(token) < MIN_ADMIN_TOKEN_LENGTH:
        return CheckResult(
            False,
            "admin token",
            f"ADMIN_TOKEN is {len(token)} characters: use at least {MIN_ADMIN_TOKEN_LENGTH} "
            "random ones (openssl rand -hex 32)",
        )
    return CheckResult(True, "admin token", f"{len(token)} characters")


def check_google(
    settings: Settings,
    factory: Callable[[Settings], Any],
    reps: Sequence[str],
    no_reps_because: Sequence[str],
) -> list[CheckResult]:
    """The service account key (when a rep uses delegation), the OAuth client (when a rep uses
    OAuth), then each rep; ``no_reps_because`` says why the CRMs gave no rep."""
    results: list[CheckResult] = []
    delegation = settings.google_delegation_in_use
    if delegation and not settings.google_service_account_file:
        results.append(
            CheckResult(
                False,
                "google key",
                "GOOGLE_SERVICE_ACCOUNT_FILE is not set: create a JSON key for the service account",
            )
        )
        if not settings.google_oauth_in_use:
            return results
    try:
        calendar = factory(settings)
    except ConfigError as exc:
        return [*results, CheckResult(False, "google key", str(exc))]
    if delegation and calendar.client_email:
        results.append(
            CheckResult(
                True,
                "google key",
                f"service account {calendar.client_email} (client id {calendar.client_id})",
            )
        )
    if settings.google_oauth_in_use:
        results.append(check_oauth_client(settings))
    if not reps:
        why = f" ({'; '.join(no_reps_because)})" if no_reps_because else ""
        results.append(CheckResult(False, "google reps", f"no rep to check: pass --rep EMAIL{why}"))
        return results
    calendar_id = settings.rules.meeting.calendar_id
    for rep in reps:
        oauth = settings.google_auth_mode_for(rep) == "oauth"
        try:
            problems = calendar.check_access(rep, calendar_id)
        except SQLAlchemyError as exc:
            problems = [
                f"cannot read the reps' Google connections ({type(exc).__name__}): check "
                "DATABASE_URL and run `middleware db upgrade`"
            ]
        if problems:
            results.extend(CheckResult(False, f"google rep {rep}", p) for p in problems)
        else:
            minted = "connected (OAuth), token refreshed" if oauth else "token minted"
            results.append(
                CheckResult(
                    True,
                    f"google rep {rep}",
                    f"{minted}, calendar {calendar_id!r} reachable, Meet allowed",
                )
            )
    return results


def check_oauth_client(settings: Settings) -> CheckResult:
    """The OAuth client reps connect through: set, accepted by Google, an https callback."""
    from middleware import wiring
    from middleware.google.connect import client_problem

    client = wiring.oauth_client(settings)
    if client is None:  # settings refuse to load without them; kept for a hand-built Settings
        return CheckResult(False, "google oauth client", "GOOGLE_OAUTH_* settings are not all set")
    uri = client.redirect_uri
    if not uri.startswith("https://") and not uri.startswith(("http://localhost", "http://127.")):
        return CheckResult(
            False,
            "google oauth client",
            f"GOOGLE_OAUTH_REDIRECT_URI {uri} is not https: Google accepts plain http only for "
            "localhost",
        )
    problem = client_problem(client)
    if problem:
        return CheckResult(False, "google oauth client", problem)
    keys = len(settings.google_token_keys)
    return CheckResult(
        True,
        "google oauth client",
        f"client {client.client_id} accepted; reps connect at {settings.google_connect_url} "
        f"(redirect URI {uri}); {keys} token key{'s' if keys != 1 else ''}",
    )
