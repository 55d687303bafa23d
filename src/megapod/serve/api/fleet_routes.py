"""The ``/api/v1/fleet`` resources: owners, vehicles, work batches, leases, results, the books.

Three kinds of caller: staff tokens (roles of :mod:`megapod.serve.auth`: operators create
owners and batches and settle payouts, viewers read), owner tokens (``mpo_…``: enrol cars,
read the owner's own vehicles and statement) and vehicle tokens (``mpv_…``: lease work and
report results for that vehicle only). Routers parse and authorise; the coordinator works.
"""

from __future__ import annotations

import math
import re
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response

from megapod.fleet.ledger import MICRO_USD
from megapod.serve import auth
from megapod.serve.api import deps
from megapod.serve.api.fleet_schemas import (
    BatchCreate,
    LimitsSet,
    OwnerCreate,
    ResultBatch,
    ResultIn,
    VehicleCreate,
    WorkRequest,
)
from megapod.serve.fleet import accounts, books
from megapod.serve.fleet.coordinator import Coordinator, check_batch_fields
from megapod.serve.services.audit import audit

router = APIRouter(prefix="/api/v1/fleet", tags=["fleet"])
_make_lock = threading.Lock()

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Month = Annotated[str, Query(min_length=7, max_length=7, pattern=r"^\d{4}-\d{2}$")]


def coordinator_of(request: Request) -> Coordinator:
    """The app's coordinator, made on first use on the control plane's database."""
    state = request.app.state
    found: Coordinator | None = getattr(state, "fleet", None)
    if found is None:
        with _make_lock:
            found = getattr(state, "fleet", None)
            if found is None:
                found = Coordinator(deps.plane_of(request).db)
                state.fleet = found
    return found


def _token(request: Request) -> str:
    token = deps.token_of(request)
    if not token:
        raise HTTPException(
            401,
            "authorization: a token is required (Bearer header or session cookie)",
            {"WWW-Authenticate": "Bearer"},
        )
    return token


def _rate(request: Request, key: int) -> None:
    wait_s = request.app.state.rate_limiter.take(key)
    if wait_s > 0:
        limit = request.app.state.settings.rate_per_s
        raise HTTPException(
            429,
            f"rate: more than {limit:g} requests/s for this token",
            {"Retry-After": str(math.ceil(wait_s))},
        )


def _unknown() -> HTTPException:
    return HTTPException(401, "authorization: unknown or revoked token", {"WWW-Authenticate": "Bearer"})


def vehicle(request: Request) -> accounts.VehiclePrincipal:
    """The vehicle a request comes from (401 unknown token, 403 not a vehicle token)."""
    token = _token(request)
    if not token.startswith(accounts.VEHICLE_PREFIX):
        raise HTTPException(403, "role: only a vehicle token (mpv_…) may lease work and report results")
    with deps.plane_of(request).db.session() as s:
        who = accounts.lookup_vehicle(s, token)
    if who is None:
        raise _unknown()
    _rate(request, -2 * who.vehicle_id)
    return who


def owner(request: Request) -> accounts.OwnerPrincipal:
    """The owner a request comes from (401 unknown token, 403 not an owner token)."""
    token = _token(request)
    if not token.startswith(accounts.OWNER_PREFIX):
        raise HTTPException(403, "role: only an owner token (mpo_…) may enrol vehicles")
    with deps.plane_of(request).db.session() as s:
        who = accounts.lookup_owner(s, token)
    if who is None:
        raise _unknown()
    _rate(request, -2 * who.owner_id - 1)
    return who


def owner_or_viewer(request: Request) -> accounts.OwnerPrincipal | auth.Principal:
    """An owner (who sees their own records) or a staff viewer (who sees everyone's)."""
    token = deps.token_of(request) or ""
    if token.startswith(accounts.OWNER_PREFIX):
        return owner(request)
    if token.startswith(accounts.VEHICLE_PREFIX):
        raise HTTPException(403, "role: a vehicle token may only lease work and report results")
    return deps.viewer(request)


Co = Annotated[Coordinator, Depends(coordinator_of)]
Vehicle = Annotated[accounts.VehiclePrincipal, Depends(vehicle)]
Owner = Annotated[accounts.OwnerPrincipal, Depends(owner)]
Reader = Annotated[accounts.OwnerPrincipal | auth.Principal, Depends(owner_or_viewer)]
Viewer = Annotated[auth.Principal, Depends(deps.viewer)]
Operator = Annotated[auth.Principal, Depends(deps.operator)]


def _own(who: accounts.OwnerPrincipal | auth.Principal, owner_id: int) -> None:
    if isinstance(who, accounts.OwnerPrincipal) and who.owner_id != owner_id:
        raise HTTPException(403, f"owner_id: {owner_id} is another owner's account")


# ---------------------------------------------------------------- owners and vehicles
@router.post("/owners", status_code=201)
def create_owner(body: OwnerCreate, co: Co, who: Operator) -> dict[str, Any]:
    """A new owner account; the answer is the only place its token appears."""
    with co.db.session() as s:
        row, token = accounts.create_owner(s, body.name, body.limits)
        audit(s, who, "fleet.owner.create", f"owner:{row.id}", name=row.name)
        return {**accounts.owner_json(row), "token": token}


@router.get("/owners")
def list_owners(co: Co, who: Reader) -> dict[str, Any]:
    """Owner accounts (an owner sees its own)."""
    from sqlalchemy import select

    from megapod.serve.store.models import FleetOwner

    q = select(FleetOwner).order_by(FleetOwner.id)
    if isinstance(who, accounts.OwnerPrincipal):
        q = q.where(FleetOwner.id == who.owner_id)
    with co.db.session() as s:
        return {"items": [accounts.owner_json(o) for o in s.scalars(q)]}


@router.put("/owners/{owner_id}/limits")
def put_limits(owner_id: Id, body: LimitsSet, co: Co, who: Operator) -> dict[str, Any]:
    """Replace an owner's limits."""
    with co.db.session() as s:
        row = accounts.set_limits(s, owner_id, body.limits)
        audit(s, who, "fleet.owner.limits", f"owner:{owner_id}")
        return accounts.owner_json(row)


@router.post("/vehicles", status_code=201)
def enrol(body: VehicleCreate, co: Co, who: Owner) -> dict[str, Any]:
    """Enrol a car of the calling owner; the answer is the only place its token appears."""
    with co.db.session() as s:
        row, token = accounts.enrol(s, who, body.name, body.module)
        return {**accounts.vehicle_json(row), "token": token}


@router.get("/vehicles")
def list_vehicles(co: Co, who: Reader, offset: Offset = 0, limit: Limit = 100) -> dict[str, Any]:
    """Enrolled cars with their reputation (an owner sees its own)."""
    from sqlalchemy import select

    from megapod.serve.store.models import FleetVehicle

    q = select(FleetVehicle).order_by(FleetVehicle.id).offset(offset).limit(limit)
    if isinstance(who, accounts.OwnerPrincipal):
        q = q.where(FleetVehicle.owner_id == who.owner_id)
    with co.db.session() as s:
        return {"items": [accounts.vehicle_json(v) for v in s.scalars(q)]}


@router.get("/vehicle")
def this_vehicle(co: Co, who: Vehicle) -> dict[str, Any]:
    """The calling car and its owner's limits."""
    from megapod.serve.store.models import FleetVehicle

    with co.db.session() as s:
        row = s.get(FleetVehicle, who.vehicle_id)
        limits = accounts.owner_limits(s, who.owner_id)
        return {**accounts.vehicle_json(row), "limits": limits.model_dump()}  # type: ignore[arg-type]


# ---------------------------------------------------------------- batches
@router.post(
    "/batches",
    status_code=201,
    responses={200: {"description": "the batch already made under this idempotency key and body"}},
)
def create_batch(body: BatchCreate, co: Co, who: Operator, response: Response) -> dict[str, Any]:
    """A batch of work units (the same idempotency key and body answer the same batch, 200)."""
    data = body.model_dump()
    check_batch_fields(data)
    batch, created = co.create_batch(who, data)
    if not created:
        response.status_code = 200
    return batch


@router.get("/batches")
def list_batches(co: Co, _: Viewer, offset: Offset = 0, limit: Limit = 100) -> dict[str, Any]:
    """Batches newest first."""
    return co.batches(offset, limit)


@router.get("/batches/{batch_id}")
def get_batch(batch_id: Id, co: Co, _: Viewer) -> dict[str, Any]:
    """One batch and its units by state."""
    return co.batch(batch_id)


@router.get("/batches/{batch_id}/units")
def get_units(batch_id: Id, co: Co, _: Viewer, offset: Offset = 0, limit: Limit = 1000) -> dict[str, Any]:
    """A batch's units with their replicas and results."""
    return co.units(batch_id, offset, limit)


# ---------------------------------------------------------------- the car's side
@router.post("/work")
def lease(body: WorkRequest, co: Co, who: Vehicle) -> dict[str, Any]:
    """Report the car's state and lease units it can finish (``items`` may be empty: ``reason``)."""
    return co.lease(who, body.state.model_dump(), body.max_units, body.max_runtime_s)


@router.post("/results")
def report(body: ResultIn, co: Co, who: Vehicle) -> dict[str, Any]:
    """The result of one lease."""
    out = co.report(who, [(body.replica_id, body.result)])[0]
    if out["status"] == "unknown":
        raise HTTPException(404, f"replica_id: no lease {body.replica_id} of this vehicle")
    return out


@router.post("/results/batch")
def report_batch(body: ResultBatch, co: Co, who: Vehicle) -> dict[str, Any]:
    """Results of several leases; each item answers its own status."""
    return {"items": co.report(who, [(i.replica_id, i.result) for i in body.items])}


# ---------------------------------------------------------------- the books
#: Cars seen within this many seconds count as reporting [s].
REPORTING_S = 600.0


@router.get("/summary")
def fleet_summary(request: Request, co: Co, _: Viewer) -> dict[str, Any]:
    """The fleet at a glance, for the dashboard: the site's fleet model (cars and the share that
    may compute by hour) and the coordinator's cars, units, replicas in flight and money."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from megapod.serve.store.models import FleetReplica, FleetUnit, FleetVehicle, utcnow

    site_fleet = deps.plane_of(request).site.fleet
    model = None
    if site_fleet is not None:
        cached = getattr(request.app.state, "fleet_availability", None)
        if cached is None:
            from megapod.fleet.availability import availability_by_hour

            cached = availability_by_hour(site_fleet, seed=site_fleet.seed)
            request.app.state.fleet_availability = cached
        model = {
            "vehicles": site_fleet.vehicles,
            "module": site_fleet.module.name,
            "availability_by_hour": cached,
        }
    with co.db.session() as s:
        cars = int(s.scalar(select(func.count()).select_from(FleetVehicle)) or 0)
        recent = utcnow() - timedelta(seconds=REPORTING_S)
        reporting = int(
            s.scalar(select(func.count()).select_from(FleetVehicle).where(FleetVehicle.seen_at >= recent))
            or 0
        )
        units = {
            str(k): int(v)
            for k, v in s.execute(select(FleetUnit.state, func.count()).group_by(FleetUnit.state))
        }
        leased = select(func.count()).select_from(FleetReplica).where(FleetReplica.state == "leased")
        in_flight = int(s.scalar(leased) or 0)
        money = books.balances(s)["accounts_micro_usd"]
    owners = sum(v for k, v in money.items() if k.startswith("owner:"))
    return {
        "enabled": model is not None or cars > 0,
        "model": model,
        "vehicles": cars,
        "vehicles_reporting": reporting,
        "units": units,
        "replicas_in_flight": in_flight,
        "revenue_usd": -money.get(books.CUSTOMER_ACCOUNT, 0) / MICRO_USD,
        "owners_paid_usd": owners / MICRO_USD,
        "operator_usd": money.get(books.OPERATOR_ACCOUNT, 0) / MICRO_USD,
    }


@router.get("/ledger/balances")
def get_balances(co: Co, _: Viewer) -> dict[str, Any]:
    """Every account's balance [µUSD]; their sum is always 0."""
    with co.db.session() as s:
        return books.balances(s)


@router.post("/payouts")
def settle(co: Co, who: Operator) -> dict[str, Any]:
    """Book the payouts every batch's scheme owes so far (a closing batch does it itself)."""
    return co.settle_all(who)


@router.get("/owners/{owner_id}/statement")
def get_statement(owner_id: Id, co: Co, who: Reader, month: Month) -> dict[str, Any]:
    """An owner's month (``month=YYYY-MM``, UTC): opening, payouts, closing [µUSD]."""
    _own(who, owner_id)
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise HTTPException(422, f"month = {month!r}: expected YYYY-MM with a month 01 to 12")
    with co.db.session() as s:
        return books.statement(s, owner_id, month)
