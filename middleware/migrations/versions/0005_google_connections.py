"""Google OAuth connections: each rep's sealed refresh token and its state.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08

Only adds a table (``schema.google_connections``), so existing events are untouched. The
refresh token column holds a Fernet token (``GOOGLE_TOKEN_KEYS``), never the token in clear.
"""

import sqlalchemy as sa
from alembic import op

from middleware.schema import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "google_connections",
        sa.Column("email", sa.String(320), primary_key=True),
        # connected | broken
        sa.Column("state", sa.String(16), nullable=False),
        # sealed with GOOGLE_TOKEN_KEYS (middleware/token_cipher.py)
        sa.Column("refresh_token", sa.Text, nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("connected_at", UTCDateTime(), nullable=False),
        sa.Column("broken_at", UTCDateTime(), nullable=True),
        sa.Column("broken_reason", sa.Text, nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("google_connections")
