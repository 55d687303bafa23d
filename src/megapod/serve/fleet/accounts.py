"""Owners and their vehicles: accounts, enrolment, the tokens they hold and what cars report.

Owner tokens (``mpo_…``) and vehicle tokens (``mpv_…``) are stored as SHA-256 hashes, like
the staff tokens of :mod:`megapod.serve.auth`, in the fleet's own tables: a vehicle token
can only fetch and report work for its vehicle, an owner token can enrol cars and read its
owner's statement, and neither can do anything a staff role does.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from megapod import catalog
from megapod.errors import SpecError
from megapod.serve.auth import hash_token
from megapod.serve.services.jobs import Conflict, NotFound
from megapod.serve.store.models import FleetOwner, FleetVehicle
from megapod.spec.fleet import OwnerLimits

OWNER_PREFIX = "mpo_"
VEHICLE_PREFIX = "mpv_"


@dataclass(frozen=True)
class OwnerPrincipal:
    """A request made with an owner's token."""

    owner_id: int
    name: str


@dataclass(frozen=True)
class VehiclePrincipal:
    """A request made with a vehicle's token."""

    vehicle_id: int
    owner_id: int
    name: str


def owner_account(owner_id: int) -> str:
    """The ledger account of an owner."""
    return f"owner:{owner_id}"


def _new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def owner_json(o: FleetOwner) -> dict[str, Any]:
    """An owner as the API shows it (never the token)."""
    return {"id": o.id, "name": o.name, "limits": o.limits, "created_at": _iso(o.created_at)}


def vehicle_json(v: FleetVehicle) -> dict[str, Any]:
    """A vehicle as the API shows it (never the token)."""
    return {
        "id": v.id,
        "owner_id": v.owner_id,
        "name": v.name,
        "module": v.module,
        "reputation": v.reputation,
        "results_valid": v.results_valid,
        "results_wrong": v.results_wrong,
        "plugged_in": v.plugged_in,
        "soc": v.soc,
        "tokens_per_s": v.tokens_per_s,
        "seen_at": _iso(v.seen_at),
        "revoked_at": _iso(v.revoked_at),
        "data_bytes": v.data_bytes or 0,
        "data_window_at": _iso(v.data_window_at),
    }


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def create_owner(s: Session, name: str, limits: OwnerLimits) -> tuple[FleetOwner, str]:
    """A new owner account with its limits; returns the row and its token (shown once)."""
    token = _new_token(OWNER_PREFIX)
    row = FleetOwner(name=name, token_hash=hash_token(token), limits=limits.model_dump())
    s.add(row)
    try:
        s.flush()
    except IntegrityError as exc:
        raise Conflict(f"name: an owner {name!r} exists already") from exc
    return row, token


def set_limits(s: Session, owner_id: int, limits: OwnerLimits) -> FleetOwner:
    """Replace an owner's limits (its cars read them at their next fetch)."""
    row = s.get(FleetOwner, owner_id)
    if row is None:
        raise NotFound(f"owner_id: no owner {owner_id}")
    row.limits = limits.model_dump()
    return row


def enrol(s: Session, owner: OwnerPrincipal, name: str, module: str) -> tuple[FleetVehicle, str]:
    """Enrol a car of ``owner`` (``module``: a car computer of the catalog ``vehicle``); returns
    the row and the vehicle's token (shown once)."""
    if module not in catalog.names("vehicle"):
        raise SpecError(
            "module", f"{module!r} is not a vehicle computer; known: {', '.join(catalog.names('vehicle'))}"
        )
    token = _new_token(VEHICLE_PREFIX)
    row = FleetVehicle(
        owner_id=owner.owner_id,
        name=name,
        module=module,
        token_hash=hash_token(token),
        reputation=0,
        results_valid=0,
        results_wrong=0,
    )
    s.add(row)
    try:
        s.flush()
    except IntegrityError as exc:
        raise Conflict(f"name: owner {owner.name!r} has a vehicle {name!r} already") from exc
    return row, token


def lookup_owner(s: Session, token: str) -> OwnerPrincipal | None:
    """The owner holding ``token``, or ``None``."""
    digest = hash_token(token)
    row = s.scalar(select(FleetOwner).where(FleetOwner.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return OwnerPrincipal(owner_id=row.id, name=row.name)


def lookup_vehicle(s: Session, token: str) -> VehiclePrincipal | None:
    """The vehicle holding ``token``, or ``None`` when unknown or revoked."""
    digest = hash_token(token)
    row = s.scalar(select(FleetVehicle).where(FleetVehicle.token_hash == digest))
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return VehiclePrincipal(vehicle_id=row.id, owner_id=row.owner_id, name=row.name)


def owner_limits(s: Session, owner_id: int) -> OwnerLimits:
    """The limits an owner set, as the spec model."""
    row = s.get(FleetOwner, owner_id)
    if row is None:
        raise NotFound(f"owner_id: no owner {owner_id}")
    return OwnerLimits.model_validate(row.limits)


def may_compute(limits: OwnerLimits, plugged_in: bool, soc: float, latch: bool, hour: int) -> str | None:
    """Why a car may not take work now under its owner's limits, or ``None`` when it may: not
    plugged in (unless the owner allows unplugged compute), its battery latch off (see
    :func:`megapod.fleet.rules.soc_latch`; the car keeps the latch, the server checks
    ``soc > min_soc`` too), or an hour the owner does not allow."""
    if not plugged_in and not limits.allow_unplugged:
        return "not plugged in, and the owner does not allow compute on battery"
    if not latch or soc <= limits.min_soc:
        return f"state of charge {soc:.2f}: below the owner's {limits.min_soc:.2f} (+ hysteresis to resume)"
    if hour not in limits.allowed_hours:
        return f"hour {hour}: not one of the owner's allowed hours"
    return None
