"""The meetings API: meetings, API keys, idempotency keys.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10

``api_meetings`` holds each meeting's desired state (its events are provider ``api``),
``api_keys`` the SHA-256 of each API key with its name and scope, ``api_idempotency_keys``
each create's ``Idempotency-Key`` with a hash of its body.
"""

import sqlalchemy as sa
from alembic import op

from middleware.schema import BigId, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_meetings",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("organizer", sa.String(320), nullable=False),
        sa.Column("attendees", sa.Text, nullable=False),
        sa.Column("title", sa.String(1024), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("start", UTCDateTime(), nullable=False),
        sa.Column("duration_minutes", sa.Integer, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("recurrence", sa.String(1000), nullable=True),
        sa.Column("occurrences", sa.Text, nullable=False),
        sa.Column("send_updates", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event_id", BigId, nullable=True),
        sa.Column("meet_url", sa.String(1300), nullable=True),
        sa.Column("calendar_event_id", sa.String(1024), nullable=True),
        sa.Column("api_key_id", BigId, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_api_meetings_organizer", "api_meetings", ["organizer", "start"])
    op.create_table(
        "api_keys",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("organizers", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "api_idempotency_keys",
        sa.Column("api_key_id", BigId, primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("meeting_id", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("api_idempotency_keys")
    op.drop_table("api_keys")
    op.drop_index("ix_api_meetings_organizer", table_name="api_meetings")
    op.drop_table("api_meetings")
