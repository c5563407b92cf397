"""Worker heartbeats (each worker process's last sign of life, by the database's clock) and
paces (the next free slot of each Google rate: per rep, per project).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

A worker writes ``last_seen`` every few seconds; a claim treats the leases of a worker silent
for longer than ``WORKER_DEAD_AFTER_SECONDS`` as expired, so a killed worker's events are taken
over in seconds, while a live worker that is merely slow keeps its lease (``queue.py``).
``paces`` holds, per scope, when its next Calendar request may go (``store/pacing.py``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "paces",
        sa.Column("scope", sa.String(400), primary_key=True),
        sa.Column("next_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("paces")
    op.drop_table("workers")
