"""The fleet as a tier of the twin: nodes go out of service as their cars leave, and come back."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from megapod.fleet.tier import FleetTier, as_tier
from megapod.spec.fleet import Fleet


class FakeSite:
    """What the tier uses of a :class:`TierSite`: its offsets, events and node up/down."""

    def __init__(self, node0: int) -> None:
        self.node0 = node0
        self.group0 = 0
        self.ledger = SimpleNamespace(down_d=[0])
        self.events: list[float] = []
        self.down: set[int] = set()
        self.log: list[tuple[str, int]] = []

    def schedule(self, time_s: float, payload: int = 0) -> int:
        self.events.append(time_s)
        return len(self.events)

    def node_down(self, node: int) -> None:
        self.down.add(node)
        self.log.append(("down", node))

    def node_up(self, node: int) -> None:
        self.down.discard(node)
        self.log.append(("up", node))


def make(**fields: Any) -> tuple[FleetTier, FakeSite]:
    f = Fleet.model_validate(
        {"vehicles": 10_000, "module": "tesla-ai4", "simulated_vehicles": 500, "step_s": "15 min", **fields}
    )
    tier = FleetTier(f)
    site = FakeSite(node0=100)
    tier.attach(site)  # type: ignore[arg-type]
    return tier, site


def test_nodes_are_buckets_of_cars_in_one_partition_and_group() -> None:
    tier, _ = make()
    assert len(tier.nodes.gpus) == 500 and set(tier.nodes.gpus) == {20}
    assert tier.nodes.partition_names == ["fleet"] and tier.nodes.group_names == ["fleet:tesla-ai4"]
    assert as_tier(tier.fleet).name == "vehicles"


def test_capacity_follows_the_cars_over_a_day() -> None:
    tier, site = make()
    shares = [tier.available_share()]
    for _ in range(96):
        tier.on_event(0)
        shares.append(tier.available_share())
        assert len(site.down) == int((~tier.up).sum())
        assert site.ledger.down_d[0] == len(site.down) * tier.per_node
        assert all(100 <= n < 600 for n in site.down)
    assert site.events[:2] == [900.0, 1800.0]
    assert 0.2 < float(np.mean(shares)) < 0.5
    assert max(shares) - min(shares) > 0.05  # more home at night than at noon


def test_the_site_supplies_no_power_and_the_table_shows_the_cars_draw() -> None:
    tier, _ = make()
    assert tier.it_power_w(None) == 0.0 and tier.facility_power_w(30.0, None) == 0.0
    assert tier.failure_rate_per_s() == 0.0 and tier.thermal(40.0) == (1.0, None)
    cap = np.full(2, np.inf)
    flow = tier.power_flow(0, np.array([0.0, 10.0]), np.array([20.0, 20.0]), np.array([20.0, 20.0]), cap)
    assert flow.component_w[1] == 10 * (160 + 250)
    assert flow.facility_w[1] > flow.component_w[1]


def test_same_seed_same_capacity() -> None:
    runs = []
    for _ in range(2):
        tier, site = make(seed=4)
        for _ in range(24):
            tier.on_event(0)
        runs.append(site.log)
    assert runs[0] == runs[1] and runs[0]
