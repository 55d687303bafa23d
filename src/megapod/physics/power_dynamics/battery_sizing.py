"""The smallest battery that holds a site's grid draw within a ramp or swing limit.

Search, each trial one run of the compiled control loop:

1. The control ramp target: the ramp limit itself, or — for a swing limit — the largest ramp
   target whose ideal (unconstrained) ramp-limited draw stays within the swing, found by
   bisection (a slower ramp never widens the swing of a ramp-limited follower).
2. The fewest catalog units whose bank meets the limits with that target: doubling, then
   bisection on the unit count (more units never saturate sooner).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from megapod.catalog.power import BatteryEntry
from megapod.physics.battery import BatteryParams
from megapod.physics.power_dynamics import equivalent_full_cycles_per_day, max_ramp_w_per_s, swing_w
from megapod.physics.power_dynamics.battery_control import smooth_with_battery

FloatArray = npt.NDArray[np.float64]

#: Relative slack when comparing a measured metric with its limit (float noise, sampling).
_TOLERANCE = 1e-6


@dataclass(frozen=True)
class BatterySizing:
    """Answer of :func:`size_battery`.

    Attributes:
        feasible: a bank of at most ``max_units`` meets the limits.
        unit: catalog battery unit name; ``units`` of them give ``power_w`` / ``energy_wh``.
        control_ramp_w_per_s: the ramp target the control loop runs with [W/s].
        max_ramp_w_per_s, swing_w: the grid draw's metrics with that bank [W/s], [W].
        cycles_per_day: equivalent full cycles per day of the bank.
    """

    feasible: bool
    unit: str
    units: int
    power_w: float
    energy_wh: float
    control_ramp_w_per_s: float
    max_ramp_w_per_s: float
    swing_w: float
    cycles_per_day: float


def _bank(unit: BatteryEntry, units: int) -> BatteryParams:
    return BatteryParams(
        unit.energy_wh * units, unit.power_w * units, unit.round_trip_efficiency, unit.soc_min, unit.soc_max
    )


def _meets(value: float, limit: float | None) -> bool:
    return limit is None or value <= limit * (1.0 + _TOLERANCE) + 1e-9


def size_battery(
    load_w: npt.ArrayLike,
    resolution_s: float,
    unit: BatteryEntry,
    *,
    unit_name: str = "",
    max_ramp_w_per_s_limit: float | None = None,
    max_swing_w_limit: float | None = None,
    ramp_window_s: float = 1.0,
    swing_window_s: float | None = None,
    soc_target: float = 0.5,
    soc_time_constant_s: float = 300.0,
    max_units: int = 100_000,
) -> BatterySizing:
    """Fewest ``unit``s whose ramp-rate-controlled bank keeps ``load_w`` within the limits.

    Args:
        load_w: grid draw without the battery [W] (e.g. ``PowerProfileResult.baseline.grid_w``).
        resolution_s: sample interval [s].
        unit: catalog battery entry (``megapod.catalog.get("battery", name)``).
        max_ramp_w_per_s_limit: ramp limit [W/s] over ``ramp_window_s``.
        max_swing_w_limit: peak-to-trough limit [W], over the whole series or any
            ``swing_window_s``.
        soc_target, soc_time_constant_s: SoC management of the control loop.
        max_units: give up above this many units (``feasible=False``).
    """
    x = np.ascontiguousarray(load_w, dtype=np.float64)
    if max_ramp_w_per_s_limit is None and max_swing_w_limit is None:
        raise ValueError("give a ramp limit, a swing limit, or both")

    def ramp(y: FloatArray) -> float:
        return max_ramp_w_per_s(y, resolution_s, ramp_window_s)

    def swing(y: FloatArray) -> float:
        return swing_w(y, resolution_s, swing_window_s)

    raw_ramp = max(ramp(x), 1.0)
    target = min(max_ramp_w_per_s_limit or raw_ramp, raw_ramp)
    if max_swing_w_limit is not None and not _meets(swing(x), max_swing_w_limit):
        ideal = BatteryParams(energy_wh=1e15, power_w=1e15, round_trip_efficiency=1.0)
        lo, hi = raw_ramp * 1e-9, target
        if _meets(
            swing(smooth_with_battery(x, resolution_s, ideal, hi, 0.5, 0.5, 0.0).grid_w), max_swing_w_limit
        ):
            lo = hi
        for _ in range(40):
            if hi / lo < 1.01:
                break
            mid = float(np.sqrt(lo * hi))
            grid = smooth_with_battery(x, resolution_s, ideal, mid, 0.5, 0.5, 0.0).grid_w
            lo, hi = (mid, hi) if _meets(swing(grid), max_swing_w_limit) else (lo, mid)
        target = lo

    def trial(units: int) -> tuple[bool, float, float, float]:
        trace = smooth_with_battery(
            x, resolution_s, _bank(unit, units), target, soc_target, soc_target, soc_time_constant_s
        )
        r, s = ramp(trace.grid_w), swing(trace.grid_w)
        ok = _meets(r, max_ramp_w_per_s_limit) and _meets(s, max_swing_w_limit)
        efc = equivalent_full_cycles_per_day(trace.battery_w, resolution_s, unit.energy_wh * units)
        return ok, r, s, efc

    ok0, r0, s0, _ = trial(0)
    if ok0:
        return BatterySizing(True, unit_name, 0, 0.0, 0.0, target, r0, s0, 0.0)
    hi = 1
    while not trial(hi)[0]:
        if hi >= max_units:
            _, r, s, efc = trial(max_units)
            return BatterySizing(
                False,
                unit_name,
                max_units,
                unit.power_w * max_units,
                unit.energy_wh * max_units,
                target,
                r,
                s,
                efc,
            )
        hi = min(hi * 2, max_units)
    lo = hi // 2  # fails (or 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if trial(mid)[0] else (mid, hi)
    _, r, s, efc = trial(hi)
    return BatterySizing(True, unit_name, hi, unit.power_w * hi, unit.energy_wh * hi, target, r, s, efc)
