"""Keys of the meetings API: only their SHA-256 is stored, with a name, a scope and the
organizers a key may act for. Creating and revoking one writes its audit row in the same
transaction (``GET /admin/audit`` shows both)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from middleware.schema import api_keys, audit_log
from middleware.store.base import StoreBase


@dataclass(frozen=True)
class ApiKeyRecord:
    """An API key as operators see it (never the key, nor its hash)."""

    id: int
    name: str
    scope: str
    #: the key's first characters, to tell keys apart
    prefix: str
    #: emails and ``@domain`` suffixes of the organizers it may act for; None: any
    organizers: tuple[str, ...] | None
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _record(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        name=row.name,
        scope=row.scope,
        prefix=row.key_prefix,
        organizers=tuple(json.loads(row.organizers)) if row.organizers else None,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class ApiKeyStore(StoreBase):
    """The ``api_keys`` table."""

    def add_api_key(
        self,
        *,
        name: str,
        scope: str,
        key_hash: str,
        prefix: str,
        organizers: Sequence[str] | None,
        actor: str,
    ) -> ApiKeyRecord:
        with self.engine.begin() as conn:
            now = self._now(conn)
            key_id = conn.execute(
                insert(api_keys)
                .values(
                    name=name,
                    scope=scope,
                    key_hash=key_hash,
                    key_prefix=prefix,
                    organizers=json.dumps(list(organizers)) if organizers else None,
                    created_at=now,
                )
                .returning(api_keys.c.id)
            ).scalar_one()
            target = {"api_key_id": key_id, "name": name, "scope": scope}
            self._audit(conn, now, actor, "api_key_create", target)
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one()
        return _record(row)

    def revoke_api_key(self, key_id: int, *, actor: str) -> ApiKeyRecord | None:
        """Revoke a key (it answers 401 from now on); revoking it again changes nothing.
        None when no key has that id."""
        with self.engine.begin() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
            if row is None:
                return None
            if row.revoked_at is None:
                now = self._now(conn)
                conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=now))
                target = {"api_key_id": key_id, "name": row.name}
                self._audit(conn, now, actor, "api_key_revoke", target)
                row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one()
        return _record(row)

    def list_api_keys(self) -> list[ApiKeyRecord]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(api_keys).order_by(api_keys.c.id)).all()
        return [_record(r) for r in rows]

    def api_key_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        """The key with this SHA-256, revoked or not."""
        with self.reader.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_hash == key_hash)).first()
        return _record(row) if row is not None else None

    @staticmethod
    def _audit(conn: Any, at: datetime, actor: str, action: str, target: dict[str, Any]) -> None:
        conn.execute(
            insert(audit_log).values(
                at=at,
                actor=actor,
                action=action,
                target=json.dumps(target, sort_keys=True),
                count=1,
            )
        )
