"""Request dependencies: the control plane and the caller's principal, checked by role."""

from __future__ import annotations

import math
from collections.abc import Callable

from fastapi import HTTPException, Request

from megapod.serve import auth
from megapod.serve.plane import ControlPlane


def plane_of(request: Request) -> ControlPlane:
    """The control plane of the app serving ``request``."""
    plane: ControlPlane = request.app.state.plane
    return plane


def token_of(request: Request) -> str | None:
    """The token a request carries: the bearer header first, then the cookie."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise HTTPException(401, "authorization: expected 'Bearer TOKEN'", {"WWW-Authenticate": "Bearer"})
        return value.strip()
    return request.cookies.get(auth.COOKIE)


def principal(request: Request) -> auth.Principal:
    """The caller, or 401 when the token is missing, unknown or revoked."""
    token = token_of(request)
    if not token:
        raise HTTPException(
            401,
            "authorization: a token is required (Bearer header or session cookie)",
            {"WWW-Authenticate": "Bearer"},
        )
    with plane_of(request).db.session() as s:
        who = auth.lookup(s, token)
    if who is None:
        raise HTTPException(401, "authorization: unknown or revoked token", {"WWW-Authenticate": "Bearer"})
    wait_s = request.app.state.rate_limiter.take(who.token_id)
    if wait_s > 0:
        limit = request.app.state.settings.rate_per_s
        raise HTTPException(
            429,
            f"rate: more than {limit:g} requests/s for this token",
            {"Retry-After": str(math.ceil(wait_s))},
        )
    request.state.principal = who
    return who


def require(role: auth.Role) -> Callable[[Request], auth.Principal]:
    """A dependency that admits callers whose role includes ``role`` (else 403)."""

    def check(request: Request) -> auth.Principal:
        who = principal(request)
        if not who.may(role):
            raise HTTPException(403, f"role: {who.role} may not do this; it needs {role}")
        return who

    check.__name__ = f"require_{role}"
    return check


viewer = require("viewer")
operator = require("operator")
admin = require("admin")
