"""The owner's monthly data cap, kept by the coordinator as well as by the car's agent.

A car's compute traffic is counted as the coordinator sees it: the JSON of every unit it is
leased and of every result it reports (the bodies, not HTTP headers), over a window of 30
days, the simulator's cap period (:data:`megapod.fleet.engine.CAP_MONTH_S`). A car is leased
no more units than the cap leaves room for, each taken at the most a unit of its batch can
move, so a modified agent cannot move more than its owner allowed.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from megapod.fleet.engine import CAP_MONTH_S as WINDOW_S  # the cap's period [s]: 30 days
from megapod.fleet.rules import window_start_s
from megapod.serve.fleet.leases import aware
from megapod.serve.store.models import FleetBatch, FleetVehicle

#: The longest id a lease or a unit can have: an estimate of a unit's bytes uses it.
_LONGEST_ID = 2**62
#: A result as an agent reports it: a replica id and a SHA-256 digest.
_RESULT = {"replica_id": _LONGEST_ID, "result": "0" * 64}


def json_bytes(value: Any) -> int:
    """Bytes of ``value`` as compact JSON (what a body of it weighs, near enough)."""
    return len(json.dumps(value, separators=(",", ":")))


def lease_item(
    replica_id: int, unit_id: int, b: FleetBatch, seed: int, expires_at: str | None
) -> dict[str, Any]:
    """One leased unit as the car receives it."""
    return {
        "replica_id": replica_id,
        "unit_id": unit_id,
        "batch_id": b.id,
        "kernel": b.kernel,
        "params": b.params,
        "seed": seed,
        "tokens": b.tokens_per_unit,
        "lease_s": b.lease_s,
        "expires_at": expires_at,
    }


def unit_bytes(b: FleetBatch) -> int:
    """The most a unit of batch ``b`` moves: its lease item with the longest ids, and its result."""
    item = lease_item(_LONGEST_ID, _LONGEST_ID, b, _LONGEST_ID, "2000-01-01T00:00:00.000000Z")
    return json_bytes(item) + json_bytes(_RESULT)


def roll(car: FleetVehicle, now: datetime) -> None:
    """Start the car's window at its first traffic, and a new one (count back to 0) each
    time 30 days have passed since the current one began."""
    if car.data_window_at is None:
        car.data_window_at, car.data_bytes = now, 0
        return
    start = aware(car.data_window_at)
    moved_s = window_start_s(0.0, (now - start).total_seconds(), WINDOW_S)
    if moved_s > 0:
        car.data_window_at, car.data_bytes = start + timedelta(seconds=moved_s), 0


def units_allowed(car: FleetVehicle, cap_bytes: float, per_unit_bytes: int) -> int:
    """How many more units of ``per_unit_bytes`` fit what is left of the car's cap."""
    left = cap_bytes - (car.data_bytes or 0)
    return max(0, int(left // max(per_unit_bytes, 1)))
