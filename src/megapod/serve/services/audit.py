"""The audit log: one row for every write through the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from megapod.serve.auth import Principal
from megapod.serve.store.bulk import insert_rows
from megapod.serve.store.models import AuditEntry


def audit(s: Session, who: Principal, action: str, target: str = "", **detail: Any) -> None:
    """Record that ``who`` did ``action`` on ``target`` (in the caller's transaction)."""
    audit_rows(s, [audit_row(who, action, target, **detail)])


def audit_row(who: Principal, action: str, target: str = "", **detail: Any) -> dict[str, Any]:
    """The audit row of ``who`` doing ``action`` on ``target``, for :func:`audit_rows`."""
    return {"actor": who.name, "role": who.role, "action": action, "target": target, "detail": detail}


def audit_rows(s: Session, rows: list[dict[str, Any]]) -> None:
    """Record rows of :func:`audit_row` in one statement (in the caller's transaction)."""
    insert_rows(s, AuditEntry, rows)
