"""The event store's tables (SQLAlchemy Core), portable between SQLite and PostgreSQL.

Alembic migrations in ``middleware/migrations`` create these; this module is what the code
queries. Times are stored as naive UTC (see :class:`UTCDateTime`) so both databases compare
them the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()

# SQLite only autoincrements an ``INTEGER PRIMARY KEY``; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


#: One row per accepted CRM notification that asks for a meeting.
events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("provider", String(32), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("deal_id", String(64), nullable=False),
    # Stable across redeliveries of the same notification; unique, so a redelivery stores nothing.
    Column("dedupe_key", String(255), nullable=False, unique=True),
    Column("trigger", String(255), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=True),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    # ``attempts`` when the event was last replayed: the retry budget counts from here.
    Column("attempts_at_replay", Integer, nullable=False, default=0),
    Column("force", Boolean, nullable=False, default=False),
    Column("last_error", Text, nullable=True),
    Column("last_error_reason", String(64), nullable=True),
    Column("meet_url", String(1300), nullable=True),
    Column("calendar_event_id", String(1024), nullable=True),
    # What processing did: booked, moved, updated, cancelled, restored, recreated, reassigned,
    # unchanged (None until it did something).
    Column("action", String(16), nullable=True),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
Index("ix_events_due", events.c.status, events.c.next_attempt_at)
Index("ix_events_deal", events.c.provider, events.c.deal_id)
Index("ix_events_created", events.c.created_at)

#: Every time a worker took an event: when, what happened, and why.
attempts = Table(
    "attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", BigId, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("worker", String(128), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
    # processing | succeeded | skipped | retrying | parked | failed | abandoned | released
    Column("outcome", String(16), nullable=False),
    Column("error_reason", String(64), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("retry_at", UTCDateTime(), nullable=True),
)
Index("ix_attempts_event", attempts.c.event_id, attempts.c.number)

#: One row per deal: the lock that serialises its events, and the meeting made for it.
deals = Table(
    "deals",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("provider", String(32), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("deal_id", String(64), nullable=False),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", UTCDateTime(), nullable=True),
    Column("calendar_event_id", String(1024), nullable=True),
    Column("calendar_id", String(255), nullable=True),
    Column("organizer", String(320), nullable=True),
    Column("meet_url", String(1300), nullable=True),
    Column("spec_fingerprint", String(64), nullable=True),
    # "live" (the recorded event may be live in Google) or "cancelled" (it is, for sure).
    Column("meeting_state", String(16), nullable=True),
    # n of the deal's n-th Calendar event id (0: the id every earlier version made).
    Column("event_series", Integer, nullable=False, server_default="0"),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("provider", "account_id", "deal_id", name="uq_deals_key"),
)

#: What operators changed through the admin API or CLI.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", Text, nullable=True),
    Column("count", Integer, nullable=False, default=0),
)
Index("ix_audit_at", audit_log.c.at)

#: Long account- or rep-wide waits (HubSpot ``DAILY`` 429 or 477, Google ``quotaExceeded``):
#: until ``until``, events of ``scope`` wait without calling the remote side (``parks.py``).
parks = Table(
    "parks",
    metadata,
    Column("scope", String(400), primary_key=True),
    Column("until", UTCDateTime(), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

#: Each worker process's last sign of life (the database's clock): a worker silent for longer
#: than ``queue.DEAD_AFTER_SECONDS`` is dead, and its leases are free at once.
workers = Table(
    "workers",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("last_seen", UTCDateTime(), nullable=False),
)

#: When the next Calendar request of each rate's scope may go (``store/pacing.py``): the pace
#: every worker process shares, so a burst for one rep runs at Google's quota and no faster.
paces = Table(
    "paces",
    metadata,
    Column("scope", String(400), primary_key=True),
    Column("next_at", UTCDateTime(), nullable=False),
)

#: Each rep's own Google OAuth connection (``GOOGLE_AUTH_MODE=oauth``, ``store/connections.py``):
#: the refresh token sealed with ``GOOGLE_TOKEN_KEYS`` (never in clear), ``connected`` or
#: ``broken`` (Google said ``invalid_grant``: the rep must connect again). ``generation`` grows
#: by one at each connect, so a worker still holding an older token never breaks a newer one.
google_connections = Table(
    "google_connections",
    metadata,
    Column("email", String(320), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("refresh_token", Text, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("scopes", Text, nullable=False),
    Column("connected_at", UTCDateTime(), nullable=False),
    Column("broken_at", UTCDateTime(), nullable=True),
    Column("broken_reason", Text, nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
)

#: Meetings made through the meetings API (``/api/meetings``): each is a "deal" of provider
#: ``api`` whose desired state is this row (``meetings_api/``); ``version`` counts its changes,
#: each stored with the event that makes Google follow it (``event_id``: the latest).
api_meetings = Table(
    "api_meetings",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("organizer", String(320), nullable=False),
    Column("attendees", Text, nullable=False),  # JSON list of emails
    Column("title", String(1024), nullable=False),
    Column("description", Text, nullable=False),
    Column("start", UTCDateTime(), nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("recurrence", String(1000), nullable=True),  # one RRULE line, or null
    Column("occurrences", Text, nullable=False),  # JSON list: occurrences changed on their own
    Column("send_updates", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # live | cancelled
    Column("version", Integer, nullable=False),
    Column("event_id", BigId, nullable=True),
    Column("meet_url", String(1300), nullable=True),
    Column("calendar_event_id", String(1024), nullable=True),
    Column("api_key_id", BigId, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
Index("ix_api_meetings_organizer", api_meetings.c.organizer, api_meetings.c.start)

#: Keys of the meetings API: only a SHA-256 of each is kept (the key is shown once).
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("scope", String(8), nullable=False),  # read | write
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("key_prefix", String(16), nullable=False),
    Column("organizers", Text, nullable=True),  # JSON list of emails / @domains, or null: any
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
)

#: ``Idempotency-Key`` of each ``POST /api/meetings`` (per API key), with a hash of its body.
api_idempotency_keys = Table(
    "api_idempotency_keys",
    metadata,
    Column("api_key_id", BigId, primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("body_hash", String(64), nullable=False),
    Column("meeting_id", String(32), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
