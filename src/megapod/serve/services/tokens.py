"""Tokens: create, list and revoke (admin)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from megapod.serve import auth
from megapod.serve.plane import ControlPlane
from megapod.serve.services.audit import audit
from megapod.serve.services.jobs import NotFound
from megapod.serve.services.serialize import token_json
from megapod.serve.store.models import Token, utcnow


def create(plane: ControlPlane, who: auth.Principal, name: str, role: str) -> dict[str, Any]:
    """A new token; the answer is the only place the token itself appears."""
    with plane.db.session() as s:
        row, token = auth.create_token(s, name, role)
        audit(s, who, "token.create", f"token:{row.id}", name=row.name, role=row.role)
        return {**token_json(row), "token": token}


def list_tokens(plane: ControlPlane) -> dict[str, Any]:
    """Every token's record."""
    with plane.db.session() as s:
        return {"items": [token_json(t) for t in s.scalars(select(Token).order_by(Token.id))]}


def revoke(plane: ControlPlane, who: auth.Principal, token_id: int) -> None:
    """Revoke a token (its requests answer 401 from now on)."""
    with plane.db.session() as s:
        row = s.get(Token, token_id)
        if row is None:
            raise NotFound(f"token_id: no token {token_id}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        audit(s, who, "token.revoke", f"token:{token_id}", name=row.name)
