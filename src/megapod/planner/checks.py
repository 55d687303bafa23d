"""Physical checks of a site design: power, cooling, ports, ride-through.

Each check is a function registered in :data:`CHECKS`; it reads a :class:`~megapod.spec.Site`
and its inventory and yields :class:`Finding` s. An ``error`` finding makes the design invalid;
a ``warning`` marks a legal but suspicious design. Messages name the field path, the value
and the limit, e.g. ``pods[1].racks[0]: 142 kW of IT load exceeds 120 kW cooling capacity``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from megapod.errors import SpecError
from megapod.physics import fabric as fabric_physics
from megapod.physics.inventory import SiteInventory, site_inventory
from megapod.registry import Registry
from megapod.spec import Site
from megapod.units import KILO, MEGA, MINUTE_S

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One result of a check."""

    level: Level
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


Check = Callable[[Site, SiteInventory], Iterator[Finding]]
CHECKS: Registry[Check] = Registry("physical check")


def register_check(name: str) -> Callable[[Check], Check]:
    """Register a check under ``name``; a duplicate name is refused."""
    return CHECKS.register(name)


def check_site(site: Site, inventory: SiteInventory | None = None) -> list[Finding]:
    """Run every registered check; errors first, then warnings."""
    inv = inventory or site_inventory(site)
    findings = [f for check in CHECKS.values() for f in check(site, inv)]
    return sorted(findings, key=lambda f: f.level != "error")


def raise_on_errors(findings: list[Finding]) -> None:
    """Raise a :class:`SpecError` for the first error finding (counting the rest)."""
    errors = [f for f in findings if f.level == "error"]
    if errors:
        more = f" (and {len(errors) - 1} more error{'s' * (len(errors) > 2)})" if len(errors) > 1 else ""
        raise SpecError(errors[0].path, errors[0].message + more)


def _kw(power_w: float) -> str:
    return f"{power_w / MEGA:,.2f} MW" if power_w >= MEGA else f"{power_w / KILO:,.0f} kW"


@register_check("rack-cooling")
def _rack_cooling(site: Site, inv: SiteInventory) -> Iterator[Finding]:
    for i, pod in enumerate(site.pods):
        for j, rack in enumerate(pod.racks):
            where = f"pods[{i}].racks[{j}]"
            load = rack.it_peak_w
            if load > rack.cooling_capacity_w:
                yield Finding(
                    "error",
                    where,
                    f"{_kw(load)} of IT load exceeds {_kw(rack.cooling_capacity_w)} cooling capacity",
                )
            plant = pod.cooling.plant
            if load > plant.max_rack_w:
                yield Finding(
                    "error",
                    where,
                    f"{_kw(load)} per rack exceeds the {_kw(plant.max_rack_w)}"
                    f" that the {plant.name} plant serves; use liquid cooling or fewer servers",
                )
            if rack.power_limit_w is not None and load > rack.power_limit_w:
                yield Finding(
                    "error",
                    where,
                    f"{_kw(load)} of IT load exceeds the {_kw(rack.power_limit_w)} rack power limit",
                )
            if rack.server.system.liquid_cooled and plant.kind == "air-chiller":
                yield Finding(
                    "warning",
                    where,
                    f"{rack.server.system.name} is liquid-cooled but the pod's plant is {plant.name}",
                )
            if load > 50 * KILO and plant.kind == "air-chiller":
                yield Finding(
                    "warning", where, f"{_kw(load)} per rack is beyond usual air cooling (~40-50 kW)"
                )


@register_check("pod-power-and-cooling")
def _pod_budget(site: Site, inv: SiteInventory) -> Iterator[Finding]:
    for i, (pod, p) in enumerate(zip(site.pods, inv.pods, strict=True)):
        where = f"pods[{i}]"
        if p.it_peak_w > pod.power.feed_w:
            yield Finding(
                "error",
                f"{where}.power.feed_w",
                f"{_kw(p.it_peak_w)} of IT peak load exceeds the {_kw(pod.power.feed_w)} feed",
            )
        elif p.facility_peak_w > pod.power.feed_w + p.battery_power_w:
            yield Finding(
                "warning",
                f"{where}.power.feed_w",
                f"{_kw(p.facility_peak_w)} facility "
                f"peak at PUE {p.design_pue:.2f} exceeds the {_kw(pod.power.feed_w)} feed",
            )
        if p.it_peak_w > pod.cooling.capacity_w:
            yield Finding(
                "error",
                f"{where}.cooling.capacity_w",
                f"{_kw(p.it_peak_w)} of IT heat exceeds the {_kw(pod.cooling.capacity_w)} cooling capacity",
            )
        domain = max(r.server.system.scale_up_domain for r in pod.racks)
        if domain > pod.fabric.scale_up.max_domain:
            yield Finding(
                "error",
                f"{where}.fabric.scale_up",
                f"servers need a {domain}-GPU "
                f"scale-up domain but {pod.fabric.scale_up.name} reaches "
                f"{pod.fabric.scale_up.max_domain}",
            )


@register_check("scale-out-ports")
def _ports(site: Site, inv: SiteInventory) -> Iterator[Finding]:
    for i, (pod, p) in enumerate(zip(site.pods, inv.pods, strict=True)):
        so = pod.fabric.scale_out
        where = f"pods[{i}].fabric.scale_out"
        if so is None:
            if pod.gpus > max(r.server.system.scale_up_domain for r in pod.racks):
                yield Finding(
                    "warning",
                    where,
                    "no scale-out network: GPUs beyond one scale-up domain cannot train together",
                )
            continue
        for j, rack in enumerate(pod.racks):
            nic = rack.server.system.nic_rate_bps
            if nic > so.switch.port_rate_bps:
                yield Finding(
                    "error",
                    f"pods[{i}].racks[{j}].server",
                    f"{nic / 1e9:.0f} Gb/s NICs "
                    f"exceed the {so.switch.port_rate_bps / 1e9:.0f} Gb/s ports of "
                    f"{so.switch.name}",
                )
        capacity = fabric_physics.max_endpoints(so.switch.radix, so.tiers, so.oversubscription)
        if p.nics > capacity:
            yield Finding(
                "error",
                where,
                f"{p.nics:,} NIC ports exceed the {capacity:,} that a "
                f"{so.tiers}-tier fabric of {so.switch.radix}-port switches can attach",
            )
        if so.leaf_switches is not None:
            down = so.leaf_switches * fabric_physics.leaf_down_ports(so.switch.radix, so.oversubscription)
            if p.nics > down:
                yield Finding(
                    "error",
                    f"{where}.leaf_switches",
                    f"{p.nics:,} NIC ports exceed the "
                    f"{down:,} endpoint ports of {so.leaf_switches} leaf switches",
                )
        if so.oversubscription > 4:
            yield Finding(
                "warning",
                f"{where}.oversubscription",
                f"{so.oversubscription:g}:1 oversubscription will slow data-parallel collectives",
            )


@register_check("ride-through")
def _ride_through(site: Site, inv: SiteInventory) -> Iterator[Finding]:
    for i, (pod, p) in enumerate(zip(site.pods, inv.pods, strict=True)):
        where = f"pods[{i}].power"
        battery, gens = pod.power.battery, pod.power.generators
        target = pod.power.ride_through_target_s
        minutes = p.battery_minutes_at_full_load
        if battery is None and gens is None:
            yield Finding("warning", where, "no battery and no generators: a grid outage stops the pod")
        if target is not None:
            if battery is None:
                yield Finding(
                    "error",
                    f"{where}.ride_through_target_s",
                    f"{target / MINUTE_S:g} min ride-through asked for, but the pod has no battery",
                )
            elif p.battery_power_w < p.facility_peak_w:
                yield Finding(
                    "error",
                    f"{where}.battery",
                    f"{_kw(p.battery_power_w)} of battery "
                    f"power cannot carry the {_kw(p.facility_peak_w)} facility peak",
                )
            elif minutes * MINUTE_S < target:
                yield Finding(
                    "error",
                    f"{where}.battery",
                    f"{minutes:.1f} min of ride-through at "
                    f"full load is short of the {target / MINUTE_S:g} min target",
                )
        if battery is not None and gens is not None and minutes * MINUTE_S < gens.unit.start_time_s:
            yield Finding(
                "warning",
                f"{where}.battery",
                f"{minutes * MINUTE_S:.0f} s of battery "
                f"is shorter than the {gens.unit.start_time_s:.0f} s generator start",
            )


@register_check("site-feed")
def _site_feed(site: Site, inv: SiteInventory) -> Iterator[Finding]:
    need, feed, batt = inv.facility_peak_w, site.grid.feed_w, inv.battery_power_w
    if need > feed + batt:
        yield Finding(
            "error",
            "grid.feed_w",
            f"{_kw(need)} facility peak exceeds the {_kw(feed)} grid feed plus {_kw(batt)} of battery power",
        )
    elif need > feed:
        yield Finding(
            "warning",
            "grid.feed_w",
            f"{_kw(need)} facility peak exceeds the {_kw(feed)} grid feed; the batteries must cover peaks",
        )
    pods_feed = sum(p.feed_w * p.count for p in inv.pods)
    if pods_feed > 1.5 * feed:
        yield Finding(
            "warning",
            "grid.feed_w",
            f"pod feeds add up to {_kw(pods_feed)}, well above the {_kw(feed)} site feed",
        )
