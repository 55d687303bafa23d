"""API tokens (stored as SHA-256 hashes) and the roles that gate each action."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from megapod.errors import SpecError
from megapod.serve.store.models import Token

Role = Literal["viewer", "operator", "admin"]
#: Roles from least to most allowed; each may do what the ones before it may.
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")
#: Name of the cookie ``POST /api/v1/session`` sets.
COOKIE = "megapod_token"
#: Prefix of every token, so that a leaked one is easy to recognise.
PREFIX = "mpt_"


@dataclass(frozen=True)
class Principal:
    """Who makes a request: the token's id, holder name and role."""

    token_id: int
    name: str
    role: Role

    def may(self, role: Role) -> bool:
        """Whether this principal's role includes ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token (tokens are 256-bit random, so no salt or stretching)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_role(role: str) -> Role:
    """``role`` as a :data:`Role`, or a :class:`SpecError` naming the choices."""
    for r in ROLES:
        if role == r:
            return r
    raise SpecError("role", f"{role!r} is not a role; use one of {', '.join(ROLES)}")


def create_token(session: Session, name: str, role: str, token: str | None = None) -> tuple[Token, str]:
    """Store a new token for ``name`` with ``role``; returns the row and the token (shown once)."""
    checked = check_role(role)
    name = name.strip()
    if not 0 < len(name) <= 200:
        raise SpecError("name", "must be 1 to 200 characters")
    if token is None:
        token = PREFIX + secrets.token_urlsafe(32)
    elif len(token) < 16:
        raise SpecError("token", "must be at least 16 characters")
    row = Token(name=name, role=checked, token_hash=hash_token(token))
    session.add(row)
    session.flush()
    return row, token


def count_tokens(session: Session) -> int:
    """Tokens ever created (revoked included)."""
    return int(session.scalar(select(func.count()).select_from(Token)) or 0)


def lookup(session: Session, token: str) -> Principal | None:
    """The principal holding ``token``, or ``None`` when it is unknown or revoked."""
    if not token or len(token) > 512:
        return None
    digest = hash_token(token)
    row = session.scalar(select(Token).where(Token.token_hash == digest))
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return Principal(token_id=row.id, name=row.name, role=check_role(row.role))
