"""The swappable decisions of the twin, each in a registry.

* queueing: the order in which waiting jobs are tried, whether later jobs may backfill past a
  blocked head (EASY, Lifka 1995), and whether waiting jobs preempt running ones (SRTF;
  Tiresias-style least attained service, Gu et al., NSDI '19).
* placement: consolidated (best fit: fill a node/scale-up domain, then the next), spread (worst
  fit), topology-aware (whole nodes in index order so that a job stays within domains and pods).
* checkpoint interval: fixed, or Young/Daly optimal ``τ = sqrt(2·C·M)`` (Young, CACM 1974;
  Daly, FGCS 2006) for checkpoint cost ``C`` and the job's mean time between failures ``M``.
* outage response: none, or outage-aware (checkpoint at once and shed load when the battery
  cannot carry the expected outage).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from megapod.registry import Registry

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


@dataclass(frozen=True)
class QueuePolicy:
    """How waiting jobs are ordered and started.

    Attributes:
        name: registry name.
        order: ``(view, job, las_step) -> key``; lower keys run first.
        backfill: later jobs may start if they do not delay the head (EASY).
        preemptive: a waiting job with a lower key may preempt running jobs.
        dynamic: the key of a waiting job changes while it waits (the queue is re-sorted
            before each start).
        within_queue: a static key that orders the jobs *of one queue* exactly as ``order``
            does (the dynamic part of ``order`` is the same for every job of a queue). The
            twin then keeps one heap per queue and compares only the queue heads' ``order``
            keys: the same schedule as re-sorting, in O(queues) per start instead of
            O(waiting jobs) per pass. Not combined with backfill or preemption.
        running_keys_fall: keys of waiting jobs are fixed and keys of running jobs never rise
            while they run (SRTF). The preemption check then re-examines only the running
            jobs that outranked the head last time, plus jobs started since: the same victims
            as sorting every running job, without doing so on every pass.
        running_key_rise_s: for keys of running jobs that rise only at known attained
            service (LAS levels): ``(attained_gpu_s, las_step) -> attained GPU-s`` before
            which the key cannot rise. The preemption check then re-examines a running job
            that did not outrank the head only once it may have reached that service.
    """

    name: str
    order: OrderFn
    backfill: bool = False
    preemptive: bool = False
    dynamic: bool = False
    within_queue: OrderFn | None = None
    running_keys_fall: bool = False
    running_key_rise_s: Callable[[float, float], float] | None = None

    def __post_init__(self) -> None:
        if self.within_queue is not None and (self.backfill or self.preemptive):
            raise ValueError(f"{self.name}: a per-queue order cannot backfill or preempt")


class OrderFn(Protocol):
    def __call__(self, view: JobView, j: int, las_step_gpu_s: float) -> Key: ...


def _fifo(view: JobView, j: int, las_step_gpu_s: float) -> Key:
    return (-view.priority(j), view.submit_s(j), j)


def _sjf(view: JobView, j: int, las_step_gpu_s: float) -> Key:
    return (-view.priority(j), view.work_s(j), j)


def _srtf(view: JobView, j: int, las_step_gpu_s: float) -> Key:
    return (-view.priority(j), view.remaining_s(j), j)


def _las(view: JobView, j: int, las_step_gpu_s: float) -> Key:
    level = math.floor(math.log2(1.0 + view.attained_gpu_s(j) / las_step_gpu_s))
    return (-view.priority(j) * 1000.0 + level, view.submit_s(j), j)


def las_next_level_gpu_s(attained_gpu_s: float, las_step_gpu_s: float) -> float:
    """Attained service [GPU-s] at which the LAS level ``⌊log2(1 + a/step)⌋`` next rises:
    ``step·(2^(L+1) − 1)``."""
    level = math.floor(math.log2(1.0 + attained_gpu_s / las_step_gpu_s))
    return las_step_gpu_s * (2.0 ** (level + 1) - 1.0)


def _fair(view: JobView, j: int, las_step_gpu_s: float) -> Key:
    # weighted usage u/w of the job's queue; priority dominates (usage/weight < 1e9)
    share = view.queue_usage_gpus(j) / view.queue_weight(j)
    return (-view.priority(j) * 1e9 + share, view.submit_s(j), j)


QUEUE_POLICIES: Registry[QueuePolicy] = Registry("queueing policy")
QUEUE_POLICIES.register("fifo", QueuePolicy("fifo", _fifo))
QUEUE_POLICIES.register("easy-backfill", QueuePolicy("easy-backfill", _fifo, backfill=True))
QUEUE_POLICIES.register("sjf", QueuePolicy("sjf", _sjf))
QUEUE_POLICIES.register("srtf", QueuePolicy("srtf", _srtf, preemptive=True, running_keys_fall=True))
QUEUE_POLICIES.register(
    "las", QueuePolicy("las", _las, preemptive=True, running_key_rise_s=las_next_level_gpu_s)
)
QUEUE_POLICIES.register("fair-share", QueuePolicy("fair-share", _fair, dynamic=True, within_queue=_fifo))

#: Placement modes understood by :meth:`megapod.sim.twin.cluster.Cluster.place`.
PLACEMENTS: Registry[str] = Registry("placement policy")
PLACEMENTS.register("consolidated", "consolidated")
PLACEMENTS.register("spread", "spread")
PLACEMENTS.register("topology-aware", "topology")


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


@dataclass(frozen=True)
class OutageResponse:
    """What the scheduler does when the site goes onto its battery.

    Attributes:
        checkpoint_and_shed: checkpoint running jobs at once and stop them in shed order
            until the battery can carry the rest for the expected outage.
        hold_queue: start no job while on battery.
    """

    name: str
    checkpoint_and_shed: bool
    hold_queue: bool


OUTAGE_RESPONSES: Registry[OutageResponse] = Registry("outage response")
OUTAGE_RESPONSES.register("none", OutageResponse("none", checkpoint_and_shed=False, hold_queue=False))
OUTAGE_RESPONSES.register(
    "outage-aware", OutageResponse("outage-aware", checkpoint_and_shed=True, hold_queue=True)
)
