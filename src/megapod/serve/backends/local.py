"""The ``local`` backend: this machine's GPUs (NVML) or CPUs (psutil), with jobs on Ray."""

from __future__ import annotations

from typing import Any

from megapod.serve.backends.base import Backend, BackendConflict, BackendEvent, JobSpec, JobStatus
from megapod.serve.backends.devices import CpuDevices, NvmlDevices
from megapod.serve.executor import RayExecutor
from megapod.serve.settings import Settings
from megapod.sim.twin.views import NODE_STATE_CODES
from megapod.spec.scenario import load_scenario

#: The name of this machine's one node in the node map.
LOCAL_NODE = "this machine"


class LocalBackend(Backend):
    """This machine as the site: telemetry from its devices, jobs run as Ray gangs."""

    name = "local"

    def __init__(self, settings: Settings, devices: NvmlDevices | CpuDevices | None = None) -> None:
        self.settings = settings
        self.devices: NvmlDevices | CpuDevices | None = devices
        policies = load_scenario(settings.scenario).policies if settings.scenario else None
        self.executor = RayExecutor(
            settings.ray_address,
            settings.ray_num_cpus,
            policies,
            settings.checkpoint_dir,
            settings.max_restarts,
        )
        self._readings: list[dict[str, Any]] = []
        self._events: list[BackendEvent] = []
        #: The cap the operator set through :meth:`set_gpu_cap` (None: none set).
        self._cap_w: float | None = None

    def start(self, clock_s: float = 0.0) -> None:
        """Open NVML (or fall back to the CPUs) and join or start Ray."""
        if self.devices is None:
            self.devices = NvmlDevices.open() or CpuDevices()
        self._readings = self.devices.sample()
        self.executor.start()

    def stop(self) -> None:
        """Stop the jobs, leave Ray, close NVML."""
        self.executor.stop()
        if isinstance(self.devices, NvmlDevices):
            self.devices.close()

    def step(self) -> None:
        """Read the devices and poll the jobs."""
        assert self.devices is not None
        self._readings = self.devices.sample()
        self.executor.poll()

    def clock_s(self) -> float:
        """Seconds since the backend was built."""
        return self.executor.clock_s()

    def state(self) -> dict[str, Any]:
        """The devices' readings summed into the API's compact state."""
        r = self._readings
        powers = [d["power_w"] for d in r if d.get("power_w") is not None]
        gpu = self.devices is not None and self.devices.kind == "gpu"
        running = [
            s
            for s in (self.executor.status(j) for j in self.executor.job_ids())
            if s and s.state == "running"
        ]
        busy = sum(len(s.resources) for s in running)
        util = [d["utilization"] for d in r if d.get("utilization") is not None]
        limits = [d["power_limit_w"] for d in r if d.get("power_limit_w") is not None]
        return {
            "t_s": self.clock_s(),
            "horizon_s": None,
            "speed": 1.0,
            "nodes_up": 1,
            "nodes_failed": 0,
            "nodes_down": 0,
            "gpus": len(r) if gpu else 0,
            "gpus_busy": busy if gpu else 0,
            "gpus_failed": 0,
            "gpus_down": 0,
            "slots": self.executor.capacity(),
            "slots_busy": busy,
            "it_power_w": sum(powers) if powers else None,
            "facility_power_w": None,
            "pue": None,
            "utilization": sum(util) / len(util) if util else None,
            "battery_soc": None,
            "battery_power_w": None,
            "grid_limited": None,
            "blackout": None,
            "generators_on": None,
            "outdoor_c": None,
            "thermal_speed": None,
            "job_speed": None,
            "gpu_cap_w": min(limits) if gpu and limits else None,
            "grid_import_w": None,
            "devices": r,
        }

    def node_map(self) -> dict[str, Any]:
        """This machine as one node: running while a job holds a slot (capped when the
        operator's GPU cap is set), else idle; its power and its hottest device."""
        st = self.state()
        running = bool(st["slots_busy"])
        code = ("c" if self._cap_w is not None else "r") if running else "i"
        temps = [d["temperature_c"] for d in self._readings if d.get("temperature_c") is not None]
        row = {
            "name": LOCAL_NODE,
            "first_node": 0,
            "nodes": 1,
            "replicas": 1,
            "racks": [],
            **{f"nodes_{NODE_STATE_CODES[c]}": int(c == code) for c in NODE_STATE_CODES},
            "gpus": st["gpus"],
            "gpus_busy": st["gpus_busy"],
            "gpus_failed": 0,
            "gpus_down": 0,
            "it_power_w": st["it_power_w"],
            "facility_power_w": None,
            "cooling_capacity_w": None,
            "cooling_load": None,
            "thermal_speed": None,
            "thermal_cap_w": None,
            "supply_temp_c": None,
            "temperature_c": max(temps) if temps else None,
        }
        return {
            "t_s": st["t_s"],
            "nodes": 1,
            "states": code,
            "designs": [row],
            "battery_soc": None,
            "battery_power_w": None,
            "gpu_cap_w": st["gpu_cap_w"],
            "outdoor_c": None,
            "codes": dict(NODE_STATE_CODES),
        }

    def samples(self) -> dict[str, dict[str, float]]:
        """Per-device telemetry (``gpu:N`` or ``cpu``) and the site's total."""
        out: dict[str, dict[str, float]] = {}
        for d in self._readings:
            scope = f"gpu:{d['index']}" if d["kind"] == "gpu" else "cpu"
            out[scope] = {
                k: float(d[k])
                for k in ("power_w", "temperature_c", "utilization", "clock_mhz", "power_limit_w")
                if d.get(k) is not None
            }
        out.update(super().samples())
        return out

    def submit(self, job: JobSpec) -> None:
        """Queue the job on Ray."""
        self.executor.submit(job)

    def preempt(self, job_id: str) -> bool:
        """Stop a running gang (SIGTERM, time to checkpoint) and queue it again."""
        return self.executor.preempt(job_id)

    def cancel(self, job_id: str) -> bool:
        """Stop the job's ranks."""
        return self.executor.cancel(job_id)

    def job_status(self, job_id: str) -> JobStatus | None:
        """The executor's view of the job."""
        return self.executor.status(job_id)

    def drain_events(self) -> list[BackendEvent]:
        """No site events on one machine beyond the jobs' own (recorded by the server)."""
        out, self._events = self._events, []
        return out

    def drain_logs(self) -> dict[str, list[str]]:
        """Output lines of the ranks since the last call."""
        return self.executor.drain_logs()

    def set_gpu_cap(self, cap_w: float | None) -> float | None:
        """Set the GPUs' power limit through NVML and read back the enforced one."""
        if not isinstance(self.devices, NvmlDevices):
            raise BackendConflict("gpu_cap_w: this machine has no GPU that NVML can cap (CPUs only)")
        enforced = self.devices.set_power_limit(cap_w)
        self._cap_w = cap_w
        return enforced
