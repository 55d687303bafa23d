"""The ``/api/v1/sweeps`` resources: design sweeps run by the server as jobs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from pydantic import Field, StrictInt, StrictStr

from megapod.serve.api.routes import Operator, Viewer
from megapod.serve.api.schemas import Body
from megapod.serve.services.sweeps import SweepService

router = APIRouter(prefix="/api/v1")


class SweepCreate(Body):
    """A sweep of one of the server's sweep files, by name."""

    file: Annotated[StrictStr, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")]
    max_points: Annotated[StrictInt, Field(ge=1, le=100_000)] | None = None
    backend: Literal["serial", "ray"] = "serial"


def _service(request: Request) -> SweepService:
    service: SweepService = request.app.state.sweeps
    return service


@router.get("/sweeps/files", tags=["sweeps"])
def sweep_files(request: Request, _: Viewer) -> dict[str, Any]:
    """Names of the sweep files this server may run."""
    return {"files": _service(request).files()}


@router.post("/sweeps", tags=["sweeps"], status_code=201)
def submit_sweep(body: SweepCreate, request: Request, who: Operator) -> dict[str, Any]:
    """Queue a sweep; it runs after the sweeps before it, its progress written as it goes."""
    return _service(request).submit(who, body.model_dump())


@router.get("/sweeps", tags=["sweeps"])
def list_sweeps(request: Request, _: Viewer) -> dict[str, Any]:
    """Sweeps, newest first."""
    return _service(request).list()


@router.get("/sweeps/{sweep_id}", tags=["sweeps"])
def get_sweep(sweep_id: str, request: Request, _: Viewer) -> dict[str, Any]:
    """One sweep: state, progress, and the Pareto points once done."""
    return _service(request).get(sweep_id)


@router.get("/sweeps/{sweep_id}/report", tags=["sweeps"], response_class=FileResponse)
def sweep_report(sweep_id: str, request: Request, _: Viewer) -> FileResponse:
    """The finished sweep's HTML report (one self-contained page)."""
    return FileResponse(_service(request).report_path(sweep_id), media_type="text/html")
