"""Battery energy storage (Megapack-class): state of charge, ride-through, dispatch policies.

Pure functions, SI units: power [W] (positive = discharge to the site, negative = charge),
energy [Wh], time [s], state of charge as a fraction of nameplate energy.

* Round-trip efficiency ``η_rt`` is split evenly between charge and discharge,
  ``η_c = η_d = √η_rt`` (the usual symmetric split, e.g. NREL ATB "Utility-Scale Battery
  Storage" and the storage models of PyPSA/SAM). Charging at ``P`` for ``Δt`` stores
  ``P·Δt·η_c``; delivering ``P`` for ``Δt`` draws ``P·Δt/η_d`` from the cells.
* SoC is kept in ``[soc_min, soc_max]`` and power in ``[-P_rated, P_rated]``: a request
  beyond either limit is cut to what the battery can do, and the actual power is returned.
* Ride-through: ``t = E_usable·η_d / P_load`` when ``P_rated ≥ P_load``, else 0 (the bank
  cannot carry the load at all). The outage is bridged when ``t ≥`` the generator start time
  (NFPA 110 Type 10: 10 s).

Dispatch policies are registered by name in :data:`DISPATCH_POLICIES`; each maps one
interval's situation to a requested battery power, and :func:`simulate_dispatch` runs one
over a series.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from megapod.registry import Registry
from megapod.units import HOUR_S

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

# numpy is imported by the one function that makes arrays (simulate_dispatch): the scalar
# functions size a bank for ``megapod validate`` and ``describe``, which need no numpy.
T = TypeVar("T")


@dataclass(frozen=True)
class BatteryParams:
    """A battery bank as plain numbers.

    Attributes:
        energy_wh: nameplate energy [Wh].
        power_w: rated charge and discharge power [W].
        round_trip_efficiency: AC-to-AC, in (0, 1].
        soc_min, soc_max: state-of-charge limits, fractions of ``energy_wh``.
        reserve_soc: SoC kept back for backup; dispatch for economics never goes below it.
    """

    energy_wh: float
    power_w: float
    round_trip_efficiency: float
    soc_min: float = 0.0
    soc_max: float = 1.0
    reserve_soc: float = 0.0

    def __post_init__(self) -> None:
        if self.energy_wh < 0 or self.power_w < 0:
            raise ValueError("battery energy and power must be ≥ 0")
        if not 0 < self.round_trip_efficiency <= 1:
            raise ValueError("round-trip efficiency must be in (0, 1]")
        if not 0 <= self.soc_min <= self.soc_max <= 1:
            raise ValueError("need 0 ≤ soc_min ≤ soc_max ≤ 1")

    @property
    def charge_efficiency(self) -> float:
        """One-way efficiency, √η_rt."""
        return math.sqrt(self.round_trip_efficiency)

    @property
    def discharge_efficiency(self) -> float:
        """One-way efficiency, √η_rt."""
        return math.sqrt(self.round_trip_efficiency)

    @property
    def usable_energy_wh(self) -> float:
        """Energy stored between the SoC limits [Wh] (before discharge losses)."""
        return self.energy_wh * (self.soc_max - self.soc_min)

    @property
    def floor_soc(self) -> float:
        """Lowest SoC economic dispatch may reach: max(soc_min, reserve_soc)."""
        return min(self.soc_max, max(self.soc_min, self.reserve_soc))


@dataclass(frozen=True)
class SocStep:
    """Result of one interval: the new SoC and the power actually exchanged [W]."""

    soc: float
    power_w: float


def step_soc(
    params: BatteryParams, soc: float, power_w: float, duration_s: float, floor_soc: float | None = None
) -> SocStep:
    """Advance the SoC over ``duration_s`` at requested power ``power_w`` (+ discharge, − charge).

    The request is limited to the rated power and to the energy between ``floor_soc``
    (default ``soc_min``) and ``soc_max``; efficiencies √η_rt each way (NREL ATB split).

    Returns:
        the new SoC (within the limits whenever the start SoC is) and the power actually
        delivered (+) or absorbed (−) at the AC terminals [W].
    """
    if duration_s <= 0 or params.energy_wh <= 0:
        return SocStep(soc, 0.0)
    floor = params.soc_min if floor_soc is None else max(params.soc_min, floor_soc)
    hours = duration_s / HOUR_S
    p = max(-params.power_w, min(params.power_w, power_w))
    if p > 0:
        available_wh = max(0.0, (soc - floor) * params.energy_wh)
        p = min(p, available_wh * params.discharge_efficiency / hours)
        new_soc = soc - p * hours / params.discharge_efficiency / params.energy_wh
        new_soc = max(new_soc, min(soc, floor))
    elif p < 0:
        room_wh = max(0.0, (params.soc_max - soc) * params.energy_wh)
        p = -min(-p, room_wh / params.charge_efficiency / hours)
        new_soc = soc - p * hours * params.charge_efficiency / params.energy_wh
        new_soc = min(new_soc, max(soc, params.soc_max))
    else:
        new_soc = soc
    return SocStep(new_soc, p)


def ride_through_s(
    usable_energy_wh: float, power_w: float, load_w: float, round_trip_efficiency: float = 1.0
) -> float:
    """Seconds a battery carries ``load_w`` [s]: ``E·√η_rt / P_load``, 0 if ``power_w < load_w``.

    An empty load is carried forever (``inf``) when any energy is stored.
    """
    if load_w <= 0:
        return math.inf if usable_energy_wh > 0 else 0.0
    if power_w < load_w:
        return 0.0
    return usable_energy_wh * math.sqrt(round_trip_efficiency) / load_w * HOUR_S


def bridges_to_generator(ride_through: float, generator_start_s: float) -> bool:
    """True when the battery carries the load until the generators take it (NFPA 110)."""
    return ride_through >= generator_start_s


def energy_for_ride_through_wh(
    load_w: float, duration_s: float, round_trip_efficiency: float = 1.0, soc_window: float = 1.0
) -> float:
    """Nameplate energy needed to carry ``load_w`` for ``duration_s`` [Wh].

    ``E = P·t / √η_rt / (soc_max - soc_min)``; the inverse of :func:`ride_through_s`.
    """
    if soc_window <= 0:
        raise ValueError("SoC window must be > 0")
    return load_w * duration_s / HOUR_S / math.sqrt(round_trip_efficiency) / soc_window


# --- dispatch policies -------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchContext:
    """What a policy sees in one interval.

    Attributes:
        load_w: site demand before the battery [W].
        price_per_wh: energy price this interval [$/Wh].
        price_low_per_wh, price_high_per_wh: the day's cheap and dear thresholds [$/Wh].
        grid_limit_w: import limit of the grid connection [W].
        soc: state of charge at the start of the interval.
        grid_available: False during an outage.
    """

    load_w: float
    price_per_wh: float
    price_low_per_wh: float
    price_high_per_wh: float
    grid_limit_w: float
    soc: float
    grid_available: bool = True


#: A dispatch policy: (battery, situation) -> requested battery power [W], + discharge.
DispatchPolicy = Callable[[BatteryParams, DispatchContext], float]


DISPATCH_POLICIES: Registry[DispatchPolicy] = Registry("battery dispatch policy")


@DISPATCH_POLICIES.register("backup-reserve")
def backup_reserve(battery: BatteryParams, ctx: DispatchContext) -> float:
    """Keep the bank full for outages: charge (within the grid limit) whenever the grid is up,
    discharge only in an outage."""
    if not ctx.grid_available:
        return ctx.load_w
    if ctx.soc >= battery.soc_max:
        return 0.0
    return -min(battery.power_w, max(0.0, ctx.grid_limit_w - ctx.load_w))


@DISPATCH_POLICIES.register("peak-shaving")
def peak_shaving(battery: BatteryParams, ctx: DispatchContext) -> float:
    """Hold grid import at or below ``grid_limit_w``: discharge the excess, recharge with the headroom."""
    if not ctx.grid_available:
        return ctx.load_w
    excess = ctx.load_w - ctx.grid_limit_w
    if excess > 0:
        return excess
    return max(excess, -battery.power_w)


@DISPATCH_POLICIES.register("tou-arbitrage")
def tou_arbitrage(battery: BatteryParams, ctx: DispatchContext) -> float:
    """Charge in the day's cheap hours, discharge to the load in its dear hours, never above the
    grid limit when charging."""
    if not ctx.grid_available:
        return ctx.load_w
    if ctx.price_per_wh <= ctx.price_low_per_wh:
        headroom = max(0.0, ctx.grid_limit_w - ctx.load_w)
        return -min(battery.power_w, headroom)
    if ctx.price_per_wh >= ctx.price_high_per_wh:
        return min(battery.power_w, ctx.load_w)
    return 0.0


@dataclass(frozen=True)
class DispatchResult:
    """A dispatch run over ``n`` intervals: arrays of length ``n`` (SoC at the end of each)."""

    soc: FloatArray
    battery_w: FloatArray
    grid_w: FloatArray
    unserved_w: FloatArray


def simulate_dispatch(
    policy: str | DispatchPolicy,
    battery: BatteryParams,
    load_w: npt.ArrayLike,
    price_per_wh: npt.ArrayLike,
    grid_limit_w: float,
    duration_s: float = HOUR_S,
    soc0: float | None = None,
    grid_available: npt.ArrayLike | None = None,
    intervals_per_day: int = 24,
) -> DispatchResult:
    """Run a dispatch policy over a load and price series of equal length.

    Cheap/dear thresholds are each day's 25th/75th price percentiles. Grid import is
    ``load - battery`` (never negative: no export), and any load neither the grid (up to its
    limit, or nothing in an outage) nor the battery covers is reported as unserved.
    """
    import numpy as np

    fn = DISPATCH_POLICIES.lookup(policy, "dispatch") if isinstance(policy, str) else policy
    load = np.asarray(load_w, dtype=np.float64)
    price = np.broadcast_to(np.asarray(price_per_wh, dtype=np.float64), load.shape)
    up = (
        np.ones(load.shape, dtype=bool)
        if grid_available is None
        else np.broadcast_to(np.asarray(grid_available, dtype=bool), load.shape)
    )
    n = load.size
    soc = battery.soc_max if soc0 is None else soc0
    out_soc = np.empty(n)
    out_b = np.empty(n)
    out_g = np.empty(n)
    out_u = np.empty(n)
    days = math.ceil(n / intervals_per_day)
    thresholds = [
        np.percentile(price[d * intervals_per_day : (d + 1) * intervals_per_day], [25.0, 75.0])
        for d in range(days)
    ]
    for i in range(n):
        lo, hi = thresholds[i // intervals_per_day]
        ctx = DispatchContext(
            float(load[i]), float(price[i]), float(lo), float(hi), grid_limit_w, soc, bool(up[i])
        )
        request = fn(battery, ctx)
        floor = battery.soc_min if not ctx.grid_available else battery.floor_soc
        step = step_soc(battery, soc, request, duration_s, floor_soc=floor)
        soc = step.soc
        limit = grid_limit_w if ctx.grid_available else 0.0
        grid = min(limit, max(0.0, load[i] - step.power_w))
        out_soc[i] = soc
        out_b[i] = step.power_w
        out_g[i] = grid
        out_u[i] = max(0.0, load[i] - step.power_w - grid)
    return DispatchResult(out_soc, out_b, out_g, out_u)
