"""The ``twin`` backend: the site as the open twin, stepped against the wall clock.

Jobs go to :meth:`Twin.submit`, so they are queued and placed by the scenario's own queue and
placement policies (the twin's registries). What the site does between steps is read from
:meth:`Twin.snapshot` and turned into events by comparing one snapshot with the next.
"""

from __future__ import annotations

import time
from typing import Any

from megapod.errors import SpecError
from megapod.serve.backends.base import Backend, BackendEvent, JobSpec, JobState, JobStatus
from megapod.serve.settings import Settings
from megapod.sim.twin import JobRequest, RealTimeDriver, Snapshot, Twin
from megapod.spec.scenario import MAX_HORIZON_S, Scenario, load_scenario
from megapod.spec.site import Site

#: Name of the placeholder job the default scenario needs (a workload may not be empty).
WARMUP_JOB = "serve-warmup"


def default_scenario(site: Site) -> Scenario:
    """The scenario a server runs when none is given: the site, its default policies and
    failure model, its climate, a ten-year horizon and no background jobs (one 1-GPU, 1 s
    placeholder, since a scenario's workload may not be empty)."""
    return Scenario.model_validate(
        {
            "name": f"{site.name}-live",
            "site": site,
            "workload": {"pretraining": [{"name": WARMUP_JOB, "gpus": 1, "work_s": 1.0}]},
            "horizon_s": MAX_HORIZON_S,
            "output": {"resolution_s": 86400.0, "jobs_table": False},
        }
    )


class TwinBackend(Backend):
    """The site simulated by :class:`Twin`, ``settings.speed`` simulated seconds per wall second."""

    name = "twin"

    def __init__(self, site: Site, settings: Settings) -> None:
        self.settings = settings
        self.scenario = load_scenario(settings.scenario) if settings.scenario else default_scenario(site)
        self.site = self.scenario.site
        self.twin = Twin(self.scenario)
        self.driver: RealTimeDriver | None = None
        self._snap: Snapshot | None = None
        self._events: list[BackendEvent] = []
        self._jobs: dict[str, _TwinJob] = {}

    # ---------------------------------------------------------------- life
    def start(self, clock_s: float = 0.0) -> None:
        """Build the run and bring its clock to ``clock_s`` (the clock saved before a restart)."""
        self.twin.advance_to(min(max(clock_s, 0.0), self.scenario.horizon_s))
        self.driver = RealTimeDriver(self.twin, self.settings.speed, wall=time.monotonic)
        self._snap = self.twin.snapshot()

    def stop(self) -> None:
        """Nothing to release: the twin lives in this process."""

    def step(self) -> None:
        """Advance to the present, then note what changed."""
        if self.driver is None:
            raise RuntimeError("start() the backend first")
        self.driver.step()
        self._observe()

    def _observe(self) -> Snapshot:
        """Take a snapshot and note what changed since the last one."""
        snap = self.twin.snapshot()
        if self._snap is not None:
            self._events.extend(changes(self._snap, snap))
        self._snap = snap
        self._update_jobs(snap)
        return snap

    def clock_s(self) -> float:
        """The twin's clock [simulated s]."""
        return float(self.twin.clock)

    def _current(self) -> Snapshot:
        if self._snap is None:
            self._snap = self.twin.snapshot()
        return self._snap

    # ---------------------------------------------------------------- jobs
    def submit(self, job: JobSpec) -> None:
        """Hand the job to the twin (its policies queue and place it)."""
        if job.work_s is None:
            raise SpecError("work_s", "required on the twin backend: the job's run time in simulated s")
        self.twin.submit(
            JobRequest(
                job_id=job.job_id,
                gpus=job.gpus,
                work_s=job.work_s,
                partition=job.partition,
                queue=job.queue,
                priority=job.priority,
            )
        )
        self._jobs[job.job_id] = _TwinJob(submit_clock=self.twin.clock, gpus=job.gpus)

    def cancel(self, job_id: str) -> bool:
        """Cancel in the twin; False when the job has ended."""
        tj = self._jobs.get(job_id)
        if tj is None:
            raise SpecError("job_id", f"no job {job_id!r} on this site")
        if tj.state in ("done", "cancelled"):
            return False
        ok = self.twin.cancel(job_id)
        if ok:
            tj.state = "cancelled"
            tj.end_s = self.twin.clock
        return ok

    def _update_jobs(self, snap: Snapshot) -> None:
        running = set(snap.running)
        queued = set(snap.queue)
        for job_id, tj in self._jobs.items():
            if tj.state in ("done", "cancelled"):
                continue
            if job_id in running:
                if tj.state != "running":
                    tj.state = "running"
                    tj.start_s = snap.t_s if tj.start_s is None else tj.start_s
            elif job_id in queued:
                tj.state = "queued"
            elif snap.t_s > tj.submit_clock:  # arrived, and neither queued nor running: ended
                tj.state = "done"
                tj.start_s = tj.submit_clock if tj.start_s is None else tj.start_s
                tj.end_s = snap.t_s

    def job_status(self, job_id: str) -> JobStatus | None:
        """State of a job submitted through this backend (times to the step's resolution)."""
        tj = self._jobs.get(job_id)
        if tj is None:
            return None
        res = [("twin", tj.gpus)] if tj.state == "running" else []
        return JobStatus(tj.state, sim_start_s=tj.start_s, sim_end_s=tj.end_s, resources=res)

    # ---------------------------------------------------------------- state
    def state(self) -> dict[str, Any]:
        """The snapshot's fields as the API's compact state."""
        s = self._current()
        pue = s.facility_power_w / s.it_power_w if s.it_power_w > 0 else None
        return {
            "t_s": s.t_s,
            "horizon_s": s.horizon_s,
            "speed": self.settings.speed,
            "nodes_up": s.nodes_up,
            "nodes_failed": s.nodes_failed,
            "nodes_down": s.nodes_down,
            "gpus": s.gpus,
            "gpus_busy": s.gpus_busy,
            "gpus_failed": s.gpus_failed,
            "gpus_down": s.gpus_down,
            "hot_spares": s.hot_spares,
            "site_jobs_queued": s.jobs_queued,
            "site_jobs_running": s.jobs_running,
            "it_power_w": s.it_power_w,
            "facility_power_w": s.facility_power_w,
            "pue": pue,
            "battery_soc": s.battery_soc,
            "battery_power_w": s.battery_power_w,
            "grid_limited": s.grid_limited,
            "blackout": s.blackout,
            "generators_on": s.generators_on,
            "outdoor_c": s.outdoor_c,
            "thermal_speed": s.thermal_speed,
            "job_speed": s.job_speed,
            "gpu_cap_w": s.gpu_cap_w,
            "grid_import_w": s.grid_import_w,
            "price_usd_per_mwh": s.price_usd_per_mwh,
            "carbon_kg_per_mwh": s.carbon_kg_per_mwh,
            "devices": [],
        }

    def node_map(self) -> dict[str, Any]:
        """The twin's pods node by node at its clock (:meth:`Twin.node_map`)."""
        return self.twin.node_map().to_dict()

    def drain_events(self) -> list[BackendEvent]:
        """Events found by comparing snapshots since the last call."""
        out, self._events = self._events, []
        return out

    def preempt(self, job_id: str) -> bool:
        """Preempt a running job on the twin (:meth:`Twin.preempt`): it checkpoints and waits."""
        stopped = self.twin.preempt(job_id)
        if stopped:
            self.step()
        return stopped

    def set_gpu_cap(self, cap_w: float | None) -> float | None:
        """Cap every GPU of the twin (:meth:`Twin.set_gpu_cap`) and read back the cap it
        enforces (``Snapshot.gpu_cap_w``): the lowest of this one, the cooling limit's and the
        grid limit's. A cap outside the GPUs' idle-to-TDP range is a ``SpecError`` (422)."""
        self.twin.set_gpu_cap(cap_w)
        return self._observe().gpu_cap_w

    def set_grid_limit(self, limit_w: float | None) -> None:
        """Limit the twin's grid import (:meth:`Twin.set_grid_limit`): battery first, then a
        grid cap on the GPUs, and admission of jobs against the budget."""
        self.twin.set_grid_limit(limit_w)
        self._observe()

    def set_battery_reserve(self, soc: float | None) -> None:
        """Keep ``soc`` of the twin's battery for outages (:meth:`Twin.set_battery_reserve`)."""
        self.twin.set_battery_reserve(soc)
        self._observe()


class _TwinJob:
    """What the backend tracks of a job it handed to the twin."""

    __slots__ = ("end_s", "gpus", "start_s", "state", "submit_clock")

    def __init__(self, submit_clock: float, gpus: int) -> None:
        self.submit_clock = submit_clock
        self.gpus = gpus
        self.state: JobState = "pending"
        self.start_s: float | None = None
        self.end_s: float | None = None


def changes(a: Snapshot, b: Snapshot) -> list[BackendEvent]:
    """Events implied by the site going from snapshot ``a`` to snapshot ``b``."""
    out: list[BackendEvent] = []
    t = b.t_s
    if b.nodes_failed > a.nodes_failed:
        n = b.nodes_failed - a.nodes_failed
        out.append(
            BackendEvent(
                "failure",
                f"{n} node{'s' if n > 1 else ''} failed ({b.nodes_failed} down for repair)",
                "warning",
                t,
                {"nodes_failed": b.nodes_failed, "gpus_failed": b.gpus_failed},
            )
        )
    elif b.nodes_failed < a.nodes_failed:
        n = a.nodes_failed - b.nodes_failed
        out.append(
            BackendEvent(
                "repair",
                f"{n} node{'s' if n > 1 else ''} repaired",
                "info",
                t,
                {"nodes_failed": b.nodes_failed},
            )
        )
    pairs = (
        (
            "blackout",
            "outage",
            "outage_end",
            "grid outage: the site is on battery and generators",
            "critical",
        ),
        ("grid_limited", "grid_limit", "grid_limit_end", "the grid supply is limited", "warning"),
        ("generators_on", "generators_on", "generators_off", "generators are running", "info"),
    )
    for attr, on, off, message, severity in pairs:
        before, after = getattr(a, attr), getattr(b, attr)
        if after and not before:
            out.append(BackendEvent(on, message, severity, t, {"battery_soc": b.battery_soc}))
        elif before and not after:
            out.append(BackendEvent(off, f"ended: {message}", "info", t, {"battery_soc": b.battery_soc}))
    if b.thermal_speed < 1.0 <= a.thermal_speed:
        out.append(
            BackendEvent(
                "limit_breach",
                f"cooling limit: jobs slowed to {b.thermal_speed:.0%} at {b.outdoor_c:.1f} °C outdoors",
                "warning",
                t,
                {"thermal_speed": b.thermal_speed, "outdoor_c": b.outdoor_c, "gpu_cap_w": b.gpu_cap_w},
            )
        )
    return out
