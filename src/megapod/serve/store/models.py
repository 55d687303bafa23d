"""Tables of the control plane (SQLAlchemy 2 declarative models).

Every change to these models comes with an Alembic migration in ``migrations/versions``.
Times are stored as timezone-aware UTC wall times; simulated times in seconds (``sim_*_s``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """The present wall time in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of the control plane's tables."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Token(Base):
    """An API token: its SHA-256 hash (never the token), a name for the holder and a role."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Job(Base):
    """A job accepted by the API, keyed by its client's idempotency key."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    gpus: Mapped[int] = mapped_column(Integer)
    work_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    partition: Mapped[str | None] = mapped_column(String(200), nullable=True)
    queue: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    command: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    entrypoint: Mapped[str | None] = mapped_column(String(400), nullable=True)
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    submitted_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sim_submit_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    sim_start_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    sim_end_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    log_lines: Mapped[int] = mapped_column(Integer, default=0)
    #: The job list's order, newest first (migration 0005).
    __table_args__ = (Index("ix_jobs_created_at_id", "created_at", "id"),)


class Allocation(Base):
    """Resources a job holds: one row per placement unit, released when the job ends."""

    __tablename__ = "allocations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    resource: Mapped[str] = mapped_column(String(200))
    gpus: Mapped[int] = mapped_column(Integer)
    allocated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class JobLog(Base):
    """One line of a job's output, numbered from 0."""

    __tablename__ = "job_logs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"))
    seq: Mapped[int] = mapped_column(Integer)
    line: Mapped[str] = mapped_column(Text)
    __table_args__ = (Index("ix_job_logs_job_seq", "job_id", "seq", unique=True),)


class Event(Base):
    """Something that happened to the site: a failure, an outage, a breach, an operator action."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sim_t_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    severity: Mapped[str] = mapped_column(String(20), default="info")
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AuditEntry(Base):
    """Who did what: one row for every write through the API."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TelemetryRollup(Base):
    """Mean, min and max of one metric of one scope over one cadence interval."""

    __tablename__ = "telemetry"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sim_t_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    scope: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str] = mapped_column(String(60))
    mean: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_telemetry_scope_id", "scope", "id"),)


class Setting(Base):
    """A named value the server keeps across restarts (power settings, the twin's clock)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


# ---------------------------------------------------------------- the fleet coordinator (0002)
class FleetOwner(Base):
    """A vehicle owner's account: a name, the owner's token (hashed) and the limits every car
    of the owner honours (:class:`megapod.spec.fleet.OwnerLimits` as JSON)."""

    __tablename__ = "fleet_owners"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FleetVehicle(Base):
    """An enrolled car: its owner, its token (hashed), reputation and last reported state."""

    __tablename__ = "fleet_vehicles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("fleet_owners.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    module: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reputation: Mapped[int] = mapped_column(Integer, default=0)
    results_valid: Mapped[int] = mapped_column(Integer, default=0)
    results_wrong: Mapped[int] = mapped_column(Integer, default=0)
    plugged_in: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    soc: Mapped[float | None] = mapped_column(Float, nullable=True)
    tokens_per_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: Start of the car's current data-cap window, and the compute bytes it moved since [B].
    data_window_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    data_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    __table_args__ = (Index("ix_fleet_vehicles_owner_name", "owner_id", "name", unique=True),)


class FleetBatch(Base):
    """Work an operator submitted: ``units`` units of a kernel, how they are validated and paid."""

    __tablename__ = "fleet_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kernel: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    units: Mapped[int] = mapped_column(Integer)
    tokens_per_unit: Mapped[float] = mapped_column(Float)
    replication: Mapped[str] = mapped_column(String(20))
    replicas: Mapped[int] = mapped_column(Integer)
    quorum: Mapped[int] = mapped_column(Integer)
    max_replicas: Mapped[int] = mapped_column(Integer)
    trust_after: Mapped[int] = mapped_column(Integer)
    spot_check: Mapped[float] = mapped_column(Float)
    lease_s: Mapped[float] = mapped_column(Float)
    deadline_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    economics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    scheme: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FleetUnit(Base):
    """One work unit of a batch: its seed, replicas issued and in flight, and the accepted result."""

    __tablename__ = "fleet_units"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("fleet_batches.id"))
    seq: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(20), default="open")
    quorum: Mapped[int] = mapped_column(Integer)
    target: Mapped[int] = mapped_column(Integer)
    issued: Mapped[int] = mapped_column(Integer, default=0)
    in_flight: Mapped[int] = mapped_column(Integer, default=0)
    agreeing: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str | None] = mapped_column(String(128), nullable=True)
    accepted_order: Mapped[int | None] = mapped_column(Integer, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    __table_args__ = (
        Index("ix_fleet_units_batch_seq", "batch_id", "seq", unique=True),
        Index("ix_fleet_units_state_id", "state", "id"),
    )


class FleetReplica(Base):
    """One lease of a unit to a car, then its result (``leased`` → ``reported``, ``lost``
    (lease timed out) or ``cancelled`` (the unit closed first)); ``valid`` once judged."""

    __tablename__ = "fleet_replicas"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("fleet_units.id"))
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("fleet_vehicles.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="leased")
    leased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    result: Mapped[str | None] = mapped_column(String(128), nullable=True)
    valid: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    __table_args__ = (
        Index("ix_fleet_replicas_unit_vehicle", "unit_id", "vehicle_id", unique=True),
        Index("ix_fleet_replicas_state_expires", "state", "expires_at"),
    )


class FleetPosting(Base):
    """One side of a ledger entry: ``amount_micro_usd`` onto ``account`` (signed). Every entry
    is two postings that sum to zero, so all balances together always sum to zero."""

    __tablename__ = "fleet_postings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry: Mapped[int] = mapped_column(BigInteger, index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    account: Mapped[str] = mapped_column(String(60))
    amount_micro_usd: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("fleet_batches.id"), nullable=True)
    unit_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    __table_args__ = (Index("ix_fleet_postings_account_at", "account", "at"),)


class SweepRun(Base):
    """A design sweep run by the server: which file, how far it got, where its results are."""

    __tablename__ = "sweeps"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    file: Mapped[str] = mapped_column(String(400))
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    backend: Mapped[str] = mapped_column(String(20), default="serial")
    max_points: Mapped[int | None] = mapped_column(Integer, nullable=True)
    points_done: Mapped[int] = mapped_column(Integer, default=0)
    points_total: Mapped[int] = mapped_column(Integer, default=0)
    points_failed: Mapped[int] = mapped_column(Integer, default=0)
    eta_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    out_dir: Mapped[str] = mapped_column(String(1000), default="")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    submitted_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
