"""Battery sizing for a grid ramp or swing limit on a planned training run.

The planned job's site draw is synthesized from physics
(:func:`megapod.physics.power_dynamics.job.synthesize`): the step phases of the chosen layout
(:class:`megapod.physics.perf.StepBreakdown`) on the layout's GPUs, lockstep groups of
``tp·pp·cp`` GPUs, the pod's design PUE, over a short window with one failure and restart so
the sizing sees the deepest drop (full training power to idle) and the restart ramp.
:func:`megapod.physics.power_dynamics.battery_sizing.size_battery` then finds the fewest units
of the plan's battery type that keep the grid draw within the limits. Without a limit only
the unmitigated ramp and swing are reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from megapod import catalog
from megapod.catalog.power import BatteryEntry
from megapod.physics.perf import StepBreakdown
from megapod.physics.power_dynamics import max_ramp_w_per_s as ramp_of
from megapod.physics.power_dynamics import swing_w as swing_of
from megapod.physics.power_dynamics.battery_sizing import size_battery
from megapod.physics.power_dynamics.job import Timeline, pod_job, synthesize
from megapod.spec.site import Pod, Site

#: Window of the synthesized waveform [s]: steady training, a failure, a restart, training again.
WINDOW_S = 180.0
#: Sample interval [s]; fine enough for the 1 s ramp window and sub-second step phases.
RESOLUTION_S = 0.002
#: Failure time [s]; the job idles for ``RESTART_S`` and ramps back over ``RESTART_RAMP_S``.
FAILURE_AT_S = 90.0
RESTART_S = 60.0
RESTART_RAMP_S = 10.0
#: Largest bank the search tries before calling a limit unreachable [units].
MAX_UNITS = 100_000


@dataclass(frozen=True)
class GridLimitSizing:
    """The grid-facing answer of a training plan.

    Attributes:
        baseline_max_ramp_w_per_s, baseline_swing_w: the planned site's draw without a battery,
            ramp over 1 s windows [W/s] and peak-to-trough over the window [W].
        max_ramp_limit_w_per_s, max_swing_limit_w: the goal's limits (``None``: not asked).
        feasible: a bank of at most ``MAX_UNITS`` meets the limits (``None`` without limits).
        units, power_w, energy_wh, cycles_per_day: the smallest such bank [W], [Wh], [1/day].
        ride_through_units: units the ride-through sizing already buys.
        ride_through_covers: the ride-through bank is at least the grid-limit bank.
        plan_units: the larger of the two banks; the plan's battery.
    """

    window_s: float
    resolution_s: float
    failure_at_s: float
    baseline_max_ramp_w_per_s: float
    baseline_swing_w: float
    max_ramp_limit_w_per_s: float | None
    max_swing_limit_w: float | None
    unit: str
    feasible: bool | None
    units: int
    power_w: float
    energy_wh: float
    cycles_per_day: float
    ride_through_units: int
    ride_through_covers: bool | None
    plan_units: int

    @property
    def limited(self) -> bool:
        """Whether the goal asked for a limit."""
        return self.max_ramp_limit_w_per_s is not None or self.max_swing_limit_w is not None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {**self.__dict__, "limited": self.limited, "max_units": MAX_UNITS}


def size_for_grid_limits(
    site: Site,
    pod: Pod,
    step: StepBreakdown,
    battery_unit: str,
    ride_through_units: int,
    max_ramp_w_per_s: float | None = None,
    max_swing_w: float | None = None,
    seed: int = 0,
) -> GridLimitSizing:
    """Baseline ramp and swing of the planned job and, with limits, the battery that holds them.

    Args:
        site, pod: the site and the pod design the job runs on.
        step: the chosen layout's step (phases with durations [s] and GPU utilization).
        battery_unit: catalog name of the plan's battery unit.
        ride_through_units: units the ride-through sizing buys.
        max_ramp_w_per_s: grid ramp limit over 1 s windows [W/s], or ``None``.
        max_swing_w: grid peak-to-trough limit over the window [W], or ``None``.
        seed: seed of the waveform's jitter draws (lockstep by default, so unused draws).
    """
    lay = step.layout
    phases = [(p.name, p.duration_s, p.gpu_utilization) for p in step.phases if p.duration_s > 0]
    job = pod_job(pod, phases, lay.gpus, lay.tp * lay.pp * lay.cp)
    timeline = Timeline(WINDOW_S, RESOLUTION_S, None, 0.0, (FAILURE_AT_S,), RESTART_S, RESTART_RAMP_S)
    _, jitter_seed = np.random.SeedSequence(seed).spawn(2)  # the power-profile engine's jitter stream
    grid_w = synthesize(job, timeline, jitter_seed).grid_w
    base_ramp = ramp_of(grid_w, RESOLUTION_S)
    base_swing = swing_of(grid_w, RESOLUTION_S)
    sizing = None
    if max_ramp_w_per_s is not None or max_swing_w is not None:
        unit = catalog.typed("battery", battery_unit, BatteryEntry)
        sizing = size_battery(
            grid_w,
            RESOLUTION_S,
            unit,
            unit_name=battery_unit,
            max_ramp_w_per_s_limit=max_ramp_w_per_s,
            max_swing_w_limit=max_swing_w,
        )
    if sizing is None:
        return GridLimitSizing(
            WINDOW_S,
            RESOLUTION_S,
            FAILURE_AT_S,
            base_ramp,
            base_swing,
            None,
            None,
            battery_unit,
            None,
            0,
            0.0,
            0.0,
            0.0,
            ride_through_units,
            None,
            ride_through_units,
        )
    units = sizing.units if sizing.feasible else MAX_UNITS
    return GridLimitSizing(
        window_s=WINDOW_S,
        resolution_s=RESOLUTION_S,
        failure_at_s=FAILURE_AT_S,
        baseline_max_ramp_w_per_s=base_ramp,
        baseline_swing_w=base_swing,
        max_ramp_limit_w_per_s=max_ramp_w_per_s,
        max_swing_limit_w=max_swing_w,
        unit=sizing.unit,
        feasible=sizing.feasible,
        units=sizing.units,
        power_w=sizing.power_w,
        energy_wh=sizing.energy_wh,
        cycles_per_day=sizing.cycles_per_day,
        ride_through_units=ride_through_units,
        ride_through_covers=sizing.feasible and ride_through_units >= sizing.units,
        plan_units=max(units, ride_through_units) if sizing.feasible else ride_through_units,
    )
