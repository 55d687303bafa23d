"""Bytes of compute traffic each car moved in its owner's monthly data-cap window.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the window's start and its byte count to every car."""
    with op.batch_alter_table("fleet_vehicles") as t:
        t.add_column(sa.Column("data_window_at", sa.DateTime(timezone=True), nullable=True))
        t.add_column(sa.Column("data_bytes", sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("fleet_vehicles") as t:
        t.drop_column("data_bytes")
        t.drop_column("data_window_at")
