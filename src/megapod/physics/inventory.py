"""What a site holds and what it can do at peak: the numbers behind ``megapod describe``.

Pure arithmetic over the spec and the fabric sizing of :mod:`megapod.physics.fabric`; no I/O.
Figures are per pod design (one replica) and for the site (replicas counted).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from megapod.physics import battery as battery_physics
from megapod.physics import fabric as fabric_physics
from megapod.spec import Pod, Site
from megapod.units import MINUTE_S


@dataclass(frozen=True)
class PodInventory:
    """One pod design (a single replica) and its peak figures."""

    name: str
    count: int
    racks: int
    servers: int
    gpus: int
    gpu_types: dict[str, int]
    peak_bf16_flops: float
    peak_fp8_flops: float
    hbm_bytes: float
    gpu_tdp_w: float
    servers_peak_w: float
    nics: int
    switches: int
    switch_power_w: float
    it_peak_w: float
    design_pue: float
    facility_peak_w: float
    feed_w: float
    cooling_capacity_w: float
    battery_energy_wh: float
    battery_power_w: float
    battery_minutes_at_full_load: float
    battery_round_trip_efficiency: float
    generator_power_w: float
    scale_up_domain: int
    bisection_bps: float


@dataclass(frozen=True)
class SiteInventory:
    """A whole site: totals over pod replicas, plus the inter-pod and fleet figures."""

    name: str
    pods: list[PodInventory]
    pod_count: int
    racks: int
    servers: int
    gpus: int
    gpu_types: dict[str, int]
    peak_bf16_flops: float
    peak_fp8_flops: float
    hbm_bytes: float
    it_peak_w: float
    facility_peak_w: float
    grid_feed_w: float
    battery_energy_wh: float
    battery_power_w: float
    battery_minutes_at_full_load: float
    inter_pod_bisection_bps: float
    fleet_vehicles: int = 0
    fleet_mean_available: float = 0.0
    fleet_peak_int8_ops: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, SI units as the names say."""
        return asdict(self)


def pod_inventory(pod: Pod) -> PodInventory:
    """Peak figures of one replica of ``pod``."""
    gpu_types: Counter[str] = Counter()
    bf16 = fp8 = hbm = tdp = servers_w = 0.0
    nics = 0
    for rack in pod.racks:
        n_servers = rack.count * rack.servers
        gpu = rack.server.gpu
        n_gpus = n_servers * rack.server.gpus
        gpu_types[gpu.name] += n_gpus
        bf16 += n_gpus * gpu.peak("bf16")
        fp8 += n_gpus * _peak_or_zero(gpu.peak_flops, "fp8")
        hbm += n_gpus * gpu.hbm_bytes
        tdp += n_gpus * gpu.tdp_w
        servers_w += rack.count * rack.it_peak_w
        nics += n_servers * rack.server.system.nics
    switches, switch_w, bisection = _scale_out(pod, nics)
    it_peak = servers_w + switch_w
    facility = it_peak * pod.cooling.design_pue
    battery = pod.power.battery
    battery_wh = battery.energy_wh if battery else 0.0
    battery_w = battery.power_w if battery else 0.0
    battery_rte = battery.unit.round_trip_efficiency if battery else 1.0
    gen_w = pod.power.generators.power_w if pod.power.generators else 0.0
    domains = {r.server.system.scale_up_domain for r in pod.racks}
    return PodInventory(
        name=pod.name,
        count=pod.count,
        racks=pod.rack_count,
        servers=pod.servers,
        gpus=pod.gpus,
        gpu_types=dict(gpu_types),
        peak_bf16_flops=bf16,
        peak_fp8_flops=fp8,
        hbm_bytes=hbm,
        gpu_tdp_w=tdp,
        servers_peak_w=servers_w,
        nics=nics,
        switches=switches,
        switch_power_w=switch_w,
        it_peak_w=it_peak,
        design_pue=pod.cooling.design_pue,
        facility_peak_w=facility,
        feed_w=pod.power.feed_w,
        cooling_capacity_w=pod.cooling.capacity_w,
        battery_energy_wh=battery_wh,
        battery_power_w=battery_w,
        battery_minutes_at_full_load=ride_through_minutes(battery_wh, battery_w, facility, battery_rte),
        battery_round_trip_efficiency=battery_rte,
        generator_power_w=gen_w,
        scale_up_domain=max(domains),
        bisection_bps=bisection,
    )


def ride_through_minutes(
    energy_wh: float, power_w: float, load_w: float, round_trip_efficiency: float = 1.0
) -> float:
    """Minutes a battery carries ``load_w`` at full load (:func:`physics.battery.ride_through_s`)."""
    return battery_physics.ride_through_s(energy_wh, power_w, load_w, round_trip_efficiency) / MINUTE_S


def site_inventory(site: Site) -> SiteInventory:
    """Peak figures of the whole ``site``."""
    pods = [pod_inventory(p) for p in site.pods]
    gpu_types: Counter[str] = Counter()
    for p in pods:
        for name, n in p.gpu_types.items():
            gpu_types[name] += n * p.count

    def total(attr: str) -> float:
        return float(sum(getattr(p, attr) * p.count for p in pods))

    facility = total("facility_peak_w")
    battery_wh = total("battery_energy_wh")
    battery_w = total("battery_power_w")
    # energy-weighted round-trip efficiency of all the site's batteries
    rte = (
        (sum(p.battery_energy_wh * p.count * p.battery_round_trip_efficiency for p in pods) / battery_wh)
        if battery_wh
        else 1.0
    )
    notes: list[str] = []
    inter = 0.0
    if site.inter_pod is not None:
        inter = fabric_physics.bisection_bps(
            site.pod_count, site.inter_pod.uplink_rate_bps, site.inter_pod.oversubscription
        )
    elif site.pod_count > 1:
        notes.append("no inter_pod fabric given: pods cannot share a job")
    fleet_n = fleet_avail = fleet_ops = 0.0
    if site.fleet is not None:
        fleet_n = site.fleet.vehicles
        fleet_avail = fleet_n * sum(site.fleet.availability) / 24.0
        fleet_ops = fleet_n * max(site.fleet.availability) * site.fleet.module.int8_ops
    return SiteInventory(
        name=site.name,
        pods=pods,
        pod_count=site.pod_count,
        racks=int(total("racks")),
        servers=int(total("servers")),
        gpus=int(total("gpus")),
        gpu_types=dict(gpu_types),
        peak_bf16_flops=total("peak_bf16_flops"),
        peak_fp8_flops=total("peak_fp8_flops"),
        hbm_bytes=total("hbm_bytes"),
        it_peak_w=total("it_peak_w"),
        facility_peak_w=facility,
        grid_feed_w=site.grid.feed_w,
        battery_energy_wh=battery_wh,
        battery_power_w=battery_w,
        battery_minutes_at_full_load=ride_through_minutes(battery_wh, battery_w, facility, rte),
        inter_pod_bisection_bps=inter,
        fleet_vehicles=int(fleet_n),
        fleet_mean_available=fleet_avail,
        fleet_peak_int8_ops=fleet_ops,
        notes=notes,
    )


def _scale_out(pod: Pod, nics: int) -> tuple[int, float, float]:
    """Switches, their power [W] and the bisection [bit/s] of the pod's scale-out network."""
    so = pod.fabric.scale_out
    if so is None or nics == 0:
        return 0, 0.0, 0.0
    radix = so.switch.radix
    switches = fabric_physics.switch_count(nics, radix, so.tiers, so.oversubscription)
    if so.leaf_switches is not None:
        derived_leaves = fabric_physics.leaf_switches(nics, radix, so.oversubscription)
        switches += so.leaf_switches - derived_leaves
    nic_rate = min(r.server.system.nic_rate_bps for r in pod.racks)
    bisection = fabric_physics.bisection_bps(
        nics, min(nic_rate, so.switch.port_rate_bps), so.oversubscription
    )
    return switches, switches * so.switch.power_w, bisection


def _peak_or_zero(table: dict[str, float], dtype: str) -> float:
    return float(table.get(dtype, 0.0))
