"""EASY backfill (Lifka 1995; Mu'alem & Feitelson 2001) as a queueing policy: FIFO, and a
later job starts past a blocked head when that does not delay the head's reservation."""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from megapod.sim.twin.cluster import Allocation
from megapod.sim.twin.ledger import QUEUED, RUNNING
from megapod.sim.twin.queueing import QUEUE_POLICIES, Entry, QueueDiscipline
from megapod.sim.twin.reservation import MixedReservation, NodeReservation

if TYPE_CHECKING:
    from megapod.sim.twin.scheduler import Scheduler

#: Maximum queued jobs an EASY pass examines behind a blocked head (cf. Slurm bf_max_job_test).
BACKFILL_DEPTH = 64


class EasyBackfill(QueueDiscipline):
    """FIFO with EASY backfill (see :meth:`blocked`)."""

    name = "easy-backfill"

    def __init__(self, sched: Scheduler) -> None:
        super().__init__(sched)
        n = len(self.queues)
        self.bf_memo: dict[int, _BackfillMemo] = {}
        #: A mixed partition's last pass that started nothing: (key, reservation, its time,
        #: jobs examined).
        self.bf_mixed: dict[int, tuple[tuple[Any, ...], MixedReservation, float, int]] = {}
        #: A mixed partition's running jobs as (end on the work clock, run token, job) in end
        #: order, kept from start to end (ended runs are dropped lazily).
        self.end_order: list[list[tuple[float, int, int]]] = [[] for _ in range(n)]
        if any(part.mixed for part in self.cluster.partitions):  # else starts stay as they were
            self.start = self._start_tracked
        self.bf_new: list[list[Entry]] = [[] for _ in range(n)]
        #: Each partition's queue entries in order (a heap is only ordered at its root; a
        #: backfill pass walks the first jobs behind the head).
        self.bf_order: list[list[Entry]] = [[] for _ in range(n)]

    def _start_tracked(self, j: int, alloc: Allocation) -> None:
        """Job ``j`` starts; in a mixed partition it joins the end order."""
        led = self.led
        led.start(j, alloc)
        p = led.part[j]
        if self.cluster.partitions[p].mixed:
            bisect.insort(self.end_order[p], (led.end_v[j], led.run_token[j], j))

    def _ending(self, p: int) -> Iterator[tuple[float, int]]:
        """Partition ``p``'s running jobs as (end on the work clock, job), in end order."""
        led = self.led
        order = self.end_order[p]
        state, rt = led.state, led.run_token
        if len(order) > 2 * len(led.running[p]) + 16:
            order[:] = [e for e in order if state[e[2]] == RUNNING and rt[e[2]] == e[1]]
        for v, tok, j in order:
            if state[j] == RUNNING and rt[j] == tok:
                yield v, j

    def enqueue(self, j: int) -> None:
        """Job ``j`` waits; it is also a backfill candidate from now on."""
        tok = self._mark(j)
        p = self.led.part[j]
        entry = (self.key(j), j, tok)
        heapq.heappush(self.queues[p], entry)
        self.bf_new[p].append(entry)
        bisect.insort(self.bf_order[p], entry)

    def blocked(self, p: int) -> None:
        """Backfill partition ``p`` behind its blocked head (when GPUs are free; in a mixed
        partition, where CPU-only jobs need none, always)."""
        part = self.cluster.partitions[p]
        if part.mixed:
            self._backfill_mixed(p)
        elif part.free_gpus > 0:
            self._backfill(p)

    def _backfill_mixed(self, p: int) -> None:
        """EASY in a mixed partition: a single-node head is reserved the end of the running
        job whose release first lets it fit on some node (its GPUs or share, CPU, memory and
        type; :class:`~megapod.sim.twin.reservation.MixedReservation`). A later job that fits
        now starts if it ends by then, or if the head still fits at that time beside it. A gang
        head is reserved the next end in the partition (nothing frees resources sooner), and
        only jobs that end by then start past it."""
        head = self.head(p)
        new, self.bf_new[p] = self.bf_new[p], []
        memo = self.bf_mixed.pop(p, None)
        led = self.led
        running = led.running[p]
        if head is None or not running:
            return
        key = self._backfill_key(head)
        if memo is not None and memo[0] == key and memo[3] + len(new) < BACKFILL_DEPTH - 1:
            # nothing changed since a pass that started nothing but jobs arrived: only they may
            # start now (every job the pass tried still cannot), as in the fast path
            _, res, shadow, examined = memo
            entries = sorted(new)
        else:
            mixed = self.cluster.mixed
            assert mixed is not None
            res = MixedReservation(mixed, p, led.gpus[head], head, self._ending(p))
            shadow = led.now + (res.end_v - led.v_now) / led.speed
            entries, examined = self.bf_order[p], 0
        examined, started = self._backfill_mixed_try(p, head, entries, res, shadow, examined)
        if not started and examined < BACKFILL_DEPTH - 1 and self.sched.power_cap_w is None:
            self.bf_mixed[p] = (self._backfill_key(head), res, shadow, examined)

    def _backfill_mixed_try(
        self, p: int, head: int, entries: list[Entry], res: MixedReservation, shadow: float, examined: int
    ) -> tuple[int, bool]:
        """Try queued ``entries`` behind ``head`` against the reservation; (jobs examined in
        all, whether any started)."""
        led = self.led
        mixed = self.cluster.mixed
        assert mixed is not None
        state, qt, gpus = led.state, led.q_token, led.gpus
        stale = 0
        started = False
        failed: set[tuple[Any, ...]] = set()  # requests that did not fit in this pass
        for entry in entries:
            if examined >= BACKFILL_DEPTH - 1:
                break
            _, j, tok = entry
            if state[j] != QUEUED or qt[j] != tok:
                stale += 1
                continue
            if j == head:
                continue
            examined += 1
            late = led.now + led.run_estimate_s(j) / led.speed > shadow
            if (late and not res.found) or not self.admissible(j):
                continue
            ask = (gpus[j], *mixed.request(j, gpus[j]))
            if ask in failed:  # nodes only fill up during a pass
                continue
            alloc = self.cluster.place(p, gpus[j], self.placement, j)
            if alloc is None:
                failed.add(ask)
                continue
            if late and not res.keeps(mixed.grants[j][0]):
                self.cluster.release(alloc, j)  # it would hold what the head needs then
                continue
            self.start(j, alloc)
            started = True
        order = self.bf_order[p]
        if stale >= BACKFILL_DEPTH and entries is order:
            order[:] = [e for e in order if state[e[1]] == QUEUED and qt[e[1]] == e[2]]
        return examined, started

    def _backfill(self, p: int) -> None:
        """EASY backfill (Lifka 1995; Mu'alem & Feitelson 2001): the head is reserved the
        earliest time its GPUs free up *on nodes where it can be placed*; a later job starts
        now if it ends by then, or if the head still fits at that time beside it.

        When the last pass started nothing and neither the nodes, the speed nor the head have
        changed since, the jobs it examined still cannot start (they only end later), so only
        the jobs that arrived since are tried: the same jobs start as in a full pass, in
        O(arrivals)."""
        head = self.head(p)
        if head is None:
            return
        new, self.bf_new[p] = self.bf_new[p], []
        memo = self.bf_memo.pop(p, None)
        if memo is not None and memo.key == self._backfill_key(head):
            self._backfill_arrivals(p, memo, new)
        else:
            self._backfill_pass(p, head)

    def _backfill_key(self, head: int) -> tuple[int, float, float | None, int]:
        return (self.cluster.version, self.led.speed, self.sched.plant.gpu_cap_w, head)

    def _backfill_pass(self, p: int, head: int) -> None:
        """A full EASY pass: reserve the head, then try up to ``BACKFILL_DEPTH - 1`` jobs."""
        cluster = self.cluster
        part = cluster.partitions[p]
        nf = cluster.free
        up = cluster.node_up
        res = NodeReservation(
            lambda n: nf[n] if up[n] else None,
            len(part.full),
            {f: len(nodes) for f, nodes in enumerate(part.buckets) if nodes},
            part.node_gpus,
            self.led.gpus[head],
        )
        shadow = math.inf
        end_v = self.led.end_v
        if res.fits():
            shadow = self.led.now
        else:
            for j in sorted(self.led.running[p], key=end_v.__getitem__):
                self._add_alloc(res, j, 1)
                if res.fits():
                    shadow = self.led.now + (end_v[j] - self.led.v_now) / self.led.speed
                    break
        order = self.bf_order[p]
        state = self.led.state
        qt = self.led.q_token
        memo = _BackfillMemo((), shadow, res, too_big=part.free_gpus + 1)
        gpus = self.led.gpus
        stale = 0
        started = False
        for entry in order:
            if memo.examined >= BACKFILL_DEPTH - 1 or part.free_gpus <= 0:
                break
            _, j, tok = entry
            if state[j] != QUEUED or qt[j] != tok:
                stale += 1
                continue
            if j == head:
                continue
            memo.examined += 1
            memo.last = entry
            if gpus[j] < memo.too_big:
                started |= self._backfill_try(p, j, memo)
        memo.window_full = memo.examined >= BACKFILL_DEPTH - 1
        if stale >= BACKFILL_DEPTH:  # started jobs leave their entries behind
            order[:] = [e for e in order if state[e[1]] == QUEUED and qt[e[1]] == e[2]]
        if not started and self.sched.power_cap_w is None:
            memo.key = self._backfill_key(head)
            self.bf_memo[p] = memo

    def _backfill_arrivals(self, p: int, memo: _BackfillMemo, new: list[Any]) -> None:
        """Try only the jobs enqueued since the pass that left ``memo`` (see :meth:`blocked`)."""
        state = self.led.state
        qt = self.led.q_token
        valid = True
        for entry in sorted(new):
            _, j, tok = entry
            if state[j] != QUEUED or qt[j] != tok:
                continue
            if memo.window_full:
                if entry > memo.last:
                    continue  # behind the jobs a pass examines
                valid = False  # the window's last job drops out; the next pass is a full one
            else:
                memo.examined += 1
                memo.last = entry if memo.last is None else max(memo.last, entry)
                memo.window_full = memo.examined >= BACKFILL_DEPTH - 1
            if self.cluster.partitions[p].free_gpus <= 0:
                break
            valid &= not self._backfill_try(p, j, memo)
        if valid:
            memo.key = self._backfill_key(memo.key[3])
            self.bf_memo[p] = memo

    def _backfill_try(self, p: int, j: int, memo: _BackfillMemo) -> bool:
        """Start queued job ``j`` now if it fits and does not delay the head's reservation."""
        cluster = self.cluster
        gj = self.led.gpus[j]
        # placement only gets harder as a pass starts jobs: once n GPUs do not fit, no job of
        # n or more does (see Cluster.can_fit)
        if gj >= memo.too_big or not self.admissible(j):
            return False
        res = memo.res
        late = self.led.now + self.led.run_estimate_s(j) / self.led.speed > memo.shadow
        if late and gj > res.spare_gpus():
            return False
        alloc = cluster.place(p, gj, self.placement, j)
        if alloc is None:
            memo.too_big = gj
            return False
        nf = cluster.free
        for node, take in alloc[1]:
            res.remember(node, nf[node] + take)
        if late:  # still running at the reservation: the head must fit beside it
            self._start_alloc_on(res, alloc, -1)
            if not res.fits():
                self._start_alloc_on(res, alloc, 1)
                cluster.release(alloc, j)
                return False
        self.start(j, alloc)
        return True

    def _add_alloc(self, res: NodeReservation, j: int, sign: int) -> None:
        alloc = self.led.alloc[j]
        assert alloc is not None
        self._start_alloc_on(res, alloc, sign)

    def _start_alloc_on(self, res: NodeReservation, alloc: Allocation, sign: int) -> None:
        """Give (``sign`` 1) or take (-1) an allocation's GPUs at the reservation time."""
        whole, partial = alloc
        res.add_whole_nodes(sign * len(whole))
        for node, take in partial:
            res.add(node, sign * take)


@dataclass
class _BackfillMemo:
    """What an EASY pass that started nothing leaves for the next (see ``EasyBackfill._backfill``)."""

    key: tuple[Any, ...]
    """(cluster version, speed, GPU cap, head) the pass saw."""
    shadow: float
    """The head's reservation time [s]."""
    res: NodeReservation
    """Free GPUs per node at the reservation time."""
    too_big: int
    """Smallest GPU count known not to fit now."""
    examined: int = 0
    """Live queued jobs the pass tried."""
    last: Any = None
    """Queue entry of the last job tried (entries compare in queue order)."""
    window_full: bool = False
    """Whether ``BACKFILL_DEPTH - 1`` jobs were tried (later jobs are out of reach)."""


QUEUE_POLICIES.register(EasyBackfill.name, EasyBackfill)
