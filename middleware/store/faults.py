"""Which database errors mean "the store cannot take a write now" (a 503, not a bug).

:func:`store_fault` maps a SQLAlchemy error to :class:`~middleware.errors.StoreUnavailable`
(with its reason and how long the sender should wait), or None for an error that is a fault of
the request or of the code (a constraint, a value too long…), which stays what it is.

SQLite's codes: https://www.sqlite.org/rescode.html (the name is on the driver's exception,
``sqlite_errorname``, Python 3.11+). PostgreSQL's SQLSTATEs:
https://www.postgresql.org/docs/current/errcodes-appendix.html
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from middleware.errors import Reason, StoreUnavailable

#: Seconds a sender is asked to wait (``Retry-After``) before sending the webhook again.
RETRY_AFTER_SECONDS = {
    Reason.STORE_BUSY: 5.0,
    Reason.STORE_FULL: 60.0,
    Reason.STORE_READ_ONLY: 60.0,
    Reason.STORE_UNREACHABLE: 10.0,
}

_MESSAGES = {
    Reason.STORE_BUSY: (
        "the event store is busy: another writer held its lock for longer than this request "
        "may wait; nothing was stored, send it again"
    ),
    Reason.STORE_FULL: (
        "the event store is full (no space left for the database); nothing was stored, send it "
        "again once space is freed"
    ),
    Reason.STORE_READ_ONLY: (
        "the event store is read-only (file permissions, a read-only mount, or a PostgreSQL "
        "standby); nothing was stored"
    ),
    Reason.STORE_UNREACHABLE: (
        "the event store cannot be reached (database down or unreachable); nothing was stored"
    ),
}

_SQLITE = {
    "SQLITE_BUSY": Reason.STORE_BUSY,
    "SQLITE_LOCKED": Reason.STORE_BUSY,
    "SQLITE_FULL": Reason.STORE_FULL,
    "SQLITE_READONLY": Reason.STORE_READ_ONLY,
    "SQLITE_CANTOPEN": Reason.STORE_UNREACHABLE,
    "SQLITE_IOERR": Reason.STORE_UNREACHABLE,
}

_POSTGRESQL = {
    "55P03": Reason.STORE_BUSY,  # lock_not_available (lock_timeout)
    "57014": Reason.STORE_BUSY,  # query_canceled (statement_timeout)
    "40P01": Reason.STORE_BUSY,  # deadlock_detected
    "53100": Reason.STORE_FULL,  # disk_full
    "53300": Reason.STORE_BUSY,  # too_many_connections
    "25006": Reason.STORE_READ_ONLY,  # read_only_sql_transaction
    "57P01": Reason.STORE_UNREACHABLE,  # admin_shutdown
    "57P02": Reason.STORE_UNREACHABLE,  # crash_shutdown
    "57P03": Reason.STORE_UNREACHABLE,  # cannot_connect_now
}


def unavailable(reason: Reason, detail: str = "") -> StoreUnavailable:
    """The :class:`StoreUnavailable` for ``reason``. ``detail`` (the driver's words) is for the
    log only: the answer to a CRM never names hosts, paths or users."""
    return StoreUnavailable(
        reason, _MESSAGES[reason], retry_after=RETRY_AFTER_SECONDS[reason], detail=detail
    )


def store_fault(error: BaseException) -> StoreUnavailable | None:
    """The :class:`StoreUnavailable` that ``error`` means, or None when it is not one."""
    reason = _reason(error)
    return unavailable(reason, _detail(error)) if reason else None


@contextmanager
def raising_store_faults() -> Iterator[None]:
    """Re-raise a database error that :func:`store_fault` recognises as that fault."""
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        fault = store_fault(exc)
        if fault is None:
            raise
        raise fault from exc


def _reason(error: BaseException) -> Reason | None:
    if isinstance(error, sa_exc.TimeoutError):  # every pooled connection in use for too long
        return Reason.STORE_BUSY
    if not isinstance(error, sa_exc.DBAPIError):
        return None
    name = getattr(error.orig, "sqlite_errorname", None)
    if isinstance(name, str):  # an extended code (SQLITE_IOERR_WRITE) counts as its base
        return _SQLITE.get("_".join(name.split("_")[:2]))
    state = getattr(error.orig, "sqlstate", None)
    if isinstance(state, str):
        if state.startswith("08"):  # connection_exception
            return Reason.STORE_UNREACHABLE
        return _POSTGRESQL.get(state)
    if error.connection_invalidated or isinstance(error, sa_exc.OperationalError):
        # psycopg has no SQLSTATE when the server could not be reached or the connection broke
        return Reason.STORE_UNREACHABLE
    return None


def _detail(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    first = (str(orig).splitlines() or [""])[0].strip()
    return f"{type(orig).__name__}: {first[:200]}"
