"""The twin: jobs, failures, grid events and weather driven through the event kernel.

State is kept in flat lists indexed by job or node; no per-GPU objects. Job progress is
measured on a *work clock* ``V`` that runs at the site's thermal speed ``s`` (``dV = s·dt``),
so a heat-wave slowdown changes one number instead of every completion event. Completions sit
in their own heap keyed by ``V``. Failures are one Poisson stream of rate ``λ·N_gpus``
(superposition of the per-GPU component rates), each hitting a GPU drawn uniformly.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

from megapod import catalog
from megapod.catalog.reliability import ReliabilityEntry
from megapod.errors import SpecError
from megapod.sim.engine import EventKernel
from megapod.sim.twin.cluster import Allocation, Cluster
from megapod.sim.twin.grid_profile import GridProfile, grid_profile
from megapod.sim.twin.jobs import JobSet, build_jobs
from megapod.sim.twin.layout import Layout, build_layout
from megapod.sim.twin.policies import (
    CHECKPOINT_POLICIES,
    OUTAGE_RESPONSES,
    PLACEMENTS,
    QUEUE_POLICIES,
)
from megapod.sim.twin.power import facility_flow, it_power_w, thermal_speed
from megapod.sim.twin.reservation import NodeReservation
from megapod.sim.twin.results import Recorder, SimResult, build_result
from megapod.sim.twin.views import JobRequest, Snapshot
from megapod.spec.scenario import Scenario
from megapod.units import HOUR_S, YEAR_S


class EventKind(IntEnum):
    """Kinds of the twin's timed events (the kernel's integer ``kind``)."""

    FAILURE = 0
    REPAIR = 1
    SPARE_BACK = 2
    WEATHER = 3
    GRID_START = 4
    GRID_END = 5
    GEN_UP = 6
    BATTERY_EMPTY = 7
    SHED = 8
    CANCEL = 9

    @property
    def priority(self) -> int:
        """Order among events at the same instant (lower first): supply returns and repairs
        before anything that depends on them; failures and weather last."""
        return _PRIORITY[self]


_PRIORITY = {
    EventKind.GRID_END: 0,
    EventKind.REPAIR: 1,
    EventKind.SPARE_BACK: 1,
    EventKind.GEN_UP: 2,
    EventKind.BATTERY_EMPTY: 3,
    EventKind.SHED: 3,
    EventKind.GRID_START: 4,
    EventKind.FAILURE: 5,
    EventKind.WEATHER: 6,
    EventKind.CANCEL: 7,
}
#: Margin kept beyond one checkpoint write when shedding before the battery runs out [s].
SHED_GUARD_S = 60.0
# job states
WAITING, QUEUED, RUNNING, DONE, CANCELLED = 0, 1, 2, 3, 4
#: Maximum queued jobs an EASY pass examines behind a blocked head (cf. Slurm bf_max_job_test).
BACKFILL_DEPTH = 64

ProgressFn = Callable[[float, float], None]

#: Per-job state kept in one list each (index = job), with its value before the job arrives.
_JOB_DEFAULTS: tuple[tuple[str, Any], ...] = (
    ("state", WAITING),
    ("alloc", None),
    ("v0", 0.0),
    ("setup", 0.0),
    ("tau", math.inf),
    ("end_v", 0.0),
    ("run_token", 0),
    ("q_token", 0),
    ("setup_next", 0.0),
    ("start_s", math.nan),
    ("end_s", math.nan),
    ("run_start_s", 0.0),
    ("queued_since", 0.0),
    ("queue_s", 0.0),
    ("interruptions", 0),
    ("preemptions", 0),
    ("lost_gpu_s", 0.0),
    ("ckpt_gpu_s", 0.0),
    ("useful_gpu_s", 0.0),
    ("busy_gpu_s", 0.0),
)


class Twin:
    """One run of a scenario. Build it (no side effects), then either :meth:`run` it to the
    horizon or drive it: :meth:`advance_to`, :meth:`submit`, :meth:`cancel`, :meth:`snapshot`
    and finally :meth:`result`. ``run()`` is ``advance_to(horizon)`` then ``result()``."""

    # per-job lists (see ``_JOB_DEFAULTS``)
    state: list[int]
    alloc: list[Allocation | None]
    v0: list[float]
    setup: list[float]
    tau: list[float]
    end_v: list[float]
    run_token: list[int]
    q_token: list[int]
    setup_next: list[float]
    start_s: list[float]
    end_s: list[float]
    run_start_s: list[float]
    queued_since: list[float]
    queue_s: list[float]
    interruptions: list[int]
    preemptions: list[int]
    lost_gpu_s: list[float]
    ckpt_gpu_s: list[float]
    useful_gpu_s: list[float]
    busy_gpu_s: list[float]

    def __init__(self, scenario: Scenario, progress: ProgressFn | None = None) -> None:
        self.sc = scenario
        self.progress = progress
        self.rng = np.random.default_rng(scenario.seed)
        pol = scenario.policies
        self.queue_policy = QUEUE_POLICIES.lookup(pol.queue, "policies.queue")
        self.place_mode = PLACEMENTS.lookup(pol.placement, "policies.placement")
        self.ckpt_fn = CHECKPOINT_POLICIES.lookup(pol.checkpoint.policy, "policies.checkpoint.policy")
        self.outage = OUTAGE_RESPONSES.lookup(pol.outage, "policies.outage")
        self.layout: Layout = build_layout(scenario)
        lay = self.layout
        self.cluster = Cluster(lay.node_gpus, lay.node_partition, lay.partition_names)
        part_gpus = [p.up_gpus for p in self.cluster.partitions]
        self.jobs: JobSet = build_jobs(scenario, lay.partition_names, part_gpus, self.rng)
        self.reliability = self._reliability()
        self.grid: GridProfile = grid_profile(scenario)
        self._started = False
        self.clock = 0.0
        self._result: SimResult | None = None
        self._extra_ids: list[str] = []
        self._id_index: dict[str, int] = {}
        self._cancel_pending: set[int] = set()

    def _reliability(self) -> ReliabilityEntry | None:
        f = self.sc.failures
        if not f.enabled or f.rate_scale == 0:
            return None
        entry = catalog.get("reliability", f.catalog)
        if not isinstance(entry, ReliabilityEntry):  # pragma: no cover - kind ties the model
            raise SpecError("failures.catalog", f"{f.catalog!r} is not a reliability entry")
        return entry

    # ------------------------------------------------------------------ setup
    def _init_state(self) -> None:
        js = self.jobs
        n = len(js)
        self.submit_times: list[float] = js.submit_s.tolist()
        self.work: list[float] = js.work_s.tolist()
        self.gpus: list[int] = js.gpus.tolist()
        self.part: list[int] = js.partition.tolist()
        self.prio: list[int] = js.priority.tolist()
        self.qid: list[int] = js.queue.tolist()
        self.remaining: list[float] = list(self.work)
        self.n_trace = n
        for name, default in _JOB_DEFAULTS:
            setattr(self, name, [default] * n)
        self.tau_by_gpus: dict[int, float] = {}
        nparts = len(self.cluster.partitions)
        self.queues: list[list[tuple[Any, int, int]]] = [[] for _ in range(nparts)]
        self.bf_memo: dict[int, _BackfillMemo] = {}
        self.bf_new: list[list[tuple[Any, int, int]]] = [[] for _ in range(nparts)]
        #: Each partition's queue entries in order, for backfill policies (a heap is only
        #: ordered at its root; a backfill pass walks the first jobs behind the head).
        self.bf_order: list[list[tuple[Any, int, int]]] = [[] for _ in range(nparts)]
        self.running: list[set[int]] = [set() for _ in range(nparts)]
        self.queue_usage = [0] * (int(self.jobs.queue.max()) + 1 if n else 1)
        weights = self.sc.policies.queue_weights
        names = self.jobs.queue_names
        self.queue_weights = [
            weights.get(names[q], 1.0) if q < len(names) else 1.0 for q in range(len(self.queue_usage))
        ]
        self._queue_names = list(names) + [f"queue{q}" for q in range(len(names), len(self.queue_usage))]
        # per-queue heaps of a ``within_queue`` policy; preemption memo of ``running_keys_fall``
        self.sub_queues: list[dict[int, list[tuple[Any, int, int]]]] = [{} for _ in range(nparts)]
        self.outranking: list[tuple[Any, set[int]] | None] = [None] * nparts
        self.rise_due: list[list[tuple[float, int, int]]] = [[] for _ in range(nparts)]
        self.node_jobs: list[dict[int, int]] = [{} for _ in self.layout.node_gpus]
        self.whole_jobs: dict[int, set[int]] = {}
        first = {p: i for i, p in reversed(list(enumerate(self.layout.node_partition)))}
        self.part_design = [self.layout.node_design[first[p]] for p in range(nparts)]
        self.done_heap: list[tuple[float, int, int]] = []
        nd = len(self.layout.designs)
        self.busy_d = [0] * nd
        self.failed_d = [0] * nd
        self.down_d = [0] * nd
        self.node_failed = [False] * len(self.layout.node_gpus)
        self.blackout = False
        self.v_now = 0.0
        self.speed = 1.0
        self.gpu_cap_w: float | None = None
        self.now = 0.0
        ckpt = self.sc.policies.checkpoint
        self.write_s = ckpt.write_s
        self.restart_s = ckpt.restart_s
        self.restart_per_gpu_s = ckpt.restart_per_gpu_s
        rate = self.reliability.rate_per_gpu_s * self.sc.failures.rate_scale if self.reliability else 0.0
        self.rate_per_gpu_s = rate
        pods = sum(p.count for p in self.sc.site.pods)
        self.spares = self.sc.failures.hot_spares * pods
        # battery and grid
        self.soc_wh = self.layout.battery_energy_wh
        self.battery_t = 0.0
        self.battery_rate_w = 0.0  # + charging, - discharging
        self.supply_limits: dict[int, float] = {}
        self.gen_on = False
        self.empty_handle: int | None = None
        self.shed_handle: int | None = None
        self.outdoor_c = 20.0
        self.counters = {
            "failures": 0,
            "failures_idle": 0,
            "blackouts": 0,
            "grid_events": 0,
            "outage_checkpoints": 0,
            "events": 0,
        }
        self.rec = Recorder(nd)

    # ------------------------------------------------------------- job views
    def priority(self, j: int) -> int:
        """Job priority (higher first)."""
        return self.prio[j]

    def submit_s(self, j: int) -> float:
        """Job submit time [s]."""
        return self.submit_times[j]

    def work_s(self, j: int) -> float:
        """Failure-free run time [s]."""
        return self.work[j]

    def remaining_s(self, j: int) -> float:
        """Work left [s], counting progress of a running job."""
        if self.state[j] == RUNNING:
            done = max(0.0, self.v_now - self.v0[j] - self.setup[j])
            return max(0.0, self.remaining[j] - done)
        return self.remaining[j]

    def attained_gpu_s(self, j: int) -> float:
        """GPU-seconds the job has held so far."""
        extra = (self.now - self.run_start_s[j]) * self.gpus[j] if self.state[j] == RUNNING else 0.0
        return self.busy_gpu_s[j] + extra

    def queue_usage_gpus(self, j: int) -> int:
        """GPUs held now by the job's queue."""
        return self.queue_usage[self.qid[j]]

    def queue_weight(self, j: int) -> float:
        """Fair-share weight of the job's queue (``policies.queue_weights``, default 1)."""
        return self.queue_weights[self.qid[j]]

    # ------------------------------------------------------------- job moves
    def _key(self, j: int) -> Any:
        return self.queue_policy.order(self, j, self.sc.policies.las_threshold_gpu_s)

    def _enqueue(self, j: int) -> None:
        self.state[j] = QUEUED
        self.queued_since[j] = self.now
        self.q_token[j] += 1
        within = self.queue_policy.within_queue
        if within is not None:
            p = self.part[j]
            heap = self.sub_queues[p].setdefault(self.qid[j], [])
            heapq.heappush(heap, (within(self, j, self.sc.policies.las_threshold_gpu_s), j, self.q_token[j]))
            return
        entry = (self._key(j), j, self.q_token[j])
        heapq.heappush(self.queues[self.part[j]], entry)
        if self.queue_policy.backfill:
            self.bf_new[self.part[j]].append(entry)
            bisect.insort(self.bf_order[self.part[j]], entry)

    def _start(self, j: int, alloc: Allocation) -> None:
        now = self.now
        g = self.gpus[j]
        self.state[j] = RUNNING
        self.alloc[j] = alloc
        self.queue_s[j] += now - self.queued_since[j]
        if self.start_s[j] != self.start_s[j]:
            self.start_s[j] = now
        self.run_start_s[j] = now
        whole, partial = alloc
        node_jobs = self.node_jobs
        for node, take in partial:
            node_jobs[node][j] = take
        if whole:
            self.whole_jobs[j] = set(whole)
        self.busy_d[self.part_design[self.part[j]]] += g
        self.running[self.part[j]].add(j)
        memo = self.outranking[self.part[j]]
        if memo is not None:
            memo[1].add(j)
        self.queue_usage[self.qid[j]] += g
        rem = self.remaining[j]
        tau = self.tau_by_gpus.get(g)
        if tau is None:
            mtbf = 1.0 / (self.rate_per_gpu_s * g) if self.rate_per_gpu_s > 0 else math.inf
            tau = (
                self.ckpt_fn(self.sc.policies.checkpoint.interval_s, self.write_s, mtbf)
                if self.write_s > 0
                else math.inf
            )
            self.tau_by_gpus[g] = tau
        self.tau[j] = tau
        n_ckpt = max(0, math.ceil(rem / tau) - 1) if math.isfinite(tau) else 0
        setup = self.setup_next[j]
        self.setup[j] = setup
        self.v0[j] = self.v_now
        self.run_token[j] += 1
        end_v = self.v_now + setup + rem + n_ckpt * self.write_s
        self.end_v[j] = end_v
        heapq.heappush(self.done_heap, (end_v, self.run_token[j], j))

    def _release(self, j: int) -> None:
        alloc = self.alloc[j]
        assert alloc is not None
        self.cluster.release(alloc)
        for node, _ in alloc[1]:
            del self.node_jobs[node][j]
        if alloc[0]:
            del self.whole_jobs[j]
        self.busy_d[self.part_design[self.part[j]]] -= self.gpus[j]
        self.alloc[j] = None
        self.running[self.part[j]].discard(j)
        self.queue_usage[self.qid[j]] -= self.gpus[j]
        self.busy_gpu_s[j] += (self.now - self.run_start_s[j]) * self.gpus[j]

    def _finish(self, j: int) -> None:
        g = self.gpus[j]
        tau = self.tau[j]
        rem = self.remaining[j]
        n_ckpt = max(0, math.ceil(rem / tau) - 1) if math.isfinite(tau) else 0
        self.useful_gpu_s[j] += rem * g
        self.ckpt_gpu_s[j] += n_ckpt * self.write_s * g
        self.lost_gpu_s[j] += self.setup[j] * g
        self.remaining[j] = 0.0
        self._release(j)
        self.state[j] = DONE
        self.end_s[j] = self.now

    def _stop(self, j: int, save: bool, count_interrupt: bool, write_cost: bool = True) -> None:
        """Stop a running job: ``save`` keeps its progress (a checkpoint written now, costing
        ``write_s`` unless ``write_cost`` is false), else it rolls back to its last periodic
        checkpoint. The job re-enters its queue."""
        g = self.gpus[j]
        elapsed = self.v_now - self.v0[j]
        setup = self.setup[j]
        tau = self.tau[j]
        w = self.write_s
        committed = ckpt = 0.0
        lost = min(elapsed, setup)
        e = elapsed - setup
        if e > 0:
            if math.isfinite(tau):  # whole (interval + write) segments are committed
                seg = math.floor(e / (tau + w))
                committed = seg * tau
                ckpt = seg * w
                within = e - seg * (tau + w)
            else:  # no periodic checkpoints (never ``0 · inf``)
                within = e
            if save:
                part = min(within, tau)
                kept = max(0.0, part - w) if write_cost else part
                committed += kept
                ckpt += part - kept
                lost += within - part
            else:
                lost += within
        committed = min(committed, self.remaining[j])
        self.useful_gpu_s[j] += committed * g
        self.ckpt_gpu_s[j] += ckpt * g
        self.lost_gpu_s[j] += (elapsed - committed - ckpt) * g
        self.remaining[j] -= committed
        self.run_token[j] += 1
        self._release(j)
        self.setup_next[j] = self.restart_s + self.restart_per_gpu_s * g
        if count_interrupt:
            self.interruptions[j] += 1
        else:
            self.preemptions[j] += 1
        if self.remaining[j] <= 1e-9:
            self.state[j] = DONE
            self.end_s[j] = self.now
        else:
            self._enqueue(j)

    # ------------------------------------------------------------ scheduling
    def _admissible(self, j: int) -> bool:
        cap = self.sc.policies.power_cap_w
        if cap is None:
            return True
        d = self.layout.designs[self.part_design[self.part[j]]]
        extra = self.gpus[j] * (d.gpu_tdp_w - d.gpu_idle_w)
        return self._it_w() + extra <= cap

    def _schedule(self, p: int) -> None:
        if self.blackout or (self.outage.hold_queue and self.supply_limits):
            return
        pol = self.queue_policy
        if pol.within_queue is not None:
            self._schedule_by_queue(p)
            return
        q = self.queues[p]
        if not q:
            return
        cluster = self.cluster
        state = self.state
        qt = self.q_token
        resort = pol.dynamic
        while q:
            if resort:  # keys move with every start: re-sort before each pick
                q[:] = [(self._key(j), j, t) for _, j, t in q if state[j] == QUEUED and qt[j] == t]
                heapq.heapify(q)
                if not q:
                    break
            _, j, tok = q[0]
            if state[j] != QUEUED or qt[j] != tok:
                heapq.heappop(q)
                continue
            if not self._admissible(j):
                return
            alloc = cluster.place(p, self.gpus[j], self.place_mode)
            if alloc is None:
                break
            heapq.heappop(q)
            self._start(j, alloc)
        if not q:
            return
        if pol.preemptive:
            self._preempt_for_head(p)
        if pol.backfill and cluster.partitions[p].free_gpus > 0:
            self._backfill(p)

    def _schedule_by_queue(self, p: int) -> None:
        """Start jobs in ``order`` when each queue's heap is already in that order: the next
        job is the queue head with the lowest key (ties cannot occur, keys end in the job)."""
        subs = self.sub_queues[p]
        state = self.state
        qt = self.q_token
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
                k = self._key(heap[0][1])
                if best is None or k < best_key:
                    best, best_key = heap, k
            if best is None:
                return
            j = best[0][1]
            if not self._admissible(j):
                return
            alloc = self.cluster.place(p, self.gpus[j], self.place_mode)
            if alloc is None:
                return
            heapq.heappop(best)
            self._start(j, alloc)

    def _head(self, p: int) -> int | None:
        q = self.queues[p]
        while q:
            _, j, tok = q[0]
            if self.state[j] == QUEUED and self.q_token[j] == tok:
                return j
            heapq.heappop(q)
        return None

    def _preempt_for_head(self, p: int) -> None:
        head = self._head(p)
        if head is None:
            return
        hk = self._key(head)
        running = self.running[p]
        free = self.cluster.partitions[p].free_gpus
        need = self.gpus[head]
        pol = self.queue_policy
        falling, rise = pol.running_keys_fall, pol.running_key_rise_s
        memo = self.outranking[p]
        due = self.rise_due[p]
        if (falling or rise is not None) and memo is not None and not hk < memo[0]:
            # a job outranking the head now outranked the (not lower) head of last time, or
            # started since, or (rising keys) reached the service at which its key may rise
            pool = {j for j in memo[1] if j in running}
            run_token = self.run_token
            while due and due[0][0] <= self.now:
                _, j, tok = heapq.heappop(due)
                if run_token[j] == tok and j in running:
                    pool.add(j)
            if free + sum(self.gpus[j] for j in pool) < need:  # even all of them would not do
                self.outranking[p] = (memo[0], pool)
                return
        else:
            pool = running
            due.clear()
        victims = sorted(((k, j) for j in pool if (k := self._key(j)) > hk), reverse=True)
        if falling or rise is not None:
            outrank = {j for _, j in victims}
            if rise is not None:
                self._watch_rise(pool - outrank, outrank, due, rise)
            self.outranking[p] = (hk, outrank)
        chosen: list[int] = []
        for k, j in victims:
            if k <= hk or free >= self.gpus[head]:
                break
            chosen.append(j)
            free += self.gpus[j]
        if free < self.gpus[head]:
            return
        for j in chosen:
            self._stop(j, save=True, count_interrupt=False)
            if self.cluster.can_fit(p, self.gpus[head]):
                break
        alloc = self.cluster.place(p, self.gpus[head], self.place_mode)
        if alloc is not None:
            heapq.heappop(self.queues[p])
            self._start(head, alloc)

    def _watch_rise(
        self,
        jobs: set[int],
        recheck: set[int],
        due: list[tuple[float, int, int]],
        rise: Callable[[float, float], float],
    ) -> None:
        """Queue each of ``jobs`` for a new look when its attained service may lift its key;
        a job that is (nearly) there already goes into ``recheck``, looked at every pass."""
        step = self.sc.policies.las_threshold_gpu_s
        now = self.now
        for j in jobs:
            a = self.attained_gpu_s(j)
            t = now + (rise(a, step) - a) * (1.0 - 1e-9) / self.gpus[j] - 1e-6
            if t <= now:
                recheck.add(j)
            else:
                heapq.heappush(due, (t, j, self.run_token[j]))

    def _run_estimate_s(self, j: int) -> float:
        """Work-clock time job ``j`` would run if started now: restart, remaining work and the
        periodic checkpoint writes on the way, as :meth:`_start` schedules its end."""
        g = self.gpus[j]
        tau = self.tau_by_gpus.get(g)
        if tau is None:
            mtbf = 1.0 / (self.rate_per_gpu_s * g) if self.rate_per_gpu_s > 0 else math.inf
            ckpt = self.sc.policies.checkpoint.interval_s
            tau = self.ckpt_fn(ckpt, self.write_s, mtbf) if self.write_s > 0 else math.inf
        rem = self.remaining[j]
        n_ckpt = max(0, math.ceil(rem / tau) - 1) if math.isfinite(tau) else 0
        return self.setup_next[j] + rem + n_ckpt * self.write_s

    def _backfill(self, p: int) -> None:
        """EASY backfill (Lifka 1995; Mu'alem & Feitelson 2001): the head is reserved the
        earliest time its GPUs free up *on nodes where it can be placed*; a later job starts
        now if it ends by then, or if the head still fits at that time beside it.

        When the last pass started nothing and neither the nodes, the speed nor the head have
        changed since, the jobs it examined still cannot start (they only end later), so only
        the jobs that arrived since are tried: the same jobs start as in a full pass, in
        O(arrivals)."""
        head = self._head(p)
        if head is None:
            return
        new, self.bf_new[p] = self.bf_new[p], []
        memo = self.bf_memo.pop(p, None)
        if memo is not None and memo.key == self._backfill_key(head):
            self._backfill_arrivals(p, memo, new)
        else:
            self._backfill_pass(p, head)

    def _backfill_key(self, head: int) -> tuple[int, float, float | None, int]:
        return (self.cluster.version, self.speed, self.gpu_cap_w, head)

    def _backfill_pass(self, p: int, head: int) -> None:
        """A full EASY pass: reserve the head, then try up to ``BACKFILL_DEPTH - 1`` jobs."""
        cluster = self.cluster
        part = cluster.partitions[p]
        nf = cluster.node_free
        up = cluster.node_up
        res = NodeReservation(
            lambda n: int(nf[n]) if up[n] else None,
            len(part.full),
            {f: len(nodes) for f, nodes in enumerate(part.buckets) if nodes},
            part.node_gpus,
            self.gpus[head],
        )
        shadow = math.inf
        end_v = self.end_v
        if res.fits():
            shadow = self.now
        else:
            for j in sorted(self.running[p], key=end_v.__getitem__):
                self._add_alloc(res, j, 1)
                if res.fits():
                    shadow = self.now + (end_v[j] - self.v_now) / self.speed
                    break
        order = self.bf_order[p]
        state = self.state
        qt = self.q_token
        memo = _BackfillMemo((), shadow, res, too_big=part.free_gpus + 1)
        gpus = self.gpus
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
        if not started and self.sc.policies.power_cap_w is None:
            memo.key = self._backfill_key(head)
            self.bf_memo[p] = memo

    def _backfill_arrivals(self, p: int, memo: _BackfillMemo, new: list[Any]) -> None:
        """Try only the jobs enqueued since the pass that left ``memo`` (see :meth:`_backfill`)."""
        state = self.state
        qt = self.q_token
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
        gj = self.gpus[j]
        # placement only gets harder as a pass starts jobs: once n GPUs do not fit, no job of
        # n or more does (see Cluster.can_fit)
        if gj >= memo.too_big or not self._admissible(j):
            return False
        res = memo.res
        late = self.now + self._run_estimate_s(j) / self.speed > memo.shadow
        if late and gj > res.spare_gpus():
            return False
        alloc = cluster.place(p, gj, self.place_mode)
        if alloc is None:
            memo.too_big = gj
            return False
        nf = cluster.node_free
        for node, take in alloc[1]:
            res.remember(node, int(nf[node]) + take)
        if late:  # still running at the reservation: the head must fit beside it
            self._start_alloc_on(res, alloc, -1)
            if not res.fits():
                self._start_alloc_on(res, alloc, 1)
                cluster.release(alloc)
                return False
        self._start(j, alloc)
        return True

    def _add_alloc(self, res: NodeReservation, j: int, sign: int) -> None:
        alloc = self.alloc[j]
        assert alloc is not None
        self._start_alloc_on(res, alloc, sign)

    def _start_alloc_on(self, res: NodeReservation, alloc: Allocation, sign: int) -> None:
        """Give (``sign`` 1) or take (-1) an allocation's GPUs at the reservation time."""
        whole, partial = alloc
        res.add_whole_nodes(sign * len(whole))
        for node, take in partial:
            res.add(node, sign * take)

    # ----------------------------------------------------------------- power
    def _up_d(self) -> list[int]:
        return [
            d.gpus - f - dn for d, f, dn in zip(self.layout.designs, self.failed_d, self.down_d, strict=True)
        ]

    def _it_w(self) -> float:
        ups = self._up_d()
        return sum(
            float(it_power_w(d, b, u, self.gpu_cap_w))
            for d, b, u in zip(self.layout.designs, self.busy_d, ups, strict=True)
        )

    def _facility_w(self) -> float:
        ups = self._up_d()
        total = 0.0
        for d, pod, b, u in zip(self.layout.designs, self.sc.site.pods, self.busy_d, ups, strict=True):
            it = it_power_w(d, b, u, self.gpu_cap_w)
            total += float(facility_flow(d, it, pod.cooling.plant, self.outdoor_c).facility_w)
        return total

    def _battery_sync(self) -> None:
        """Integrate the SoC to now at the rate in force, then set the new rate and the
        empty-battery event. Discharge covers the deficit between load and supply; recharge
        runs at the bank's rated power times its round-trip efficiency once supply returns."""
        dt = self.now - self.battery_t
        cap = self.layout.battery_energy_wh
        if dt > 0 and self.battery_rate_w != 0.0:
            self.soc_wh = min(cap, max(0.0, self.soc_wh + self.battery_rate_w * dt / HOUR_S))
        self.battery_t = self.now
        if self.empty_handle is not None:
            self.kernel.cancel(self.empty_handle)
            self.empty_handle = None
        if self.shed_handle is not None:
            self.kernel.cancel(self.shed_handle)
            self.shed_handle = None
        if self.supply_limits and not self.blackout:
            supply = min(self.supply_limits.values()) + (
                self.layout.generator_power_w if self.gen_on else 0.0
            )
            deficit = self._facility_w() - supply
            if deficit > self.layout.battery_power_w:
                self.soc_wh = 0.0 if self.soc_wh <= 0 else self.soc_wh
                self.battery_rate_w = 0.0
                self.empty_handle = self.kernel.schedule(
                    self.now, EventKind.BATTERY_EMPTY, 0, EventKind.BATTERY_EMPTY.priority
                )
            elif deficit > 0:
                self.battery_rate_w = -deficit
                t_empty = self.now + self.soc_wh * HOUR_S / deficit
                self.empty_handle = self.kernel.schedule(
                    t_empty, EventKind.BATTERY_EMPTY, 0, EventKind.BATTERY_EMPTY.priority
                )
                if self.outage.checkpoint_and_shed and any(self.running):
                    t_shed = max(self.now, t_empty - self.write_s - SHED_GUARD_S)
                    self.shed_handle = self.kernel.schedule(
                        t_shed, EventKind.SHED, 0, EventKind.SHED.priority
                    )
            else:
                self.battery_rate_w = 0.0
        elif self.soc_wh < cap and not self.supply_limits:
            self.battery_rate_w = self.layout.battery_power_w * self.layout.battery_charge_efficiency
        else:
            self.battery_rate_w = 0.0
        self.rec.soc(self.now, self.soc_wh, self.soc_wh + self.battery_rate_w * 0.0)

    # ------------------------------------------------------------ event kinds
    def _on_failure(self) -> None:
        assert self.reliability is not None
        self.kernel.schedule(
            self.now + self.rng.exponential(1.0 / self.fail_rate),
            EventKind.FAILURE,
            0,
            EventKind.FAILURE.priority,
        )
        gpu = int(self.rng.integers(self.total_gpus))
        node = int(np.searchsorted(self.node_cum, gpu, side="right"))
        comp = int(self.rng.choice(len(self.comp_p), p=self.comp_p))
        if not self.cluster.node_up[node]:
            return
        self.counters["failures"] += 1
        slot = gpu - (self.node_cum[node - 1] if node else 0)
        hit = None
        acc = 0
        for j, take in self.node_jobs[node].items():
            acc += take
            if slot < acc:
                hit = j
                break
        owner = None
        if not self.node_jobs[node] and self.cluster.node_free[node] == 0:
            owner = next((j for j, nodes in self.whole_jobs.items() if node in nodes), None)
            hit = owner
        if hit is None:
            self.counters["failures_idle"] += 1
        repair_s = self.reliability.components[comp].repair_s
        victims = list(self.node_jobs[node]) if repair_s > 0 else ([hit] if hit is not None else [])
        if owner is not None and owner not in victims:
            victims.append(owner)
        for j in victims:
            self._stop(j, save=False, count_interrupt=True)
        if repair_s > 0:
            if self.spares > 0:
                self.spares -= 1
                self.kernel.schedule(
                    self.now + repair_s, EventKind.SPARE_BACK, node, EventKind.SPARE_BACK.priority
                )
            else:
                self.node_failed[node] = True
                self.cluster.set_up(node, False)
                self.failed_d[self.layout.node_design[node]] += self.layout.node_gpus[node]
                self.kernel.schedule(self.now + repair_s, EventKind.REPAIR, node, EventKind.REPAIR.priority)
        self.dirty.add(self.layout.node_partition[node])

    def _on_repair(self, node: int) -> None:
        self.node_failed[node] = False
        self.failed_d[self.layout.node_design[node]] -= self.layout.node_gpus[node]
        if not self.blackout:
            self.cluster.set_up(node, True)
        else:
            self.down_d[self.layout.node_design[node]] += self.layout.node_gpus[node]
        self.dirty.add(self.layout.node_partition[node])

    def _on_grid_start(self, i: int) -> None:
        self.counters["grid_events"] += 1
        limit = self.grid_events[i][2]
        self.supply_limits[i] = limit
        if self.layout.generator_power_w > 0 and limit <= 0:
            self.kernel.schedule(
                self.now + self.layout.generator_start_s, EventKind.GEN_UP, i, EventKind.GEN_UP.priority
            )
        if self.outage.checkpoint_and_shed:
            self._shed()
        self._battery_sync()

    def _shed(self) -> None:
        """Outage-aware response: when the battery cannot carry the load for the expected outage,
        checkpoint running jobs now and stop them (lowest priority, then newest first) until the
        rest can be carried."""
        expected_s = self.sc.grid.mean_outage_s
        if self.layout.generator_power_w > 0:
            expected_s = min(expected_s, self.layout.generator_start_s)
        supply = min(self.supply_limits.values())
        running = sorted(
            (j for s in self.running for j in s), key=lambda j: (self.prio[j], -self.run_start_s[j])
        )
        for j in running:
            deficit = self._facility_w() - supply
            if deficit <= 0 or (
                deficit <= self.layout.battery_power_w and self.soc_wh * HOUR_S / deficit >= expected_s
            ):
                break
            self._stop(j, save=True, count_interrupt=False)
            self.counters["outage_checkpoints"] += 1

    def _on_shed(self) -> None:
        """The battery will be empty in about one checkpoint write: save every running job now."""
        self.shed_handle = None
        for j in sorted(j for part in self.running for j in part):
            self._stop(j, save=True, count_interrupt=False)
            self.counters["outage_checkpoints"] += 1

    def _on_grid_end(self, i: int) -> None:
        self.supply_limits.pop(i, None)
        if not self.supply_limits:
            self.gen_on = False
            if self.blackout:
                self._end_blackout()
        self._battery_sync()
        self.dirty.update(range(len(self.queues)))

    def _on_battery_empty(self) -> None:
        self.empty_handle = None
        self.battery_sync_soc_only()
        if not self.supply_limits or self.blackout:
            return
        self.counters["blackouts"] += 1
        for s in self.running:
            for j in list(s):
                self._stop(j, save=False, count_interrupt=True)
        self.blackout = True
        nodes = [node for node, failed in enumerate(self.node_failed) if not failed]
        self.cluster.set_many(nodes, False)
        for node in nodes:
            self.down_d[self.layout.node_design[node]] += self.layout.node_gpus[node]
        self.soc_wh = 0.0
        self.battery_rate_w = 0.0

    def battery_sync_soc_only(self) -> None:
        """Bring the SoC to now without changing the rate."""
        dt = self.now - self.battery_t
        if dt > 0 and self.battery_rate_w != 0.0:
            self.soc_wh = min(
                self.layout.battery_energy_wh, max(0.0, self.soc_wh + self.battery_rate_w * dt / HOUR_S)
            )
        self.battery_t = self.now

    def _on_weather(self, hour: int) -> None:
        self.outdoor_c = float(self.temps[hour % len(self.temps)])
        self.kernel.schedule(self.now + HOUR_S, EventKind.WEATHER, hour + 1, EventKind.WEATHER.priority)
        speed, cap = 1.0, None
        for d, pod, b, u in zip(
            self.layout.designs, self.sc.site.pods, self.busy_d, self._up_d(), strict=True
        ):
            s, c = thermal_speed(
                d, pod.cooling.plant, pod.cooling.capacity_w * pod.count, self.outdoor_c, b, u
            )
            if s < speed:
                speed, cap = s, c
        self.speed = speed
        self.gpu_cap_w = cap
        self.rec.weather(self.now, self.outdoor_c, speed)

    # ------------------------------------------------------------------- run
    def _grid_schedule(self) -> list[tuple[float, float, float]]:
        g = self.sc.grid
        events = [(e.start_s, e.duration_s, e.limit_w if e.limit_w is not None else 0.0) for e in g.events]
        if g.outages_per_year > 0:
            n = int(self.rng.poisson(g.outages_per_year * self.sc.horizon_s / YEAR_S))
            starts = np.sort(self.rng.uniform(0.0, self.sc.horizon_s, n))
            durs = self.rng.exponential(g.mean_outage_s, n)
            events += [(float(s), float(d), 0.0) for s, d in zip(starts, durs, strict=True)]
        return sorted(events)

    # ------------------------------------------------------------ open twin
    def _ensure_started(self) -> None:
        """Build the state and schedule the scenario's own events (once, on first use)."""
        if self._started:
            return
        self._started = True
        self._init_state()
        sc = self.sc
        horizon = sc.horizon_s
        self.kernel = kernel = EventKernel()
        self.dirty: set[int] = set()
        self.clock = 0.0
        self._next_arrival = 0
        self._late: list[tuple[float, int]] = []
        self._events = 0
        self._next_report = 0.0
        node_gpus = np.asarray(self.layout.node_gpus, dtype=np.int64)
        self.node_cum = np.cumsum(node_gpus)
        self.total_gpus = int(self.node_cum[-1])
        if self.reliability is not None:
            counts = np.array([c.interruptions for c in self.reliability.components], dtype=np.float64)
            self.comp_p = counts / counts.sum()
            self.fail_rate = self.rate_per_gpu_s * self.cluster.total_gpus
            kernel.schedule(
                self.rng.exponential(1.0 / self.fail_rate), EventKind.FAILURE, 0, EventKind.FAILURE.priority
            )
        self.grid_events = self._grid_schedule()
        for i, (start, dur, _) in enumerate(self.grid_events):
            if start < horizon:
                kernel.schedule(start, EventKind.GRID_START, i, EventKind.GRID_START.priority)
                kernel.schedule(start + dur, EventKind.GRID_END, i, EventKind.GRID_END.priority)
        self.temps = self._temperatures()
        if self.temps is not None:
            kernel.schedule(0.0, EventKind.WEATHER, 0, EventKind.WEATHER.priority)

    @property
    def started(self) -> bool:
        """Whether the run has begun (its state exists)."""
        return self._started

    def _check_open(self) -> None:
        if self._result is not None:
            raise RuntimeError("the run is finished: result() was taken; build a new Twin to run again")
        self._ensure_started()

    def advance_to(self, t_s: float) -> None:
        """Process every event at or before ``t_s`` (capped at the horizon); the clock then reads
        ``t_s``. Events of one instant are all handled before the scheduler runs once."""
        self._check_open()
        if not t_s >= self.clock:
            raise ValueError(f"cannot advance to {t_s} s: the clock already reads {self.clock} s")
        until = min(t_s, self.sc.horizon_s)
        self._loop(until)
        self.clock = until

    def submit(self, job: JobRequest) -> int:
        """A job arriving while the twin runs, at ``job.submit_s`` or now if that is earlier or
        unset; returns its index in the job table."""
        self._check_open()
        at = self.clock if job.submit_s is None else max(job.submit_s, self.clock)
        part = self._partition_of(job)
        if job.job_id in self._ids():
            raise SpecError("job_id", f"{job.job_id!r} is already a job of this run")
        pt = self.cluster.partitions[part]
        size = len(pt.nodes) * pt.node_gpus
        if job.gpus > size:
            raise SpecError("gpus", f"{job.gpus:,} GPUs is more than the {size:,} of its partition")
        qid = self._queue_of(job.queue)
        j = len(self.submit_times)
        for name, default in _JOB_DEFAULTS:
            getattr(self, name).append(default)
        self.submit_times.append(at)
        self.work.append(job.work_s)
        self.remaining.append(job.work_s)
        self.gpus.append(job.gpus)
        self.part.append(part)
        self.prio.append(job.priority)
        self.qid.append(qid)
        self._extra_ids.append(job.job_id)
        self._id_index[job.job_id] = j
        heapq.heappush(self._late, (at, j))
        return j

    def cancel(self, job_id: str) -> bool:
        """Cancel a job now (waiting, queued or running; a running job's GPUs are freed and its
        work done so far is kept in its accounts). False when the job has already ended."""
        self._check_open()
        j = self._ids().get(job_id)
        if j is None:
            raise SpecError("job_id", f"no job {job_id!r} in this run")
        if self.state[j] in (DONE, CANCELLED) or j in self._cancel_pending:
            return False
        self._cancel_pending.add(j)
        self.kernel.schedule(
            max(self.clock, self.kernel.now_s), EventKind.CANCEL, j, EventKind.CANCEL.priority
        )
        return True

    def _on_cancel(self, j: int) -> None:
        self._cancel_pending.discard(j)
        st = self.state[j]
        if st in (DONE, CANCELLED):
            return
        if st == RUNNING:
            self._stop(j, save=True, count_interrupt=False, write_cost=False)
            self.preemptions[j] -= 1
            self.dirty.add(self.part[j])
        if self.state[j] == QUEUED:
            self.queue_s[j] += self.now - self.queued_since[j]
        self.state[j] = CANCELLED
        self.end_s[j] = self.now

    def _ids(self) -> dict[str, int]:
        if not self._id_index and len(self.jobs):
            self._id_index = {str(k): i for i, k in enumerate(self.jobs.job_id)}
        return self._id_index

    def _partition_of(self, job: JobRequest) -> int:
        names = self.layout.partition_names
        if job.partition is None:
            if len(names) == 1:
                return 0
            raise SpecError("partition", f"required on a site of several partitions: {', '.join(names)}")
        if job.partition not in names:
            raise SpecError("partition", f"unknown partition {job.partition!r}; known: {', '.join(names)}")
        return names.index(job.partition)

    def _queue_of(self, name: str | None) -> int:
        names = self._queue_names
        if name is None:
            return 0
        if name not in names:
            names.append(name)
            self.queue_usage.append(0)
            self.queue_weights.append(self.sc.policies.queue_weights.get(name, 1.0))
        return names.index(name)

    def snapshot(self) -> Snapshot:
        """A typed, JSON-able view of the site at the clock: nodes, jobs, power, battery, thermal."""
        self._ensure_started()
        counts = [0, 0, 0, 0, 0]
        for st in self.state:
            counts[st] += 1
        queued = [j for j in range(len(self.state)) if self.state[j] == QUEUED]
        running = sorted(j for s in self.running for j in s)
        ids = self._job_ids()
        dt = self.clock - self.battery_t
        soc = self.soc_wh + self.battery_rate_w * dt / HOUR_S if dt > 0 else self.soc_wh
        cap = self.layout.battery_energy_wh
        soc = min(cap, max(0.0, soc))
        return Snapshot(
            t_s=self.clock,
            horizon_s=self.sc.horizon_s,
            nodes_up=sum(1 for up in self.cluster.node_up if up),
            nodes_failed=sum(self.node_failed),
            nodes_down=len(self.node_failed)
            - sum(1 for up in self.cluster.node_up if up)
            - sum(self.node_failed),
            gpus=self.total_gpus,
            gpus_busy=sum(self.busy_d),
            gpus_failed=sum(self.failed_d),
            gpus_down=sum(self.down_d),
            hot_spares=self.spares,
            jobs_waiting=counts[WAITING],
            jobs_queued=counts[QUEUED],
            jobs_running=counts[RUNNING],
            jobs_done=counts[DONE],
            jobs_cancelled=counts[CANCELLED],
            queue=[ids[j] for j in sorted(queued, key=lambda j: (self.queued_since[j], j))],
            running=[ids[j] for j in running],
            it_power_w=self._it_w(),
            facility_power_w=self._facility_w(),
            battery_soc=soc / cap if cap > 0 else 0.0,
            battery_power_w=-self.battery_rate_w,
            grid_limited=bool(self.supply_limits),
            blackout=self.blackout,
            generators_on=self.gen_on,
            outdoor_c=self.outdoor_c,
            thermal_speed=self.speed,
            gpu_cap_w=self.gpu_cap_w,
            events=self._events,
        )

    def _job_ids(self) -> list[str]:
        return [str(k) for k in self.jobs.job_id] + self._extra_ids

    def result(self) -> SimResult:
        """The tables of the run up to the clock. The run ends here: running jobs are accounted
        to the clock and reported as running; the twin takes no more steps."""
        if self._result is not None:
            return self._result
        self._ensure_started()
        end = self.clock
        self.now = end
        self.battery_sync_soc_only()
        self.rec.soc(end, self.soc_wh, 0.0)
        self.running_at_end = [j for s in self.running for j in s]
        for j in self.running_at_end:  # account work done inside the horizon, then mark running
            self._stop(j, save=True, count_interrupt=False, write_cost=False)
            self.preemptions[j] -= 1
            self.state[j] = RUNNING
        for j, st in enumerate(self.state):
            if st == QUEUED and j not in self.running_at_end:
                self.queue_s[j] += end - self.queued_since[j]
        self.counters["events"] = self._events
        if self._extra_ids:
            n = len(self.jobs)
            self.jobs = self.jobs.extended(
                self._extra_ids,
                self.submit_times[n:],
                self.work[n:],
                self.gpus[n:],
                self.part[n:],
                self.qid[n:],
                self.prio[n:],
                tuple(self._queue_names),
            )
        self._result = build_result(self, end)
        return self._result

    def run(self) -> SimResult:
        """Run to the horizon and return the tables (nothing is written)."""
        self.advance_to(self.sc.horizon_s)
        return self.result()

    def _temperatures(self) -> Any:
        if not self.sc.weather.enabled:
            return None
        from megapod.physics.climate import load_profile

        name = self.sc.weather.climate or self.sc.site.location.climate
        return load_profile(name).dry_bulb_c

    def _loop(self, until: float) -> None:
        kernel = self.kernel
        submit = self.submit_times
        n = self.n_trace
        nxt = self._next_arrival
        late = self._late
        done_heap = self.done_heap
        run_token = self.run_token
        state = self.state
        dirty = self.dirty
        rec_t = self.rec.t.append
        rec_v = self.rec.values.extend
        handlers: dict[int, Callable[[int], None]] = {
            EventKind.FAILURE: lambda p: self._on_failure(),
            EventKind.REPAIR: self._on_repair,
            EventKind.SPARE_BACK: self._on_spare_back,
            EventKind.WEATHER: self._on_weather,
            EventKind.GRID_START: self._on_grid_start,
            EventKind.GRID_END: self._on_grid_end,
            EventKind.GEN_UP: self._on_gen_up,
            EventKind.BATTERY_EMPTY: lambda p: self._on_battery_empty(),
            EventKind.SHED: lambda p: self._on_shed(),
            EventKind.CANCEL: self._on_cancel,
        }
        horizon = self.sc.horizon_s
        report_every = max(horizon / 200.0, 1.0)
        events = self._events
        pending = False  # events handled at ``self.now`` not yet followed by a scheduling pass
        inf = math.inf
        while True:
            t_arr = submit[nxt] if nxt < n else inf
            from_late = bool(late) and late[0][0] < t_arr
            if from_late:
                t_arr = late[0][0]
            while done_heap and run_token[done_heap[0][2]] != done_heap[0][1]:
                heapq.heappop(done_heap)
            t_done = (self.now + (done_heap[0][0] - self.v_now) / self.speed) if done_heap else inf
            t_k = kernel.peek_s()
            t = min(t_arr, t_done, t_k)
            if pending and t > self.now:  # the instant is over: schedule once, then record it
                if dirty:
                    for p in dirty:
                        self._schedule(p)
                    dirty.clear()
                    while done_heap and run_token[done_heap[0][2]] != done_heap[0][1]:
                        heapq.heappop(done_heap)
                    if done_heap:  # starts add completions; one may fall in this instant
                        t_done = self.now + (done_heap[0][0] - self.v_now) / self.speed
                        if t_done <= self.now:
                            continue
                        if t_done < t:
                            t = t_done
                    else:
                        t_done = inf
                pending = False
                if self.supply_limits or self.battery_rate_w != 0.0:
                    self._battery_sync()  # may schedule battery events, even at this instant
                    t_k = kernel.peek_s()
                    if t_k < t:
                        t = t_k
                rec_t(self.now)
                rec_v(self.busy_d)
                rec_v(self.failed_d)
                rec_v(self.down_d)
                if self.progress is not None and self.now >= self._next_report:
                    self.progress(self.now, horizon)
                    self._next_report = self.now + report_every
            if t > until:
                break
            self.v_now += (t - self.now) * self.speed
            self.now = t
            events += 1
            pending = True
            if t_done <= t_arr and t_done <= t_k:
                _, _, j = heapq.heappop(done_heap)
                self.v_now = max(self.v_now, _)
                self._finish(j)
                dirty.add(self.part[j])
            elif t_arr <= t_k:
                if from_late:
                    j = heapq.heappop(late)[1]
                else:
                    j = nxt
                    nxt += 1
                if state[j] == WAITING:
                    self._enqueue(j)
                    dirty.add(self.part[j])
            else:
                ev = kernel.pop()
                assert ev is not None
                handlers[ev[3]](ev[4])
        self._next_arrival = nxt
        self._events = events

    def _on_spare_back(self, node: int) -> None:
        """A node swapped for a hot spare is repaired and becomes a spare again."""
        self.spares += 1

    def _on_gen_up(self, i: int) -> None:
        if i in self.supply_limits:
            self.gen_on = True
            if self.blackout and self.layout.generator_power_w > 0:
                self._end_blackout()

    def _end_blackout(self) -> None:
        """Power is back (grid or generators): every node not under repair comes up."""
        self.blackout = False
        self.cluster.set_many([n for n, failed in enumerate(self.node_failed) if not failed], True)
        self.down_d = [0] * len(self.down_d)
        self.dirty.update(range(len(self.queues)))


@dataclass
class _BackfillMemo:
    """What an EASY pass that started nothing leaves for the next (see ``Twin._backfill``)."""

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


def simulate(scenario: Scenario, progress: ProgressFn | None = None) -> SimResult:
    """Run ``scenario`` and return its per-job table, time series and summary."""
    return Twin(scenario, progress).run()


__all__ = ["Twin", "simulate"]
