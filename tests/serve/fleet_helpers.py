"""Helpers of the fleet-coordinator tests: a clock the test moves, owners, cars, leases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from megapod.fleet.kernels import KERNELS, run_unit
from megapod.serve.fleet import Coordinator

#: A small unit (fast to run for reference results).
PARAMS = {"batch": 2, "new_tokens": 4, "d_model": 16, "vocab": 32}
STATE = {"plugged_in": True, "soc": 0.8, "latch": True, "hour": 12, "tokens_per_s": 1000.0}
WRONG = "0123456789abcdef" * 4


class Clock:
    """The coordinator's clock, moved by the test."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def use_clock(api: Any, clock: Clock) -> Coordinator:
    """Give the app a coordinator on ``clock`` (seeded spot checks)."""
    co = Coordinator(api.plane.db, clock=clock, seed=0)
    api.client.app.state.fleet = co
    return co


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def owner(api: Any, name: str, **limits: Any) -> tuple[int, dict[str, str]]:
    """A new owner: its id and its token's header."""
    body: dict[str, Any] = {"name": name}
    if limits:
        body["limits"] = limits
    r = api.client.post("/api/v1/fleet/owners", json=body, headers=api.operator)
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), bearer(r.json()["token"])


def car(api: Any, owner_headers: dict[str, str], name: str) -> tuple[int, dict[str, str]]:
    """An enrolled car: its id and its token's header."""
    r = api.client.post("/api/v1/fleet/vehicles", json={"name": name}, headers=owner_headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), bearer(r.json()["token"])


def batch(api: Any, key: str = "b", units: int = 2, **extra: Any) -> dict[str, Any]:
    """A batch of small units."""
    body: dict[str, Any] = {"idempotency_key": key, "units": units, "params": PARAMS, "seed": 3}
    body.update(extra)
    r = api.client.post("/api/v1/fleet/batches", json=body, headers=api.operator)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def lease(api: Any, headers: dict[str, str], n: int = 1, **state: Any) -> dict[str, Any]:
    """Ask for up to ``n`` units."""
    body = {"state": {**STATE, **state}, "max_units": n}
    r = api.client.post("/api/v1/fleet/work", json=body, headers=headers)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def truth(item: dict[str, Any]) -> str:
    """The result of a leased unit, computed here."""
    params = KERNELS["tiny-lm"].check(item["params"])
    return run_unit(item["kernel"], params, int(item["seed"]))


def report(api: Any, headers: dict[str, str], replica_id: int, result: str) -> str:
    """Report one result; its status."""
    body = {"replica_id": replica_id, "result": result}
    r = api.client.post("/api/v1/fleet/results", json=body, headers=headers)
    assert r.status_code == 200, r.text
    status: str = r.json()["status"]
    return status
