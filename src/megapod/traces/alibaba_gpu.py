"""Reader of Alibaba's GPU-sharing cluster trace of 2023 (``clusterdata/cluster-trace-gpu-v2023``;
Weng et al., "Beware of Fragmentation: Scheduling GPU-Sharing Workloads with Fragmentation
Gradient Descent", USENIX ATC '23).

Two tables:

* nodes (``openb_node_list_*.csv``): ``sn, cpu_milli, memory_mib, gpu, model`` — one row a
  node of 0 to 8 GPUs of one type (``model`` empty on CPU-only nodes);
* pods (``openb_pod_list_*.csv``): ``name, cpu_milli, memory_mib, num_gpu, gpu_milli,
  gpu_spec, qos, pod_phase, creation_time, deletion_time, scheduled_time`` — one row a task.
  ``gpu_milli`` is the share of one GPU [1/1000] a GPU-sharing pod (``num_gpu`` 1) asks for;
  ``gpu_spec`` lists the GPU types it may run on, ``|``-separated (empty: any).

A pod is submitted at ``creation_time`` and holds its resources for ``deletion_time -
scheduled_time`` [s] (at least 1 s); a pod never scheduled, or without a deletion time, is not
replayed and is counted by reason. ``qos`` becomes the job's queue label.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from megapod.errors import SpecError
from megapod.spec.loader import check_regular_file
from megapod.traces.normalized import MAX_TRACE_GPUS, MAX_TRACE_S, JobTable

POD_COLUMNS: tuple[str, ...] = (
    "name",
    "cpu_milli",
    "memory_mib",
    "num_gpu",
    "gpu_milli",
    "gpu_spec",
    "creation_time",
    "deletion_time",
    "scheduled_time",
)
NODE_COLUMNS: tuple[str, ...] = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
#: Milli-units in one GPU (a ``gpu_milli`` of 1000 is a whole GPU).
GPU_MILLI = 1000
#: Largest CPU [milli-cores] or memory [MiB] one row may give (far above any server).
MAX_RESOURCE = 1e12


@dataclass(frozen=True)
class NodeTable:
    """Nodes of a traced cluster, one row each.

    Attributes:
        name: node names (``sn``).
        gpus: GPUs of each node (0: a CPU-only node).
        gpu_type: GPU model of each node (``""`` on a CPU-only node).
        cpu_milli: CPU of each node [milli-cores].
        memory_mib: main memory of each node [MiB].
    """

    name: list[str]
    gpus: list[int]
    gpu_type: list[str]
    cpu_milli: list[float]
    memory_mib: list[float]

    def __len__(self) -> int:
        return len(self.gpus)


def _read(p: Path, what: str) -> pd.DataFrame:
    check_regular_file(p, what)
    try:
        return pd.read_csv(p, dtype={"name": str, "sn": str, "model": str, "gpu_spec": str, "qos": str})
    except OSError as exc:
        raise SpecError(str(p), f"cannot read the {what}: {exc.strerror}") from None
    except (ValueError, pd.errors.ParserError) as exc:  # their text may quote the file: not shown
        raise SpecError(
            str(p), f"cannot read the {what}: not a readable CSV ({type(exc).__name__})"
        ) from None


def _numbers(
    frame: pd.DataFrame, p: Path, col: str, limit: float, whole: bool = False
) -> npt.NDArray[np.float64]:
    """Column ``col`` as floats (NaN kept), each in ``[0, limit]``, whole numbers if ``whole``."""
    if not pd.api.types.is_numeric_dtype(frame[col]):
        raise SpecError(f"{p}: {col}", "must be numeric")
    v = frame[col].to_numpy(dtype=np.float64)
    bad = ~np.isnan(v) & ~((v >= 0) & (v <= limit) & ((v == np.floor(v)) | (not whole)))
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 2  # + header, 1-based
        kind = "a whole number" if whole else "a number"
        raise SpecError(f"{p}: {col}", f"line {row}: must be {kind} from 0 to {limit:,.0f}")
    return v


def _missing(frame: pd.DataFrame, p: Path, wanted: tuple[str, ...]) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:  # the header is the file's content: name what is wanted, never what was found
        raise SpecError(
            str(p), f"missing column(s) {', '.join(missing)}: the first line must name {', '.join(wanted)}"
        )


def read_alibaba_nodes(path: str | Path) -> NodeTable:
    """Read a node table (``sn, cpu_milli, memory_mib, gpu, model``; ``num_gpu`` is taken for
    ``gpu`` too)."""
    p = Path(path)
    frame = _read(p, "node table")
    if "gpu" not in frame.columns and "num_gpu" in frame.columns:
        frame = frame.rename(columns={"num_gpu": "gpu"})
    _missing(frame, p, NODE_COLUMNS)
    if frame.empty:
        raise SpecError(str(p), "the node table holds no rows")
    gpus = _numbers(frame, p, "gpu", 1024, whole=True)
    cpu = _numbers(frame, p, "cpu_milli", MAX_RESOURCE)
    mem = _numbers(frame, p, "memory_mib", MAX_RESOURCE)
    for col, v in (("gpu", gpus), ("cpu_milli", cpu), ("memory_mib", mem)):
        if np.isnan(v).any():
            row = int(np.flatnonzero(np.isnan(v))[0]) + 2
            raise SpecError(f"{p}: {col}", f"line {row}: a node needs a value")
    model = frame["model"].fillna("").astype(str).to_numpy()
    model = np.where(gpus > 0, model, "")
    return NodeTable(
        name=frame["sn"].fillna("").astype(str).tolist(),
        gpus=gpus.astype(np.int64).tolist(),
        gpu_type=[str(m) for m in model],
        cpu_milli=cpu.tolist(),
        memory_mib=mem.tolist(),
    )


def read_alibaba_pods(
    path: str | Path,
    start_s: float = 0.0,
    end_s: float | None = None,
    max_jobs: int | None = None,
    time_scale: float = 1.0,
) -> JobTable:
    """Read a pod table as jobs with CPU, memory, GPU-share and GPU-type requests.

    Pods created in ``[start_s, end_s)`` are replayed; creation times are shifted so that
    ``start_s`` becomes 0, then multiplied by ``time_scale``. Rows not replayed are counted in
    :attr:`JobTable.skipped` (``outside_window``, ``never_scheduled``).
    """
    p = Path(path)
    frame = _read(p, "pod table")
    _missing(frame, p, POD_COLUMNS)
    if frame.empty:
        raise SpecError(str(p), "the trace holds no rows")
    created = _numbers(frame, p, "creation_time", MAX_TRACE_S)
    deleted = _numbers(frame, p, "deletion_time", MAX_TRACE_S)
    sched = _numbers(frame, p, "scheduled_time", MAX_TRACE_S)
    gpus = _numbers(frame, p, "num_gpu", MAX_TRACE_GPUS, whole=True)
    milli = _numbers(frame, p, "gpu_milli", GPU_MILLI, whole=True)
    cpu = _numbers(frame, p, "cpu_milli", MAX_RESOURCE)
    mem = _numbers(frame, p, "memory_mib", MAX_RESOURCE)
    if np.isnan(created).any():
        row = int(np.flatnonzero(np.isnan(created))[0]) + 2
        raise SpecError(f"{p}: creation_time", f"line {row}: every pod needs a creation time")
    inside = created >= start_s
    if end_s is not None:
        inside &= created < end_s
    ran = ~np.isnan(sched) & ~np.isnan(deleted)
    if "pod_phase" in frame.columns:
        ran &= frame["pod_phase"].astype(str).to_numpy() != "Pending"
    skipped: Counter[str] = Counter()
    for reason, mask in (("outside_window", ~inside), ("never_scheduled", inside & ~ran)):
        if mask.any():
            skipped[reason] = int(mask.sum())
    keep = np.flatnonzero(inside & ran)
    keep = keep[np.argsort(created[keep], kind="stable")]
    if max_jobs is not None:
        keep = keep[:max_jobs]
    g = np.nan_to_num(gpus[keep]).astype(np.int64)
    m = np.nan_to_num(milli[keep]).astype(np.int64)
    # a share of one GPU only when the pod asks for one GPU and less than all of it
    share = np.where((g == 1) & (m > 0) & (m < GPU_MILLI), m, 0)
    spec = frame["gpu_spec"].fillna("").astype(str).to_numpy(dtype=object)[keep]
    spec = np.where(g > 0, spec, "")
    qos = (
        frame["qos"].fillna("").astype(str).to_numpy(dtype=object)[keep]
        if "qos" in frame.columns
        else np.full(len(keep), "", dtype=object)
    )
    return JobTable(
        job_id=frame["name"].astype(str).to_numpy(dtype=object)[keep],
        submit_s=(created[keep] - start_s) * time_scale,
        duration_s=np.maximum(deleted[keep] - sched[keep], 1.0),
        gpus=g,
        partition=np.full(len(keep), "", dtype=object),
        queue=qos.astype(object),
        cpu_milli=np.nan_to_num(cpu[keep]),
        memory_mib=np.nan_to_num(mem[keep]),
        gpu_milli=share.astype(np.int64),
        gpu_type=spec.astype(object),
        skipped=dict(skipped),
    )
