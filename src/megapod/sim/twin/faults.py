"""Faults: GPU failures (one Poisson stream over every tier that fails), repairs, hot spares,
and the grid's outages and supply limits (the power plant answers them).

Failures of independent GPUs superpose into one stream of rate ``Λ = Σ λ·N_gpus``; each hits a
GPU drawn by its tier's failure model. A failure with a repair time takes the node out (every
job on it rolls back) unless a hot spare takes its place; the spare comes back when the node
it stood in for is repaired.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from megapod.sim.engine import EventKernel
from megapod.sim.twin.cluster import Cluster
from megapod.sim.twin.events import EventKind, Handlers, schedule
from megapod.sim.twin.ledger import JobLedger
from megapod.sim.twin.plant import PowerPlant
from megapod.sim.twin.results import Recorder
from megapod.sim.twin.tiers import Tier
from megapod.spec.scenario import Scenario
from megapod.units import YEAR_S


class Faults:
    """Failures, repairs, spares and grid events.

    Args:
        scenario: failures (hot spares) and grid events of the run.
        ledger: jobs and node state.
        cluster: every node.
        node_group: power group of each node.
        tiers: the compute tiers (their failure models).
        plant: the power plant that answers grid events.
        rng: the run's random generator.
        rec: the recorder (its counters).
        changed: tell the scheduler that a partition's capacity changed.
    """

    def __init__(
        self,
        scenario: Scenario,
        ledger: JobLedger,
        cluster: Cluster,
        node_group: list[int],
        tiers: list[Tier],
        plant: PowerPlant,
        rng: np.random.Generator,
        rec: Recorder,
        changed: Callable[[int], None],
    ) -> None:
        self.sc = scenario
        self.led = ledger
        self.cluster = cluster
        self.node_group = node_group
        self.plant = plant
        self.rng = rng
        self.counters = rec.counters
        self.changed = changed
        pods = sum(p.count for p in scenario.site.pods)
        #: Hot spares ready to stand in for a failed node.
        self.spares = scenario.failures.hot_spares * pods
        self.failing = [t for t in tiers if t.failure_rate_per_s() > 0]
        rates = np.array([t.failure_rate_per_s() for t in self.failing], dtype=np.float64)
        self.fail_rate = float(rates.sum())
        self.tier_p = rates / self.fail_rate if self.fail_rate > 0 else rates
        self.grid_events: list[tuple[float, float, float]] = []

    def register(self, handlers: Handlers) -> None:
        """Failures, repairs, spares back; grid events start and end."""
        handlers.on(EventKind.FAILURE, self._on_failure)
        handlers.on(EventKind.REPAIR, self._on_repair)
        handlers.on(EventKind.SPARE_BACK, self._on_spare_back)
        handlers.on(EventKind.GRID_START, self._on_grid_start)
        handlers.on(EventKind.GRID_END, self._on_grid_end)

    def start(self, kernel: EventKernel) -> None:
        """The first failure, and every grid event inside the horizon."""
        self.kernel = kernel
        horizon = self.sc.horizon_s
        if self.fail_rate > 0:
            schedule(kernel, self.rng.exponential(1.0 / self.fail_rate), EventKind.FAILURE)
        self.grid_events = self._grid_schedule()
        for i, (start, dur, _) in enumerate(self.grid_events):
            if start < horizon:
                schedule(kernel, start, EventKind.GRID_START, i)
                schedule(kernel, start + dur, EventKind.GRID_END, i)

    def _grid_schedule(self) -> list[tuple[float, float, float]]:
        g = self.sc.grid
        events = [(e.start_s, e.duration_s, e.limit_w if e.limit_w is not None else 0.0) for e in g.events]
        if g.outages_per_year > 0:
            n = int(self.rng.poisson(g.outages_per_year * self.sc.horizon_s / YEAR_S))
            starts = np.sort(self.rng.uniform(0.0, self.sc.horizon_s, n))
            durs = self.rng.exponential(g.mean_outage_s, n)
            events += [(float(s), float(d), 0.0) for s, d in zip(starts, durs, strict=True)]
        return sorted(events)

    def _on_failure(self, _: int) -> None:
        led = self.led
        rng = self.rng
        schedule(self.kernel, led.now + rng.exponential(1.0 / self.fail_rate), EventKind.FAILURE)
        failing = self.failing
        tier = failing[0] if len(failing) == 1 else failing[int(rng.choice(len(failing), p=self.tier_p))]
        node, slot, repair_s = tier.draw_failure(rng)
        cluster = self.cluster
        if not cluster.node_up[node]:
            return
        self.counters["failures"] += 1
        on_node = led.node_jobs[node]
        hit = None
        acc = 0
        for j, take in on_node.items():
            acc += take
            if slot < acc:
                hit = j
                break
        owner = None
        if not on_node and cluster.free[node] == 0:
            owner = next((j for j, nodes in led.whole_jobs.items() if node in nodes), None)
            hit = owner
        if hit is None:
            self.counters["failures_idle"] += 1
        victims = list(on_node) if repair_s > 0 else ([hit] if hit is not None else [])
        if owner is not None and owner not in victims:
            victims.append(owner)
        for j in victims:
            led.stop(j, save=False, count_interrupt=True)
        if repair_s > 0:
            if self.spares > 0:
                self.spares -= 1
                schedule(self.kernel, led.now + repair_s, EventKind.SPARE_BACK, node)
            else:
                led.node_failed[node] = True
                cluster.set_up(node, False)
                led.failed_d[self.node_group[node]] += cluster.node_gpus[node]
                schedule(self.kernel, led.now + repair_s, EventKind.REPAIR, node)
        self.changed(cluster.node_partition[node])

    def _on_repair(self, node: int) -> None:
        led = self.led
        led.node_failed[node] = False
        gpus = self.cluster.node_gpus[node]
        led.failed_d[self.node_group[node]] -= gpus
        if not led.blackout:
            self.cluster.set_up(node, True)
        else:
            led.down_d[self.node_group[node]] += gpus
        self.changed(self.cluster.node_partition[node])

    def _on_spare_back(self, node: int) -> None:
        """A node swapped for a hot spare is repaired and becomes a spare again."""
        self.spares += 1

    def _on_grid_start(self, i: int) -> None:
        self.counters["grid_events"] += 1
        self.plant.supply_limited(i, self.grid_events[i][2])

    def _on_grid_end(self, i: int) -> None:
        self.plant.supply_restored(i)
