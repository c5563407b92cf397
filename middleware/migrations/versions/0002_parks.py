"""Parks: long account- or rep-wide waits that spend no attempt.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Only adds a table, so existing events are untouched. Concurrent upgrades are serialised by
``middleware.database.upgrade_schema`` (advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite), so the table is created once.
"""

import sqlalchemy as sa
from alembic import op

from middleware.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parks",
        # "google:" + an email (at most 320) or a CRM provider + account id.
        sa.Column("scope", sa.String(400), primary_key=True),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("parks")
