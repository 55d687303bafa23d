"""EASY backfill's reservation on nodes: the head is never started later than reserved."""

from __future__ import annotations

import math
from typing import Any

from megapod.sim.twin.backfill import EasyBackfill
from megapod.sim.twin.reservation import NodeReservation
from megapod.sim.twin.scheduler import Scheduler
from megapod.sim.twin.simulator import Twin

from .scenario_factory import small_scenario


def test_fits_follows_node_rule() -> None:
    # two 8-GPU nodes with 3 and 8 free; a 10-GPU head needs one whole node + 2 on another
    res = NodeReservation.from_free({0: 3, 1: 8}, 8, 10)
    assert res.fits()
    res.add(0, -2)  # 1 left on node 0: the remainder no longer fits beside the whole node
    assert not res.fits()
    res.add(0, 7)  # node 0 whole again
    assert res.fits()
    # 16 free GPUs spread over three nodes do not hold a 16-GPU (two-node) head
    assert not NodeReservation.from_free({0: 6, 1: 6, 2: 4}, 8, 16).fits()
    assert NodeReservation.from_free({0: 8, 1: 8, 2: 0, 5: 1}, 8, 16).fits()


def test_counts_are_those_at_construction() -> None:
    # node 1 is read lazily; once remembered, a later change to the live counts is not seen
    live = {0: 8, 1: 5}
    res = NodeReservation(live.get, 1, {5: 1}, 8, 13)
    assert res.fits()  # one whole node + 5 on node 1
    res.remember(1, live[1])
    live[1] = 0  # the cluster places a job that ends before the reservation on node 1
    res.add(0, -8)
    assert not res.fits()
    res.add(0, 8)
    res.add(1, -1)  # 4 left at the reservation time on node 1: the remainder no longer fits
    assert not res.fits()


class _Watched(EasyBackfill):
    """Records each head's first reservation time, computed the way :meth:`_backfill` does."""

    def __init__(self, sched: Scheduler) -> None:
        super().__init__(sched)
        self.first: dict[int, float] = {}
        self.arrival_passes = 0

    def _backfill_arrivals(self, p: int, memo: Any, new: list[Any]) -> None:
        self.arrival_passes += 1
        super()._backfill_arrivals(p, memo, new)

    def _backfill(self, p: int) -> None:
        head = self.head(p)
        led = self.led
        if head is not None:
            part = self.cluster.partitions[p]
            free = {n: int(self.cluster.node_free[n]) for n in part.nodes if self.cluster.node_up[n]}
            res = NodeReservation.from_free(free, part.node_gpus, led.gpus[head])
            shadow = math.inf
            for j in sorted(led.running[p], key=led.end_v.__getitem__):
                self._add_alloc(res, j, 1)
                if res.fits():
                    shadow = led.now + (led.end_v[j] - led.v_now) / led.speed
                    break
            self.first.setdefault(head, shadow)
        super()._backfill(p)


def test_backfill_never_delays_the_reserved_head() -> None:
    sc = small_scenario(queue="easy-backfill", horizon_s=8 * 86400.0, rate_per_s=0.012, jobs=2000)
    twin = Twin(sc)
    twin.queue_policy = _Watched
    res = twin.run()
    watched = twin.scheduler.queue
    assert isinstance(watched, _Watched)
    assert len(watched.first) > 20  # many blocked heads were reserved
    assert watched.arrival_passes > 20  # and many passes tried only the jobs that had arrived
    start_s = twin.ledger.start_s
    late = [
        j for j, t in watched.first.items() if math.isfinite(t) and not start_s[j] <= t + 1e-6 * max(1.0, t)
    ]
    assert late == []
    assert res.summary["jobs"] > 0
