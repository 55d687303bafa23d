"""Jobs that ask for more than GPUs (CPU, memory, a GPU share, a GPU type): their columns in the
job set, the pool each goes to, and the jobs that are not replayed, counted by reason.

A job that no node or pool could hold even with every node free would wait forever; it is
dropped before the run and counted (``larger_than_any_pool``, ``no_node_of_type``), as are the
trace rows its reader left out (:data:`megapod.traces.SKIP_REASONS`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from megapod.traces import JobTable

if TYPE_CHECKING:
    from megapod.sim.twin.cluster import Cluster
    from megapod.sim.twin.layout import Layout
    from megapod.spec.scenario import Scenario

Types = frozenset[str] | None
Ask = tuple[int, int, float, float, Types]
"""(GPUs, GPU share [1/1000], CPU [milli-cores], memory [MiB], GPU types) of one job."""


def describe_pod_nodes(cluster: Cluster, layout: Layout, scenario: Scenario) -> None:
    """Give the cluster the pods' node types, CPU and memory when placement needs them: a node
    table, a trace format whose jobs ask for more than GPUs, or a mixed partition already (a
    run of whole-GPU jobs on pools of one node size keeps the fast path untouched)."""
    trace = scenario.workload.trace
    limited = any(math.isfinite(v) for v in layout.node_cpu_milli) or any(
        math.isfinite(v) for v in layout.node_memory_mib
    )
    if limited or cluster.mixed is not None or (trace is not None and trace.format != "normalized"):
        cluster.describe_nodes(layout.node_type, layout.node_cpu_milli, layout.node_memory_mib)


def gpu_types(value: object) -> Types:
    """The GPU types a ``|``-separated label allows (None: any)."""
    text = "" if value is None else str(value)
    return frozenset(t for t in text.split("|") if t) or None


def add_request_columns(cols: dict[str, list[npt.NDArray[Any]]], table: JobTable) -> None:
    """Append ``table``'s request columns (zeros and ``""`` where it gives none) to ``cols``."""
    n = len(table)
    cols.setdefault("milli", []).append(
        table.gpu_milli if table.gpu_milli is not None else np.zeros(n, dtype=np.int64)
    )
    cols.setdefault("cpu", []).append(table.cpu_milli if table.cpu_milli is not None else np.zeros(n))
    cols.setdefault("mem", []).append(table.memory_mib if table.memory_mib is not None else np.zeros(n))
    cols.setdefault("type", []).append(
        table.gpu_type if table.gpu_type is not None else np.full(n, "", dtype=object)
    )


def _ask(cat: dict[str, npt.NDArray[Any]], i: int) -> Ask:
    return (
        int(cat["gpus"][i]),
        int(cat["milli"][i]),
        float(cat["cpu"][i]),
        float(cat["mem"][i]),
        gpu_types(cat["type"][i]),
    )


def pools_by_fit(table: JobTable, cluster: Cluster, partitions: int) -> npt.NDArray[np.int64]:
    """Each job's pool: the first of ``partitions`` that could hold it (0 when none can: the
    job is then dropped and counted by :func:`drop_reasons`)."""
    cat: dict[str, npt.NDArray[Any]] = {"gpus": table.gpus}
    cols: dict[str, list[npt.NDArray[Any]]] = {}
    add_request_columns(cols, table)
    cat.update({k: v[0] for k, v in cols.items()})
    out = np.zeros(len(table), dtype=np.int64)
    memo: dict[Ask, int] = {}
    for i in range(len(table)):
        ask = _ask(cat, i)
        if ask not in memo:
            memo[ask] = next((p for p in range(partitions) if cluster.never_fits(p, *ask) is None), 0)
        out[i] = memo[ask]
    return out


def drop_reasons(
    cat: dict[str, npt.NDArray[Any]],
    part: npt.NDArray[np.int64],
    in_horizon: npt.NDArray[np.bool_],
    fits: npt.NDArray[np.bool_],
    cluster: Cluster | None,
    asked: bool,
) -> Counter[str]:
    """Why jobs inside the horizon are dropped, by reason. ``fits`` (GPUs within the pool's)
    is narrowed in place for jobs checked against the nodes: those that ask for more than GPUs
    and every job of a mixed partition."""
    reasons: Counter[str] = Counter()
    unknown = int(((part < 0) & in_horizon).sum())
    if unknown:
        reasons["unknown_partition"] = unknown
    known = (part >= 0) & in_horizon
    checked = np.zeros(len(part), dtype=bool)
    if cluster is not None and cluster.mixed is not None:
        mixed = np.array([p.mixed for p in cluster.partitions], dtype=bool)
        checked = known & mixed[np.maximum(part, 0)]
        if asked:
            more = (
                (cat["milli"] > 0)
                | (cat["cpu"] > 0)
                | (cat["mem"] > 0)
                | (cat["type"] != "")
                | (cat["gpus"] == 0)
            )
            checked |= known & more
        memo: dict[tuple[int, Ask], str | None] = {}
        for i in np.flatnonzero(checked):
            key = (int(part[i]), _ask(cat, int(i)))
            if key not in memo:
                memo[key] = cluster.never_fits(key[0], *key[1])
            why = memo[key]
            fits[i] = why is None
            if why is not None:
                reasons[why] += 1
    big = int((known & ~checked & ~fits).sum())
    if big:
        reasons["larger_than_any_pool"] += big
    return reasons


def request_arrays(
    cat: dict[str, npt.NDArray[Any]], ok: npt.NDArray[np.bool_], order: npt.NDArray[np.intp], asked: bool
) -> dict[str, Any]:
    """The kept jobs' request columns for :class:`~megapod.sim.twin.jobs.JobSet` (none when no
    job asks for more than GPUs)."""
    if not asked:
        return {}
    return {
        "gpu_milli": cat["milli"][ok][order].astype(np.int64),
        "cpu_milli": cat["cpu"][ok][order].astype(np.float64),
        "memory_mib": cat["mem"][ok][order].astype(np.float64),
        "gpu_type": cat["type"][ok][order].astype(object),
    }


def extended_requests(jobs: Any, n: int) -> dict[str, Any]:
    """Request columns of ``jobs`` (a job set) followed by ``n`` submitted jobs of whole GPUs."""
    if jobs.gpu_milli is None:
        return {}
    return {
        "gpu_milli": np.concatenate([jobs.gpu_milli, np.zeros(n, dtype=np.int64)]),
        "cpu_milli": np.concatenate([jobs.cpu_milli, np.zeros(n)]),
        "memory_mib": np.concatenate([jobs.memory_mib, np.zeros(n)]),
        "gpu_type": np.concatenate([jobs.gpu_type, np.full(n, "", dtype=object)]),
    }


def not_replayed(
    tables: Sequence[JobTable], dropped: Counter[str], submit_s: npt.NDArray[np.float64], horizon_s: float
) -> dict[str, int]:
    """Rows and jobs not replayed, by reason: the readers' counts, the jobs dropped for their
    pool, and those submitted at or after the horizon (``after_horizon``)."""
    total: Counter[str] = Counter()
    for t in tables:
        total.update(t.skipped)
    total.update(dropped)
    late = int((submit_s >= horizon_s).sum())
    if late:
        total["after_horizon"] = late
    return dict(sorted(total.items()))
