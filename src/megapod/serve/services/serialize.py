"""Rows as the API's JSON shapes (see docs/serve.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from megapod.serve.store.models import AuditEntry, Event, Job, TelemetryRollup, Token


def iso(t: datetime | None) -> str | None:
    """UTC ISO 8601 with a ``Z`` (SQLite hands back naive datetimes, which are UTC)."""
    if t is None:
        return None
    if t.tzinfo is None:
        return t.isoformat() + "Z"
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


#: A job's fields as the API shows them, in order (columns of the ``jobs`` table).
JOB_FIELDS = (
    "id",
    "name",
    "idempotency_key",
    "state",
    "gpus",
    "work_s",
    "partition",
    "queue",
    "priority",
    "command",
    "entrypoint",
    "args",
    "submitted_by",
    "created_at",
    "started_at",
    "ended_at",
    "sim_submit_s",
    "sim_start_s",
    "sim_end_s",
    "exit_code",
    "message",
    "log_lines",
)
_TIMES = ("created_at", "started_at", "ended_at")


def job_json(j: Job | Row[Any]) -> dict[str, Any]:
    """A job (a model object, or a row of the ``jobs`` table) as the API shows it."""
    return job_values([getattr(j, k) for k in JOB_FIELDS])


def job_values(values: Sequence[Any]) -> dict[str, Any]:
    """A job as the API shows it, from its :data:`JOB_FIELDS` values in order (a row of a
    query that selects those columns)."""
    out = dict(zip(JOB_FIELDS, values, strict=True))
    out["args"] = out["args"] or []
    for k in _TIMES:
        out[k] = iso(out[k])
    return out


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
