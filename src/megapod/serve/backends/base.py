"""The interface every backend implements: the site the control plane operates."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

JobState = Literal["pending", "queued", "running", "done", "failed", "cancelled"]
#: States a job does not leave.
FINAL_STATES: frozenset[str] = frozenset({"done", "failed", "cancelled"})


class BackendConflict(Exception):
    """The backend cannot do what was asked in its present state (mapped to HTTP 409)."""


@dataclass(frozen=True)
class JobSpec:
    """A job handed to a backend.

    Attributes:
        job_id: the control plane's id of the job.
        gpus: gang size: GPUs on the twin; Ray tasks placed together on ``local``.
        work_s: failure-free run time on the twin [simulated s]; ``None`` on ``local``.
        command: argument vector to run (``local``).
        entrypoint: ``package.module:function`` to call with ``args`` (``local``).
    """

    job_id: str
    gpus: int
    work_s: float | None = None
    partition: str | None = None
    queue: str | None = None
    priority: int = 0
    command: list[str] | None = None
    entrypoint: str | None = None
    args: list[Any] = field(default_factory=list)


@dataclass
class JobStatus:
    """What a backend knows of one job now."""

    state: JobState
    sim_start_s: float | None = None
    sim_end_s: float | None = None
    exit_code: int | None = None
    message: str = ""
    resources: list[tuple[str, int]] = field(default_factory=list)
    """Placement units the job holds while it runs: ``(resource name, GPUs)``."""
    restarts: int = 0
    """Times the job was stopped and made to wait again (preempted, or a rank lost): a rise
    between two looks is a requeue even when neither look saw the job waiting."""


@dataclass(frozen=True)
class BackendEvent:
    """Something the site did: ``kind`` as in the events table, with a message and data."""

    kind: str
    message: str
    severity: str = "info"
    sim_t_s: float | None = None
    data: dict[str, Any] = field(default_factory=dict)


class Backend(ABC):
    """A site the control plane drives. Calls come from one thread at a time (the server holds
    a lock around them)."""

    name: str

    @abstractmethod
    def start(self, clock_s: float = 0.0) -> None:
        """Bring the site up; a twin resumes its clock at ``clock_s`` [simulated s]."""

    @abstractmethod
    def stop(self) -> None:
        """Release what ``start`` took (processes, Ray, NVML)."""

    @abstractmethod
    def step(self) -> None:
        """Bring the site to the present (advance the twin, poll the running jobs)."""

    @abstractmethod
    def clock_s(self) -> float:
        """The site's clock [s]: simulated time on the twin, seconds since start otherwise."""

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """The compact live state (the keys of the API's ``State``, see docs/serve.md)."""

    @abstractmethod
    def submit(self, job: JobSpec) -> None:
        """Accept a job; raise :class:`megapod.errors.MegapodError` when it can never run."""

    @abstractmethod
    def cancel(self, job_id: str) -> bool:
        """Cancel a job; False when it had already ended."""

    def preempt(self, job_id: str) -> bool:
        """Stop a running job so that it waits again and restarts from its checkpoint; False
        when it is not running. Raises :class:`BackendConflict` when the backend cannot."""
        raise BackendConflict(f"the {self.name} backend cannot preempt jobs")

    @abstractmethod
    def job_status(self, job_id: str) -> JobStatus | None:
        """The job's status, or ``None`` when the backend does not know it."""

    @abstractmethod
    def drain_events(self) -> list[BackendEvent]:
        """Events since the last call."""

    def drain_logs(self) -> dict[str, list[str]]:
        """New output lines per job since the last call."""
        return {}

    @abstractmethod
    def set_gpu_cap(self, cap_w: float | None) -> float | None:
        """Set (or lift, with ``None``) the per-GPU power cap; returns the enforced value read
        back [W], ``None`` when no cap is enforced. Raises :class:`BackendConflict` when the
        site has no cap to set."""

    def set_grid_limit(self, limit_w: float | None) -> None:
        """Apply the operator's grid import limit [W] (``None`` lifts it). A backend with no
        model of its supply keeps it as a setting only (the server checks it for breaches)."""
        return None

    def set_battery_reserve(self, soc: float | None) -> None:
        """Apply the operator's battery reserve (state of charge, 0–1; ``None``: none). A
        backend with no battery keeps it as a setting only (checked for breaches)."""
        return None

    def node_map(self) -> dict[str, Any]:
        """The site node by node now: one state code per node (``states``, a key of ``codes``
        each), the node count, a row per pod design (``designs``) and the site's battery, GPU
        cap and outdoor temperature (the API's ``NodeMap``, see docs/serve.md). Raises
        :class:`BackendConflict` when the backend has no such view."""
        raise BackendConflict(f"the {self.name} backend has no node map")

    def samples(self) -> dict[str, dict[str, float]]:
        """Telemetry now: ``{scope: {metric: value}}`` (scope ``site``, ``gpu:0``, ``cpu``, …)."""
        st = self.state()
        keys = (
            "it_power_w",
            "facility_power_w",
            "gpus_busy",
            "battery_soc",
            "outdoor_c",
            "utilization",
            "price_usd_per_mwh",
            "carbon_kg_per_mwh",
        )
        return {"site": {k: float(st[k]) for k in keys if isinstance(st.get(k), int | float)}}
