"""The ``/api/v1`` resources: site, pods, nodes, jobs, events, audit, telemetry, power, tokens."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from sqlalchemy import select

from megapod.serve import auth
from megapod.serve.api import deps
from megapod.serve.api.schemas import CapSet, JobCreate, NodeMapOut, PowerSettings, SessionCreate, TokenCreate
from megapod.serve.plane import ControlPlane
from megapod.serve.services import jobs, power, site, tokens
from megapod.serve.services.audit import audit
from megapod.serve.services.serialize import audit_json, event_json, rollup_json
from megapod.serve.store.models import AuditEntry, Event, TelemetryRollup

router = APIRouter(prefix="/api/v1")

Plane = Annotated[ControlPlane, Depends(deps.plane_dependency)]
Viewer = Annotated[auth.Principal, Depends(deps.viewer_on_loop)]
Operator = Annotated[auth.Principal, Depends(deps.operator_on_loop)]
Admin = Annotated[auth.Principal, Depends(deps.admin_on_loop)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
Limit = Annotated[int, Query(ge=1, le=1000)]
JobState = Literal["pending", "queued", "running", "done", "failed", "cancelled"]
Text = Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]


# ---------------------------------------------------------------- session
@router.post("/session", tags=["auth"])
def login(body: SessionCreate, plane: Plane, response: Response) -> dict[str, Any]:
    """Check a token and hold it in the HttpOnly ``megapod_token`` cookie."""
    with plane.db.session() as s:
        who = auth.lookup(s, body.token)
        if who is None:
            raise HTTPException(401, "token: unknown or revoked token")
        audit(s, who, "session.login")
    response.set_cookie(
        auth.COOKIE,
        body.token,
        httponly=True,
        samesite="strict",
        path="/",
        secure=not plane.settings.loopback,
        max_age=7 * 86400,
    )
    return {"name": who.name, "role": who.role}


@router.get("/session", tags=["auth"])
def whoami(who: Viewer) -> dict[str, Any]:
    """The caller's name and role."""
    return {"name": who.name, "role": who.role}


@router.delete("/session", tags=["auth"], status_code=204)
def logout(response: Response) -> Response:
    """Clear the session cookie."""
    response.delete_cookie(auth.COOKIE, path="/")
    response.status_code = 204
    return response


# ---------------------------------------------------------------- site
@router.get("/site", tags=["site"])
def get_site(plane: Plane, _: Viewer) -> dict[str, Any]:
    """Spec, inventory and live state."""
    return site.site_view(plane)


@router.get("/site/state", tags=["site"])
async def get_state(plane: Plane, _: Viewer) -> dict[str, Any]:
    """The compact live state (what the stream sends; read from memory, on the event loop)."""
    return plane.latest


@router.get("/site/map", tags=["site"])
def get_map(plane: Plane, _: Viewer) -> dict[str, Any]:
    """Pods → racks → nodes, aggregated per pod design."""
    return site.site_map(plane)


@router.get("/site/map/nodes", tags=["site"], response_model=NodeMapOut)
def get_node_map(plane: Plane, _: Viewer) -> dict[str, Any]:
    """Every node's state (one character each, in node order) and a row per pod design."""
    return site.node_map(plane)


@router.get("/pods", tags=["site"])
def get_pods(plane: Plane, _: Viewer) -> dict[str, Any]:
    """Every pod design."""
    return {"items": [site.pod_json(p) for p in plane.site.pods]}


@router.get("/pods/{name}", tags=["site"])
def get_pod(name: str, plane: Plane, _: Viewer) -> dict[str, Any]:
    """One pod design."""
    found = site.find_pod(plane, name)
    if found is None:
        known = ", ".join(p.name for p in plane.site.pods)
        raise HTTPException(404, f"name: no pod {name!r}; known: {known}")
    return found


@router.get("/nodes", tags=["site"])
def get_nodes(
    plane: Plane, _: Viewer, pod: Text | None = None, offset: Offset = 0, limit: Limit = 100
) -> dict[str, Any]:
    """Nodes a page at a time."""
    if pod is not None and site.find_pod(plane, pod) is None:
        raise HTTPException(404, f"pod: no pod {pod!r}")
    return site.nodes(plane, pod, offset, limit)


# ---------------------------------------------------------------- jobs
@router.post(
    "/jobs",
    tags=["jobs"],
    status_code=201,
    responses={200: {"description": "the job already accepted under this idempotency key and body"}},
)
def submit_job(body: JobCreate, plane: Plane, who: Operator, response: Response) -> dict[str, Any]:
    """Submit a job; the same idempotency key and body answer the same job (200)."""
    job, created = jobs.submit(plane, who, body.model_dump())
    if not created:
        response.status_code = 200
    return job


# Job reads run on the event loop: one indexed query of a local SQLite file or a loopback
# PostgreSQL takes about 0.1-0.3 ms, less than handing the request to a worker thread and back.
@router.get("/jobs", tags=["jobs"])
async def list_jobs(
    plane: Plane,
    _: Viewer,
    state: JobState | None = None,
    queue: Text | None = None,
    name: Text | None = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Jobs newest first."""
    return jobs.list_jobs(plane, state, queue, name, offset, limit)


@router.get("/jobs/{job_id}", tags=["jobs"])
async def get_job(job_id: str, plane: Plane, _: Viewer) -> dict[str, Any]:
    """One job."""
    return jobs.get_job(plane, job_id)


@router.post("/jobs/{job_id}/cancel", tags=["jobs"])
def cancel_job(job_id: str, plane: Plane, who: Operator) -> dict[str, Any]:
    """Cancel a job that has not ended."""
    return jobs.cancel(plane, who, job_id)


@router.post("/jobs/{job_id}/preempt", tags=["jobs"])
def preempt_job(job_id: str, plane: Plane, who: Operator) -> dict[str, Any]:
    """Preempt a running job: its ranks may checkpoint, then it waits and restarts (``local``)."""
    return jobs.preempt(plane, who, job_id)


@router.get("/jobs/{job_id}/logs", tags=["jobs"])
def job_logs(job_id: str, plane: Plane, _: Viewer, offset: Offset = 0, limit: Limit = 1000) -> dict[str, Any]:
    """Output lines from ``offset`` on."""
    return jobs.logs(plane, job_id, offset, limit)


# ---------------------------------------------------------------- records
@router.get("/events", tags=["records"])
def list_events(
    plane: Plane, _: Viewer, kind: Text | None = None, since_id: Offset = 0, limit: Limit = 100
) -> dict[str, Any]:
    """Events after ``since_id``, oldest first."""
    q = select(Event).where(Event.id > since_id)
    if kind is not None:
        q = q.where(Event.kind == kind)
    with plane.db.session() as s:
        return {"items": [event_json(e) for e in s.scalars(q.order_by(Event.id).limit(limit))]}


@router.get("/audit", tags=["records"])
def list_audit(plane: Plane, _: Viewer, since_id: Offset = 0, limit: Limit = 100) -> dict[str, Any]:
    """Audit rows after ``since_id``, oldest first."""
    q = select(AuditEntry).where(AuditEntry.id > since_id).order_by(AuditEntry.id).limit(limit)
    with plane.db.session() as s:
        return {"items": [audit_json(a) for a in s.scalars(q)]}


@router.get("/telemetry/scopes", tags=["records"])
def telemetry_scopes(plane: Plane, _: Viewer) -> dict[str, Any]:
    """Scopes that have telemetry."""
    with plane.db.session() as s:
        return {"scopes": sorted(s.scalars(select(TelemetryRollup.scope).distinct()))}


@router.get("/telemetry", tags=["records"])
def telemetry(
    plane: Plane,
    _: Viewer,
    scope: Text = "site",
    metric: Text | None = None,
    since_s: Annotated[float | None, Query(ge=0, le=1e12)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 600,
) -> dict[str, Any]:
    """The most recent rollups of one scope, oldest first."""
    q = select(TelemetryRollup).where(TelemetryRollup.scope == scope)
    if metric is not None:
        q = q.where(TelemetryRollup.metric == metric)
    if since_s is not None:
        q = q.where(TelemetryRollup.sim_t_s >= since_s)
    with plane.db.session() as s:
        rows = list(s.scalars(q.order_by(TelemetryRollup.id.desc()).limit(limit)))
    return {"scope": scope, "points": [rollup_json(r) for r in reversed(rows)]}


# ---------------------------------------------------------------- power
@router.get("/power", tags=["power"])
def get_power(plane: Plane, _: Viewer) -> dict[str, Any]:
    """Budget, cap (requested and enforced), settings and present power."""
    return power.power_view(plane)


@router.put("/power/cap", tags=["power"])
def put_cap(body: CapSet, plane: Plane, who: Operator) -> dict[str, Any]:
    """Set or lift the per-GPU power cap (an operator action: audited and an event)."""
    return power.set_cap(plane, who, body.gpu_cap_w)


@router.put("/power/settings", tags=["power"])
def put_settings(body: PowerSettings, plane: Plane, who: Operator) -> dict[str, Any]:
    """Battery reserve and grid limit."""
    return power.set_settings(plane, who, body.model_dump(exclude_unset=True))


# ---------------------------------------------------------------- tokens
@router.get("/tokens", tags=["auth"])
def get_tokens(plane: Plane, _: Admin) -> dict[str, Any]:
    """Every token's record (never the tokens)."""
    return tokens.list_tokens(plane)


@router.post("/tokens", tags=["auth"], status_code=201)
def post_token(body: TokenCreate, plane: Plane, who: Admin) -> dict[str, Any]:
    """A new token, shown once."""
    return tokens.create(plane, who, body.name, body.role)


@router.delete("/tokens/{token_id}", tags=["auth"], status_code=204)
def delete_token(
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)], plane: Plane, who: Admin, request: Request
) -> Response:
    """Revoke a token (refused from now on: the server's token cache is emptied)."""
    tokens.revoke(plane, who, token_id)
    request.app.state.token_cache.clear()
    return Response(status_code=204)
