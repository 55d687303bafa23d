"""Mitigation strategies, registered by name: each changes the job or the grid draw.

A strategy is built from its parameters (a pydantic model, so bad values become a
:class:`~megapod.errors.SpecError` naming the field) and offers two hooks:

* ``adjust_job(job)`` — act on the GPUs (power floor, power cap, staggering);
* ``adjust_grid(grid_w, resolution_s)`` — act between the site and the grid (a battery);
  returns a :class:`BatteryTrace` or ``None``.

Strategies combine by applying their hooks in order. The engine measures every strategy's
cost the same way (energy overhead, throughput loss, battery size and cycling).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from megapod import catalog
from megapod.catalog.power import BatteryEntry
from megapod.physics.battery import BatteryParams
from megapod.physics.gpu_power import speed_fraction
from megapod.physics.power_dynamics.battery_control import BatteryTrace, smooth_with_battery
from megapod.physics.power_dynamics.job import JobModel, PhasePower
from megapod.quantities import DurationS, EnergyWh, Fraction, PowerW
from megapod.registry import Registry
from megapod.spec.base import SpecModel
from megapod.spec.loader import validate
from megapod.spec.power_profile import RampWPerS

FloatArray = npt.NDArray[np.float64]


class Strategy(Protocol):
    """What every mitigation offers."""

    @property
    def name(self) -> str:
        """The registry name."""
        ...

    def adjust_job(self, job: JobModel) -> JobModel:
        """The job as this strategy runs it."""
        ...

    def adjust_grid(self, grid_w: FloatArray, resolution_s: float) -> BatteryTrace | None:
        """The battery's response to ``grid_w``, or None when the strategy has no battery."""
        ...


#: Strategy name -> factory taking the raw parameter mapping and a field path for errors.
StrategyFactory = Callable[[Mapping[str, Any], str], Strategy]
STRATEGIES: Registry[StrategyFactory] = Registry("mitigation strategy")


def build_strategy(name: str, params: Mapping[str, Any], where: str = "") -> Strategy:
    """Build the registered strategy ``name`` from ``params``; unknown names are a SpecError."""
    return STRATEGIES.lookup(name, where or "strategy")(params, where)


class _NoJobChange:
    def adjust_job(self, job: JobModel) -> JobModel:
        return job


class _NoGridChange:
    def adjust_grid(self, grid_w: FloatArray, resolution_s: float) -> BatteryTrace | None:
        return None


# --- battery smoothing -------------------------------------------------------------------


class BatterySmoothingParams(SpecModel):
    """Battery smoothing: a bank of catalog units (or explicit ratings) and a ramp target.

    ``units`` omitted means "size it": the engine picks the fewest units that meet the
    scenario's limits (:func:`megapod.sim.power_profile.size_battery`).
    """

    unit: str = "megapack-2xl-2h"
    units: int | None = Field(None, ge=0, le=1_000_000)
    power_w: PowerW | None = None
    energy_wh: EnergyWh | None = None
    ramp_limit_w_per_s: RampWPerS
    soc_initial: Fraction = 0.5
    soc_target: Fraction = 0.5
    soc_time_constant_s: DurationS = 300.0

    @model_validator(mode="after")
    def _ratings(self) -> BatterySmoothingParams:
        if (self.power_w is None) != (self.energy_wh is None):
            raise ValueError("give both power_w and energy_wh, or neither (then unit and units)")
        return self


@dataclass(frozen=True)
class BatterySmoothing(_NoJobChange):
    """Ramp-rate control of the grid draw by a battery (see ``battery_control``)."""

    battery: BatteryParams | None  # None: to be sized by the engine
    unit: BatteryEntry
    ramp_limit_w_per_s: float
    soc_initial: float = 0.5
    soc_target: float = 0.5
    soc_time_constant_s: float = 300.0
    units: int | None = None  # catalog units in the bank; None for explicit ratings
    name: str = "battery_smoothing"

    def adjust_grid(self, grid_w: FloatArray, resolution_s: float) -> BatteryTrace | None:
        if self.battery is None:
            raise ValueError("battery not sized yet")
        return smooth_with_battery(
            grid_w,
            resolution_s,
            self.battery,
            self.ramp_limit_w_per_s,
            self.soc_initial,
            self.soc_target,
            self.soc_time_constant_s,
        )

    def with_units(self, units: int) -> BatterySmoothing:
        """The same control with a bank of ``units`` catalog units."""
        return replace(self, battery=bank_params(self.unit, units), units=units)


def bank_params(unit: BatteryEntry, units: int) -> BatteryParams:
    """A bank of ``units`` identical catalog units as plain numbers."""
    return BatteryParams(
        unit.energy_wh * units, unit.power_w * units, unit.round_trip_efficiency, unit.soc_min, unit.soc_max
    )


@STRATEGIES.register("battery_smoothing")
def _battery(params: Mapping[str, Any], where: str) -> Strategy:
    p = validate(BatterySmoothingParams, dict(params), where)
    unit = catalog.typed("battery", p.unit, BatteryEntry)
    if p.power_w is not None and p.energy_wh is not None:
        bank: BatteryParams | None = BatteryParams(
            p.energy_wh, p.power_w, unit.round_trip_efficiency, unit.soc_min, unit.soc_max
        )
    else:
        bank = None if p.units is None else bank_params(unit, p.units)
    return BatterySmoothing(
        bank,
        unit,
        p.ramp_limit_w_per_s,
        p.soc_initial,
        p.soc_target,
        p.soc_time_constant_s,
        units=None if p.power_w is not None else p.units,
    )


# --- GPU power floor ("burn" fill) ----------------------------------------------------------


class PowerFloorParams(SpecModel):
    """Hold every GPU at ≥ ``floor_fraction`` of its TDP (or ``floor_w``) in low phases."""

    floor_fraction: Fraction | None = None
    floor_w: PowerW | None = None

    @model_validator(mode="after")
    def _one(self) -> PowerFloorParams:
        if (self.floor_fraction is None) == (self.floor_w is None):
            raise ValueError("give exactly one of floor_fraction, floor_w")
        return self


@dataclass(frozen=True)
class PowerFloor(_NoGridChange):
    """Fill low phases with extra GPU work (or a firmware power floor) up to a floor.

    Cost: the energy burnt to hold the floor; throughput is unchanged.
    """

    floor_fraction: float | None
    floor_w: float | None
    name: str = "power_floor"

    def adjust_job(self, job: JobModel) -> JobModel:
        floor = self.floor_w if self.floor_w is not None else (self.floor_fraction or 0.0) * job.gpu_tdp_w
        return job.with_changes(floor_gpu_w=max(job.floor_gpu_w, min(floor, job.gpu_tdp_w)))


@STRATEGIES.register("power_floor")
def _floor(params: Mapping[str, Any], where: str) -> Strategy:
    p = validate(PowerFloorParams, dict(params), where)
    return PowerFloor(p.floor_fraction, p.floor_w)


# --- GPU power cap --------------------------------------------------------------------------


class PowerCapParams(SpecModel):
    """Cap every GPU at ``cap_fraction`` of its TDP (or ``cap_w``)."""

    cap_fraction: Fraction | None = None
    cap_w: PowerW | None = None
    memory_bound_fraction: Fraction = 0.0

    @model_validator(mode="after")
    def _one(self) -> PowerCapParams:
        if (self.cap_fraction is None) == (self.cap_w is None):
            raise ValueError("give exactly one of cap_fraction, cap_w")
        return self


@dataclass(frozen=True)
class PowerCap(_NoGridChange):
    """A board power cap: high phases draw less and run longer (DVFS law of ``gpu_power``).

    Cost: the throughput lost to the longer step.
    """

    cap_fraction: float | None
    cap_w: float | None
    memory_bound_fraction: float = 0.0
    name: str = "power_cap"

    def adjust_job(self, job: JobModel) -> JobModel:
        cap = self.cap_w if self.cap_w is not None else (self.cap_fraction or 0.0) * job.gpu_tdp_w
        cap = min(max(cap, job.gpu_idle_w), job.gpu_tdp_w)
        phases = []
        for ph in job.phases:
            if ph.power_w > cap:
                speed = float(
                    speed_fraction(
                        ph.utilization, job.gpu_idle_w, job.gpu_tdp_w, cap, self.memory_bound_fraction
                    )
                )
                phases.append(PhasePower(ph.name, ph.duration_s / max(speed, 1e-9), ph.utilization, cap))
            else:
                phases.append(ph)
        return job.with_changes(phases=tuple(phases))


@STRATEGIES.register("power_cap")
def _cap(params: Mapping[str, Any], where: str) -> Strategy:
    p = validate(PowerCapParams, dict(params), where)
    return PowerCap(p.cap_fraction, p.cap_w, p.memory_bound_fraction)


# --- staggering groups ----------------------------------------------------------------------


class StaggerParams(SpecModel):
    """Split the groups into ``cohorts`` shifted evenly over ``spread_fraction`` of a step."""

    cohorts: int = Field(2, ge=1, le=10_000)
    spread_fraction: Fraction = 0.5
    synchronous: bool = Field(True, description="cohorts share one gradient all-reduce")


@dataclass(frozen=True)
class Stagger(_NoGridChange):
    """Shift cohorts of groups against each other so their peaks do not coincide.

    When the cohorts belong to one synchronous job, every step waits for the last cohort:
    the step grows by the largest offset (an idle wait on the early cohorts), which is the
    throughput cost. Independent jobs (``synchronous: false``) pay nothing.
    """

    cohorts: int
    spread_fraction: float
    synchronous: bool = True
    name: str = "stagger"

    def adjust_job(self, job: JobModel) -> JobModel:
        if self.cohorts <= 1 or self.spread_fraction <= 0:
            return job
        step = job.step_time_s
        frac = tuple(self.spread_fraction * i / self.cohorts for i in range(self.cohorts))
        phases = job.phases
        if self.synchronous:
            wait_s = max(frac) * step
            phases = (*phases, PhasePower("stagger_wait", wait_s, 0.0, job.gpu_idle_w))
            frac = tuple(f * step / (step + wait_s) for f in frac)
        return job.with_changes(phases=phases, group_offsets_fraction=frac)


@STRATEGIES.register("stagger")
def _stagger(params: Mapping[str, Any], where: str) -> Strategy:
    p = validate(StaggerParams, dict(params), where)
    return Stagger(p.cohorts, p.spread_fraction, p.synchronous)
