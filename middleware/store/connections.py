"""Reps' Google OAuth connections: the sealed refresh token, ``connected`` or ``broken``.

The store never sees a refresh token in clear: it keeps what ``GOOGLE_TOKEN_KEYS`` sealed
(``middleware/token_cipher.py``, done by ``middleware/google_connections.py``). Each connect
raises the row's ``generation``; marking a connection broken names the generation that failed,
so a worker still holding an older token never breaks a connection the rep has just renewed.

:class:`ConnectionQueries` is one part of :class:`~middleware.store.Store`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.engine import Connection

from middleware.schema import deals, google_connections
from middleware.store.base import StoreBase

CONNECTED = "connected"
BROKEN = "broken"
#: a rep with no connection row (listed, never stored)
NOT_CONNECTED = "not_connected"

_table = google_connections


@dataclass(frozen=True)
class ConnectionRecord:
    """One rep's connection; ``sealed_refresh_token`` is never shown (not even in ``repr``)."""

    email: str
    state: str
    generation: int
    scopes: tuple[str, ...]
    connected_at: datetime
    updated_at: datetime
    broken_at: datetime | None = None
    broken_reason: str | None = None
    sealed_refresh_token: str = field(default="", repr=False)


def _record(row: Row[Any]) -> ConnectionRecord:
    return ConnectionRecord(
        email=row.email,
        state=row.state,
        generation=row.generation,
        scopes=tuple(row.scopes.split()),
        connected_at=row.connected_at,
        updated_at=row.updated_at,
        broken_at=row.broken_at,
        broken_reason=row.broken_reason,
        sealed_refresh_token=row.refresh_token,
    )


class ConnectionQueries(StoreBase):
    """Read, save, break and re-seal reps' connections."""

    def google_connection(self, email: str) -> ConnectionRecord | None:
        """The connection of ``email`` (lower case), or None when the rep never connected."""
        with self.reader.connect() as conn:
            row = conn.execute(select(_table).where(_table.c.email == email)).first()
        return _record(row) if row is not None else None

    def google_connections(self) -> list[ConnectionRecord]:
        """Every connection, by email."""
        with self.reader.connect() as conn:
            rows = conn.execute(select(_table).order_by(_table.c.email)).all()
        return [_record(r) for r in rows]

    def save_google_connection(
        self, conn: Connection, email: str, sealed_refresh_token: str, scopes: Iterable[str]
    ) -> int:
        """Store a new connection of ``email`` (``connected``, one generation up) inside the
        caller's transaction on ``conn``. Returns its generation."""
        now = self._now(conn)
        values = {
            "state": CONNECTED,
            "refresh_token": sealed_refresh_token,
            "scopes": " ".join(sorted(set(scopes))),
            "connected_at": now,
            "broken_at": None,
            "broken_reason": None,
            "updated_at": now,
        }
        stmt = self._insert(_table).values(email=email, generation=1, **values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["email"], set_={**values, "generation": _table.c.generation + 1}
        )
        conn.execute(stmt)
        generation: int = conn.execute(
            select(_table.c.generation).where(_table.c.email == email)
        ).scalar_one()
        return generation

    def mark_google_connection_broken(self, email: str, generation: int, reason: str) -> bool:
        """Mark the connection ``broken`` with ``reason`` (Google's words, never a token) if it
        is still at ``generation``; False when the rep has connected again since (or never)."""
        with self.engine.begin() as conn:
            now = self._now(conn)
            result = conn.execute(
                update(_table)
                .where(_table.c.email == email, _table.c.generation == generation)
                .values(state=BROKEN, broken_at=now, broken_reason=reason[:2000], updated_at=now)
            )
        return bool(result.rowcount)

    def reseal_google_connections(self, conn: Connection, reseal: Callable[[str, str], str]) -> int:
        """Re-seal every stored refresh token with ``reseal(email, sealed)`` inside the
        caller's transaction on ``conn`` (a row changed meanwhile keeps its newer value).
        ``reseal`` raising stops it (the caller's transaction then changes nothing). Returns
        how many were re-sealed."""
        rows = conn.execute(select(_table.c.email, _table.c.refresh_token)).all()
        count = 0
        for email, sealed in rows:
            fresh = reseal(email, sealed)
            result = conn.execute(
                update(_table)
                .where(_table.c.email == email, _table.c.refresh_token == sealed)
                .values(refresh_token=fresh)
            )
            count += int(result.rowcount)
        return count

    def meeting_organizers(self) -> list[str]:
        """Every rep a meeting was recorded for (the deal ledger's organizers), by email."""
        with self.reader.connect() as conn:
            rows = conn.execute(
                select(deals.c.organizer).where(deals.c.organizer.is_not(None)).distinct()
            ).all()
        return sorted({r.organizer for r in rows})
