"""Queueing policies: each owns its queues and the pass that starts jobs from them.

* ``fifo``, ``sjf``: one heap per partition ordered by (priority, submit time or work); a pass
  starts the head while it fits and stops at the first that does not (head of line).
* ``easy-backfill``: FIFO, and later jobs may start past a blocked head if they do not delay
  it (EASY, Lifka 1995; :mod:`megapod.sim.twin.backfill`).
* ``srtf``: shortest remaining time, preemptive: every waiting and running job of a partition
  is walked in key order against the partition's GPUs; those that do not fit are passed over
  (running ones preempted), the rest run.
* ``las``: a blocked head preempts running jobs that rank below it (Tiresias-style least
  attained service, Gu et al., NSDI '19).
* ``fair-share``: the queue (user, group) holding the fewest GPUs per weight goes first.

A policy is a class; the registry holds the class and the scheduler makes one per run, so its
state (heaps, memos) belongs to that run. To add one, subclass :class:`QueueDiscipline`
(override :meth:`~QueueDiscipline.order`, and :meth:`~QueueDiscipline.blocked` or
:meth:`~QueueDiscipline.schedule` for a pass of its own) and register it in
:data:`QUEUE_POLICIES`.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from megapod.registry import Registry
from megapod.sim.twin.cluster import Allocation
from megapod.sim.twin.ledger import QUEUED, RUNNING
from megapod.sim.twin.policies import JobView, Key

if TYPE_CHECKING:
    from megapod.sim.twin.scheduler import Scheduler

Entry = tuple[Any, int, int]
"""(key, job, queue token) in a heap; a stale token marks an entry left behind."""


class QueueDiscipline:
    """FIFO: waiting jobs in one heap per partition, lowest :meth:`order` key first; a pass
    starts heads while they fit, then hands a blocked head to :meth:`blocked`.

    Args:
        sched: the scheduler of the run (ledger, cluster, placement, admission).
    """

    name: ClassVar[str] = "fifo"
    dynamic: ClassVar[bool] = False
    """Keys of waiting jobs move with every start: the heap is re-sorted before each pick."""

    def __init__(self, sched: Scheduler) -> None:
        self.sched = sched
        self.led = sched.led
        self.cluster = sched.cluster
        self.placement = sched.placement
        self.admissible = sched.admissible
        self.las_step = sched.las_step
        self.queues: list[list[Entry]] = [[] for _ in self.cluster.partitions]
        #: Start a job on an allocation (the ledger's bookkeeping, unless a policy watches).
        self.start: Callable[[int, Allocation], None] = self.led.start

    @staticmethod
    def order(view: JobView, j: int, las_step_gpu_s: float) -> Key:
        """Queue key of job ``j`` (lower runs first): priority, then submit time."""
        return (-view.priority(j), view.submit_s(j), j)

    def key(self, j: int) -> Key:
        """Job ``j``'s key now."""
        return self.order(self.led, j, self.las_step)

    def _mark(self, j: int) -> int:
        """Job ``j`` is queued from now; its new queue token."""
        led = self.led
        led.state[j] = QUEUED
        led.queued_since[j] = led.now
        led.q_token[j] += 1
        return led.q_token[j]

    def enqueue(self, j: int) -> None:
        """Job ``j`` (arrived, or stopped with work left) waits in its partition's queue."""
        tok = self._mark(j)
        heapq.heappush(self.queues[self.led.part[j]], (self.key(j), j, tok))

    def head(self, p: int) -> int | None:
        """The first live job of partition ``p``'s queue (stale entries dropped)."""
        q = self.queues[p]
        state = self.led.state
        qt = self.led.q_token
        while q:
            _, j, tok = q[0]
            if state[j] == QUEUED and qt[j] == tok:
                return j
            heapq.heappop(q)
        return None

    def schedule(self, p: int) -> None:
        """Start heads of partition ``p``'s queue while they fit; then :meth:`blocked`."""
        q = self.queues[p]
        if not q:
            return
        cluster = self.cluster
        led = self.led
        state = led.state
        qt = led.q_token
        gpus = led.gpus
        resort = self.dynamic
        while q:
            if resort:  # keys move with every start: re-sort before each pick
                q[:] = [(self.key(j), j, t) for _, j, t in q if state[j] == QUEUED and qt[j] == t]
                heapq.heapify(q)
                if not q:
                    break
            _, j, tok = q[0]
            if state[j] != QUEUED or qt[j] != tok:
                heapq.heappop(q)
                continue
            if not self.admissible(j):
                return
            alloc = cluster.place(p, gpus[j], self.placement, j)
            if alloc is None:
                break
            heapq.heappop(q)
            self.start(j, alloc)
        if q:
            self.blocked(p)

    def blocked(self, p: int) -> None:
        """The head of partition ``p`` does not fit now (head of line: nothing more starts)."""


class ShortestJobFirst(QueueDiscipline):
    """SJF: priority, then the shortest failure-free run time."""

    name = "sjf"

    @staticmethod
    def order(view: JobView, j: int, las_step_gpu_s: float) -> Key:
        """Priority, then work."""
        return (-view.priority(j), view.work_s(j), j)


class Preemptive(QueueDiscipline):
    """A blocked head preempts running jobs whose keys are above its own (highest first), with
    a checkpoint written at the stop, until it fits.

    Two ways to avoid sorting every running job on every pass, each the same victims:
    ``keys_fall`` — keys of waiting jobs are fixed and keys of running jobs never rise while they
    run (SRTF), so only the running jobs that outranked the head last time, and jobs started
    since, are looked at again; ``watch_rise`` — keys of running jobs rise only at known
    attained service (:meth:`rise_gpu_s`, LAS levels), so a running job that did not outrank
    the head is looked at again only once it may have reached that service.
    """

    keys_fall: ClassVar[bool] = False
    watch_rise: ClassVar[bool] = False

    def __init__(self, sched: Scheduler) -> None:
        super().__init__(sched)
        n = len(self.queues)
        self.outranking: list[tuple[Any, set[int]] | None] = [None] * n
        self.rise_due: list[list[tuple[float, int, int]]] = [[] for _ in range(n)]
        self.start = self._start_watched

    def rise_gpu_s(self, attained_gpu_s: float, las_step_gpu_s: float) -> float:
        """Attained service [GPU-s] before which a running job's key cannot rise."""
        return math.inf

    def _start_watched(self, j: int, alloc: Allocation) -> None:
        """Job ``j`` starts; it may outrank the next head."""
        self.led.start(j, alloc)
        memo = self.outranking[self.led.part[j]]
        if memo is not None:
            memo[1].add(j)

    def blocked(self, p: int) -> None:
        """Preempt running jobs with higher keys for the blocked head, lowest rank first."""
        head = self.head(p)
        if head is None:
            return
        hk = self.key(head)
        running = self.led.running[p]
        free = self.cluster.partitions[p].free_gpus
        need = self.led.gpus[head]
        falling, rise = self.keys_fall, self.watch_rise
        memo = self.outranking[p]
        due = self.rise_due[p]
        if (falling or rise) and memo is not None and not hk < memo[0]:
            # a job outranking the head now outranked the (not lower) head of last time, or
            # started since, or (rising keys) reached the service at which its key may rise
            pool = {j for j in memo[1] if j in running}
            run_token = self.led.run_token
            while due and due[0][0] <= self.led.now:
                _, j, tok = heapq.heappop(due)
                if run_token[j] == tok and j in running:
                    pool.add(j)
            if free + sum(self.led.gpus[j] for j in pool) < need:  # even all of them would not do
                self.outranking[p] = (memo[0], pool)
                return
        else:
            pool = running
            due.clear()
        victims = sorted(((k, j) for j in pool if (k := self.key(j)) > hk), reverse=True)
        if falling or rise:
            outrank = {j for _, j in victims}
            if rise:
                self._watch_rise(pool - outrank, outrank, due)
            self.outranking[p] = (hk, outrank)
        chosen: list[int] = []
        for k, j in victims:
            if k <= hk or free >= self.led.gpus[head]:
                break
            chosen.append(j)
            free += self.led.gpus[j]
        if free < self.led.gpus[head]:
            return
        for j in chosen:
            self.led.stop(j, save=True, count_interrupt=False)
            if self.cluster.can_fit(p, self.led.gpus[head], head, self.placement):
                break
        alloc = self.cluster.place(p, self.led.gpus[head], self.placement, head)
        if alloc is not None:
            heapq.heappop(self.queues[p])
            self.start(head, alloc)

    def _watch_rise(
        self,
        jobs: set[int],
        recheck: set[int],
        due: list[tuple[float, int, int]],
    ) -> None:
        """Queue each of ``jobs`` for a new look when its attained service may lift its key;
        a job that is (nearly) there already goes into ``recheck``, looked at every pass."""
        step = self.las_step
        now = self.led.now
        gpus = self.led.gpus
        for j in jobs:
            if gpus[j] == 0:  # a CPU-only job attains no GPU service: its key never rises
                continue
            a = self.led.attained_gpu_s(j)
            t = now + (self.rise_gpu_s(a, step) - a) * (1.0 - 1e-9) / gpus[j] - 1e-6
            if t <= now:
                recheck.add(j)
            else:
                heapq.heappush(due, (t, j, self.led.run_token[j]))


class ShortestRemainingFirst(Preemptive):
    """SRTF: priority, then the least time left to run (remaining work plus the restart still
    to come); preemptive, over every job of the partition at once.

    A pass walks the waiting and the running jobs of a partition together, lowest key first
    (at equal keys a waiting job before a running one, then by submit time), against a budget
    of the partition's up GPUs: a job that fits what is left of the budget takes its share, one
    that does not is passed over (the walk goes on). Running jobs passed over are preempted,
    with their progress saved; then the waiting jobs that took a share start in key order, each
    that the nodes can place (one that cannot waits for the next pass).

    Waiting jobs are kept in one heap per job size, so that a size larger than the budget left
    is passed over whole, and the walk ends once the budget cannot hold the smallest waiting
    size and the running jobs not yet walked all fit.
    """

    name = "srtf"
    keys_fall = True
    """Keep the running jobs in key order from start to stop (false: sort them every pass)."""

    def __init__(self, sched: Scheduler) -> None:
        super().__init__(sched)
        n = len(self.queues)
        #: Waiting jobs of each partition, one heap of (key, job, token) per job size [GPUs].
        self.waiting: list[dict[int, list[Entry]]] = [{} for _ in range(n)]
        #: Running jobs of each partition in key order, as (-priority, end, 1, submit, job, run
        #: token), ``end`` the work clock at which the job would end (its time left plus the
        #: clock now): fixed while it runs, so the order holds; ended runs are dropped lazily.
        self.run_order: list[list[tuple[int, float, int, float, int, int]]] = [[] for _ in range(n)]
        self.start = self._start_ordered

    @staticmethod
    def order(view: JobView, j: int, las_step_gpu_s: float) -> Key:
        """Priority, then remaining work."""
        return (-view.priority(j), view.remaining_s(j), j)

    def _end_v(self, j: int) -> float:
        """Work clock at which running job ``j`` ends its restart and remaining work."""
        led = self.led
        return led.remaining[j] + led.setup[j] + led.v0[j]

    def _start_ordered(self, j: int, alloc: Allocation) -> None:
        """Job ``j`` starts and takes its place in the running order."""
        led = self.led
        led.start(j, alloc)
        entry = (-led.prio[j], self._end_v(j), 1, led.submit_times[j], j, led.run_token[j])
        bisect.insort(self.run_order[led.part[j]], entry)

    def _running(self, p: int) -> list[tuple[int, float, int, float, int, int]]:
        """Partition ``p``'s running jobs in key order (ended runs dropped from time to time)."""
        led = self.led
        if not self.keys_fall:  # the straightforward way: sort every running job on every pass
            return sorted(
                (-led.prio[j], max(led.v_now, self._end_v(j)), 1, led.submit_times[j], j, led.run_token[j])
                for j in led.running[p]
            )
        order = self.run_order[p]
        if len(order) > 2 * len(led.running[p]) + 16:
            state, rt = led.state, led.run_token
            order[:] = [e for e in order if state[e[4]] == RUNNING and rt[e[4]] == e[5]]
        return order

    def enqueue(self, j: int) -> None:
        """Job ``j`` waits in the heap of its size, keyed by (priority, time left, submit):
        its remaining work plus the restart it will need."""
        tok = self._mark(j)
        led = self.led
        heap = self.waiting[led.part[j]].setdefault(led.gpus[j], [])
        left = led.remaining[j] + led.setup_next[j]
        heapq.heappush(heap, ((-led.prio[j], left, 0, led.submit_times[j], j), j, tok))

    def _take(
        self, sizes: dict[int, list[Entry]], heads: list[tuple[Any, int]], g: int, into: list[Entry]
    ) -> None:
        """The first waiting job of size ``g`` takes its share: off its heap into ``into``."""
        heap = sizes[g]
        into.append(heapq.heappop(heap))
        state, qt = self.led.state, self.led.q_token
        while heap and (state[heap[0][1]] != QUEUED or qt[heap[0][1]] != heap[0][2]):
            heapq.heappop(heap)
        if heap:
            heapq.heapreplace(heads, (heap[0][0], g))
        else:
            heapq.heappop(heads)

    def schedule(self, p: int) -> None:
        """One pass over partition ``p``: preempt the running jobs outside the budget, start
        the waiting jobs inside it that fit the nodes."""
        sizes = self.waiting[p]
        if not sizes:
            return
        led = self.led
        state = led.state
        qt = led.q_token
        gpus = led.gpus
        heads: list[tuple[Any, int]] = []  # (key, size) of each size's first waiting job
        for g in list(sizes):
            heap = sizes[g]
            while heap and (state[heap[0][1]] != QUEUED or qt[heap[0][1]] != heap[0][2]):
                heapq.heappop(heap)
            if heap:
                heads.append((heap[0][0], g))
            else:
                del sizes[g]
        if not heads:
            return
        heapq.heapify(heads)
        part = self.cluster.partitions[p]
        run = self._running(p)
        rt = led.run_token
        now = led.v_now
        selected: list[Entry] = []
        preempt: list[int] = []
        # While the GPUs taken are no more than the free ones (``slack`` ≥ 0), every running
        # job keeps its share: the walk looks at a running job only to find the budget left at
        # a waiting job's place (the running GPUs after it plus the slack).
        slack = part.free_gpus
        busy = part.up_gpus - slack
        ri = budget = busy_left = 0
        deficit = False
        while heads:
            hk, g = heads[0]
            if g > slack:
                ri = bisect.bisect_left(run, (hk[0], hk[1] + now, 0, hk[3], hk[4]))
                n = len(run)
                if n - ri <= ri:
                    after = sum(gpus[e[4]] for e in run[ri:] if state[e[4]] == RUNNING and rt[e[4]] == e[5])
                else:
                    before = sum(gpus[e[4]] for e in run[:ri] if state[e[4]] == RUNNING and rt[e[4]] == e[5])
                    after = busy - before
                if g > slack + after:  # every waiting job of this size is passed over
                    heapq.heappop(heads)
                    continue
                budget, busy_left, deficit = slack + after, after, True
                break
            slack -= g
            self._take(sizes, heads, g, selected)
        # Past that point running jobs are walked one by one with the waiting ones.
        nrun = len(run)
        while deficit and (ri < nrun or heads):
            if not heads and busy_left <= budget:
                break  # the running jobs not walked all fit
            if ri < nrun:
                r = run[ri]
                j = r[4]
                if state[j] != RUNNING or rt[j] != r[5]:
                    ri += 1
                    continue
            if heads:
                hk = heads[0][0]
                if ri >= nrun or (hk[0], hk[1] + now, 0, hk[3], hk[4]) < r[:5]:
                    g = heads[0][1]
                    if g > budget:  # every waiting job of this size is passed over
                        heapq.heappop(heads)
                        continue
                    budget -= g
                    self._take(sizes, heads, g, selected)
                    continue
            ri += 1
            g = gpus[j]
            busy_left -= g
            if g <= budget:
                budget -= g
            else:
                preempt.append(j)
        for j in preempt:
            led.stop(j, save=True, count_interrupt=False)
        cluster = self.cluster
        placement = self.placement
        for entry in selected:
            j = entry[1]
            if self.admissible(j):
                alloc = cluster.place(p, gpus[j], placement, j)
                if alloc is not None:
                    self.start(j, alloc)
                    continue
            heapq.heappush(sizes.setdefault(gpus[j], []), entry)  # waits for the next pass


def las_next_level_gpu_s(attained_gpu_s: float, las_step_gpu_s: float) -> float:
    """Attained service [GPU-s] at which the LAS level ``⌊log2(1 + a/step)⌋`` next rises:
    ``step·(2^(L+1) − 1)``."""
    level = math.floor(math.log2(1.0 + attained_gpu_s / las_step_gpu_s))
    return las_step_gpu_s * (2.0 ** (level + 1) - 1.0)


class LeastAttainedService(Preemptive):
    """LAS (Tiresias): priority, then the level ``⌊log2(1 + attained/step)⌋``, then submit time;
    preemptive."""

    name = "las"
    watch_rise = True

    @staticmethod
    def order(view: JobView, j: int, las_step_gpu_s: float) -> Key:
        """Priority and attained-service level, then submit time."""
        level = math.floor(math.log2(1.0 + view.attained_gpu_s(j) / las_step_gpu_s))
        return (-view.priority(j) * 1000.0 + level, view.submit_s(j), j)

    def rise_gpu_s(self, attained_gpu_s: float, las_step_gpu_s: float) -> float:
        """The next LAS level."""
        return las_next_level_gpu_s(attained_gpu_s, las_step_gpu_s)


class FairShare(QueueDiscipline):
    """Fair share: priority, then the GPUs the job's queue holds per its weight
    (``policies.queue_weights``), then submit time.

    Within one queue that share is the same for every job, so jobs are kept in one FIFO heap
    per queue and only the queue heads' keys are compared: the schedule of re-sorting every
    waiting job before each start, in O(queues) per start.
    """

    name = "fair-share"

    def __init__(self, sched: Scheduler) -> None:
        super().__init__(sched)
        self.sub_queues: list[dict[int, list[Entry]]] = [{} for _ in self.queues]

    @staticmethod
    def order(view: JobView, j: int, las_step_gpu_s: float) -> Key:
        """Priority, then weighted usage ``u/w`` of the job's queue (usage/weight < 1e9)."""
        share = view.queue_usage_gpus(j) / view.queue_weight(j)
        return (-view.priority(j) * 1e9 + share, view.submit_s(j), j)

    def enqueue(self, j: int) -> None:
        """Job ``j`` waits in its queue's FIFO heap."""
        tok = self._mark(j)
        led = self.led
        heap = self.sub_queues[led.part[j]].setdefault(led.qid[j], [])
        heapq.heappush(heap, (QueueDiscipline.order(led, j, self.las_step), j, tok))

    def schedule(self, p: int) -> None:
        """Start jobs in ``order`` when each queue's heap is already in that order: the next
        job is the queue head with the lowest key (ties cannot occur, keys end in the job)."""
        subs = self.sub_queues[p]
        state = self.led.state
        qt = self.led.q_token
        while True:
            best: list[tuple[Any, int, int]] | None = None
            best_key: Any = None
            for qid in list(subs):
                heap = subs[qid]
                while heap and (state[heap[0][1]] != QUEUED or qt[heap[0][1]] != heap[0][2]):
                    heapq.heappop(heap)
                if not heap:
                    del subs[qid]
                    continue
                k = self.key(heap[0][1])
                if best is None or k < best_key:
                    best, best_key = heap, k
            if best is None:
                return
            j = best[0][1]
            if not self.admissible(j):
                return
            alloc = self.cluster.place(p, self.led.gpus[j], self.placement, j)
            if alloc is None:
                return
            heapq.heappop(best)
            self.start(j, alloc)


QueuePolicy = type[QueueDiscipline]
"""A queueing policy: the class the scheduler makes its queues from."""

QUEUE_POLICIES: Registry[QueuePolicy] = Registry("queueing policy")
for _cls in (QueueDiscipline, ShortestJobFirst, ShortestRemainingFirst, LeastAttainedService, FairShare):
    QUEUE_POLICIES.register(_cls.name, _cls)

# EASY backfill lives in its own module and registers itself there.
from megapod.sim.twin import backfill as _backfill  # noqa: E402, F401
