"""Cooling: plant COP vs. outdoor temperature, free cooling, pump power, derating, hourly PUE.

Pure functions over floats or numpy arrays; SI units (W, °C, m³/s, Pa).

* **Plant COP** — heat removed per watt of *all* cooling electricity (compressors, towers or
  dry coolers, pumps, fans), tabulated vs. outdoor dry-bulb per plant type in the catalog
  (``cooling.yaml``) and interpolated linearly. Below the plant's free-cooling threshold no
  compressor runs (economizer mode, ASHRAE 90.4-2019 §6.5.1).
* **Coolant flow and pump power** — ``V̇ = Q / (ρ c_p ΔT)`` (steady-flow energy balance) and
  ``P_pump = V̇ Δp / η_pump`` (hydraulic power over wire-to-water efficiency).
* **Capacity derating** — ``Q_max(T) = Q_design · max(0, 1 - d·max(0, T - T_design))`` with
  ``d`` the catalog's fractional loss per °C above the design outdoor temperature (heat
  rejection falls as the approach to ambient shrinks; vendors publish such derating tables).
* **Hourly PUE** — the power chain of :mod:`megapod.physics.power_chain` with the hour's COP:
  ``PUE_h = P_facility,h / P_IT,h`` and the annual PUE as the energy ratio ``ΣP_facility / ΣP_IT``
  (ISO/IEC 30134-2 defines PUE over energy, not as a mean of hourly ratios).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from megapod.catalog.cooling import CoolingPlantEntry
from megapod.physics.power_chain import ChainCurves, PowerFlow, facility_power

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | npt.ArrayLike

#: Water at ~30 °C: density [kg/m³] and specific heat [J/(kg·K)] (IAPWS-95 tables).
WATER_DENSITY_KG_PER_M3 = 995.7
WATER_CP_J_PER_KG_K = 4178.0


def plant_outdoor_c(plant: CoolingPlantEntry, dry_bulb_c: ArrayLike, wet_bulb_c: ArrayLike) -> FloatArray:
    """The outdoor temperature the plant's curves refer to: dry-bulb, or wet-bulb for towers.

    Evaporative heat rejection approaches the wet-bulb temperature (ASHRAE Handbook —
    HVAC Systems and Equipment, ch. 40 "Cooling Towers"); dry coolers the dry-bulb.
    """
    basis = wet_bulb_c if plant.temperature_basis == "wet-bulb" else dry_bulb_c
    return np.asarray(basis, dtype=np.float64)


def plant_cop(plant: CoolingPlantEntry, outdoor_c: ArrayLike) -> FloatArray:
    """Whole-plant COP at outdoor dry-bulb ``outdoor_c`` [°C] (linear in the catalog's points)."""
    temps = np.array([p[0] for p in plant.cop_points], dtype=np.float64)
    cops = np.array([p[1] for p in plant.cop_points], dtype=np.float64)
    return np.asarray(np.interp(np.asarray(outdoor_c, dtype=np.float64), temps, cops), dtype=np.float64)


def cooling_power_w(heat_w: ArrayLike, cop: ArrayLike) -> FloatArray:
    """Electric power of the cooling plant removing ``heat_w`` at ``cop`` [W]: ``Q / COP``."""
    return np.asarray(
        np.asarray(heat_w, dtype=np.float64) / np.asarray(cop, dtype=np.float64), dtype=np.float64
    )


def free_cooling(plant: CoolingPlantEntry, outdoor_c: ArrayLike) -> npt.NDArray[np.bool_]:
    """True in hours when the economizer carries the whole load (outdoor < threshold)."""
    return np.asarray(np.asarray(outdoor_c, dtype=np.float64) < plant.free_cooling_below_c)


def free_cooling_hours(plant: CoolingPlantEntry, hourly_outdoor_c: ArrayLike) -> int:
    """Number of hourly values in which the plant runs without compressors."""
    return int(np.count_nonzero(free_cooling(plant, hourly_outdoor_c)))


def derated_capacity_w(
    plant: CoolingPlantEntry, design_capacity_w: float, outdoor_c: ArrayLike
) -> FloatArray:
    """Heat-rejection capacity at ``outdoor_c`` [W]; derated linearly above the design temperature."""
    t = np.asarray(outdoor_c, dtype=np.float64)
    loss = plant.derate_per_c * np.maximum(0.0, t - plant.design_outdoor_c)
    return np.asarray(design_capacity_w * np.maximum(0.0, 1.0 - loss), dtype=np.float64)


def capacity_for_design_w(plant: CoolingPlantEntry, heat_w: float, hottest_c: float) -> float:
    """Design capacity [W] so that ``heat_w`` is still removed at ``hottest_c`` (inverse derating)."""
    factor = 1.0 - plant.derate_per_c * max(0.0, hottest_c - plant.design_outdoor_c)
    if factor <= 0:
        raise ValueError(f"plant {plant.name!r} has no capacity left at {hottest_c:.1f} °C")
    return heat_w / factor


def coolant_flow_m3_per_s(
    heat_w: ArrayLike,
    delta_t_c: float,
    density_kg_per_m3: float = WATER_DENSITY_KG_PER_M3,
    cp_j_per_kg_k: float = WATER_CP_J_PER_KG_K,
) -> FloatArray:
    """Volume flow carrying ``heat_w`` with a supply/return difference ``delta_t_c`` [m³/s].

    ``V̇ = Q / (ρ c_p ΔT)``.
    """
    if delta_t_c <= 0:
        raise ValueError("temperature difference must be > 0")
    q = np.asarray(heat_w, dtype=np.float64)
    return np.asarray(q / (density_kg_per_m3 * cp_j_per_kg_k * delta_t_c), dtype=np.float64)


def pump_power_w(flow_m3_per_s: ArrayLike, head_pa: float, efficiency: float = 0.7) -> FloatArray:
    """Electric power of a pump moving ``flow_m3_per_s`` against ``head_pa`` [W]: ``V̇ Δp / η``."""
    if not 0 < efficiency <= 1:
        raise ValueError("pump efficiency must be in (0, 1]")
    return np.asarray(np.asarray(flow_m3_per_s, dtype=np.float64) * head_pa / efficiency, dtype=np.float64)


@dataclass(frozen=True)
class HourlyFacility:
    """A year of hourly facility power: the power flow plus the temperatures behind it."""

    outdoor_c: FloatArray
    cop: FloatArray
    flow: PowerFlow
    cooling_capacity_w: FloatArray
    free_cooling: npt.NDArray[np.bool_]

    @property
    def pue(self) -> FloatArray:
        """Hourly PUE."""
        return self.flow.pue

    @property
    def annual_pue(self) -> float:
        """Energy-weighted PUE over the profile: ΣP_facility / ΣP_IT (ISO/IEC 30134-2)."""
        it = float(np.sum(self.flow.it_w))
        return float(np.sum(self.flow.facility_w)) / it if it > 0 else 1.0

    @property
    def facility_energy_wh(self) -> float:
        """Facility energy over the profile for hourly steps [Wh]."""
        return float(np.sum(self.flow.facility_w))

    @property
    def it_energy_wh(self) -> float:
        """IT energy over the profile for hourly steps [Wh]."""
        return float(np.sum(self.flow.it_w))

    @property
    def hours_over_capacity(self) -> int:
        """Hours in which the heat load exceeds the derated plant capacity."""
        heat = self.flow.it_w + self.flow.pdu_loss_w + self.flow.ups_loss_w
        return int(np.count_nonzero(heat > self.cooling_capacity_w * (1 + 1e-9)))


def hourly_facility(
    it_w: ArrayLike,
    rated_it_w: float,
    curves: ChainCurves,
    plant: CoolingPlantEntry,
    design_capacity_w: float,
    outdoor_c: ArrayLike,
) -> HourlyFacility:
    """Hourly facility power and PUE for IT load ``it_w`` (scalar or hourly) over ``outdoor_c``."""
    t = np.asarray(outdoor_c, dtype=np.float64)
    cop = plant_cop(plant, t)
    it = np.broadcast_to(np.asarray(it_w, dtype=np.float64), t.shape)
    flow = facility_power(it, rated_it_w, curves, cop)
    return HourlyFacility(
        outdoor_c=t,
        cop=cop,
        flow=flow,
        cooling_capacity_w=derated_capacity_w(plant, design_capacity_w, t),
        free_cooling=free_cooling(plant, t),
    )
