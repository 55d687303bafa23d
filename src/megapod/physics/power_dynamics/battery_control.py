"""Battery smoothing control loop: a ramp-rate-limited grid draw with SoC management.

At each sample ``k`` (Δt):

1. SoC management asks the grid for ``P_des = L_k + (s* - s)·E·3600/τ`` [W]: the load plus
   the power that would bring the state of charge back to its target ``s*`` in ``τ``.
2. The grid draw follows ``P_des`` but moves at most ``r·Δt`` from the last sample (ramp
   target ``r`` [W/s]): ``G_k = clip(P_des, G_{k-1} - rΔt, G_{k-1} + rΔt)``.
3. The battery supplies the gap ``B_k = L_k - G_k`` (+ discharge), cut to its rating
   ``±P_rated`` and to the energy between ``soc_min`` and ``soc_max``; the grid takes what
   the battery cannot: ``G_k = L_k - B_k``.

Losses split the round-trip efficiency evenly (η_c = η_d = √η_rt, NREL ATB), as in
:mod:`megapod.physics.battery`. The loop is compiled with numba (a sequential recursion
cannot be vectorized); 600,000 samples take a few milliseconds. This is the ramp-rate
control used for PV and wind smoothing (Marcos et al., "Storage requirements for PV power
ramp-rate control", Solar Energy 2014), applied to a load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from megapod.physics.battery import BatteryParams
from megapod.units import HOUR_S

FloatArray = npt.NDArray[np.float64]


def njit_cached(func: Callable[..., Any]) -> Callable[..., Any]:
    """``numba.njit(cache=True, nogil=True)`` where numba can write its cache, else uncached.

    numba looks for a writable place for the cache (``NUMBA_CACHE_DIR``, the module's
    ``__pycache__``, then the user's cache folder) when the function is decorated, and raises
    if it finds none: with a read-only installation and HOME, the import itself would fail.
    Then the function is compiled on first call in every process instead (about a
    second for the loop below), and the results are the same.
    """
    try:
        return numba.njit(cache=True, nogil=True)(func)
    except RuntimeError as exc:  # numba: "cannot cache function …: no locator available …"
        if "no locator available" not in str(exc):
            raise
        return numba.njit(nogil=True)(func)


@njit_cached
def _ramp_control(
    load_w: FloatArray,
    resolution_s: float,
    ramp_w_per_s: float,
    power_w: float,
    energy_wh: float,
    eta_c: float,
    eta_d: float,
    soc0: float,
    soc_min: float,
    soc_max: float,
    soc_target: float,
    soc_time_constant_s: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:  # pragma: no cover - compiled
    n = load_w.size
    grid = np.empty(n)
    batt = np.empty(n)
    soc = np.empty(n + 1)
    hours = resolution_s / HOUR_S
    step = ramp_w_per_s * resolution_s
    # a time constant shorter than one step corrects the SoC within that step, no faster
    # (a tiny constant would make the gain infinite and the trace NaN)
    gain = energy_wh * HOUR_S / max(soc_time_constant_s, resolution_s) if soc_time_constant_s > 0 else 0.0
    s = soc0
    soc[0] = s
    g = load_w[0] if n > 0 else 0.0
    for k in range(n):
        want = load_w[k] + (soc_target - s) * gain
        if want > g + step:
            want = g + step
        elif want < g - step:
            want = g - step
        b = load_w[k] - want
        if b > power_w:
            b = power_w
        elif b < -power_w:
            b = -power_w
        if b > 0.0:
            b_max = max(0.0, (s - soc_min) * energy_wh) * eta_d / hours
            if b > b_max:
                b = b_max
            s = max(soc_min, s - b * hours / eta_d / energy_wh)
        elif b < 0.0:
            b_min = max(0.0, (soc_max - s) * energy_wh) / eta_c / hours
            if -b > b_min:
                b = -b_min
            s = min(soc_max, s - b * hours * eta_c / energy_wh)
        g = load_w[k] - b
        grid[k] = g
        batt[k] = b
        soc[k + 1] = s
    return grid, batt, soc


@dataclass(frozen=True)
class BatteryTrace:
    """What the battery did: grid draw, battery power (+ discharge) [W] and SoC per sample.

    ``soc_frac`` has one more entry than the power series (the state before the first sample).
    """

    grid_w: FloatArray
    battery_w: FloatArray
    soc_frac: FloatArray
    params: BatteryParams

    resolution_s: float

    @property
    def losses_wh(self) -> float:
        """Energy lost in the battery's conversion over the trace [Wh].

        Charging ``P`` for Δt stores ``η_c·P·Δt`` (loses ``(1-η_c)·P·Δt``); discharging ``P``
        draws ``P·Δt/η_d`` from the cells (loses ``(1/η_d - 1)·P·Δt``).
        """
        b = self.battery_w
        charge_wh = -float(np.sum(b[b < 0])) * self.resolution_s / HOUR_S
        discharge_wh = float(np.sum(b[b > 0])) * self.resolution_s / HOUR_S
        p = self.params
        return charge_wh * (1.0 - p.charge_efficiency) + discharge_wh * (1.0 / p.discharge_efficiency - 1.0)


def smooth_with_battery(
    load_w: npt.ArrayLike,
    resolution_s: float,
    params: BatteryParams,
    ramp_limit_w_per_s: float,
    soc_initial: float = 0.5,
    soc_target: float = 0.5,
    soc_time_constant_s: float = 300.0,
) -> BatteryTrace:
    """Run the ramp-rate control loop of a battery between ``load_w`` and the grid.

    Args:
        load_w: site demand before the battery [W].
        resolution_s: sample interval Δt [s].
        params: the bank (energy, power, round-trip efficiency, SoC limits).
        ramp_limit_w_per_s: ramp target of the grid draw [W/s].
        soc_initial, soc_target: start and target state of charge (fractions).
        soc_time_constant_s: τ of the SoC restoring term [s]; 0 turns SoC management off.
    """
    x = np.ascontiguousarray(load_w, dtype=np.float64)
    if params.energy_wh <= 0 or params.power_w <= 0:
        return BatteryTrace(
            x.copy(), np.zeros_like(x), np.full(x.size + 1, soc_initial), params, resolution_s
        )
    lo, hi = params.soc_min, params.soc_max
    grid, batt, soc = _ramp_control(
        x,
        float(resolution_s),
        float(ramp_limit_w_per_s),
        float(params.power_w),
        float(params.energy_wh),
        params.charge_efficiency,
        params.discharge_efficiency,
        float(min(hi, max(lo, soc_initial))),
        float(lo),
        float(hi),
        float(min(hi, max(lo, soc_target))),
        float(soc_time_constant_s),
    )
    return BatteryTrace(grid, batt, soc, params, resolution_s)
