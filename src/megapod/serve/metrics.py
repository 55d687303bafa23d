"""Prometheus metrics of the control plane, read from the live state at scrape time.

Names carry the ``megapod_`` prefix and base units; energy is a ``_total`` counter in joules
(of the site's clock: simulated seconds on the twin).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import select

from megapod.serve.plane import ControlPlane
from megapod.serve.store.models import Job

_GAUGES = (
    ("it_power_watts", "IT power of the site", "it_power_w"),
    ("facility_power_watts", "facility power at the grid connection", "facility_power_w"),
    ("battery_state_of_charge_ratio", "battery state of charge (0-1)", "battery_soc"),
    ("battery_power_watts", "battery output (+ discharging)", "battery_power_w"),
    ("outdoor_temperature_celsius", "outdoor temperature", "outdoor_c"),
    ("thermal_speed_ratio", "job speed under the cooling limit (1 = full)", "thermal_speed"),
    ("job_speed_ratio", "job speed under every cap in force (1 = full)", "job_speed"),
    ("gpu_power_cap_watts", "enforced per-GPU power cap", "gpu_cap_w"),
    ("grid_import_watts", "power drawn from the grid, net of the battery", "grid_import_w"),
    ("power_budget_watts", "site power budget", "budget_w"),
    ("site_clock_seconds", "the site's clock", "t_s"),
)


class PlaneCollector(Collector):
    """Metrics of one control plane."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane

    def collect(self) -> Iterator[Metric]:
        """Gauges of the live state, job counts, energy and submission counters."""
        st = self.plane.latest
        for name, doc, key in _GAUGES:
            value = st.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                g = GaugeMetricFamily(f"megapod_{name}", doc)
                g.add_metric([], float(value))
                yield g
        gpus = GaugeMetricFamily("megapod_gpus", "GPUs by state", labels=["state"])
        for state in ("busy", "failed", "down"):
            value = st.get(f"gpus_{state}")
            if isinstance(value, int):
                gpus.add_metric([state], value)
        if isinstance(st.get("gpus"), int):
            gpus.add_metric(["total"], st["gpus"])
        yield gpus
        jobs = GaugeMetricFamily("megapod_jobs", "jobs of the API by state", labels=["state"])
        for state in ("pending", "queued", "running", "done", "failed", "cancelled"):
            jobs.add_metric([state], float(st.get(f"jobs_{state}", 0) or 0))
        yield jobs
        with self.plane.db.session() as s:
            running = s.execute(
                select(Job.id, Job.queue, Job.gpus).where(Job.state == "running").limit(1000)
            ).all()
        held = GaugeMetricFamily("megapod_job_gpus", "GPUs held by each running job", labels=["job", "queue"])
        for job_id, queue, n in running:
            held.add_metric([job_id, queue or ""], n)
        yield held
        energy = CounterMetricFamily(
            "megapod_energy_joules", "energy since the server started", labels=["kind"]
        )
        for kind, joules in self.plane.energy_j.items():
            energy.add_metric([kind], joules)
        yield energy
        submitted = CounterMetricFamily("megapod_jobs_submitted", "jobs accepted since the server started")
        submitted.add_metric([], self.plane.submitted_total)
        yield submitted
        cache = self.plane.db.job_reads
        reads = CounterMetricFamily(
            "megapod_job_reads", "job reads of the API, answered from memory (hit) or the database (miss)",
            labels=["cache"],
        )  # fmt: skip
        reads.add_metric(["hit"], cache.hits)
        reads.add_metric(["miss"], cache.misses)
        yield reads


def registry_for(plane: ControlPlane) -> CollectorRegistry:
    """A registry of its own per app (tests build several apps in one process)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(PlaneCollector(plane))
    return reg
