"""Errors as JSON ``{"detail": "..."}`` naming the field, the value and the limit."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from megapod.errors import MegapodError
from megapod.serve.backends.base import BackendConflict
from megapod.serve.services.jobs import Conflict, NotFound

log = logging.getLogger("megapod.serve")


class ErrorBody(BaseModel):
    """Every error's answer: one line naming the field, the value and the limit."""

    detail: str


_WHY = {
    400: "malformed JSON",
    401: "no, unknown or revoked token",
    403: "the token's role may not do this",
    404: "no such resource",
    409: "at odds with the present state (e.g. an idempotency key reused with another body)",
    413: "body over the size limit",
    422: "a value out of range or an unknown field",
    429: "too many requests for this token (see Retry-After)",
}
#: The error answers every operation may give, as the OpenAPI document lists them.
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": why} for code, why in _WHY.items()
}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def validation_message(errors: list[Any]) -> tuple[int, str]:
    """The status and one line for a request that failed validation (400 for bad JSON)."""
    parts = []
    status = 422
    for e in errors[:5]:
        loc = [str(x) for x in e.get("loc", ()) if x not in ("body",)]
        where = ".".join(loc) or "body"
        if e.get("type") == "json_invalid":
            status = 400
            parts.append(f"body: malformed JSON ({e.get('ctx', {}).get('error', 'cannot parse')})")
            continue
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        if e.get("type") == "missing":
            parts.append(f"{where}: required")
        elif e.get("type") == "extra_forbidden":
            parts.append(f"{where}: unknown field")
        elif "input" in e and not isinstance(e["input"], dict | list):
            parts.append(f"{where} = {_show(e['input'])}: {msg}")
        else:
            parts.append(f"{where}: {msg}")
    if len(errors) > 5:
        parts.append(f"and {len(errors) - 5} more")
    return status, "; ".join(parts)


def install(app: FastAPI) -> None:
    """Map every error to a JSON answer with the right status."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        status, message = validation_message(list(exc.errors()))
        return JSONResponse({"detail": message}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(MegapodError)
    async def _megapod(_: Request, exc: MegapodError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(NotFound)
    async def _missing(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc.args[0]) if exc.args else "not found"}, status_code=404)

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(BackendConflict)
    async def _backend(_: Request, exc: BackendConflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        return JSONResponse(
            {"detail": "a value the database cannot store (e.g. a NUL character)"}, status_code=422
        )

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error", exc_info=exc)
        return JSONResponse({"detail": f"internal error ({type(exc).__name__})"}, status_code=500)
