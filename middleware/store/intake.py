"""Intake: a webhook's events stored in one short transaction, or many requests' at once.

Every event's row and its deal's row are written with one multi-row ``INSERT … ON CONFLICT DO
NOTHING`` each (in chunks), so a batch of 100 costs what a batch of 1 does plus the rows, and
:meth:`EventIntake.add_event_groups` lets one writer commit several requests together (group
commit, ``group_commit.py``). A ``dedupe_key`` already stored is a duplicate: counted, not
stored.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from middleware.model import PENDING, NewEvent
from middleware.store.base import StoreBase
from middleware.store.faults import raising_store_faults
from middleware.store.records import AddResult
from middleware.store.wakeup import notify_new_events

_T = TypeVar("_T")


#: One event's values in the order of ``_TABLES["events"]``'s parameters.
Row = tuple[str, str, str, str, str, Any, str]


class PreparedEvents(tuple[NewEvent, ...]):
    """Events with their rows' values made ahead of the transaction (:meth:`prepare_events`,
    in the request's thread), so the writer only binds them."""

    rows: list[Row]


class EventIntake(StoreBase):
    """Storing accepted notifications (the write side of a webhook)."""

    def add_events(self, new: Sequence[NewEvent]) -> AddResult:
        """Store new events in one transaction; a known ``dedupe_key`` is counted, not stored.

        Returns only after the commit, so the caller may acknowledge the webhook. Waits at most
        ``INTAKE_LOCK_WAIT_SECONDS`` for the write lock; raises
        :class:`~middleware.errors.StoreUnavailable` when the store is locked past that, full,
        read-only or unreachable (nothing is stored then).
        """
        return self.add_event_groups([new])[0]

    def prepare_events(self, new: Sequence[NewEvent]) -> PreparedEvents:
        """``new`` with its rows' values made now: the per-event work of an insert (the payload
        as JSON, times as the store holds them) done outside the transaction."""
        prepared = PreparedEvents(new)
        prepared.rows = [self._row(item) for item in new]
        return prepared

    def add_event_groups(self, groups: Sequence[Sequence[NewEvent]]) -> list[AddResult]:
        """:meth:`add_events` for several requests' events in one transaction (group commit).

        One multi-row insert per table (in chunks), so the cost is one commit and a few
        statements whatever the number of events. A ``dedupe_key`` met twice, in one group or
        across groups, is stored for its first occurrence only; each group's result lists its
        own stored ids in its own order. Groups may be :class:`PreparedEvents`.
        """
        firsts: dict[str, Row] = {}
        for group in groups:
            rows = group.rows if isinstance(group, PreparedEvents) else map(self._row, group)
            for item, row in zip(group, rows, strict=True):
                firsts.setdefault(item.dedupe_key, row)
        stored: dict[str, int] = {}
        if firsts:
            with raising_store_faults(), self.intake.begin() as conn:
                clock = self._clock() if self._clock is not None else None
                stored = self._insert_rows(conn, list(firsts.values()), clock)
        results = []
        for group in groups:
            ids = []
            for item in group:
                event_id = stored.pop(item.dedupe_key, None)  # the first occurrence takes it
                if event_id is not None:
                    ids.append(event_id)
            results.append(AddResult(len(ids), len(group) - len(ids), tuple(ids)))
        return results

    def _insert_events(
        self, conn: Connection, items: Sequence[NewEvent], now: datetime
    ) -> dict[str, int]:
        """Insert ``items`` (distinct dedupe keys) and their deals' rows on ``conn``, in the
        caller's transaction, stamped ``now``; returns dedupe key → id of those stored."""
        return self._insert_rows(conn, [self._row(item) for item in items], now)

    def _insert_rows(
        self, conn: Connection, rows: Sequence[Row], now: datetime | None
    ) -> dict[str, int]:
        """Insert ``rows`` (distinct dedupe keys) and their deals' rows, stamped ``now`` or,
        when None, the database's clock (PostgreSQL's is read by the insert itself; SQLite's
        is this host's, read here).

        The statements are plain SQL made once per row count (``_statement``) and the values
        are bound as the driver takes them: no statement is compiled and no value goes
        through SQLAlchemy's type processing (55 µs a row, before; BENCHMARKS.md).
        """
        sqlite = self._dialect == "sqlite"
        if now is None and sqlite:
            now = _sqlite_now()
        stamp = None if now is None else self._stored_time(now)
        stored: dict[str, int] = {}
        for chunk in _chunks(rows):
            sql = _statement(self._dialect, "events", len(chunk), stamped=stamp is not None)
            result = conn.exec_driver_sql(sql, _parameters(self._dialect, "events", chunk, stamp))
            if sqlite:
                stored.update(_sqlite_ids(conn, result, chunk))
                continue
            for event_id, key, created in result.fetchall():
                stored[key] = event_id
                stamp = created  # the deals' rows get the same time
        if stored:
            notify_new_events(conn)  # idle workers wake at the commit (wakeup.py)
        new_deals = list(dict.fromkeys(row[:3] for row in rows if row[3] in stored))
        for deals in _chunks(new_deals):
            sql = _statement(self._dialect, "deals", len(deals), stamped=True)
            conn.exec_driver_sql(sql, _parameters(self._dialect, "deals", deals, stamp))
        return stored

    def _row(self, item: NewEvent) -> Row:
        occurred = item.occurred_at
        return (
            item.provider,
            item.account_id,
            item.deal_id,
            item.dedupe_key,
            item.trigger,
            None if occurred is None else self._stored_time(occurred),
            _compact_json(item.payload),
        )

    def _stored_time(self, moment: datetime) -> Any:
        """``moment`` as the store holds it (``schema.UTCDateTime``): naive UTC, on SQLite as
        the text SQLAlchemy's ``DATETIME`` writes, so every writer's values compare."""
        naive = (moment if moment.tzinfo is UTC else moment.astimezone(UTC)).replace(tzinfo=None)
        return naive.isoformat(" ", "microseconds") if self._dialect == "sqlite" else naive


def _sqlite_now() -> datetime:
    """SQLite's ``'now'``, which is this host's clock to the millisecond (WAL databases are
    shared by the processes of one host only), without a statement to read it."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _sqlite_ids(conn: Connection, result: Any, rows: Sequence[Row]) -> dict[str, int]:
    """Dedupe key → id of the rows an SQLite insert of ``rows`` stored, without RETURNING.

    Each row a RETURNING clause gives back is one more ``sqlite3_step``, and the driver lets
    go of the GIL for each: under load the writer then waits for a request thread up to a
    switch interval per row, while it holds the write lock. Instead: SQLite gives each new
    row the largest rowid so far plus one (https://www.sqlite.org/autoinc.html), so the
    stored rows hold the ``rowcount`` ids up to ``lastrowid`` (no one else writes inside this
    transaction), in the order of ``rows`` when none was a duplicate; with duplicates, the new
    ids are read back (one query).
    """
    stored, last = result.rowcount, result.lastrowid
    if stored == len(rows):
        return {row[3]: last - stored + 1 + n for n, row in enumerate(rows)}
    if not stored:
        return {}
    newest = conn.exec_driver_sql(
        "SELECT id, dedupe_key FROM events WHERE id > ?", (last - stored,)
    )
    return {key: event_id for event_id, key in newest.fetchall()}


#: ``json.dumps(value, separators=(",", ":"))`` without making an encoder per call.
_compact_json = json.JSONEncoder(separators=(",", ":")).encode

#: Per table: its columns, one row's values (``%s``: a parameter; ``{now}``: the statement's
#: time; ``{false}``: the dialect's false; the rest is SQL, the same for every row), and the ON
#: CONFLICT target.
_TABLES = {
    "events": (
        "provider, account_id, deal_id, dedupe_key, trigger, occurred_at, payload, "
        "next_attempt_at, created_at, updated_at, status, attempts, attempts_at_replay, force",
        f"%s, %s, %s, %s, %s, %s, %s, {{now}}, {{now}}, {{now}}, '{PENDING}', 0, 0, {{false}}",
        "dedupe_key",
    ),
    "deals": (
        "provider, account_id, deal_id, updated_at",
        "%s, %s, %s, {now}",
        "provider, account_id, deal_id",
    ),
}


@lru_cache(maxsize=64)
def _statement(dialect: str, table: str, rows: int, *, stamped: bool) -> str:
    """``INSERT INTO table … VALUES (…), (…) ON CONFLICT DO NOTHING`` for ``rows`` rows, in the
    driver's parameter style. On PostgreSQL ``events`` returns the stored rows' ids, keys and
    time stamps; SQLite's ids are found by :func:`_sqlite_ids`.

    The time stamp is a parameter (``stamped``) or PostgreSQL's clock. On SQLite the
    parameters are numbered: ``?1`` is the stamp, for every row; on PostgreSQL each row's
    values are followed by its stamps (see :func:`_parameters`).
    """
    columns, values, target = _TABLES[table]
    per_row = values.count("%s")
    sqlite = dialect == "sqlite"
    template = values.replace("%s", "{}")
    false = "0" if sqlite else "false"
    if sqlite:
        marks = [f"?{n}" for n in range(2, 2 + rows * per_row)]
        tuples = [
            "("
            + template.format(*marks[r * per_row : (r + 1) * per_row], now="?1", false=false)
            + ")"
            for r in range(rows)
        ]
    else:
        now = "%s" if stamped else "(now() AT TIME ZONE 'UTC')"
        tuples = ["(" + template.format(*["%s"] * per_row, now=now, false=false) + ")"] * rows
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES {', '.join(tuples)} "
        f"ON CONFLICT ({target}) DO NOTHING"
    )
    returning = table == "events" and not sqlite  # SQLite's ids: see _sqlite_ids
    return sql + " RETURNING id, dedupe_key, created_at" if returning else sql


def _parameters(
    dialect: str, table: str, rows: Sequence[tuple[Any, ...]], stamp: Any
) -> tuple[Any, ...]:
    """The parameters of :func:`_statement` for ``rows`` and the time ``stamp`` (None: the
    database's clock, PostgreSQL only)."""
    if stamp is None:
        return tuple(itertools.chain.from_iterable(rows))
    if dialect == "sqlite":
        return tuple(itertools.chain((stamp,), *rows))
    stamps = (stamp,) * _TABLES[table][1].count("{now}")
    return tuple(itertools.chain.from_iterable(row + stamps for row in rows))


#: Rows per multi-row INSERT: at most 10 parameters a row × 500 stays far below SQLite's 32,766
#: and PostgreSQL's 65,535.
_CHUNK_ROWS = 500


def _chunks(rows: Sequence[_T]) -> list[Sequence[_T]]:
    return [rows[i : i + _CHUNK_ROWS] for i in range(0, len(rows), _CHUNK_ROWS)]
