"""Rows as the API's JSON shapes (see docs/serve.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from megapod.serve.store.models import AuditEntry, Event, Job, TelemetryRollup, Token


def iso(t: datetime | None) -> str | None:
    """UTC ISO 8601 with a ``Z`` (SQLite hands back naive datetimes, which are UTC)."""
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def job_json(j: Job | Row[Any]) -> dict[str, Any]:
    """A job (a model object, or a row of the ``jobs`` table) as the API shows it."""
    return {
        "id": j.id,
        "name": j.name,
        "idempotency_key": j.idempotency_key,
        "state": j.state,
        "gpus": j.gpus,
        "work_s": j.work_s,
        "partition": j.partition,
        "queue": j.queue,
        "priority": j.priority,
        "command": j.command,
        "entrypoint": j.entrypoint,
        "args": j.args or [],
        "submitted_by": j.submitted_by,
        "created_at": iso(j.created_at),
        "started_at": iso(j.started_at),
        "ended_at": iso(j.ended_at),
        "sim_submit_s": j.sim_submit_s,
        "sim_start_s": j.sim_start_s,
        "sim_end_s": j.sim_end_s,
        "exit_code": j.exit_code,
        "message": j.message,
        "log_lines": j.log_lines,
    }


def event_json(e: Event) -> dict[str, Any]:
    """An event as the API shows it."""
    return {
        "id": e.id,
        "at": iso(e.at),
        "sim_t_s": e.sim_t_s,
        "kind": e.kind,
        "severity": e.severity,
        "message": e.message,
        "data": e.data or {},
    }


def audit_json(a: AuditEntry) -> dict[str, Any]:
    """An audit row as the API shows it."""
    return {
        "id": a.id,
        "at": iso(a.at),
        "actor": a.actor,
        "role": a.role,
        "action": a.action,
        "target": a.target,
        "detail": a.detail or {},
    }


def token_json(t: Token) -> dict[str, Any]:
    """A token's record (never the token)."""
    return {
        "id": t.id,
        "name": t.name,
        "role": t.role,
        "created_at": iso(t.created_at),
        "revoked_at": iso(t.revoked_at),
    }


def rollup_json(r: TelemetryRollup) -> dict[str, Any]:
    """A telemetry rollup as the API shows it."""
    return {
        "at": iso(r.at),
        "sim_t_s": r.sim_t_s,
        "metric": r.metric,
        "mean": r.mean,
        "min": r.min,
        "max": r.max,
        "n": r.n,
    }
