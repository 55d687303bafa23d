"""Jobs run on Ray: each job is a gang of Ray actors reserved together in a placement group.

A job's ranks start only when every bundle of its placement group is reserved (gang), in the
order the jobs arrived; each rank runs the job's command in its own process group, and its
output lines are pulled into the database by the server's loop. Cancel stops the processes,
kills the actors and frees the placement group.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from megapod.errors import SpecError
from megapod.serve.backends.base import JobSpec, JobStatus

#: ``package.module:function``.
ENTRYPOINT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")
#: How often the cluster's size is read again [s].
CAPACITY_EVERY_S = 5.0
#: Seconds a poll waits for the ranks to answer.
POLL_TIMEOUT_S = 5.0

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


class RayExecutor:
    """Runs jobs as gangs of Ray actors on a local Ray (started here) or a cluster."""

    def __init__(self, address: str | None = None, num_cpus: int = 2) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self._owns_ray = False
        self._jobs: dict[str, _RayJob] = {}
        self._queue: deque[str] = deque()
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
        self._jobs[spec.job_id] = _RayJob(spec, argv)
        self._queue.append(spec.job_id)

    def poll(self) -> None:
        """Start the queue's head when its gang is reserved; collect output; notice exits."""
        self._start_head()
        for job in self._jobs.values():
            if job.state == "running":
                self._collect(job)

    def _start_head(self) -> None:
        import ray
        from ray.util.placement_group import placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        while self._queue:
            job = self._jobs[self._queue[0]]
            if job.pg is None:
                job.pg = placement_group([dict(self.bundle) for _ in range(job.spec.gpus)], strategy="PACK")
                job.ready = job.pg.ready()
            done, _ = ray.wait([job.ready], timeout=0)
            if not done:
                return
            self._queue.popleft()
            world = job.spec.gpus
            use_gpu = "GPU" in self.bundle
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
            self._end(job, "failed", None, f"a rank was lost: {type(exc).__name__}")
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

    def _end(self, job: _RayJob, state: str, code: int | None, message: str) -> None:
        import ray
        from ray.util.placement_group import remove_placement_group

        if any(c is None for c in job.codes):
            stops = [a.stop.remote() for a, c in zip(job.actors, job.codes, strict=True) if c is None]
            with contextlib.suppress(ray.exceptions.RayError):
                ray.get(stops, timeout=10.0)
        for a in job.actors:
            ray.kill(a, no_restart=True)
        if job.pg is not None:
            remove_placement_group(job.pg)
        job.actors = []
        job.state, job.exit_code, job.message = state, code, message
        job.end_s = self.clock_s()

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
        )

    def drain_logs(self) -> dict[str, list[str]]:
        """New lines per job since the last call."""
        out = {}
        for job_id, job in self._jobs.items():
            if job.new_lines:
                out[job_id], job.new_lines = job.new_lines, []
        return out
