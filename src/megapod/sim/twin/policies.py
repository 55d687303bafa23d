"""The swappable decisions of the twin, each in a registry (queueing policies, which own
their queues and passes, are in :mod:`megapod.sim.twin.queueing`).

* placement: consolidated (best fit: fill a node/scale-up domain, then the next), spread (worst
  fit), topology-aware (whole nodes in index order so that a job stays within domains and pods).
* checkpoint interval: fixed, or Young/Daly optimal ``τ = sqrt(2·C·M)`` (Young, CACM 1974;
  Daly, FGCS 2006) for checkpoint cost ``C`` and the job's mean time between failures ``M``.
* outage response: none, or outage-aware (checkpoint at once and shed load when the battery
  cannot carry the expected outage).
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
import numpy.typing as npt

from megapod.registry import Registry
from megapod.sim.twin.cluster import Partition

Key = tuple[float, float, int]


class JobView(Protocol):
    """What a queueing policy may read about a job."""

    def priority(self, j: int) -> int: ...
    def submit_s(self, j: int) -> float: ...
    def work_s(self, j: int) -> float: ...
    def remaining_s(self, j: int) -> float: ...
    def attained_gpu_s(self, j: int) -> float: ...
    def queue_usage_gpus(self, j: int) -> int: ...
    def queue_weight(self, j: int) -> float: ...


class Placement(Protocol):
    """Where a job's GPUs go in a partition (:meth:`~megapod.sim.twin.cluster.Cluster.place`
    does the bookkeeping). A job of ``n`` GPUs on nodes of ``G`` takes ``k = n // G`` whole
    nodes and ``r = n % G`` GPUs of one more node."""

    def partial_node(self, part: Partition, k: int, r: int) -> int:
        """The node for the remainder ``r`` (a partly used node, or a full one beyond the ``k``
        whole nodes); -1 when none has room."""
        ...

    def order_full(self, part: Partition) -> None:
        """Order ``part.full`` so that the whole nodes taken off its top are the right ones."""
        ...

    def mixed_pick(self, left_milli: npt.NDArray[np.int64]) -> int:
        """Position of the node (or of the GPU within one, for a share) to use in a mixed
        partition, among candidates in index order; ``left_milli``: the GPU capacity each
        would have left [1/1000 GPU]."""
        ...


class BestFit:
    """``consolidated``: the partly used node with the fewest free GPUs that has room, then a
    full node; whole nodes in stack order."""

    def partial_node(self, part: Partition, k: int, r: int) -> int:
        """Best fit."""
        buckets = part.buckets
        for f in range(r, part.node_gpus):
            if buckets[f]:
                return next(iter(buckets[f]))
        return part.full[-1] if len(part.full) > k else -1

    def order_full(self, part: Partition) -> None:
        """Stack order (the last freed first)."""

    def mixed_pick(self, left_milli: npt.NDArray[np.int64]) -> int:
        """Best fit: the least capacity left, then the lowest index."""
        return int(np.argmin(left_milli))


class Spread(BestFit):
    """``spread``: a full node before a partly used one, then the partly used node with the
    most free GPUs (worst fit)."""

    def partial_node(self, part: Partition, k: int, r: int) -> int:
        """Worst fit."""
        if len(part.full) > k:
            return part.full[-1]
        buckets = part.buckets
        for f in range(part.node_gpus - 1, r - 1, -1):
            if buckets[f]:
                return next(iter(buckets[f]))
        return -1

    def mixed_pick(self, left_milli: npt.NDArray[np.int64]) -> int:
        """Worst fit: the most capacity left, then the lowest index."""
        return int(np.argmax(left_milli))


class TopologyAware(BestFit):
    """``topology-aware``: whole nodes in index order, so that a job's nodes are neighbours in
    their scale-up domain and pod; the remainder by best fit."""

    def order_full(self, part: Partition) -> None:
        """Lowest node index on top."""
        part.full.sort(reverse=True)

    def mixed_pick(self, left_milli: npt.NDArray[np.int64]) -> int:
        """The lowest index that fits (neighbouring nodes, the first GPU)."""
        return 0


PLACEMENTS: Registry[Placement] = Registry("placement policy")
PLACEMENTS.register("consolidated", BestFit())
PLACEMENTS.register("spread", Spread())
PLACEMENTS.register("topology-aware", TopologyAware())


class CheckpointIntervalFn(Protocol):
    def __call__(self, fixed_interval_s: float, write_s: float, job_mtbf_s: float) -> float: ...


def fixed_interval(fixed_interval_s: float, write_s: float, job_mtbf_s: float) -> float:
    """The configured interval [s]."""
    return fixed_interval_s


def young_daly_interval(fixed_interval_s: float, write_s: float, job_mtbf_s: float) -> float:
    """Young/Daly first-order optimum ``τ = sqrt(2·C·M)`` [s] (Young 1974; Daly 2006 eq. 37's
    leading term); without failures (``M`` = inf) no periodic checkpoint is written (inf)."""
    if not math.isfinite(job_mtbf_s):
        return math.inf
    if write_s <= 0:
        return fixed_interval_s
    return max(math.sqrt(2.0 * write_s * job_mtbf_s), write_s)


CHECKPOINT_POLICIES: Registry[CheckpointIntervalFn] = Registry("checkpoint policy")
CHECKPOINT_POLICIES.register("fixed", fixed_interval)
CHECKPOINT_POLICIES.register("young-daly", young_daly_interval)


class OutagePlant(Protocol):
    """What an outage response may read and do on the power plant
    (:class:`~megapod.sim.twin.plant.PowerPlant`)."""

    def expected_outage_s(self) -> float:
        """How long the present outage is expected to last before supply comes back [s]."""
        ...

    def battery_deficit_w(self) -> float:
        """Load the grid and generators cannot carry now [W] (≤ 0: none)."""
        ...

    def battery_can_carry(self, deficit_w: float, for_s: float) -> bool:
        """Whether the battery can supply ``deficit_w`` [W] for ``for_s`` [s]."""
        ...

    def running_jobs(self) -> list[int]:
        """Jobs running on the partitions the plant feeds."""
        ...

    def shed_order(self, jobs: list[int]) -> list[int]:
        """``jobs`` in the order load is shed: lowest priority, then newest first."""
        ...

    def save_and_stop(self, j: int) -> None:
        """Checkpoint job ``j`` and stop it (it waits again, without counting an interrupt)."""
        ...


class OutageResponse(Protocol):
    """What the scheduler does when the site goes onto its battery."""

    name: str

    def holds_queue(self) -> bool:
        """Whether no job may start while the supply is limited."""
        ...

    def on_supply_limited(self, plant: OutagePlant) -> None:
        """Called when a grid event limits the supply (an outage or a curtailment)."""
        ...

    def saves_before_empty(self) -> bool:
        """Whether every running job is checkpointed one write before the battery runs out."""
        ...


class NoResponse:
    """``none``: jobs run on until the battery is empty; the queue keeps starting jobs."""

    name = "none"

    def holds_queue(self) -> bool:
        return False

    def on_supply_limited(self, plant: OutagePlant) -> None:
        """Nothing is shed."""

    def saves_before_empty(self) -> bool:
        return False


class OutageAware:
    """``outage-aware``: on battery no job starts; jobs are checkpointed and stopped in shed
    order until the battery can carry the rest for the expected outage, and every job still
    running is saved one checkpoint write before the battery would be empty."""

    name = "outage-aware"

    def holds_queue(self) -> bool:
        return True

    def on_supply_limited(self, plant: OutagePlant) -> None:
        """Shed load until the battery carries what is left for the expected outage."""
        expected_s = plant.expected_outage_s()
        for j in plant.shed_order(plant.running_jobs()):
            deficit = plant.battery_deficit_w()
            if deficit <= 0 or plant.battery_can_carry(deficit, expected_s):
                return
            plant.save_and_stop(j)

    def saves_before_empty(self) -> bool:
        return True


OUTAGE_RESPONSES: Registry[OutageResponse] = Registry("outage response")
OUTAGE_RESPONSES.register("none", NoResponse())
OUTAGE_RESPONSES.register("outage-aware", OutageAware())
