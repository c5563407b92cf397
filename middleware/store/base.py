"""What every part of the store shares: the engine, the clock, dialect helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_
from sqlalchemy.dialects import postgresql, sqlite

from middleware.schema import deals


def utcnow() -> datetime:
    return datetime.now(UTC)


class StoreBase:
    """One engine (SQLite or PostgreSQL) and the clock every timestamp comes from."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock
        self._dialect = engine.dialect.name

    def _insert(self, table: Any) -> Any:
        """``INSERT … ON CONFLICT`` capable insert for this dialect."""
        dialect = postgresql if self._dialect == "postgresql" else sqlite
        return dialect.insert(table)

    @staticmethod
    def _deal_key(provider: Any, account_id: Any, deal_id: Any) -> Any:
        return and_(
            deals.c.provider == provider,
            deals.c.account_id == account_id,
            deals.c.deal_id == deal_id,
        )
