"""Jobs run on Ray: each job is a gang of Ray actors reserved together in a placement group.

A job's ranks start only when every bundle of its placement group is reserved (gang). Waiting
jobs are taken in the order of the site's queue policy: the key of the twin's own registry
(:data:`megapod.sim.twin.queueing.QUEUE_POLICIES`), so ``fifo``, ``sjf``, ``las``,
``fair-share``… order the Ray queue as they order the twin's; the head waits until its whole
gang fits (no backfill past it), and a reservation once asked for is kept until the job starts
(a head that arrives later waits behind it rather than tearing it down). Each rank runs the
job's command in its own process group, and its output lines are pulled into the database by
the server's loop. Cancel stops the processes, kills the actors and frees the placement group.

Checkpoint/restart: every rank gets ``MEGAPOD_CHECKPOINT_DIR`` (a folder of the job's own that
survives restarts) and ``MEGAPOD_RESTART_COUNT``. A preempted job's ranks get SIGTERM and a
grace period to write a checkpoint there, then the job waits again; a job that loses a rank
(its node or worker died) is requeued the same way, up to ``max_restarts`` times, and fails
after that. A job that reads its checkpoint on start resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from megapod.errors import SpecError
from megapod.serve.backends.base import JobSpec, JobStatus

if TYPE_CHECKING:
    from megapod.spec.scenario import Policies

#: ``package.module:function``.
ENTRYPOINT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")
#: How often the cluster's size is read again [s].
CAPACITY_EVERY_S = 5.0
#: Seconds a poll waits for the ranks to answer.
POLL_TIMEOUT_S = 5.0
#: Seconds a preempted rank has between SIGTERM and SIGKILL to write its checkpoint.
PREEMPT_GRACE_S = 10.0

_CALL = (
    "import importlib, json, sys\n"
    "m, f = sys.argv[1].split(':')\n"
    "r = getattr(importlib.import_module(m), f)(*json.loads(sys.argv[2]))\n"
    "sys.exit(r if isinstance(r, int) and not isinstance(r, bool) else 0)\n"
)


def argv_of(job: JobSpec) -> list[str]:
    """The argument vector a rank runs: the command, or the interpreter calling the entry point."""
    if (job.command is None) == (job.entrypoint is None):
        raise SpecError("command", "give exactly one of command (a list of strings) or entrypoint")
    if job.command is not None:
        if not job.command or not all(isinstance(a, str) for a in job.command):
            raise SpecError("command", "must be a non-empty list of strings")
        return list(job.command)
    assert job.entrypoint is not None
    if not ENTRYPOINT.match(job.entrypoint):
        raise SpecError("entrypoint", f"{job.entrypoint!r} must look like package.module:function")
    return [sys.executable, "-c", _CALL, job.entrypoint, json.dumps(job.args)]


def _resource(name: str) -> float:
    """How much of a resource the Ray cluster has in all."""
    import ray

    resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
    return float(resources.get(name, 0.0))


@dataclass
class _RayJob:
    spec: JobSpec
    argv: list[str]
    state: str = "queued"
    pg: Any = None
    ready: Any = None
    actors: list[Any] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    codes: list[int | None] = field(default_factory=list)
    exit_code: int | None = None
    message: str = ""
    start_s: float | None = None
    end_s: float | None = None
    new_lines: list[str] = field(default_factory=list)
    submit_s: float = 0.0
    restarts: int = 0
    attained_gpu_s: float = 0.0
    """GPU-seconds (bundle-seconds) run before the present start."""


class _QueueView:
    """The Ray queue as the twin's queue policies read a job (:class:`~megapod.sim.twin.policies.JobView`);
    ``j`` indexes ``jobs``. Run time is unknown on ``local``: ``work_s`` (the client's estimate,
    else infinite) stands for the work left."""

    def __init__(self, jobs: list[_RayJob], running: list[_RayJob], weights: dict[str, float]) -> None:
        self.jobs = jobs
        self.weights = weights
        self.held: dict[str | None, int] = {}
        for r in running:
            self.held[r.spec.queue] = self.held.get(r.spec.queue, 0) + r.spec.gpus

    def priority(self, j: int) -> int:
        return self.jobs[j].spec.priority

    def submit_s(self, j: int) -> float:
        return self.jobs[j].submit_s

    def work_s(self, j: int) -> float:
        w = self.jobs[j].spec.work_s
        return math.inf if w is None else w

    def remaining_s(self, j: int) -> float:
        job = self.jobs[j]
        return max(self.work_s(j) - job.attained_gpu_s / max(job.spec.gpus, 1), 0.0)

    def attained_gpu_s(self, j: int) -> float:
        return self.jobs[j].attained_gpu_s

    def queue_usage_gpus(self, j: int) -> int:
        return self.held.get(self.jobs[j].spec.queue, 0)

    def queue_weight(self, j: int) -> float:
        return self.weights.get(self.jobs[j].spec.queue or "", 1.0)


class RayExecutor:
    """Runs jobs as gangs of Ray actors on a local Ray (started here) or a cluster."""

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int = 2,
        policies: Policies | None = None,
        checkpoint_root: Path | None = None,
        max_restarts: int = 3,
    ) -> None:
        """``policies``: the site's scenario policies (their queue policy and weights order the
        Ray queue); ``checkpoint_root``: the folder that holds each job's checkpoint folder
        (``./megapod-checkpoints`` when ``None``)."""
        from megapod.sim.twin.queueing import QUEUE_POLICIES
        from megapod.spec.scenario import Policies

        self.policies = policies or Policies()
        self._order = QUEUE_POLICIES.lookup(self.policies.queue, "policies.queue").order
        self.address = address
        self.num_cpus = num_cpus
        self.checkpoint_root = checkpoint_root or Path("megapod-checkpoints")
        self.max_restarts = max_restarts
        self._owns_ray = False
        self._jobs: dict[str, _RayJob] = {}
        self._queue: list[str] = []
        self._t0 = time.monotonic()
        self._remote: Any = None
        self.bundle: dict[str, float] = {"CPU": 1.0}
        self._capacity = 0
        self._capacity_at = -math.inf

    def start(self) -> None:
        """Join the Ray cluster, or start a local one bounded to ``num_cpus`` CPUs."""
        import ray

        from megapod.serve.runner import Runner

        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if self.address is None:  # a new local Ray of our own, never one found running here
                kwargs["address"] = "local"
                kwargs["num_cpus"] = self.num_cpus
            else:
                kwargs["address"] = self.address
            ray.init(**kwargs)
            self._owns_ray = True
        if _resource("GPU") >= 1:
            self.bundle = {"GPU": 1.0}
        self._remote = ray.remote(Runner)

    def stop(self) -> None:
        """Stop every job's processes; shut Ray down when this executor started it."""
        import ray

        for job_id, job in list(self._jobs.items()):
            if job.state in ("queued", "running"):
                self.cancel(job_id)
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
            self._owns_ray = False

    def job_ids(self) -> list[str]:
        """Every job submitted, oldest first."""
        return list(self._jobs)

    def capacity(self) -> int:
        """Bundles the cluster can hold at once (CPUs, or GPUs when it has them); 0 before
        :meth:`start`. Read from the cluster at most every few seconds."""
        if self._remote is None:
            return 0
        now = time.monotonic()
        if now - self._capacity_at > CAPACITY_EVERY_S:
            key = next(iter(self.bundle))
            self._capacity = int(_resource(key))
            self._capacity_at = now
        return self._capacity

    def clock_s(self) -> float:
        """Seconds since the executor was built."""
        return time.monotonic() - self._t0

    def submit(self, spec: JobSpec) -> None:
        """Queue a job; it starts when its whole gang fits."""
        argv = argv_of(spec)
        cap = self.capacity()
        if spec.gpus > cap:
            unit = next(iter(self.bundle))
            raise SpecError(
                "gpus", f"a gang of {spec.gpus} is more than the {cap} {unit}s of the Ray cluster"
            )
        if spec.job_id in self._jobs:
            raise SpecError("job_id", f"{spec.job_id!r} was already submitted")
        self._jobs[spec.job_id] = _RayJob(spec, argv, submit_s=self.clock_s())
        self._queue.append(spec.job_id)

    def _head(self) -> _RayJob | None:
        """The waiting job the queue policy puts first (its key, as on the twin)."""
        if not self._queue:
            return None
        waiting = [self._jobs[j] for j in self._queue]
        running = [j for j in self._jobs.values() if j.state == "running"]
        view = _QueueView(waiting, running, self.policies.queue_weights)
        step = self.policies.las_threshold_gpu_s
        best = min(range(len(waiting)), key=lambda j: self._order(view, j, step))
        return waiting[best]

    def poll(self) -> None:
        """Start the queue's head when its gang is reserved; collect output; notice exits."""
        self._start_head()
        for job in self._jobs.values():
            if job.state == "running":
                self._collect(job)

    def _free(self) -> int:
        """Bundles of the cluster that none of this executor's running jobs holds."""
        return self.capacity() - sum(j.spec.gpus for j in self._jobs.values() if j.state == "running")

    def _start_head(self) -> None:
        """Start the reserved job when its placement group is ready, else reserve for the queue
        policy's head when its gang fits what is free. A reservation, once made, is kept until
        it starts or is cancelled: never removed half-made when a new head arrives."""
        import ray
        from ray.util.placement_group import placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        while True:
            job = next((self._jobs[j] for j in self._queue if self._jobs[j].pg is not None), None)
            if job is None:  # nothing reserving: the policy's head reserves when it fits
                job = self._head()
                if job is None or job.spec.gpus > self._free():
                    return
                job.pg = placement_group([dict(self.bundle) for _ in range(job.spec.gpus)], strategy="PACK")
                job.ready = job.pg.ready()
            done, _ = ray.wait([job.ready], timeout=0)
            if not done:
                return
            self._queue.remove(job.spec.job_id)
            world = job.spec.gpus
            use_gpu = "GPU" in self.bundle
            ckpt = self.checkpoint_root / job.spec.job_id
            ckpt.mkdir(parents=True, exist_ok=True)
            for rank in range(world):
                actor = self._remote.options(
                    num_cpus=0 if use_gpu else 1,
                    num_gpus=1 if use_gpu else 0,
                    scheduling_strategy=PlacementGroupSchedulingStrategy(
                        job.pg, placement_group_bundle_index=rank
                    ),
                ).remote()
                env = {
                    "MEGAPOD_JOB_ID": job.spec.job_id,
                    "MEGAPOD_RANK": str(rank),
                    "MEGAPOD_WORLD_SIZE": str(world),
                    "MEGAPOD_CHECKPOINT_DIR": str(ckpt.resolve()),
                    "MEGAPOD_RESTART_COUNT": str(job.restarts),
                    "PYTHONUNBUFFERED": "1",
                }
                job.actors.append(actor)
                job.offsets.append(0)
                job.codes.append(None)
                actor.start.remote(job.argv, env)
            job.state = "running"
            job.start_s = self.clock_s()

    def _collect(self, job: _RayJob) -> None:
        import ray
        from ray.exceptions import GetTimeoutError, RayError

        refs = [a.read.remote(off) for a, off in zip(job.actors, job.offsets, strict=True)]
        try:
            answers = ray.get(refs, timeout=POLL_TIMEOUT_S)
        except GetTimeoutError:
            return
        except RayError as exc:  # an actor died: its node or worker was lost
            lost = f"a rank was lost ({type(exc).__name__})"
            if job.restarts < self.max_restarts:
                self._requeue(
                    job, f"{lost}; restarted from its checkpoint ({job.restarts + 1} of {self.max_restarts})"
                )
            else:
                self._end(job, "failed", None, f"{lost} after {job.restarts} restarts")
            return
        world = len(job.actors)
        for rank, (lines, code) in enumerate(answers):
            job.offsets[rank] += len(lines)
            job.codes[rank] = code
            job.new_lines.extend(f"[{rank}] {ln}" if world > 1 else ln for ln in lines)
        failed = [c for c in job.codes if c not in (None, 0)]
        if failed:
            self._end(job, "failed", failed[0], f"a rank exited with code {failed[0]}")
        elif all(c == 0 for c in job.codes):
            self._end(job, "done", 0, "")

    def _release(self, job: _RayJob, grace_s: float = 2.0) -> None:
        """Stop the ranks still running (SIGTERM, SIGKILL after ``grace_s``), kill the actors,
        free the placement group."""
        import ray
        from ray.util.placement_group import remove_placement_group

        if any(c is None for c in job.codes):
            stops = [a.stop.remote(grace_s) for a, c in zip(job.actors, job.codes, strict=True) if c is None]
            with contextlib.suppress(ray.exceptions.RayError):
                ray.get(stops, timeout=grace_s + 8.0)
            self._drain(job)  # what the ranks printed while they stopped (a checkpoint, say)
        for a in job.actors:
            with contextlib.suppress(ray.exceptions.RayError):
                ray.kill(a, no_restart=True)
        if job.pg is not None:
            with contextlib.suppress(Exception):
                remove_placement_group(job.pg)
        if job.start_s is not None:
            job.attained_gpu_s += (self.clock_s() - job.start_s) * job.spec.gpus
        job.actors, job.offsets, job.codes = [], [], []
        job.pg = job.ready = None

    def _drain(self, job: _RayJob) -> None:
        """Pull the ranks' last lines; ranks that cannot answer any more are skipped."""
        import ray

        world = len(job.actors)
        for rank, (actor, off) in enumerate(zip(job.actors, job.offsets, strict=True)):
            try:
                lines, _ = ray.get(actor.read.remote(off), timeout=POLL_TIMEOUT_S)
            except ray.exceptions.RayError:
                continue
            job.new_lines.extend(f"[{rank}] {ln}" if world > 1 else ln for ln in lines)

    def _end(self, job: _RayJob, state: str, code: int | None, message: str) -> None:
        self._release(job)
        job.state, job.exit_code, job.message = state, code, message
        job.end_s = self.clock_s()

    def _requeue(self, job: _RayJob, message: str, grace_s: float = 2.0) -> None:
        """Stop a running job and let it wait again, to restart from its checkpoint."""
        self._release(job, grace_s)
        job.restarts += 1
        job.state, job.message, job.start_s = "queued", message, None
        self._queue.append(job.spec.job_id)

    def preempt(self, job_id: str, grace_s: float = PREEMPT_GRACE_S) -> bool:
        """Stop a running job (SIGTERM, ``grace_s`` to checkpoint, then SIGKILL) and queue it
        again; False when it is not running."""
        import ray

        job = self._jobs.get(job_id)
        if job is None:
            raise SpecError("job_id", f"no job {job_id!r} on this site")
        if job.state != "running":
            return False
        with contextlib.suppress(ray.exceptions.RayError):  # what it printed before it stops
            self._collect(job)
        if job.state != "running":  # it ended meanwhile
            return False
        self._requeue(job, f"preempted; restarts from its checkpoint (restart {job.restarts + 1})", grace_s)
        return True

    def cancel(self, job_id: str) -> bool:
        """Stop a job (queued or running); False when it had already ended."""
        import ray
        from ray.util.placement_group import remove_placement_group

        job = self._jobs.get(job_id)
        if job is None:
            raise SpecError("job_id", f"no job {job_id!r} on this site")
        if job.state not in ("queued", "running"):
            return False
        if job.state == "queued":
            self._queue.remove(job_id)
            if job.pg is not None:
                remove_placement_group(job.pg)
                job.pg = job.ready = None
            job.state, job.end_s, job.message = "cancelled", self.clock_s(), "cancelled while queued"
            return True
        with contextlib.suppress(ray.exceptions.RayError):  # what it printed before it stops
            self._collect(job)
        if job.state == "running":
            self._end(job, "cancelled", None, "cancelled")
        return True

    def status(self, job_id: str) -> JobStatus | None:
        """The job's state, exit code and the bundles it holds."""
        job = self._jobs.get(job_id)
        if job is None:
            return None
        unit = next(iter(self.bundle)).lower()
        res = (
            [(f"ray:{job_id}:{unit}{r}", 1) for r in range(len(job.actors))] if job.state == "running" else []
        )
        return JobStatus(
            job.state,  # type: ignore[arg-type]
            sim_start_s=job.start_s,
            sim_end_s=job.end_s,
            exit_code=job.exit_code,
            message=job.message,
            resources=res,
            restarts=job.restarts,
        )

    def drain_logs(self) -> dict[str, list[str]]:
        """New lines per job since the last call."""
        out = {}
        for job_id, job in self._jobs.items():
            if job.new_lines:
                out[job_id], job.new_lines = job.new_lines, []
        return out
