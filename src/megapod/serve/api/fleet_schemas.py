"""Request bodies of the fleet coordinator (``/api/v1/fleet``): bounded, unknown fields refused."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictStr, field_validator

from megapod.serve.api.schemas import Body, Name
from megapod.spec.fleet import FleetEconomics, FleetValidation, OwnerLimits

#: Longest batch deadline [s] (a year).
MAX_DEADLINE_S = 366 * 86400.0
Digest = Annotated[StrictStr, Field(min_length=16, max_length=128, pattern=r"^[0-9a-f]+$")]


class OwnerCreate(Body):
    """A new owner account and the limits its cars honour."""

    name: Name
    limits: OwnerLimits = Field(default_factory=OwnerLimits)


class LimitsSet(Body):
    """An owner's new limits."""

    limits: OwnerLimits


class VehicleCreate(Body):
    """A car to enrol (with an owner's token)."""

    name: Name
    module: Annotated[StrictStr, Field(min_length=1, max_length=100)] = "tesla-ai4"


class VehicleState(Body):
    """What a car reports when it asks for work."""

    plugged_in: StrictBool
    soc: float = Field(ge=0, le=1, description="state of charge")
    latch: StrictBool = Field(description="the owner's battery latch (hysteresis) allows compute")
    hour: int = Field(ge=0, le=23, description="local hour of day")
    tokens_per_s: float | None = Field(None, gt=0, le=1e12, description="the car's measured rate")


class WorkRequest(Body):
    """A lease request: the car's state, how many units, and how long it can run one."""

    state: VehicleState
    max_units: int = Field(1, ge=1, le=1000)
    max_runtime_s: float = Field(3600.0, gt=0, le=MAX_DEADLINE_S)


class ResultIn(Body):
    """The result of one lease."""

    replica_id: int = Field(ge=1, le=2**62)
    result: Digest


class ResultBatch(Body):
    """Results of several leases in one request."""

    items: list[ResultIn] = Field(min_length=1, max_length=5000)


#: Units of one batch at most: a batch's units are written in one transaction, which holds
#: SQLite's write lock meanwhile (about 1 s for 100,000 units on a 2-core machine; 1,000,000
#: took 10 s, as long as another writer waits for the lock before it gives up).
MAX_BATCH_UNITS = 100_000


class BatchCreate(Body):
    """A work batch: ``units`` units of ``kernel``, their validation, price and payout scheme.

    ``validation`` and ``economics`` are the fleet spec's own sections (the simulation-only
    ``faulty_share``, ``faulty_error_rate`` and ``economics.schemes`` are ignored here);
    ``validation.timeout_s`` is the lease.
    """

    idempotency_key: Name
    name: Name | None = None
    kernel: Annotated[StrictStr, Field(min_length=1, max_length=60)] = "tiny-lm"
    params: dict[str, Any] = Field(default_factory=dict)
    units: int = Field(ge=1, le=MAX_BATCH_UNITS)
    validation: FleetValidation = Field(default_factory=FleetValidation)
    economics: FleetEconomics = Field(default_factory=FleetEconomics)
    scheme: Annotated[StrictStr, Field(min_length=1, max_length=60)] = "revenue-share"
    deadline_s: float = Field(12 * 3600.0, gt=0, le=MAX_DEADLINE_S)
    seed: int | None = Field(None, ge=0, le=2**62)

    @field_validator("scheme")
    @classmethod
    def _scheme(cls, value: str) -> str:
        from megapod.registry import require

        require("payout scheme", value)
        return value
