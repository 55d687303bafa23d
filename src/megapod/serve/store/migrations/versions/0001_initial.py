"""The first schema: tokens, jobs, allocations, job logs, events, audit log, telemetry, settings.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("gpus", sa.Integer, nullable=False),
        sa.Column("work_s", sa.Float, nullable=True),
        sa.Column("partition", sa.String(200), nullable=True),
        sa.Column("queue", sa.String(200), nullable=True, index=True),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("command", sa.JSON, nullable=True),
        sa.Column("entrypoint", sa.String(400), nullable=True),
        sa.Column("args", sa.JSON, nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, nullable=False, index=True),
        sa.Column("started_at", TZ, nullable=True),
        sa.Column("ended_at", TZ, nullable=True),
        sa.Column("sim_submit_s", sa.Float, nullable=True),
        sa.Column("sim_start_s", sa.Float, nullable=True),
        sa.Column("sim_end_s", sa.Float, nullable=True),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("log_lines", sa.Integer, nullable=False),
    )
    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job_id", sa.String(40), sa.ForeignKey("jobs.id"), nullable=False, index=True),
        sa.Column("resource", sa.String(200), nullable=False),
        sa.Column("gpus", sa.Integer, nullable=False),
        sa.Column("allocated_at", TZ, nullable=False),
        sa.Column("released_at", TZ, nullable=True),
    )
    op.create_table(
        "job_logs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job_id", sa.String(40), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("line", sa.Text, nullable=False),
    )
    op.create_index("ix_job_logs_job_seq", "job_logs", ["job_id", "seq"], unique=True)
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("sim_t_s", sa.Float, nullable=True),
        sa.Column("kind", sa.String(40), nullable=False, index=True),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_table(
        "telemetry",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("sim_t_s", sa.Float, nullable=True),
        sa.Column("scope", sa.String(100), nullable=False),
        sa.Column("metric", sa.String(60), nullable=False),
        sa.Column("mean", sa.Float, nullable=False),
        sa.Column("min", sa.Float, nullable=False),
        sa.Column("max", sa.Float, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
    )
    op.create_index("ix_telemetry_scope_id", "telemetry", ["scope", "id"])
    op.create_table(
        "settings",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.JSON, nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
    )


def downgrade() -> None:
    """Drop every table."""
    for table in (
        "settings",
        "telemetry",
        "audit_log",
        "events",
        "job_logs",
        "allocations",
        "jobs",
        "tokens",
    ):
        op.drop_table(table)
