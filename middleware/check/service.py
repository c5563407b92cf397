"""The service's own part of ``middleware check``: the database, and Google (the service
account key, and per rep a token, the calendar and Meet)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

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
    """The key, then each rep; ``no_reps_because`` says why the CRMs gave no rep."""
    if not settings.google_service_account_file:
        return [
            CheckResult(
                False,
                "google key",
                "GOOGLE_SERVICE_ACCOUNT_FILE is not set: create a JSON key for the service account",
            )
        ]
    try:
        calendar = factory(settings)
    except ConfigError as exc:
        return [CheckResult(False, "google key", str(exc))]
    results = [
        CheckResult(
            True,
            "google key",
            f"service account {calendar.client_email} (client id {calendar.client_id})",
        )
    ]
    if not reps:
        why = f" ({'; '.join(no_reps_because)})" if no_reps_because else ""
        results.append(CheckResult(False, "google reps", f"no rep to check: pass --rep EMAIL{why}"))
        return results
    calendar_id = settings.rules.meeting.calendar_id
    for rep in reps:
        problems = calendar.check_access(rep, calendar_id)
        if problems:
            results.extend(CheckResult(False, f"google rep {rep}", p) for p in problems)
        else:
            results.append(
                CheckResult(
                    True,
                    f"google rep {rep}",
                    f"token minted, calendar {calendar_id!r} reachable, Meet allowed",
                )
            )
    return results
