"""The fleet coordinator: work batches, leases, results judged by quorum, reputation, the books.

State lives in the database (tables ``fleet_*``, revision 0002); the coordinator holds only a
lock, its clock and the generator of spot checks. The SQL of leases and results is in
:mod:`megapod.serve.fleet.leases`, the ledger's in :mod:`megapod.serve.fleet.books`.

A lease is a replica: a unit handed to one car until ``lease_s`` (the batch's
``validation.timeout_s``) has passed; a replica not reported by then is lost and the unit
wants another (:func:`megapod.fleet.rules.replicas_wanted`, the simulator's rule). A unit is
accepted once the largest group of identical results reaches its quorum
(:func:`megapod.fleet.rules.largest_group`); its results that differ are wrong and reset
their car's reputation (:func:`megapod.fleet.rules.next_reputation`); its replicas still out
are cancelled. Under adaptive replication a trusted car runs a unit alone
(:func:`megapod.fleet.rules.runs_alone`). A unit out of replicas, or past its batch's
deadline, fails. Each accepted unit books its revenue; a batch that closes settles its
payouts.

Writes go through one lock per server process, so two requests never judge the same unit
at once; run one server process per database.
"""

from __future__ import annotations

import secrets
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from megapod.errors import SpecError
from megapod.fleet.kernels import KERNELS
from megapod.serve.auth import Principal
from megapod.serve.fleet import books, datacap, leases
from megapod.serve.fleet.accounts import VehiclePrincipal, may_compute, owner_limits
from megapod.serve.fleet.leases import aware
from megapod.serve.services.audit import audit
from megapod.serve.services.jobs import Conflict, NotFound
from megapod.serve.store import Database
from megapod.serve.store.bulk import insert_rows
from megapod.serve.store.models import FleetBatch, FleetReplica, FleetUnit, FleetVehicle, utcnow


def iso(at: datetime | None) -> str | None:
    """An ISO 8601 UTC time ending in ``Z``."""
    return None if at is None else aware(at).isoformat().replace("+00:00", "Z")


def batch_json(b: FleetBatch) -> dict[str, Any]:
    """A batch as the API shows it."""
    return {
        "id": b.id,
        "idempotency_key": b.idempotency_key,
        "name": b.name,
        "kernel": b.kernel,
        "params": b.params,
        "units": b.units,
        "tokens_per_unit": b.tokens_per_unit,
        "validation": {
            "replication": b.replication,
            "replicas": b.replicas,
            "quorum": b.quorum,
            "max_replicas": b.max_replicas,
            "timeout_s": b.lease_s,
            "trust_after": b.trust_after,
            "spot_check": b.spot_check,
        },
        "economics": b.economics,
        "scheme": b.scheme,
        "deadline_at": iso(b.deadline_at),
        "state": b.state,
        "accepted": b.accepted,
        "failed": b.failed,
        "created_by": b.created_by,
        "created_at": iso(b.created_at),
    }


class Coordinator:
    """Hands out work units, judges results and keeps the books, all in ``db``.

    Args:
        db: the control plane's database (migrated to revision 0002 or later).
        clock: the present UTC time (tests pass their own).
        seed: seed of the spot-check draws of adaptive replication (``None``: fresh entropy).
    """

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow, seed: int | None = None) -> None:
        self.db = db
        self.clock = clock
        self.lock = threading.Lock()
        self.rng = np.random.default_rng(seed)

    # ------------------------------------------------------------------ batches
    def create_batch(self, who: Principal, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create a batch of ``units`` units (the same key and body answer the same batch)."""
        kernel = KERNELS.lookup(body["kernel"], "kernel")
        params = kernel.check(dict(body.get("params") or {}), "params")
        validation, economics = body["validation"], body["economics"]
        units = int(body["units"])
        now = self.clock()
        with self.lock, self.db.session() as s:
            old = s.scalar(select(FleetBatch).where(FleetBatch.idempotency_key == body["idempotency_key"]))
            if old is not None:
                same = (old.name, old.kernel, old.params, old.units) == (
                    body.get("name") or old.name,
                    body["kernel"],
                    params,
                    units,
                )
                if not same:
                    raise Conflict("idempotency_key: used already for a different batch")
                return batch_json(old), False
            batch = FleetBatch(
                idempotency_key=body["idempotency_key"],
                name=body.get("name") or body["idempotency_key"],
                kernel=body["kernel"],
                params=params,
                units=units,
                tokens_per_unit=float(kernel.tokens(params)),
                replication=validation["replication"],
                replicas=validation["replicas"],
                quorum=validation["quorum"],
                max_replicas=validation["max_replicas"],
                trust_after=validation["trust_after"],
                spot_check=validation["spot_check"],
                lease_s=validation["timeout_s"],
                deadline_at=now + timedelta(seconds=float(body["deadline_s"])),
                economics={k: v for k, v in economics.items() if k != "schemes"},
                scheme=body["scheme"],
                state="open",
                accepted=0,
                failed=0,
                created_by=who.name,
                created_at=now,
            )
            s.add(batch)
            s.flush()
            base = int(body["seed"]) if body.get("seed") is not None else secrets.randbits(62)
            rows = [
                {
                    "batch_id": batch.id,
                    "seq": i,
                    "seed": (base + i) % 2**63,
                    "state": "open",
                    "quorum": batch.quorum,
                    "target": batch.replicas,
                    "issued": 0,
                    "in_flight": 0,
                    "agreeing": 0,
                }
                for i in range(units)
            ]
            for start in range(0, units, 10_000):
                insert_rows(s, FleetUnit, rows[start : start + 10_000])
            audit(s, who, "fleet.batch.create", f"batch:{batch.id}", units=units, kernel=batch.kernel)
            return batch_json(batch), True

    def batches(self, offset: int, limit: int) -> dict[str, Any]:
        """Batches newest first."""
        with self.db.session() as s:
            rows = s.scalars(select(FleetBatch).order_by(FleetBatch.id.desc()).offset(offset).limit(limit))
            return {"items": [batch_json(b) for b in rows]}

    def batch(self, batch_id: int) -> dict[str, Any]:
        """One batch, with its units counted by state."""
        with self.db.session() as s:
            b = s.get(FleetBatch, batch_id)
            if b is None:
                raise NotFound(f"batch_id: no batch {batch_id}")
            out = batch_json(b)
            q = (
                select(FleetUnit.state, func.count())
                .where(FleetUnit.batch_id == batch_id)
                .group_by(FleetUnit.state)
            )
            out["units_by_state"] = {state: int(n) for state, n in s.execute(q)}
            return out

    def units(self, batch_id: int, offset: int, limit: int) -> dict[str, Any]:
        """A batch's units in order, with their replicas (who ran them, what they returned)."""
        with self.db.session() as s:
            if s.get(FleetBatch, batch_id) is None:
                raise NotFound(f"batch_id: no batch {batch_id}")
            units = list(
                s.scalars(
                    select(FleetUnit)
                    .where(FleetUnit.batch_id == batch_id)
                    .order_by(FleetUnit.seq)
                    .offset(offset)
                    .limit(limit)
                )
            )
            reps: dict[int, list[dict[str, Any]]] = defaultdict(list)
            if units:
                q = select(FleetReplica).where(FleetReplica.unit_id.in_([u.id for u in units]))
                for r in s.scalars(q.order_by(FleetReplica.id)):
                    reps[r.unit_id].append(
                        {
                            "id": r.id,
                            "vehicle_id": r.vehicle_id,
                            "state": r.state,
                            "result": r.result,
                            "valid": r.valid,
                        }
                    )
            items = [
                {
                    "id": u.id,
                    "seq": u.seq,
                    "seed": u.seed,
                    "state": u.state,
                    "quorum": u.quorum,
                    "issued": u.issued,
                    "result": u.result,
                    "replicas": reps[u.id],
                }
                for u in units
            ]
            return {"items": items}

    # ------------------------------------------------------------------ leases
    def lease(
        self, v: VehiclePrincipal, state: dict[str, Any], max_units: int, max_runtime_s: float
    ) -> dict[str, Any]:
        """Record the car's state and lease it up to ``max_units`` units it can finish: its
        owner's limits allow compute now, and the leases' runtimes at the car's reported rate,
        run one after the other, fit ``max_runtime_s``, the lease and what is left of the
        batch's deadline. Never a unit the car already holds or has run."""
        now = self.clock()
        with self.lock, self.db.session() as s:
            leases.sweep(s, now)
            car = s.get_one(FleetVehicle, v.vehicle_id)
            car.plugged_in = bool(state["plugged_in"])
            car.soc = float(state["soc"])
            car.tokens_per_s = float(state["tokens_per_s"]) if state.get("tokens_per_s") else None
            car.seen_at = now
            limits = owner_limits(s, v.owner_id)
            why = may_compute(limits, car.plugged_in, car.soc, bool(state["latch"]), int(state["hour"]))
            if why is not None:
                return {"items": [], "reason": why}
            batches = self._fitting(s, now, car.tokens_per_s, max_runtime_s)
            if not batches:
                return {"items": [], "reason": "no open work this car can finish in time"}
            datacap.roll(car, now)
            cap = float(limits.data_cap_bytes_per_month)
            room = datacap.units_allowed(car, cap, max(datacap.unit_bytes(b) for b in batches.values()))
            if room == 0:
                return {
                    "items": [],
                    "reason": f"data cap: {car.data_bytes:,} of {cap:,.0f} bytes moved this month",
                }
            chosen = leases.issue(s, self.rng, car, batches, now, min(max_units, room), max_runtime_s)
            items = [
                datacap.lease_item(c["replica_id"], c["uid"], c["batch"], c["seed"], iso(c["expires_at"]))
                for c in chosen
            ]
            car.data_bytes = (car.data_bytes or 0) + sum(datacap.json_bytes(i) for i in items)
            return {"items": items, "reason": None if items else "no unit wants a replica from this car now"}

    def _fitting(
        self, s: Session, now: datetime, tokens_per_s: float | None, max_runtime_s: float
    ) -> dict[int, FleetBatch]:
        """Open batches whose units this car finishes within its own limit, the lease and the
        deadline (a car that has not reported a rate is trusted to know its limit)."""
        out = {}
        for b in s.scalars(select(FleetBatch).where(FleetBatch.state == "open")):
            left_s = (aware(b.deadline_at) - now).total_seconds()
            runtime_s = b.tokens_per_unit / tokens_per_s if tokens_per_s else 0.0
            if runtime_s <= min(max_runtime_s, b.lease_s, left_s):
                out[b.id] = b
        return out

    def report(self, v: VehiclePrincipal, items: Sequence[tuple[int, str]]) -> list[dict[str, Any]]:
        """Record results (replica id, result digest) of the car's leases and judge the units
        they complete. Each answers a status: ``recorded``, ``duplicate`` (the same result
        again), ``conflict`` (a different result for a lease already reported: the first
        stands), ``late`` (the lease had run out: the replica is lost), ``cancelled`` (the
        unit closed first), ``unknown`` (no lease of this car)."""
        now = self.clock()
        with self.lock, self.db.session() as s:
            out, touched = leases.record(s, v.vehicle_id, items, now)
            leases.judge(s, touched, now)
            car = s.get_one(FleetVehicle, v.vehicle_id)
            datacap.roll(car, now)
            moved = sum(datacap.json_bytes({"replica_id": rid, "result": res}) for rid, res in items)
            car.data_bytes = (car.data_bytes or 0) + moved
            return out

    def sweep(self) -> None:
        """Expire leases and deadlines now (the lease call does it too)."""
        with self.lock, self.db.session() as s:
            leases.sweep(s, self.clock())

    # ------------------------------------------------------------------ money
    def settle_all(self, who: Principal) -> dict[str, Any]:
        """Book every batch's payouts owed so far (open batches too)."""
        now = self.clock()
        with self.lock, self.db.session() as s:
            booked: dict[str, int] = defaultdict(int)
            for b in s.scalars(select(FleetBatch).order_by(FleetBatch.id)):
                for account, amount in books.settle(s, b, now).items():
                    booked[account] += amount
            audit(s, who, "fleet.settle", "ledger", booked=sum(booked.values()))
            return {"booked_micro_usd": dict(booked)}


def check_batch_fields(body: dict[str, Any]) -> None:
    """Refuse a batch whose lease is shorter than nothing could run, naming the field."""
    if float(body["deadline_s"]) < float(body["validation"]["timeout_s"]):
        raise SpecError(
            "deadline_s",
            f"{body['deadline_s']:g} s is shorter than the lease validation.timeout_s = "
            f"{body['validation']['timeout_s']:g} s: no replica could be re-issued",
        )
