"""Grid-facing power profile of a training job: waveform, mitigations, metrics, battery sizing.

``run_power_profile(site, spec, seed)`` runs a scenario's ``power_profile`` section;
``size_battery(load_w, resolution_s, unit, ...)`` answers "how small a battery meets this
ramp or swing limit" for any grid draw; ``STRATEGIES`` holds the mitigations by name.
"""

from __future__ import annotations

from megapod.sim.power_profile.battery_control import BatteryTrace, smooth_with_battery
from megapod.sim.power_profile.engine import (
    GridMetrics,
    MitigationCost,
    PowerProfileResult,
    ProfileRun,
    build_job,
    grid_metrics,
    run_power_profile,
)
from megapod.sim.power_profile.job import JobModel, PhasePower, Timeline, Waveform, synthesize
from megapod.sim.power_profile.sizing import BatterySizing, size_battery
from megapod.sim.power_profile.strategies import STRATEGIES, Strategy, build_strategy

__all__ = [
    "STRATEGIES",
    "BatterySizing",
    "BatteryTrace",
    "GridMetrics",
    "JobModel",
    "MitigationCost",
    "PhasePower",
    "PowerProfileResult",
    "ProfileRun",
    "Strategy",
    "Timeline",
    "Waveform",
    "build_job",
    "build_strategy",
    "grid_metrics",
    "run_power_profile",
    "size_battery",
    "smooth_with_battery",
    "synthesize",
]
