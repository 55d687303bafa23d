"""The audit log: one row for every write through the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from megapod.serve.auth import Principal
from megapod.serve.store.models import AuditEntry


def audit(s: Session, who: Principal, action: str, target: str = "", **detail: Any) -> None:
    """Record that ``who`` did ``action`` on ``target`` (in the caller's transaction)."""
    s.add(AuditEntry(actor=who.name, role=who.role, action=action, target=target, detail=detail))
