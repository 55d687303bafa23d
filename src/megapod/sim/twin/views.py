"""What goes into an open twin (a job request) and what comes out while it runs (a snapshot)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from megapod.errors import SpecError

#: Work of one job above this is refused (a century of GPU time per GPU) [s].
MAX_WORK_S = 100 * 365.25 * 86400.0


@dataclass(frozen=True)
class JobRequest:
    """A job submitted to a running twin.

    Attributes:
        job_id: unique name of the job in the run.
        gpus: GPUs it holds while it runs (a gang).
        work_s: failure-free run time [s].
        submit_s: arrival time [s]; ``None`` (or a time already past) means now.
        partition: partition name; may be left out on a site of one partition.
        queue: queue (user/group) name for fair-share policies; ``None`` is the first queue.
        priority: higher runs first under priority-aware policies.
    """

    job_id: str
    gpus: int
    work_s: float
    submit_s: float | None = None
    partition: str | None = None
    queue: str | None = None
    priority: int = 0

    def __post_init__(self) -> None:
        if not self.job_id:
            raise SpecError("job_id", "must not be empty")
        if isinstance(self.gpus, bool) or not isinstance(self.gpus, int) or self.gpus < 1:
            raise SpecError("gpus", f"{self.gpus!r} must be a whole number of GPUs, at least 1")
        if not (math.isfinite(self.work_s) and 0 < self.work_s <= MAX_WORK_S):
            raise SpecError(
                "work_s", f"{self.work_s!r} must be finite, above 0 and at most {MAX_WORK_S:.0f} s"
            )
        if self.submit_s is not None and not (math.isfinite(self.submit_s) and self.submit_s >= 0):
            raise SpecError("submit_s", f"{self.submit_s!r} must be a finite time of at least 0 s")


@dataclass(frozen=True)
class Snapshot:
    """The site at one instant of the twin's clock (all powers in W, times in s)."""

    t_s: float
    horizon_s: float
    nodes_up: int
    nodes_failed: int
    nodes_down: int
    gpus: int
    gpus_busy: int
    gpus_failed: int
    gpus_down: int
    hot_spares: int
    jobs_waiting: int
    jobs_queued: int
    jobs_running: int
    jobs_done: int
    jobs_cancelled: int
    queue: list[str] = field(default_factory=list)
    """Queued job ids, longest waiting first."""
    running: list[str] = field(default_factory=list)
    it_power_w: float = 0.0
    facility_power_w: float = 0.0
    battery_soc: float = 0.0
    """Battery state of charge, 0–1."""
    battery_power_w: float = 0.0
    """Battery output (+ discharging, − charging)."""
    grid_limited: bool = False
    blackout: bool = False
    generators_on: bool = False
    outdoor_c: float = 20.0
    thermal_speed: float = 1.0
    """Job speed under the cooling limit (1 = full speed)."""
    gpu_cap_w: float | None = None
    """The board power cap enforced on the site's GPUs: the lowest of the cooling limit's, the
    operator's and the grid limit's (None: none)."""
    events: int = 0
    job_speed: float = 1.0
    """Speed jobs run at under every cap in force (the cooling limit's and the GPU caps)."""
    gpu_cap_operator_w: float | None = None
    """The operator's GPU cap (``Twin.set_gpu_cap``)."""
    grid_limit_w: float | None = None
    """The operator's grid import limit (``Twin.set_grid_limit``)."""
    battery_reserve_soc: float | None = None
    """The operator's battery reserve (``Twin.set_battery_reserve``)."""
    grid_import_w: float = 0.0
    """Power drawn from the grid: the load plus battery charging, less battery and generators."""
    price_usd_per_mwh: float = 0.0
    """Energy price of the present hour (the scenario's price signal)."""
    carbon_kg_per_mwh: float = 0.0
    """Grid carbon intensity of the present hour (the scenario's carbon signal)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able mapping."""
        return asdict(self)


#: One character per node state in :attr:`NodeMap.states`.
NODE_STATE_CODES: dict[str, str] = {
    "r": "running",
    "c": "capped",
    "i": "idle",
    "f": "failed",
    "d": "down",
}


@dataclass(frozen=True)
class RackGroup:
    """Racks of one kind in one pod replica, in node order: ``count`` racks of ``servers``
    nodes each."""

    name: str
    count: int
    servers: int


@dataclass(frozen=True)
class DesignNodes:
    """One pod design (its replicas together) at one instant: node and GPU counts by state,
    power, cooling. Node counts by state are disjoint and sum to ``nodes``.

    Attributes:
        name: the pod design.
        first_node: index of its first node in :attr:`NodeMap.states` (nodes are in the order
            pod design → replica → rack → server).
        nodes: its nodes (servers), replicas counted.
        replicas: pod replicas (``count`` in the site spec).
        racks: the rack kinds of one replica in node order (empty when the nodes come from a
            traced node table, which has no racks).
        it_power_w, facility_power_w: the design's IT load and what it draws through its power
            chain and cooling plant [W].
        cooling_capacity_w: heat its cooling plant can remove at the outdoor temperature now
            (derated above the plant's design temperature) [W].
        cooling_load: IT heat over that capacity (above 1, the cooling limit slows jobs).
        thermal_speed: job speed the cooling limit leaves the design's busy GPUs (1: full).
        thermal_cap_w: the board cap the cooling limit needs [W] (None: none).
        supply_temp_c: the plant's coolant supply temperature (a catalog figure) [°C].
    """

    name: str
    first_node: int
    nodes: int
    replicas: int
    racks: list[RackGroup]
    nodes_running: int
    nodes_capped: int
    nodes_idle: int
    nodes_failed: int
    nodes_down: int
    gpus: int
    gpus_busy: int
    gpus_failed: int
    gpus_down: int
    it_power_w: float
    facility_power_w: float
    cooling_capacity_w: float
    cooling_load: float | None
    thermal_speed: float
    thermal_cap_w: float | None
    supply_temp_c: float


@dataclass(frozen=True)
class NodeMap:
    """Every node of the site's pods at one instant, one state code each, with a row per pod
    design (the battery is the site's, pooled).

    ``states`` holds one character per node in node order (pod design → replica → rack →
    server), a key of :data:`NODE_STATE_CODES`: ``r`` running (a GPU held by a job), ``c``
    capped (running under a board cap below the design's TDP), ``i`` idle, ``f`` failed (out
    for repair), ``d`` down (out of service: a blackout).
    """

    t_s: float
    nodes: int
    states: str
    designs: list[DesignNodes]
    battery_soc: float
    """Battery state of charge of the site, 0–1 (every pod's bank together)."""
    battery_power_w: float
    """Battery output (+ discharging, − charging) [W]."""
    gpu_cap_w: float | None
    """The board cap in force on the site's GPUs [W] (None: none)."""
    outdoor_c: float
    codes: dict[str, str] = field(default_factory=lambda: dict(NODE_STATE_CODES))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able mapping."""
        return asdict(self)
