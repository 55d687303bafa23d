"""``GET /api/v1/stream``: the compact live state as Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from megapod.serve.api.routes import Plane, Viewer

router = APIRouter(prefix="/api/v1")


@router.get("/stream", tags=["site"], response_class=StreamingResponse)
async def stream(
    request: Request,
    plane: Plane,
    _: Viewer,
    interval_s: Annotated[float | None, Query(ge=0.05, le=60)] = None,
    max_events: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> StreamingResponse:
    """``event: state`` with the live state every ``interval_s`` (default: the server's, 1 s);
    the stream ends after ``max_events`` when given."""
    every = interval_s or plane.settings.stream_interval_s

    async def events() -> AsyncIterator[str]:
        yield f"retry: {int(every * 1000)}\n\n"
        sent = 0
        while max_events is None or sent < max_events:
            if await request.is_disconnected():
                return
            sent += 1
            data = json.dumps(plane.latest, separators=(",", ":"), allow_nan=False, default=str)
            yield f"id: {sent}\nevent: state\ndata: {data}\n\n"
            if max_events is not None and sent >= max_events:
                return
            await asyncio.sleep(every)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
