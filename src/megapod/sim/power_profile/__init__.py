"""Grid-facing power profile of a training job: waveform, mitigations, metrics, battery sizing.

The chain over :mod:`megapod.physics.power_dynamics` (job model, battery control and sizing
live there as pure array code); this package wires a scenario's section to them.

``run_power_profile(site, spec, seed)`` runs a scenario's ``power_profile`` section;
``size_battery(load_w, resolution_s, unit, ...)`` answers "how small a battery meets this
ramp or swing limit" for any grid draw; ``STRATEGIES`` holds the mitigations by name.
"""

from __future__ import annotations

from megapod.physics.power_dynamics.battery_control import BatteryTrace, smooth_with_battery
from megapod.physics.power_dynamics.battery_sizing import BatterySizing, size_battery
from megapod.physics.power_dynamics.job import JobModel, PhasePower, Timeline, Waveform, synthesize
from megapod.sim.power_profile.engine import (
    GridMetrics,
    MitigationCost,
    PowerProfileResult,
    ProfileRun,
    build_job,
    grid_metrics,
    run_power_profile,
)
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
