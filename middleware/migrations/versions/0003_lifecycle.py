"""The demo's lifecycle: each deal's meeting state and event series; what each event did.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

``deals.meeting_state`` is ``live`` (the recorded event may be live in Google) or
``cancelled`` (it is cancelled for sure); ``deals.event_series`` numbers the deal's Calendar
event ids (0 is the id every earlier version made, so existing meetings keep theirs).
``events.action`` is what processing did (``booked``, ``moved``, ``cancelled``…). Existing
deals with an event become ``live``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deals") as batch:
        batch.add_column(sa.Column("meeting_state", sa.String(16), nullable=True))
        batch.add_column(sa.Column("event_series", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("action", sa.String(16), nullable=True))
    op.execute("UPDATE deals SET meeting_state = 'live' WHERE calendar_event_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("action")
    with op.batch_alter_table("deals") as batch:
        batch.drop_column("event_series")
        batch.drop_column("meeting_state")
