"""Request bodies (strict types, bounded values, unknown fields refused) and the response
model of the node map."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from megapod.sim.twin.views import MAX_WORK_S

Name = Annotated[StrictStr, Field(min_length=1, max_length=200)]
#: Most arguments or command words a job may have.
MAX_ARGS = 1000


class Body(BaseModel):
    """Base of every request body."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        where = _nul_at(data, "")
        if where is not None:
            raise ValueError(f"{where or 'body'}: NUL characters are not allowed in text")
        return data


def _nul_at(value: Any, path: str) -> str | None:
    """Where a NUL character sits in a parsed JSON value (``None`` when nowhere)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            found = (
                _nul_at(str(k), path) if "\x00" in str(k) else _nul_at(v, f"{path}.{k}" if path else str(k))
            )
            if found is not None:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = _nul_at(v, f"{path}[{i}]")
            if found is not None:
                return found
    return None


class JobCreate(Body):
    """A job submission; see docs/serve.md for the meaning per backend."""

    idempotency_key: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    name: Annotated[StrictStr, Field(max_length=200)] | None = None
    gpus: Annotated[StrictInt, Field(ge=1, le=10_000_000)] = 1
    work_s: Annotated[float, Field(gt=0, le=MAX_WORK_S)] | None = None
    partition: Name | None = None
    queue: Name | None = None
    priority: Annotated[StrictInt, Field(ge=-1_000_000, le=1_000_000)] = 0
    command: (
        Annotated[
            list[Annotated[StrictStr, Field(max_length=10_000)]], Field(min_length=1, max_length=MAX_ARGS)
        ]
        | None
    ) = None
    entrypoint: Annotated[StrictStr, Field(min_length=3, max_length=400)] | None = None
    args: Annotated[list[Any], Field(max_length=MAX_ARGS)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_program(self) -> JobCreate:
        if self.command is not None and self.entrypoint is not None:
            raise ValueError("give command or entrypoint, not both")
        return self


class SessionCreate(Body):
    """A login: the API token to hold in the cookie."""

    token: Annotated[StrictStr, Field(min_length=1, max_length=512)]


class TokenCreate(Body):
    """A token to create."""

    name: Name
    role: Literal["viewer", "operator", "admin"]


class CapSet(Body):
    """The per-GPU power cap [W]; ``null`` lifts it."""

    gpu_cap_w: Annotated[float, Field(gt=0, le=100_000)] | None


class PowerSettings(Body):
    """Battery reserve (state of charge, 0–1) and the grid limit [W]; give one or both."""

    battery_reserve_soc: Annotated[float, Field(ge=0, le=1)] | None = None
    grid_limit_w: Annotated[float, Field(gt=0, le=1e12)] | None = None

    @model_validator(mode="after")
    def _something(self) -> PowerSettings:
        if not self.model_fields_set:
            raise ValueError("give battery_reserve_soc or grid_limit_w")
        return self


# ---------------------------------------------------------------- responses
class RackGroupOut(BaseModel):
    """Racks of one kind in one pod replica, in node order: ``count`` racks of ``servers`` nodes."""

    name: str
    count: int
    servers: int


class DesignNodesOut(BaseModel):
    """One pod design node by node: counts by state (disjoint, summing to ``nodes``), power [W]
    and cooling; ``None`` where the backend does not model a figure."""

    name: str
    first_node: int = Field(description="index of the design's first node in `states`")
    nodes: int
    replicas: int
    racks: list[RackGroupOut] = Field(description="one replica's racks in node order (empty: none)")
    nodes_running: int
    nodes_capped: int
    nodes_idle: int
    nodes_failed: int
    nodes_down: int
    gpus: int
    gpus_busy: int
    gpus_failed: int
    gpus_down: int
    it_power_w: float | None = None
    facility_power_w: float | None = None
    cooling_capacity_w: float | None = Field(None, description="derated at the outdoor temperature now")
    cooling_load: float | None = Field(None, description="IT heat over that capacity")
    thermal_speed: float | None = None
    thermal_cap_w: float | None = None
    supply_temp_c: float | None = Field(None, description="the plant's coolant supply (catalog)")
    temperature_c: float | None = Field(None, description="hottest device (local backend)")


class NodeMapOut(BaseModel):
    """The site node by node: ``states`` has one character per node, a key of ``codes``."""

    site: str
    backend: str
    t_s: float
    nodes: int
    states: str
    codes: dict[str, str]
    designs: list[DesignNodesOut]
    battery_soc: float | None = Field(None, description="site-wide (pooled), 0-1")
    battery_power_w: float | None = None
    gpu_cap_w: float | None = None
    outdoor_c: float | None = None
