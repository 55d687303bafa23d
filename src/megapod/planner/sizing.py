"""Facility sizing: whole pods of one design → feed, batteries, cooling, hourly power, cost, carbon.

Built on the physics modules; no I/O beyond catalog and climate look-ups. A site grows pod by
pod: every figure here is for ``pods`` replicas of one pod design.

Sizing rules (docs/facility-model.md, "Planner"):

* IT peak per pod = servers at TDP + switches (:func:`megapod.planner.inventory.pod_inventory`).
* Feed per pod = the highest hourly facility power at IT peak over the climate year.
* Battery units per pod = enough energy to carry the facility peak for the ride-through
  target (default: the generator start time, or 10 min without generators) and enough power
  to carry it at all: ``max(⌈E_needed / E_unit,usable⌉, ⌈P_peak / P_unit⌉)``.
* Cooling capacity per pod = the heat at IT peak, grossed up for derating at the climate's
  hottest hour (:func:`megapod.physics.thermal.capacity_for_design_w`).
* Operating load: GPUs at the workload's mean board power, hosts linear in utilization,
  switches at their rated power; the site is assumed to run such work all year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from megapod import catalog
from megapod.catalog.price import GridRegionEntry, PriceTableEntry
from megapod.errors import CatalogError, SpecError
from megapod.physics import battery as battery_physics
from megapod.physics import carbon, climate, cost, gpu_power, thermal
from megapod.physics.inventory import pod_inventory
from megapod.physics.power_chain import ChainCurves
from megapod.spec import Pod, Site
from megapod.units import HOURS_PER_YEAR, MINUTE_S

FloatArray = npt.NDArray[np.float64]

#: Ride-through when the pod gives no target and has no generators: 10 minutes, a common
#: UPS battery autonomy for data centers (Schneider Electric White Paper 1, runtime ranges).
DEFAULT_RIDE_THROUGH_S = 10 * MINUTE_S


@dataclass(frozen=True)
class FacilitySizing:
    """A site of ``pods`` replicas of one pod design, sized and run for a typical year."""

    pod_name: str
    pods: int
    gpus: int
    gpu_type: str
    climate: str
    grid_region: str
    it_peak_w: float
    it_mean_w: float
    facility_peak_w: float
    facility_mean_w: float
    feed_w: float
    annual_it_energy_wh: float
    annual_facility_energy_wh: float
    annual_pue: float
    peak_pue: float
    free_cooling_hours: int
    cooling_plant: str
    cooling_capacity_w: float
    hottest_c: float
    battery_unit: str
    battery_units: int
    battery_energy_wh: float
    battery_power_w: float
    ride_through_target_s: float
    ride_through_s: float
    generator_w: float
    switches: int
    nic_ports: int
    annual_co2_t: float
    battery_tou_savings_usd: float
    capex: cost.Capex
    opex: cost.Opex
    annualized_cost_usd: float
    tco_usd: float
    years: float
    cost_per_gpu_hour_usd: float
    hourly_it_w: FloatArray
    hourly_facility_w: FloatArray
    hourly_pue: FloatArray
    hourly_outdoor_c: FloatArray
    notes: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures (hourly series left out), SI units and USD as the names say."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if key.startswith("hourly_"):
                continue
            if isinstance(value, cost.Capex | cost.Opex):
                out[key] = value.as_dict()
            elif isinstance(value, tuple):
                out[key] = list(value)
            else:
                out[key] = value
        return out


def price_table(name: str, overrides: dict[str, Any] | None = None) -> PriceTableEntry:
    """The price table ``name`` with ``overrides`` applied."""
    entry = catalog.resolve("prices", name, overrides or {})
    if not isinstance(entry, PriceTableEntry):  # pragma: no cover - the kind ties the model
        raise CatalogError(f"prices {name!r} is not a price table")
    return entry


def grid_region(site: Site) -> GridRegionEntry:
    """The site's grid region entry; a missing or unknown region is a :class:`SpecError`."""
    name = site.location.grid_region
    known = catalog.names("grid-region")
    if name not in known:
        raise SpecError(
            "location.grid_region", f"{name!r} is not a known grid region; use one of {', '.join(known)}"
        )
    return catalog.typed("grid-region", name, GridRegionEntry)


def pod_mean_it_w(pod: Pod, gpu_mean_w: float) -> float:
    """IT power of one pod with every GPU at ``gpu_mean_w`` [W]: GPUs + hosts + switches.

    Host utilization is taken as the GPU's, ``(P - P_idle)/(P_tdp - P_idle)`` (linear model).
    """
    inv = pod_inventory(pod)
    total = inv.switch_power_w
    for rack in pod.racks:
        gpu = rack.server.gpu
        span = gpu.tdp_w - gpu.idle_w
        u = min(1.0, max(0.0, (gpu_mean_w - gpu.idle_w) / span)) if span > 0 else 1.0
        servers = rack.count * rack.servers
        total += servers * rack.server.gpus * min(gpu_mean_w, gpu.tdp_w)
        total += servers * float(gpu_power.host_power_w(rack.server.system.host_power_w, u))
    return total


def size_facility(
    site: Site,
    pod: Pod,
    pods: int,
    gpu_mean_w: float,
    prices: PriceTableEntry,
    years: float,
    min_battery_units: int = 0,
) -> FacilitySizing:
    """Size ``pods`` replicas of ``pod`` for the site's climate and grid, and cost them.

    ``min_battery_units`` (site total) raises the battery bank above what ride-through needs,
    e.g. to hold a grid ramp limit; the bank is split evenly over the pods and costed.
    """
    if pods < 1:
        raise SpecError("pods", f"{pods}: need at least one pod")
    notes: list[str] = []
    inv = pod_inventory(pod)
    profile = climate.load_profile(site.location.climate)
    region = grid_region(site)
    curves = ChainCurves.from_entries(pod.power.chain)
    plant = pod.cooling.plant
    outdoor = thermal.plant_outdoor_c(plant, profile.dry_bulb_c, profile.wet_bulb_c)
    it_peak_pod = inv.it_peak_w
    it_mean_pod = pod_mean_it_w(pod, gpu_mean_w)

    peak_year = thermal.hourly_facility(it_peak_pod, it_peak_pod, curves, plant, 1.0, outdoor)
    facility_peak_pod = float(np.max(peak_year.flow.facility_w))
    heat_peak_pod = float(np.max(peak_year.flow.it_w + peak_year.flow.pdu_loss_w + peak_year.flow.ups_loss_w))
    hottest = float(np.max(outdoor))
    cooling_pod = thermal.capacity_for_design_w(plant, heat_peak_pod, hottest)

    year = thermal.hourly_facility(it_mean_pod, it_peak_pod, curves, plant, cooling_pod, outdoor)
    facility_hourly = year.flow.facility_w * pods
    it_hourly = year.flow.it_w * pods

    for rack in pod.racks:
        if rack.it_peak_w > plant.max_rack_w:
            notes.append(
                f"rack {rack.name!r} draws {rack.it_peak_w / 1e3:.0f} kW, above the "
                f"{plant.max_rack_w / 1e3:.0f} kW the {plant.name} plant type serves"
            )
    if pod.power.feed_w < facility_peak_pod:
        notes.append(
            f"the pod spec's feed {pod.power.feed_w / 1e6:.2f} MW is below the sized "
            f"{facility_peak_pod / 1e6:.2f} MW; the plan uses the sized feed"
        )

    if site.grid.feed_w < facility_peak_pod * pods:
        notes.append(
            f"the site's grid feed {site.grid.feed_w / 1e6:,.1f} MW is below the "
            f"{facility_peak_pod * pods / 1e6:,.1f} MW these pods draw at peak"
        )
    gen_w = pod.power.generators.power_w if pod.power.generators else 0.0
    target = pod.power.ride_through_target_s
    if target is None:
        target = pod.power.generators.unit.start_time_s if pod.power.generators else DEFAULT_RIDE_THROUGH_S
    unit = (
        pod.power.battery.unit
        if pod.power.battery
        else catalog.typed("battery", "megapack-2xl-2h", catalog.BatteryEntry)
    )
    usable_unit_wh = unit.energy_wh * (unit.soc_max - unit.soc_min)
    need_wh = battery_physics.energy_for_ride_through_wh(
        facility_peak_pod, target, unit.round_trip_efficiency
    )
    units_pod = max(
        math.ceil(need_wh / usable_unit_wh - 1e-9),
        math.ceil(facility_peak_pod / unit.power_w - 1e-9),
        math.ceil(min_battery_units / pods),
        1,
    )
    ride = battery_physics.ride_through_s(
        units_pod * usable_unit_wh, units_pod * unit.power_w, facility_peak_pod, unit.round_trip_efficiency
    )

    gpus_by_type = {name: n * pods for name, n in inv.gpu_types.items()}
    cap = cost.capex(
        prices,
        gpus_by_type=gpus_by_type,
        switches=inv.switches * pods,
        nic_ports=inv.nics * pods,
        it_design_w=it_peak_pod * pods,
        cooling_plant=plant.name if plant.name in prices.cooling_usd_per_w else plant.kind,
        cooling_capacity_w=cooling_pod * pods,
        battery_energy_wh=units_pod * unit.energy_wh * pods,
        generator_w=gen_w * pods,
    )
    price = cost.hourly_price_usd_per_wh(region)
    energy_usd = cost.energy_cost_usd(facility_hourly, price)
    savings = (
        _tou_savings_usd(unit, units_pod, need_wh, facility_hourly / pods, facility_peak_pod, price) * pods
    )
    opex = cost.annual_opex(prices, cap, energy_usd, it_peak_pod * pods)
    annualized = cost.annualized_cost_usd(prices, cap, opex)
    gpus = pod.gpus * pods
    co2 = carbon.emissions_t(facility_hourly, carbon.hourly_intensity_g_per_wh(region))
    return FacilitySizing(
        pod_name=pod.name,
        pods=pods,
        gpus=gpus,
        gpu_type=pod.racks[0].server.gpu.name,
        climate=profile.name,
        grid_region=region.name,
        it_peak_w=it_peak_pod * pods,
        it_mean_w=float(np.mean(it_hourly)),
        facility_peak_w=facility_peak_pod * pods,
        facility_mean_w=float(np.mean(facility_hourly)),
        feed_w=facility_peak_pod * pods,
        annual_it_energy_wh=float(np.sum(it_hourly)) * HOURS_PER_YEAR / it_hourly.size,
        annual_facility_energy_wh=float(np.sum(facility_hourly)) * HOURS_PER_YEAR / facility_hourly.size,
        annual_pue=year.annual_pue,
        peak_pue=float(np.max(year.pue)),
        free_cooling_hours=int(np.count_nonzero(year.free_cooling)),
        cooling_plant=plant.name,
        cooling_capacity_w=cooling_pod * pods,
        hottest_c=hottest,
        battery_unit=unit.name,
        battery_units=units_pod * pods,
        battery_energy_wh=units_pod * unit.energy_wh * pods,
        battery_power_w=units_pod * unit.power_w * pods,
        ride_through_target_s=float(target),
        ride_through_s=ride,
        generator_w=gen_w * pods,
        switches=inv.switches * pods,
        nic_ports=inv.nics * pods,
        annual_co2_t=co2,
        battery_tou_savings_usd=savings,
        capex=cap,
        opex=opex,
        annualized_cost_usd=annualized,
        tco_usd=cost.tco_usd(cap, opex, years),
        years=years,
        cost_per_gpu_hour_usd=cost.cost_per_gpu_hour_usd(annualized, gpus),
        hourly_it_w=it_hourly,
        hourly_facility_w=facility_hourly,
        hourly_pue=year.pue,
        hourly_outdoor_c=outdoor,
        notes=tuple(notes),
    )


def _tou_savings_usd(
    unit: catalog.BatteryEntry,
    units: int,
    reserve_wh: float,
    facility_w: FloatArray,
    feed_w: float,
    price_usd_per_wh: FloatArray,
) -> float:
    """Yearly energy-cost saving of one pod's bank doing time-of-use arbitrage above its backup
    reserve (``tou-arbitrage`` policy, grid import within the feed) [USD/year]."""
    energy = units * unit.energy_wh
    reserve_soc = min(unit.soc_max, unit.soc_min + reserve_wh / energy) if energy > 0 else unit.soc_max
    params = battery_physics.BatteryParams(
        energy, units * unit.power_w, unit.round_trip_efficiency, unit.soc_min, unit.soc_max, reserve_soc
    )
    run = battery_physics.simulate_dispatch("tou-arbitrage", params, facility_w, price_usd_per_wh, feed_w)
    return cost.energy_cost_usd(facility_w, price_usd_per_wh) - cost.energy_cost_usd(
        run.grid_w, price_usd_per_wh
    )
