"""The scheduler: when the queueing policy runs, what it may start, and cancellations.

The queueing policy (``policies.queue``, :mod:`megapod.sim.twin.queueing`) owns the queues and
the pass that starts, backfills or preempts jobs; the placement policy picks the nodes; the
scheduler admits a start under the power cap and holds the queue while the site cannot run.
It runs once per instant for each partition whose jobs or capacity changed
(:attr:`Scheduler.dirty`), after every event of that instant.
"""

from __future__ import annotations

from collections.abc import Callable

from megapod.sim.engine import EventKernel
from megapod.sim.twin.cluster import Cluster
from megapod.sim.twin.events import EventKind, Handlers, schedule
from megapod.sim.twin.ledger import CANCELLED, DONE, RUNNING, JobLedger
from megapod.sim.twin.plant import PowerPlant
from megapod.sim.twin.policies import OutageResponse, Placement
from megapod.sim.twin.queueing import QueuePolicy
from megapod.spec.scenario import Scenario


class Scheduler:
    """The queueing policy of a run, with the scheduling pass of each instant.

    Args:
        scenario: the run's scenario (power cap, LAS step).
        ledger: the jobs (the scheduler's :meth:`enqueue` becomes the ledger's requeue).
        cluster: every node of every tier.
        plant: the power plant (IT load for power-cap admission, supply state).
        policy: the queueing policy (a class; one is made for the run).
        placement: the placement policy.
        outage: the outage response (whether the queue is held on battery).
        admission_w: extra IT power of one GPU going busy, per power group [W].
    """

    def __init__(
        self,
        scenario: Scenario,
        ledger: JobLedger,
        cluster: Cluster,
        plant: PowerPlant,
        policy: QueuePolicy,
        placement: Placement,
        outage: OutageResponse,
        admission_w: list[float],
    ) -> None:
        self.led = ledger
        self.cluster = cluster
        self.plant = plant
        self.policy = policy
        self.placement = placement
        self.outage = outage
        self.admission_w = admission_w
        self.power_cap_w = scenario.policies.power_cap_w
        self.las_step = scenario.policies.las_threshold_gpu_s
        self.nparts = len(cluster.partitions)
        #: Partitions to schedule at the end of the instant.
        self.dirty: set[int] = set()
        self.cancel_pending: set[int] = set()
        #: The policy's queues and passes, made for this run.
        self.queue = policy(self)
        #: Queue an arriving job (the twin may wrap it to choose the job's tier first).
        self.enqueue: Callable[[int], None] = self.queue.enqueue
        ledger.requeue = self.queue.enqueue

    def register(self, handlers: Handlers) -> None:
        """Cancellations take effect."""
        handlers.on(EventKind.CANCEL, self._on_cancel)
        handlers.on(EventKind.PREEMPT, self._on_preempt)

    def start(self, kernel: EventKernel) -> None:
        """The scheduler has no events of its own at the start."""
        self.kernel = kernel

    def changed(self, p: int) -> None:
        """Partition ``p``'s jobs or capacity changed: schedule it at the end of the instant."""
        self.dirty.add(p)

    def changed_all(self) -> None:
        """Every partition may have changed."""
        self.dirty.update(range(self.nparts))

    def run_dirty(self) -> None:
        """The pass of the instant: schedule every partition that changed (none while the site
        is blacked out, or on battery under an outage response that holds the queue)."""
        if not (self.led.blackout or (self.plant.supply_limits and self.outage.holds_queue())):
            run = self.queue.schedule
            for p in self.dirty:
                run(p)
        self.dirty.clear()

    def cancel(self, j: int, at_s: float) -> bool:
        """Cancel job ``j`` at ``at_s``; False when it has ended or is already being cancelled."""
        if self.led.state[j] in (DONE, CANCELLED) or j in self.cancel_pending:
            return False
        self.cancel_pending.add(j)
        schedule(self.kernel, at_s, EventKind.CANCEL, j)
        return True

    def _on_cancel(self, j: int) -> None:
        self.cancel_pending.discard(j)
        led = self.led
        if led.state[j] in (DONE, CANCELLED):
            return
        if led.state[j] == RUNNING:
            self.dirty.add(led.part[j])
        led.close(j, cancelled=True)

    def preempt(self, j: int, at_s: float) -> bool:
        """Preempt running job ``j`` at ``at_s``: it writes a checkpoint and waits again; False
        when it is not running."""
        if self.led.state[j] != RUNNING:
            return False
        schedule(self.kernel, at_s, EventKind.PREEMPT, j)
        return True

    def _on_preempt(self, j: int) -> None:
        led = self.led
        if led.state[j] != RUNNING:  # it ended or was stopped before the instant came
            return
        self.dirty.add(led.part[j])
        led.stop(j, save=True, count_interrupt=False)

    def admissible(self, j: int) -> bool:
        """Whether starting job ``j`` keeps the IT load under ``policies.power_cap_w`` and the
        facility power within the operator's budget (:attr:`PowerPlant.budget_w`: the feed or
        the grid limit, with the job's GPUs busy through the same chain and cooling plant)."""
        cap = self.power_cap_w
        led = self.led
        if cap is not None:
            extra = led.gpus[j] * self.admission_w[led.part_group[led.part[j]]]
            if self.plant.it_w() + extra > cap:
                return False
        budget = self.plant.budget_w
        if budget is None:
            return True
        return self.plant.facility_with_w(led.part_group[led.part[j]], led.gpus[j]) <= budget
