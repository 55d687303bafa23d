"""API tokens (stored as SHA-256 hashes) and the roles that gate each action."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
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
#: How long a server trusts a token it has looked up [s]: a token revoked through another
#: server on the same database is refused within this time (at once by the one that revoked it).
TOKEN_CACHE_S = 5.0


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


class TokenCache:
    """Principals of tokens looked up in the last ``ttl_s`` seconds, by the tokens' SHA-256.

    Only tokens found valid are kept (an unknown token is looked up every time); ``clear`` is
    called on every revocation, and the cache holds at most ``max_entries`` tokens.
    """

    def __init__(
        self,
        ttl_s: float = TOKEN_CACHE_S,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._held: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Principal | None:
        """The principal of the token with SHA-256 ``digest``, if looked up within ``ttl_s``."""
        found = self._held.get(digest)
        if found is None or self._clock() >= found[1]:
            return None
        return found[0]

    def put(self, digest: str, who: Principal) -> None:
        """Remember ``who`` for the token with SHA-256 ``digest`` for ``ttl_s``."""
        with self._lock:
            if len(self._held) >= self.max_entries:
                self._held.clear()
            self._held[digest] = (who, self._clock() + self.ttl_s)

    def clear(self) -> None:
        """Forget every token (after a revocation)."""
        with self._lock:
            self._held.clear()
