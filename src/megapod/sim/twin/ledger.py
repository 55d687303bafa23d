"""The job ledger: every job's state and accounts in flat lists, and the work clock.

Job progress is measured on a *work clock* ``V`` that runs at the site's thermal speed ``s``
(``dV = s·dt``), so a heat-wave slowdown changes one number instead of every completion
event. Completions sit in their own heap keyed by ``V`` (:attr:`JobLedger.done_heap`).

The ledger does the bookkeeping of a job's moves (start, finish, stop); it decides nothing.
Where a stopped job goes next (back to its queue) is the scheduler's, through
:attr:`JobLedger.requeue`. It is also the :class:`~megapod.sim.twin.policies.JobView` that
queueing policies read.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from megapod.errors import SpecError
from megapod.sim.twin.cluster import Allocation, Cluster
from megapod.sim.twin.jobs import JobSet
from megapod.sim.twin.mixed import Requests
from megapod.sim.twin.policies import CheckpointIntervalFn
from megapod.sim.twin.pools import gpu_types
from megapod.sim.twin.views import JobRequest
from megapod.spec.scenario import Scenario

# job states
WAITING, QUEUED, RUNNING, DONE, CANCELLED = 0, 1, 2, 3, 4

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


class JobLedger:
    """Jobs (the trace's, then the submitted ones), their accounts, the clocks, the state of
    the nodes and the GPU counts per power group.

    Args:
        scenario: the run's scenario (checkpoint costs, queue weights).
        jobs: the workload's job table.
        cluster: the nodes the jobs run on (all tiers).
        node_group: power group of each node (a pod design, or a tier's group).
        groups: number of power groups.
        ckpt_fn: the checkpoint-interval policy.
        rate_per_gpu_s: failure rate of one GPU [1/s] (0 without failures), for the
            checkpoint interval of a job's mean time between failures.
    """

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

    def __init__(
        self,
        scenario: Scenario,
        jobs: JobSet,
        cluster: Cluster,
        node_group: list[int],
        groups: int,
        ckpt_fn: CheckpointIntervalFn,
        rate_per_gpu_s: float,
    ) -> None:
        self.jobs = jobs
        self.cluster = cluster
        n = len(jobs)
        self.submit_times: list[float] = jobs.submit_s.tolist()
        self.work: list[float] = jobs.work_s.tolist()
        self.gpus: list[int] = jobs.gpus.tolist()
        self.part: list[int] = jobs.partition.tolist()
        self.prio: list[int] = jobs.priority.tolist()
        self.qid: list[int] = jobs.queue.tolist()
        self.remaining: list[float] = list(self.work)
        self.n_trace = n
        for name, default in _JOB_DEFAULTS:
            setattr(self, name, [default] * n)
        self.extra_ids: list[str] = []
        self._id_index: dict[str, int] = {}
        nparts = len(cluster.partitions)
        #: Running jobs of each partition.
        self.running: list[set[int]] = [set() for _ in range(nparts)]
        self.queue_usage = [0] * (int(jobs.queue.max()) + 1 if n else 1)
        weights = scenario.policies.queue_weights
        self._weights = weights
        names = jobs.queue_names
        self.queue_weights = [
            weights.get(names[q], 1.0) if q < len(names) else 1.0 for q in range(len(self.queue_usage))
        ]
        self.queue_names = list(names) + [f"queue{q}" for q in range(len(names), len(self.queue_usage))]
        self._bind_requests(jobs, cluster)
        #: Jobs on each node that hold part of it (job → GPUs); jobs holding whole nodes.
        self.node_jobs: list[dict[int, int]] = [{} for _ in cluster.node_gpus]
        self.whole_jobs: dict[int, set[int]] = {}
        first = {p: i for i, p in reversed(list(enumerate(cluster.node_partition)))}
        #: Power group of each partition (of its first node).
        self.part_group = [node_group[first[p]] for p in range(nparts)]
        #: Busy, failed and down GPUs of each power group.
        self.busy_d = [0] * groups
        self.failed_d = [0] * groups
        self.down_d = [0] * groups
        #: Nodes out for repair; whether the site is blacked out (every other node down).
        self.node_failed = [False] * len(cluster.node_gpus)
        self.blackout = False
        #: Completions: (end on the work clock, run token, job).
        self.done_heap: list[tuple[float, int, int]] = []
        self.now = 0.0
        self.v_now = 0.0
        self.speed = 1.0
        ckpt = scenario.policies.checkpoint
        self.interval_s = ckpt.interval_s
        self.write_s = ckpt.write_s
        self.restart_s = ckpt.restart_s
        self.restart_per_gpu_s = ckpt.restart_per_gpu_s
        self.ckpt_fn = ckpt_fn
        self.rate_per_gpu_s = rate_per_gpu_s
        self.tau_by_gpus: dict[int, float] = {}
        self.las_step_gpu_s = scenario.policies.las_threshold_gpu_s
        #: Where a stopped job with work left goes (set by the scheduler).
        self.requeue: Callable[[int], None] = self._no_queue
        #: Whether a dispatcher moved jobs to another tier (their partition and GPUs changed).
        self.dispatched = False

    def _bind_requests(self, jobs: JobSet, cluster: Cluster) -> None:
        """Hand the jobs' CPU, memory, GPU-share and GPU-type requests to the cluster; a
        partition with jobs that ask for any of them (or for no GPU) is placed as mixed."""
        if jobs.gpu_milli is None and cluster.mixed is None:
            self.part_mixed = [False] * len(cluster.partitions)
            return
        n = len(jobs)
        req = Requests(
            milli=jobs.gpu_milli.tolist() if jobs.gpu_milli is not None else [0] * n,
            cpu_milli=jobs.cpu_milli.tolist() if jobs.cpu_milli is not None else [0.0] * n,
            memory_mib=jobs.memory_mib.tolist() if jobs.memory_mib is not None else [0.0] * n,
            types=[gpu_types(t) for t in jobs.gpu_type] if jobs.gpu_type is not None else [None] * n,
        )
        asks = {self.part[j] for j in range(n) if req.asks_more(j) or self.gpus[j] == 0}
        for p in sorted(asks):
            if not cluster.partitions[p].mixed:
                cluster.make_mixed(p)
        assert cluster.mixed is not None
        cluster.mixed.req = req
        self.part_mixed = [part.mixed for part in cluster.partitions]

    def _no_queue(self, j: int) -> None:  # pragma: no cover - the scheduler always replaces it
        raise RuntimeError("no scheduler is attached to the ledger")

    def __len__(self) -> int:
        return len(self.state)

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
    def interval_for(self, g: int) -> float:
        """Checkpoint interval of a job of ``g`` GPUs [s] (inf: no periodic checkpoints)."""
        tau = self.tau_by_gpus.get(g)
        if tau is None:
            mtbf = 1.0 / (self.rate_per_gpu_s * g) if self.rate_per_gpu_s > 0 and g > 0 else math.inf
            tau = self.ckpt_fn(self.interval_s, self.write_s, mtbf) if self.write_s > 0 else math.inf
            self.tau_by_gpus[g] = tau
        return tau

    def run_estimate_s(self, j: int) -> float:
        """Work-clock time job ``j`` would run if started now: restart, remaining work and the
        periodic checkpoint writes on the way, as :meth:`start` schedules its end."""
        tau = self.interval_for(self.gpus[j])
        rem = self.remaining[j]
        n_ckpt = max(0, math.ceil(rem / tau) - 1) if math.isfinite(tau) else 0
        return self.setup_next[j] + rem + n_ckpt * self.write_s

    def start(self, j: int, alloc: Allocation) -> None:
        """Job ``j`` starts now on ``alloc``; its end goes on the completion heap."""
        now = self.now
        g = self.gpus[j]
        p = self.part[j]
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
        if self.part_mixed[p]:  # busy: GPUs that hold any share (a shared GPU counts once)
            assert self.cluster.mixed is not None
            self.busy_d[self.part_group[p]] += self.cluster.mixed.busy_of(j)
        else:
            self.busy_d[self.part_group[p]] += g
        self.running[p].add(j)
        self.queue_usage[self.qid[j]] += g
        rem = self.remaining[j]
        tau = self.tau_by_gpus.get(g)
        if tau is None:
            tau = self.interval_for(g)
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
        idle = self.cluster.release(alloc, j)
        for node, _ in alloc[1]:
            del self.node_jobs[node][j]
        if alloc[0]:
            del self.whole_jobs[j]
        p = self.part[j]
        self.busy_d[self.part_group[p]] -= self.gpus[j] if idle is None else idle
        self.alloc[j] = None
        self.running[p].discard(j)
        self.queue_usage[self.qid[j]] -= self.gpus[j]
        self.busy_gpu_s[j] += (self.now - self.run_start_s[j]) * self.gpus[j]

    def finish(self, j: int) -> None:
        """Job ``j`` completes now: its remaining work is useful, its GPUs are freed."""
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

    def stop(self, j: int, save: bool, count_interrupt: bool, write_cost: bool = True) -> None:
        """Stop a running job: ``save`` keeps its progress (a checkpoint written now, costing
        ``write_s`` unless ``write_cost`` is false), else it rolls back to its last periodic
        checkpoint. A job with work left goes to :attr:`requeue`."""
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
            self.requeue(j)

    def close(self, j: int, cancelled: bool) -> None:
        """End job ``j``'s accounts at the clock without a stop of its own: a running job keeps
        the work done so far (no checkpoint write charged, not counted as a preemption); a
        queued one is charged its wait. ``cancelled`` marks it so; else it stays as it was
        (the run ends with it running or queued)."""
        st = self.state[j]
        if st == RUNNING:
            self.stop(j, save=True, count_interrupt=False, write_cost=False)
            self.preemptions[j] -= 1
        if self.state[j] == QUEUED:
            self.queue_s[j] += self.now - self.queued_since[j]
        if cancelled:
            self.state[j] = CANCELLED
            self.end_s[j] = self.now
        elif st in (RUNNING, QUEUED):
            self.state[j] = st

    # ----------------------------------------------------------- open ledger
    def ids(self) -> dict[str, int]:
        """Job id → index."""
        if not self._id_index and len(self.jobs):
            self._id_index = {str(k): i for i, k in enumerate(self.jobs.job_id)}
        return self._id_index

    def job_ids(self) -> list[str]:
        """Every job's id, by index."""
        return [str(k) for k in self.jobs.job_id] + self.extra_ids

    def queue_of(self, name: str | None) -> int:
        """Index of queue ``name`` (a new queue is added; ``None`` is the first)."""
        names = self.queue_names
        if name is None:
            return 0
        if name not in names:
            names.append(name)
            self.queue_usage.append(0)
            self.queue_weights.append(self._weights.get(name, 1.0))
        return names.index(name)

    def add(self, job: JobRequest, at_s: float, part: int) -> int:
        """Append a submitted job arriving at ``at_s`` in partition ``part``; its index."""
        ids = self.ids()
        if job.job_id in ids:
            raise SpecError("job_id", f"{job.job_id!r} is already a job of this run")
        qid = self.queue_of(job.queue)
        j = len(self.submit_times)
        for name, default in _JOB_DEFAULTS:
            getattr(self, name).append(default)
        self.submit_times.append(at_s)
        self.work.append(job.work_s)
        self.remaining.append(job.work_s)
        self.gpus.append(job.gpus)
        self.part.append(part)
        self.prio.append(job.priority)
        self.qid.append(qid)
        self.extra_ids.append(job.job_id)
        if self.cluster.mixed is not None:
            self.cluster.mixed.req.append_default()
        ids[job.job_id] = j
        return j

    def job_table(self) -> JobSet:
        """The job table with the submitted jobs appended (partition and GPUs as run: a job
        dispatched to another tier shows that tier's partition and slots)."""
        n = self.n_trace
        jobs = self.jobs
        if self.dispatched:
            jobs = replace(
                jobs,
                partition=np.asarray(self.part[:n], dtype=np.int64),
                gpus=np.asarray(self.gpus[:n], dtype=np.int64),
            )
        if not self.extra_ids:
            return jobs
        return jobs.extended(
            self.extra_ids,
            self.submit_times[n:],
            self.work[n:],
            self.gpus[n:],
            self.part[n:],
            self.qid[n:],
            self.prio[n:],
            tuple(self.queue_names),
        )
