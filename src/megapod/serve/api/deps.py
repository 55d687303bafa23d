"""Request dependencies: the control plane and the caller's principal, checked by role."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

import anyio
from fastapi import HTTPException, Request

from megapod.serve import auth
from megapod.serve.plane import ControlPlane


def plane_of(request: Request) -> ControlPlane:
    """The control plane of the app serving ``request``."""
    plane: ControlPlane = request.app.state.plane
    return plane


async def plane_dependency(request: Request) -> ControlPlane:
    """:func:`plane_of` as a dependency: a coroutine, so FastAPI runs it on the event loop
    (a plain function dependency is handed to a worker thread on every request)."""
    return plane_of(request)


def token_of(request: Request) -> str | None:
    """The token a request carries: the bearer header first, then the cookie."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise HTTPException(401, "authorization: expected 'Bearer TOKEN'", {"WWW-Authenticate": "Bearer"})
        return value.strip()
    return request.cookies.get(auth.COOKIE)


#: Who every request is on a server started with ``--insecure-local`` (no token is checked).
LOCAL = auth.Principal(token_id=0, name="local", role="admin")


def _token_required() -> HTTPException:
    return HTTPException(
        401,
        "authorization: a token is required (Bearer header or session cookie)",
        {"WWW-Authenticate": "Bearer"},
    )


def _unknown_token() -> HTTPException:
    return HTTPException(401, "authorization: unknown or revoked token", {"WWW-Authenticate": "Bearer"})


def _lookup(plane: ControlPlane, token: str) -> auth.Principal | None:
    with plane.db.session() as s:
        return auth.lookup(s, token)


def _admit(request: Request, who: auth.Principal) -> auth.Principal:
    """Spend one request of ``who``'s rate (429 when it is spent) and note the caller."""
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


def _cached(request: Request) -> tuple[auth.Principal | None, str, str]:
    """The principal when it needs no database (insecure-local, or a token looked up in the
    last :data:`megapod.serve.auth.TOKEN_CACHE_S`), the token and its digest."""
    if request.app.state.settings.insecure_local:
        return LOCAL, "", ""
    token = token_of(request)
    if not token:
        raise _token_required()
    digest = auth.hash_token(token)
    cache: auth.TokenCache = request.app.state.token_cache
    return cache.get(digest), token, digest


def principal(request: Request) -> auth.Principal:
    """The caller, or 401 when the token is missing, unknown or revoked (on an
    ``--insecure-local`` server: :data:`LOCAL`, an admin).

    A token found valid is trusted for :data:`megapod.serve.auth.TOKEN_CACHE_S` seconds
    without asking the database again (a revocation empties that cache)."""
    who, token, digest = _cached(request)
    if who is None:
        who = _lookup(plane_of(request), token)
        if who is None:
            raise _unknown_token()
        request.app.state.token_cache.put(digest, who)
    return _admit(request, who)


async def principal_on_loop(request: Request) -> auth.Principal:
    """:func:`principal` run on the event loop: no worker thread is taken unless the token
    must be looked up in the database."""
    who, token, digest = _cached(request)
    if who is None:
        who = await anyio.to_thread.run_sync(_lookup, plane_of(request), token)
        if who is None:
            raise _unknown_token()
        request.app.state.token_cache.put(digest, who)
    return _admit(request, who)


def _role_check(who: auth.Principal, role: auth.Role) -> auth.Principal:
    if not who.may(role):
        raise HTTPException(403, f"role: {who.role} may not do this; it needs {role}")
    return who


def require(role: auth.Role) -> Callable[[Request], auth.Principal]:
    """A dependency (or a plain call) that admits callers whose role includes ``role`` (else 403)."""

    def check(request: Request) -> auth.Principal:
        return _role_check(principal(request), role)

    check.__name__ = f"require_{role}"
    return check


def require_on_loop(role: auth.Role) -> Callable[[Request], Awaitable[auth.Principal]]:
    """:func:`require` as a dependency that runs on the event loop (see :func:`principal_on_loop`)."""

    async def check(request: Request) -> auth.Principal:
        return _role_check(await principal_on_loop(request), role)

    check.__name__ = f"require_{role}_on_loop"
    return check


viewer = require("viewer")
operator = require("operator")
admin = require("admin")
#: The same checks as dependencies on the event loop (what the ``/api/v1`` routes use).
viewer_on_loop = require_on_loop("viewer")
operator_on_loop = require_on_loop("operator")
admin_on_loop = require_on_loop("admin")
