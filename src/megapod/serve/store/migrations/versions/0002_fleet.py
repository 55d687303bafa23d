"""The fleet coordinator: owners, vehicles, work batches, units, replicas, ledger postings.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the fleet tables."""
    op.create_table(
        "fleet_owners",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("limits", sa.JSON, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "fleet_vehicles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("fleet_owners.id"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("module", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("reputation", sa.Integer, nullable=False),
        sa.Column("results_valid", sa.Integer, nullable=False),
        sa.Column("results_wrong", sa.Integer, nullable=False),
        sa.Column("plugged_in", sa.Boolean, nullable=True),
        sa.Column("soc", sa.Float, nullable=True),
        sa.Column("tokens_per_s", sa.Float, nullable=True),
        sa.Column("seen_at", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
    )
    op.create_index("ix_fleet_vehicles_owner_name", "fleet_vehicles", ["owner_id", "name"], unique=True)
    op.create_table(
        "fleet_batches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kernel", sa.String(60), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("tokens_per_unit", sa.Float, nullable=False),
        sa.Column("replication", sa.String(20), nullable=False),
        sa.Column("replicas", sa.Integer, nullable=False),
        sa.Column("quorum", sa.Integer, nullable=False),
        sa.Column("max_replicas", sa.Integer, nullable=False),
        sa.Column("trust_after", sa.Integer, nullable=False),
        sa.Column("spot_check", sa.Float, nullable=False),
        sa.Column("lease_s", sa.Float, nullable=False),
        sa.Column("deadline_at", TZ, nullable=False),
        sa.Column("economics", sa.JSON, nullable=False),
        sa.Column("scheme", sa.String(60), nullable=False),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("accepted", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "fleet_units",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("fleet_batches.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("quorum", sa.Integer, nullable=False),
        sa.Column("target", sa.Integer, nullable=False),
        sa.Column("issued", sa.Integer, nullable=False),
        sa.Column("in_flight", sa.Integer, nullable=False),
        sa.Column("agreeing", sa.Integer, nullable=False),
        sa.Column("result", sa.String(128), nullable=True),
        sa.Column("accepted_order", sa.Integer, nullable=True),
        sa.Column("closed_at", TZ, nullable=True),
    )
    op.create_index("ix_fleet_units_batch_seq", "fleet_units", ["batch_id", "seq"], unique=True)
    op.create_index("ix_fleet_units_state_id", "fleet_units", ["state", "id"])
    op.create_table(
        "fleet_replicas",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("fleet_units.id"), nullable=False),
        sa.Column("vehicle_id", sa.Integer, sa.ForeignKey("fleet_vehicles.id"), nullable=False, index=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("leased_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("reported_at", TZ, nullable=True),
        sa.Column("result", sa.String(128), nullable=True),
        sa.Column("valid", sa.Boolean, nullable=True),
    )
    op.create_index(
        "ix_fleet_replicas_unit_vehicle", "fleet_replicas", ["unit_id", "vehicle_id"], unique=True
    )
    op.create_index("ix_fleet_replicas_state_expires", "fleet_replicas", ["state", "expires_at"])
    op.create_table(
        "fleet_postings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entry", sa.BigInteger, nullable=False, index=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("account", sa.String(60), nullable=False),
        sa.Column("amount_micro_usd", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("fleet_batches.id"), nullable=True),
        sa.Column("unit_id", sa.Integer, nullable=True),
    )
    op.create_index("ix_fleet_postings_account_at", "fleet_postings", ["account", "at"])


def downgrade() -> None:
    """Drop the fleet tables."""
    for table in (
        "fleet_postings",
        "fleet_replicas",
        "fleet_units",
        "fleet_batches",
        "fleet_vehicles",
        "fleet_owners",
    ):
        op.drop_table(table)
