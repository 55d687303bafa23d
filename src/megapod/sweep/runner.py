"""Run a sweep: resolve every point, skip those already stored, run the rest on Ray.

Ray is the executor: by default a local Ray started for the run with one worker per core (and
shut down after it), or the cluster at ``ray_address`` (``ray start --head`` on one machine,
``ray start --address=HEAD:6379`` on the others). A Ray already initialized by the caller is
used as it is. Results come back to this process, which stores each as it arrives, so the
store lives on one disk whatever the cluster.

The engine never prints: progress goes to a callback, a :class:`SweepProgress` after every
point.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from megapod.errors import SpecError
from megapod.spec.sweep import OUTPUTS, Sweep, load_sweep
from megapod.sweep.design import ResolvedPoint, expand, resolve
from megapod.sweep.store import PointStore
from megapod.sweep.worker import crash, run_points

if TYPE_CHECKING:
    import pandas as pd

#: Tasks kept queued on Ray per available CPU when the worker count is not fixed: enough
#: that a worker finishing a task finds the next one waiting.
QUEUED_PER_CPU = 2

#: A Ray task runs a batch of points lasting about this long [s]: a task's round trip (~8 ms
#: on a 2-core machine) is then a few percent of it, while progress, storing and the time
#: budget still move in steps well under a second. Points longer than half of it go alone.
TASK_S = 0.25
#: ... and a batch of the sweep's tail lasts at least this long [s]: every task costs the
#: driver about a millisecond of CPU, taken from the workers on a small machine.
MIN_TASK_S = 0.05

#: Finished points are written to the store at most this often [s] (and when the run ends):
#: a file costs the driver a millisecond or two of CPU, which on a small machine the workers lose.
STORE_EVERY_S = 0.5


@dataclass(frozen=True)
class SweepProgress:
    """Where a running sweep stands.

    Attributes:
        done: points finished, those of earlier runs included.
        total: points of the design (after ``max_points``).
        cached: points found in the store from an earlier run (skipped).
        failed: points that failed (refused by the library, or crashed).
        elapsed_s: time since the first point was sent [s].
        eta_s: estimated time to the last point [s]; ``None`` until one point has run.
    """

    done: int
    total: int
    cached: int
    failed: int
    elapsed_s: float
    eta_s: float | None


ProgressCallback = Callable[[SweepProgress], None]


def run(
    sweep: Sweep | str | Path,
    *,
    out: str | Path | None = None,
    ray_address: str | None = None,
    workers: int | None = None,
    max_points: int | None = None,
    time_budget_s: float | None = None,
    progress: ProgressCallback | None = None,
    backend: Literal["ray", "serial"] = "ray",
) -> pd.DataFrame:
    """Run a sweep and return its table: one row a point, in design order.

    Args:
        sweep: a sweep file's path, or a loaded :class:`~megapod.spec.sweep.Sweep`.
        out: folder of the result store (``out/points/``); finished points are stored as they
            arrive and skipped by a later run with the same folder. ``None``: nothing written.
        ray_address: a running Ray cluster (``"HOST:6379"``); default: a local Ray started
            for this run (unless Ray is already initialized in this process).
        workers: points run at once (default: every CPU of the Ray cluster).
        max_points: run only the first ``max_points`` points of the design.
        time_budget_s: stop sending points this long after the first is sent (Ray's start
            is not counted); points still running are cancelled (not stored) and show as
            ``pending``.
        progress: called after every finished point.
        backend: ``"ray"``, or ``"serial"`` to run the points one by one in this process.

    Returns:
        A DataFrame with columns ``point``, ``key``, one per axis (and ``seed``), ``status``
        (``ok``, ``failed``, ``error`` or ``pending``), the key outputs of the sweep's kind
        and ``error``. ``attrs`` holds the sweep's name, kind, axes, outputs, objectives and
        run statistics (``stats``: points run now, skipped, Ray tasks sent, own run time, wall time).
    """
    if workers is not None and workers < 1:
        raise SpecError("workers", f"{workers}: must be ≥ 1")
    if max_points is not None and max_points < 1:
        raise SpecError("max_points", f"{max_points}: must be ≥ 1")
    if time_budget_s is not None and not time_budget_s > 0:
        raise SpecError("time_budget_s", f"{time_budget_s}: must be > 0")
    sw = load_sweep(sweep) if isinstance(sweep, str | Path) else sweep
    start = time.monotonic()
    points = [resolve(sw, p) for p in expand(sw, max_points)]
    store = PointStore(Path(out) / "points") if out is not None else None
    outcomes: dict[str, dict[str, Any]] = store.read({p.key for p in points}) if store else {}
    todo: list[ResolvedPoint] = []
    seen = set(outcomes)
    for p in points:  # each key once, in design order
        if p.key not in seen:
            seen.add(p.key)
            todo.append(p)
    tracker = _Tracker(total=len(points), cached=len(outcomes), callback=progress)
    tracker.failed = sum(o["status"] != "ok" for o in outcomes.values())
    counts: dict[str, int] = {}
    for p in points:  # a design may hold the same inputs twice: one run, every row filled
        counts[p.key] = counts.get(p.key, 0) + 1

    unstored: list[tuple[str, dict[str, Any], str]] = []
    stored_at = [time.monotonic()]

    def store_now() -> None:
        if store is not None and unstored:
            store.write(unstored)
        unstored.clear()
        stored_at[0] = time.monotonic()

    def finished(batch: list[tuple[ResolvedPoint, dict[str, Any]]]) -> None:
        # errors are not stored: they are retried next time
        unstored.extend((p.key, o, p.inputs_json) for p, o in batch if o["status"] != "error")
        for point, outcome in batch:
            outcomes[point.key] = outcome
            tracker.finished(outcome, counts[point.key])
        if time.monotonic() - stored_at[0] >= STORE_EVERY_S:
            store_now()

    tasks = 0
    try:
        if todo and backend == "serial":
            tracker.start()
            _run_serial(sw.kind, todo, finished, _deadline(time_budget_s))
        elif todo:
            tasks = _run_ray(sw.kind, todo, finished, time_budget_s, ray_address, workers, tracker.start)
        else:
            tracker.start()
    finally:  # what finished is stored, however the run ends (Ctrl-C included)
        store_now()
    frame = table(sw, points, outcomes)
    todo_keys = {p.key for p in todo}
    ran = [o for k, o in outcomes.items() if k in todo_keys]
    frame.attrs["stats"] = {
        "points": len(points),
        "ran": len(ran),
        "tasks": tasks if backend == "ray" else len(ran),
        "cached": tracker.cached,
        "pending": int((frame["status"] == "pending").sum()),
        "run_s": float(sum(o["elapsed_s"] for o in ran)),
        "wall_s": time.monotonic() - start,
        "execute_s": time.monotonic() - tracker.started,
    }
    return frame


class _Tracker:
    """Counts finished points and reports :class:`SweepProgress`."""

    def __init__(self, total: int, cached: int, callback: ProgressCallback | None) -> None:
        self.total = total
        self.cached = cached
        self.done = cached
        self.failed = 0
        self.ran = 0
        self.callback = callback
        self.started = time.monotonic()

    def start(self) -> None:
        self.started = time.monotonic()
        self._report()

    def finished(self, outcome: dict[str, Any], rows: int) -> None:
        self.done += rows
        self.ran += rows
        self.failed += rows * (outcome["status"] != "ok")
        self._report()

    def _report(self) -> None:
        if self.callback is None:
            return
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.ran * (self.total - self.done) if self.ran else None
        self.callback(SweepProgress(self.done, self.total, self.cached, self.failed, elapsed, eta))


#: Called with the points of a batch as they finish, each with its outcome.
Finished = Callable[[list[tuple[ResolvedPoint, dict[str, Any]]]], None]


def _deadline(budget_s: float | None) -> float | None:
    return None if budget_s is None else time.monotonic() + budget_s


def _run_serial(kind: str, todo: Iterable[ResolvedPoint], finished: Finished, deadline: float | None) -> None:
    for point in todo:
        if deadline is not None and time.monotonic() > deadline:
            return
        finished([(point, run_points(kind, [point.inputs])[0])])


def batch_size(mean_point_s: float | None, left: int, tasks: int) -> int:
    """Points to send in the next Ray task: as many as last about :data:`TASK_S` (one until
    a point's run time is known), but no more than leave each of ``tasks`` tasks a share of
    the ``left`` points, so the last CPUs do not idle while one long batch ends the sweep;
    and no fewer than last :data:`MIN_TASK_S`, since every task costs the driver CPU that the
    workers share."""
    if mean_point_s is None:
        return 1
    mean = max(mean_point_s, 1e-6)
    share = max(left // max(1, tasks), int(MIN_TASK_S / mean))
    return max(1, min(int(TASK_S / mean), share))


def _run_ray(
    kind: str,
    todo: list[ResolvedPoint],
    finished: Finished,
    budget_s: float | None,
    address: str | None,
    workers: int | None,
    ready_to_go: Callable[[], None],
) -> int:
    """Run the points on Ray in batches; the number of Ray tasks sent."""
    import ray

    started = not ray.is_initialized()
    if started:
        start_ray(address, workers)
    in_flight: dict[Any, list[ResolvedPoint]] = {}
    deadline = _deadline(budget_s)  # the budget is for points: Ray's start is not counted
    stop_at = None if budget_s is None else time.time() + budget_s  # the workers' clock
    ready_to_go()
    ran = {"points": 0, "s": 0.0, "tasks": 0}
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(run_points)
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))  # type: ignore[no-untyped-call]
        # Ray runs at most one task per CPU: a queue of tasks keeps every CPU fed. Fewer
        # workers than CPUs can be held only by sending no more than that many at once.
        window = QUEUED_PER_CPU * cpus if workers is None or workers >= cpus else workers
        queue = list(reversed(todo))

        def fill() -> None:
            while queue and len(in_flight) < window and (deadline is None or time.monotonic() < deadline):
                mean = ran["s"] / ran["points"] if ran["points"] else None
                batch = [queue.pop() for _ in range(min(len(queue), batch_size(mean, len(queue), window)))]
                in_flight[task.remote(kind, [p.inputs for p in batch], stop_at)] = batch
                ran["tasks"] += 1

        fill()
        while in_flight:
            # past the budget, a batch still returns the points it finished (its worker
            # starts none after ``stop_at``): wait for it a batch's length more
            timeout = None if deadline is None else max(0.0, deadline + TASK_S - time.monotonic())
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=timeout)
            if not ready:  # the time budget is spent
                break
            ready, _ = ray.wait(list(in_flight), num_returns=len(in_flight), timeout=0)
            for ref in ready:
                batch = in_flight.pop(ref)
                try:
                    outcomes = ray.get(ref)
                except ray.exceptions.RayError as exc:  # a crash in the worker, or a lost node
                    outcomes = [crash(exc) for _ in batch]
                done = list(zip(batch, outcomes, strict=False))  # the points not run: pending
                ran["points"] += len(done)
                ran["s"] += sum(o["elapsed_s"] for _, o in done)
                finished(done)
            fill()
    finally:
        for ref in in_flight:  # budget spent or interrupted: what runs still is not stored
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()
    return int(ran["tasks"])


def start_ray(address: str | None = None, workers: int | None = None) -> None:
    """Connect to the Ray cluster at ``address``, or start a local one with ``workers`` CPUs
    (default: every core of this machine); quiet, without the dashboard.

    The local Ray's workers run at the priority of this process: Ray's default lowers theirs
    (niceness +15), which on a machine shared with other work leaves the sweep's workers with
    far less CPU than the same points run serially would get.
    """
    import ray

    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address:
        ray.init(address=address, **quiet)
    else:
        ray.init(
            address="local",
            num_cpus=workers or os.cpu_count() or 1,
            include_dashboard=False,
            _system_config={"worker_niceness": 0},
            **quiet,
        )


def table(sw: Sweep, points: list[ResolvedPoint], outcomes: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The sweep's table from its resolved points and the outcomes known so far."""
    import pandas as pd

    names = OUTPUTS[sw.kind]
    rows: list[dict[str, Any]] = []
    for p in points:
        o = outcomes.get(p.key)
        row: dict[str, Any] = {"point": p.index, "key": p.key, **p.columns}
        row["status"] = o["status"] if o else "pending"
        outputs = o["outputs"] if o else {}
        row.update({n: float(outputs.get(n, math.nan)) for n in names})
        row["error"] = o["error"] if o else ""
        rows.append(row)
    frame = pd.DataFrame(rows)
    labels = [a.label for a in sw.spec.axes] + (["seed"] if sw.spec.seeds is not None else [])
    for label in labels:  # one type a column: mixed text and numbers are shown as text
        values = frame[label].tolist()
        if any(isinstance(v, str) for v in values) and not all(isinstance(v, str) for v in values):
            frame[label] = [str(v) for v in values]
    frame.attrs.update(
        {
            "sweep": sw.spec.name,
            "kind": sw.kind,
            "axes": labels,
            "outputs": [n for n in sw.outputs if n in names],
            "objectives": sw.objectives,
        }
    )
    return frame
