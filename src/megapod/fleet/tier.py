"""The fleet as a compute tier of the twin (:class:`~megapod.sim.twin.tiers.Tier`).

The twin schedules jobs on nodes; a fleet of ``vehicles`` cars becomes ``fleet.simulated``
nodes, each a bucket of ``ceil(vehicles / simulated)`` identical cars that move together (one
GPU slot a car). The buckets follow the same :class:`~megapod.fleet.availability.VehicleProcess`
as the fleet engine: every ``step_s`` the tier moves the cars, takes out of service the nodes
whose car may no longer compute (drove off, unplugged, outside the owner's hours, battery at
its floor: their jobs roll back to a checkpoint and wait again) and brings back those that may.
Buckets make the tier's capacity vary more than independent cars would (the mean is the same).

The cars draw from their owners' homes, not from the site: the tier adds nothing to the site's
IT or facility load, and its power table reports the cars' own draw (computer plus awake car,
through the home charger).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from megapod.errors import SpecError
from megapod.fleet.availability import VehicleProcess
from megapod.fleet.work import check_work
from megapod.physics.power_chain import PowerFlow
from megapod.sim.twin.tiers import TIER_BUILDERS, FloatArray, Tier, TierNodes, TierSite
from megapod.spec.fleet import Fleet
from megapod.spec.scenario import Scenario


class FleetTier:
    """Parked cars as a :class:`~megapod.sim.twin.tiers.Tier` (one partition, one power group).

    Args:
        fleet: the fleet spec (its ``seed`` seeds the tier's own generator).
        partition: name of the tier's partition in the twin's queues.
    """

    name = "vehicles"
    #: The cars draw from their owners' homes: the site's summary leaves the tier out.
    off_site_supply = True

    def __init__(self, fleet: Fleet, partition: str = "fleet") -> None:
        self.fleet = fleet
        n = fleet.simulated
        self.per_node = math.ceil(fleet.vehicles / n)
        self.nodes = TierNodes(
            gpus=[self.per_node] * n,
            partition=[0] * n,
            partition_names=[partition],
            group=[0] * n,
            group_names=[f"fleet:{fleet.module.name}"],
        )
        self.cars = VehicleProcess(fleet, n, np.random.default_rng(fleet.seed))
        self.up = np.ones(n, dtype=bool)
        self.step = 0

    def attach(self, site: TierSite) -> None:
        """Take the nodes whose car may not compute now out of service; schedule the next move."""
        self.site = site
        self._apply(self.cars.can_compute(0))
        site.schedule(self.fleet.step_s)

    def on_event(self, payload: int) -> None:
        """Move the cars one step and update which nodes are in service."""
        self.step += 1
        self.cars.move(self.step)
        self._apply(self.cars.can_compute(self.step))
        self.site.schedule((self.step + 1) * self.fleet.step_s)

    def _apply(self, can: np.ndarray[Any, np.dtype[np.bool_]]) -> None:
        site = self.site
        down = np.flatnonzero(self.up & ~can)
        up = np.flatnonzero(~self.up & can)
        for node in down:
            site.node_down(site.node0 + int(node))
        for node in up:
            site.node_up(site.node0 + int(node))
        # the cars out of service count as the tier's down GPU slots in the run's tables
        site.ledger.down_d[site.group0] += (len(down) - len(up)) * self.per_node
        self.up = can.copy()

    def available_share(self) -> float:
        """Share of the tier's cars in service now."""
        return float(self.up.mean())

    # failures: departures are the tier's outages; hardware faults are not modelled
    def failure_rate_per_s(self) -> float:
        """No hardware failures (departures take nodes out instead) [1/s]."""
        return 0.0

    def draw_failure(self, rng: np.random.Generator) -> tuple[int, int, float]:  # pragma: no cover
        """Never called: the rate is zero."""
        raise NotImplementedError("the fleet tier has no failure stream")

    # power: off the site's feed
    def _car_w(self) -> float:
        car = self.fleet.module
        return (car.power_w + car.awake_overhead_w) / self.fleet.home.charger_efficiency

    def it_power_w(self, gpu_cap_w: float | None) -> float:
        """0: the cars draw from their owners' homes [W]."""
        return 0.0

    def facility_power_w(self, outdoor_c: float, gpu_cap_w: float | None) -> float:
        """0: the cars draw from their owners' homes [W]."""
        return 0.0

    def thermal(self, outdoor_c: float) -> tuple[float, float | None]:
        """Full speed, no cap (each car cools itself)."""
        return 1.0, None

    def admission_w_per_gpu(self, group: int) -> float:
        """0: starting work on a car adds nothing to the site's load [W]."""
        return 0.0

    def power_flow(
        self, group: int, busy: FloatArray, up: FloatArray, outdoor_c: FloatArray, gpu_cap_w: FloatArray
    ) -> PowerFlow:
        """The cars' own draw over arrays of busy cars: computer + awake car at the wall [W]
        (the site's GPU cap does not reach the cars)."""
        car = self.fleet.module
        component = np.asarray(busy, dtype=np.float64) * (car.power_w + car.awake_overhead_w)
        wall = np.asarray(busy, dtype=np.float64) * self._car_w()
        zero = np.zeros_like(component)
        return PowerFlow(component, wall - component, zero, zero.copy(), zero.copy(), zero.copy(), wall)

    def group_rows(self) -> Sequence[dict[str, Any]]:
        """One row: the fleet, its cars and GPU slots."""
        n = len(self.nodes.gpus)
        return [
            {
                "tier": self.name,
                "fleet": self.fleet.module.name,
                "count": self.fleet.vehicles,
                "gpus": n * self.per_node,
            }
        ]


def as_tier(fleet: Fleet) -> Tier:
    """The fleet's tier, typed as the twin's :class:`~megapod.sim.twin.tiers.Tier` (checked by mypy)."""
    return FleetTier(fleet)


@TIER_BUILDERS.register("fleet")
def scenario_tier(scenario: Scenario) -> Tier:
    """The tier of the scenario's ``site.fleet``; work the fleet cannot carry is refused with a
    :class:`SpecError` at ``site.fleet.…``."""
    fleet = scenario.site.fleet
    if fleet is None:
        raise SpecError("site.fleet", "the scenario's site has no fleet: section")
    check_work(fleet, "site.fleet.")
    return FleetTier(fleet)
