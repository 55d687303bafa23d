"""Turn a scenario's workload into one columnar job set (numpy arrays, one row per job)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from megapod.sim.twin.pools import (
    add_request_columns,
    drop_reasons,
    extended_requests,
    not_replayed,
    pools_by_fit,
    request_arrays,
)
from megapod.spec.scenario import Scenario
from megapod.spec.workload import InferenceService, PretrainingJob
from megapod.traces import JobTable, fit_trace, generate_jobs, read_trace
from megapod.traces.formats import read_replay
from megapod.units import DAY_S, HOUR_S

if TYPE_CHECKING:
    from megapod.sim.twin.cluster import Cluster

KIND_BATCH, KIND_PRETRAIN, KIND_INFERENCE, KIND_BATCH_INFERENCE = 0, 1, 2, 3
#: Kinds a vehicle fleet may run (see :mod:`megapod.sim.twin.dispatch`).
FLEET_KINDS = (KIND_BATCH_INFERENCE,)
#: Priority of inference replicas: they run ahead of training under every queueing policy.
INFERENCE_PRIORITY = 100


@dataclass(frozen=True)
class JobSet:
    """Every job of a run, sorted by submit time; ``partition`` indexes the layout's partitions."""

    job_id: npt.NDArray[np.object_]
    submit_s: npt.NDArray[np.float64]
    work_s: npt.NDArray[np.float64]
    gpus: npt.NDArray[np.int64]
    partition: npt.NDArray[np.int64]
    queue: npt.NDArray[np.int64]
    priority: npt.NDArray[np.int64]
    kind: npt.NDArray[np.int64]
    dropped: int
    #: queue name of each ``queue`` id
    queue_names: tuple[str, ...] = ()
    #: GPU share [1/1000], CPU [milli-cores], memory [MiB] and GPU types (``|``-separated,
    #: ``""``: any) each job asks for; None when no job asks for any (see
    #: :mod:`megapod.sim.twin.mixed`).
    gpu_milli: npt.NDArray[np.int64] | None = None
    cpu_milli: npt.NDArray[np.float64] | None = None
    memory_mib: npt.NDArray[np.float64] | None = None
    gpu_type: npt.NDArray[np.object_] | None = None
    #: Trace rows and jobs not replayed, by reason (:data:`megapod.traces.SKIP_REASONS`).
    not_replayed: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.submit_s)

    def extended(
        self,
        job_id: list[str],
        submit_s: list[float],
        work_s: list[float],
        gpus: list[int],
        partition: list[int],
        queue: list[int],
        priority: list[int],
        queue_names: tuple[str, ...],
    ) -> JobSet:
        """This set followed by batch jobs submitted while the twin ran (in submit order)."""
        return JobSet(
            job_id=np.concatenate([self.job_id, np.asarray(job_id, dtype=object)]),
            submit_s=np.concatenate([self.submit_s, np.asarray(submit_s, dtype=np.float64)]),
            work_s=np.concatenate([self.work_s, np.asarray(work_s, dtype=np.float64)]),
            gpus=np.concatenate([self.gpus, np.asarray(gpus, dtype=np.int64)]),
            partition=np.concatenate([self.partition, np.asarray(partition, dtype=np.int64)]),
            queue=np.concatenate([self.queue, np.asarray(queue, dtype=np.int64)]),
            priority=np.concatenate([self.priority, np.asarray(priority, dtype=np.int64)]),
            kind=np.concatenate([self.kind, np.full(len(job_id), KIND_BATCH, dtype=np.int64)]),
            dropped=self.dropped,
            queue_names=queue_names,
            **extended_requests(self, len(job_id)),
            not_replayed=self.not_replayed,
        )


def build_jobs(
    scenario: Scenario,
    partition_names: list[str],
    partition_gpus: list[int],
    rng: np.random.Generator,
    cluster: Cluster | None = None,
) -> JobSet:
    """All jobs of the scenario's workload within its horizon.

    Trace jobs keep their partition label when the scenario has a partition layout; other jobs
    go to a partition drawn in proportion to its GPUs. Jobs larger than their partition, or of
    a partition the layout does not know (with ``unknown: drop``), are dropped and counted.

    Jobs that ask for CPU, memory, a GPU share or a GPU type (and every job of a mixed
    partition of ``cluster``) are checked against the nodes: a job that no node or pool could
    hold even empty is dropped, counted by reason in :attr:`JobSet.not_replayed`; without a
    partition layout such a job goes to the first partition that can hold it, never at random.
    """
    wl = scenario.workload
    parts: list[JobTable] = []
    kinds: list[int | npt.NDArray[np.int64]] = []
    prios: list[int] = []
    fixed: list[int] = []  # partition forced for pretraining/inference (-1 = by label/draw)
    if wl.trace is not None:
        t = wl.trace
        parts.append(read_replay(scenario.resolve(t.path), t))
        kinds.append(KIND_BATCH)
        prios.append(0)
        fixed.append(-1)
    if wl.synthetic is not None:
        fit = None
        if wl.synthetic.fit_to is not None:
            fit = fit_trace(read_trace(scenario.resolve(wl.synthetic.fit_to)))
        syn = generate_jobs(wl.synthetic, scenario.horizon_s, rng, fit)
        parts.append(syn)
        share = wl.synthetic.fleet_share
        if share > 0:  # drawn only when asked, so that other runs keep their random stream
            kinds.append(
                np.where(rng.random(len(syn)) < share, KIND_BATCH_INFERENCE, KIND_BATCH).astype(np.int64)
            )
        else:
            kinds.append(KIND_BATCH)
        prios.append(0)
        fixed.append(-1)
    biggest = int(np.argmax(partition_gpus))
    for job in wl.pretraining:
        parts.append(_single(job.name, job.submit_s, _pretrain_work_s(scenario, job), job.gpus))
        kinds.append(KIND_PRETRAIN)
        prios.append(job.priority)
        fixed.append(biggest)
    for svc in wl.inference:
        parts.append(_inference_replicas(svc, scenario.horizon_s))
        kinds.append(KIND_INFERENCE)
        prios.append(INFERENCE_PRIORITY)
        fixed.append(biggest)
    index = {name: i for i, name in enumerate(partition_names)}
    weights = np.asarray(partition_gpus, dtype=np.float64)
    cols: dict[str, list[npt.NDArray[np.generic]]] = {
        k: [] for k in ("id", "sub", "work", "gpus", "part", "queue", "prio", "kind")
    }
    queue_ids: dict[str, int] = {}
    for table, kind, prio, forced in zip(parts, kinds, prios, fixed, strict=True):
        n = len(table)
        if forced >= 0:
            part = np.full(n, forced, dtype=np.int64)
        elif scenario.partitions is not None:
            unknown = -1 if scenario.partitions.unknown == "drop" else biggest
            codes, labels = _factorized(table.partition)
            part = np.array([index.get(str(v), unknown) for v in labels], dtype=np.int64)[codes]
        elif table.cpu_milli is not None and cluster is not None:
            part = pools_by_fit(table, cluster, len(partition_names))
        else:
            part = rng.choice(len(weights), size=n, p=weights / weights.sum()).astype(np.int64)
        codes, labels = _factorized(table.queue)  # ids in order of first appearance
        ids = [queue_ids.setdefault(str(q), len(queue_ids)) for q in labels]
        queue = np.array(ids, dtype=np.int64)[codes]
        cols["id"].append(table.job_id)
        cols["sub"].append(table.submit_s)
        cols["work"].append(table.duration_s)
        cols["gpus"].append(table.gpus)
        cols["part"].append(part)
        cols["queue"].append(queue)
        cols["prio"].append(np.full(n, prio, dtype=np.int64))
        cols["kind"].append(np.broadcast_to(np.asarray(kind, dtype=np.int64), (n,)).copy())
        add_request_columns(cols, table)
    cat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in cols.items()}
    sizes = np.asarray(partition_gpus, dtype=np.int64)
    part = cat["part"].astype(np.int64)
    ok = (part >= 0) & (cat["sub"] < scenario.horizon_s)
    fits = cat["gpus"] <= np.where(part >= 0, sizes[np.maximum(part, 0)], 0)
    asked = any(t.cpu_milli is not None for t in parts)
    reasons = drop_reasons(cat, part, cat["sub"] < scenario.horizon_s, fits, cluster, asked)
    ok &= fits
    order = np.argsort(cat["sub"][ok], kind="stable")
    return JobSet(
        job_id=cat["id"][ok][order].astype(object),
        submit_s=cat["sub"][ok][order].astype(np.float64),
        work_s=cat["work"][ok][order].astype(np.float64),
        gpus=cat["gpus"][ok][order].astype(np.int64),
        partition=part[ok][order],
        queue=cat["queue"][ok][order].astype(np.int64),
        priority=cat["prio"][ok][order].astype(np.int64),
        kind=cat["kind"][ok][order].astype(np.int64),
        dropped=int((~ok & (cat["sub"] < scenario.horizon_s)).sum()),
        queue_names=tuple(queue_ids),
        **request_arrays(cat, ok, order, asked),
        not_replayed=not_replayed(parts, reasons, cat["sub"], scenario.horizon_s),
    )


def _factorized(labels: npt.NDArray[np.object_]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]:
    """Each label's index among the distinct labels, and those labels in order of first
    appearance (one hashing pass: a Python loop over 80,000 trace rows took 10-20 ms)."""
    import pandas as pd

    if len(labels) == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=object)
    codes, uniques = pd.factorize(labels, use_na_sentinel=False)  # a missing label is a label
    return codes, np.asarray(uniques, dtype=object)


def _single(name: str, submit_s: float, work_s: float, gpus: int) -> JobTable:
    obj = np.array([name], dtype=object)
    return JobTable(
        obj,
        np.array([submit_s]),
        np.array([work_s]),
        np.array([gpus], dtype=np.int64),
        np.array([""], dtype=object),
        np.array([name], dtype=object),
    )


def _pretrain_work_s(scenario: Scenario, job: PretrainingJob) -> float:
    """Failure-free run time: given, or iterations × the performance model's step time."""
    if job.work_s is not None:
        return job.work_s
    from megapod.errors import InfeasibleError
    from megapod.physics.perf import Hardware, model_preset, search_layouts

    assert job.model is not None and job.iterations is not None
    pod = max(scenario.site.pods, key=lambda p: p.gpus * p.count)
    best = search_layouts(model_preset(job.model), Hardware.from_pod(pod), job.gpus, job.global_batch, top=1)
    if not best:
        raise InfeasibleError(f"pretraining {job.name!r}: no valid layout of {job.model} on {job.gpus} GPUs")
    return job.iterations * best[0].step_time_s


def inference_demand_gpus(svc: InferenceService, t_s: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Replica GPUs at times ``t_s``: a cosine between trough and peak, peaking at ``peak_hour``."""
    phase = 2.0 * math.pi * (t_s - svc.peak_hour * HOUR_S) / DAY_S
    level = svc.trough_fraction + (1.0 - svc.trough_fraction) * 0.5 * (1.0 + np.cos(phase))
    return np.maximum(np.rint(svc.peak_gpus * level), 1).astype(np.int64)


def _inference_replicas(svc: InferenceService, horizon_s: float) -> JobTable:
    """One fixed-length job per step holding that step's demand."""
    starts = np.arange(0.0, horizon_s, svc.step_s)
    n = len(starts)
    ids = np.array([f"{svc.name}-{i:06d}" for i in range(n)], dtype=object)
    return JobTable(
        ids,
        starts,
        np.full(n, svc.step_s),
        inference_demand_gpus(svc, starts),
        np.full(n, "", dtype=object),
        np.full(n, svc.name, dtype=object),
    )
