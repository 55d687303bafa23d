"""Design sweeps run by the server.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the sweeps table."""
    op.create_table(
        "sweeps",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("file", sa.String(400), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("backend", sa.String(20), nullable=False),
        sa.Column("max_points", sa.Integer, nullable=True),
        sa.Column("points_done", sa.Integer, nullable=False),
        sa.Column("points_total", sa.Integer, nullable=False),
        sa.Column("points_failed", sa.Integer, nullable=False),
        sa.Column("eta_s", sa.Float, nullable=True),
        sa.Column("out_dir", sa.String(1000), nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("started_at", TZ, nullable=True),
        sa.Column("ended_at", TZ, nullable=True),
    )
    op.create_index("ix_sweeps_state", "sweeps", ["state"])
    op.create_index("ix_sweeps_created_at", "sweeps", ["created_at"])


def downgrade() -> None:
    """Drop the sweeps table."""
    op.drop_table("sweeps")
