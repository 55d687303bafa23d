"""Reader of the normalized job-trace CSV format (``job_id, submit_time_s, duration_s,
num_gpus, status`` plus optional user/queue columns), as kept in ``shared/data/traces``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from megapod.errors import SpecError
from megapod.spec.loader import check_regular_file

REQUIRED_COLUMNS: tuple[str, ...] = ("job_id", "submit_time_s", "duration_s", "num_gpus", "status")


@dataclass(frozen=True)
class JobTable:
    """Jobs as columns: one row per job, sorted by submit time.

    Attributes:
        job_id: string ids.
        submit_s: submit time [s] from the trace origin.
        duration_s: failure-free run time [s].
        gpus: GPUs requested.
        partition: partition (virtual cluster) label per job, ``""`` when none.
        queue: queue/user label per job, ``""`` when none.
        cpu_milli, memory_mib: CPU [milli-cores] and main memory [MiB] requested, or None when
            the trace gives none (no limit is placed).
        gpu_milli: share of one GPU [1/1000 GPU] of a GPU-sharing job (``0 < m < 1000``, with
            ``gpus`` 1); 0 for a job of whole GPUs. None when the trace has no such column.
        gpu_type: GPU types the job may run on, ``|``-separated (``""``: any), or None.
        skipped: rows of the trace not replayed, counted by reason (see :data:`SKIP_REASONS`).
    """

    job_id: npt.NDArray[np.object_]
    submit_s: npt.NDArray[np.float64]
    duration_s: npt.NDArray[np.float64]
    gpus: npt.NDArray[np.int64]
    partition: npt.NDArray[np.object_]
    queue: npt.NDArray[np.object_]
    cpu_milli: npt.NDArray[np.float64] | None = None
    memory_mib: npt.NDArray[np.float64] | None = None
    gpu_milli: npt.NDArray[np.int64] | None = None
    gpu_type: npt.NDArray[np.object_] | None = None
    skipped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.submit_s)


#: Why a trace row is not replayed (the keys of :attr:`JobTable.skipped` and of a run's
#: ``not_replayed`` counts).
SKIP_REASONS: dict[str, str] = {
    "never_scheduled": "the trace records no run (no duration, or never scheduled)",
    "cpu_only": "asks for no GPU and the trace gives no CPU request to place it by",
    "outside_window": "submitted before the replay window's start or at/after its end",
    "unknown_partition": "its partition is not in the layout (partitions.unknown: drop)",
    "larger_than_any_pool": "asks for more GPUs, CPU or memory than any node or pool it may use holds",
    "no_node_of_type": "asks for a GPU type that no node of its pool carries",
    "after_horizon": "submitted at or after the scenario's horizon",
}

#: Rows read at a time; a large trace is streamed, never held twice.
CHUNK_ROWS = 250_000
#: GPUs one trace job may ask for (the largest sites hold a few hundred thousand).
MAX_TRACE_GPUS = 10_000_000
#: Latest submit time and longest duration a trace row may give: a century [s].
MAX_TRACE_S = 100 * 365.25 * 86400.0


def _checked(
    frame: pd.DataFrame,
    p: Path,
    wanted: list[str],
    start_s: float,
    end_s: float | None = None,
    skipped: Counter[str] | None = None,
) -> pd.DataFrame:
    """One chunk of rows, columns checked, rows that are not replayed left out (and counted by
    reason into ``skipped``)."""
    missing = [c for c in (*REQUIRED_COLUMNS, *wanted) if c not in frame.columns]
    if missing:  # the header is the file's content: name what is wanted, never what was found
        raise SpecError(
            str(p),
            f"missing column(s) {', '.join(missing)}: the first line must name the columns "
            f"{', '.join((*REQUIRED_COLUMNS, *wanted))}",
        )
    for col in ("submit_time_s", "duration_s", "num_gpus"):
        if not pd.api.types.is_numeric_dtype(frame[col]):
            raise SpecError(f"{p}: {col}", "must be numeric")
    for col, limit in (
        ("submit_time_s", MAX_TRACE_S),
        ("duration_s", MAX_TRACE_S),
        ("num_gpus", MAX_TRACE_GPUS),
    ):
        v = frame[col].to_numpy(dtype=np.float64)
        bad = ~np.isnan(v) & ~((v >= 0) & (v <= limit))
        if bad.any():
            row = int(np.flatnonzero(bad)[0]) + int(frame.index[0]) + 2  # + header, 1-based
            raise SpecError(f"{p}: {col}", f"line {row}: must be finite, at least 0 and at most {limit:,.0f}")
    gpus = frame["num_gpus"].to_numpy(dtype=np.float64)
    if (~np.isnan(gpus) & (gpus != np.floor(gpus))).any():
        raise SpecError(f"{p}: num_gpus", "must be whole numbers of GPUs")
    sub = frame["submit_time_s"]
    inside = (sub >= start_s) & (sub < end_s) if end_s is not None else sub >= start_s
    ran = frame["duration_s"].notna()
    gpu = frame["num_gpus"] > 0
    if skipped is not None:
        count_skipped(skipped, ~inside, inside & ~ran, inside & ran & ~gpu)
    return frame[ran & gpu & inside]


def count_skipped(skipped: Counter[str], outside: pd.Series, never: pd.Series, cpu_only: pd.Series) -> None:
    """Add the rows of a chunk that are not replayed to ``skipped``: out of the window, never run,
    CPU-only (each row under its first reason)."""
    for reason, mask in (("outside_window", outside), ("never_scheduled", never), ("cpu_only", cpu_only)):
        n = int(mask.sum())
        if n:
            skipped[reason] += n


def read_trace(
    path: str | Path,
    partition_column: str | None = None,
    queue_column: str | None = None,
    start_s: float = 0.0,
    max_jobs: int | None = None,
    time_scale: float = 1.0,
    end_s: float | None = None,
) -> JobTable:
    """Read a normalized trace CSV; jobs that never ran (empty duration), ask 0 GPUs or were
    submitted outside ``[start_s, end_s)`` are skipped and counted in :attr:`JobTable.skipped`
    (rows after the first ``max_jobs`` kept are not read at all).

    Submit times are shifted so that ``start_s`` becomes 0, then multiplied by ``time_scale``.
    """
    p = Path(path)
    check_regular_file(p, "trace CSV")
    wanted = [c for c in (partition_column, queue_column) if c]
    # labels stay text: a Philly VC named ``6214e9`` is not the number 6.214e12
    text_cols = {c: str for c in ("job_id", "status", *wanted)}
    try:
        chunks = pd.read_csv(p, dtype=text_cols, keep_default_na=True, chunksize=CHUNK_ROWS)
        kept: list[pd.DataFrame] = []
        skipped: Counter[str] = Counter()
        count = 0
        for chunk in chunks:  # streamed: ``max_jobs`` stops reading once enough rows are kept
            chunk = _checked(chunk, p, wanted, start_s, end_s, skipped)
            kept.append(chunk)
            count += len(chunk)
            if max_jobs is not None and count >= max_jobs:
                break
    except SpecError:
        raise
    except OSError as exc:
        raise SpecError(str(p), f"cannot read the trace: {exc.strerror}") from None
    except (ValueError, pd.errors.ParserError) as exc:  # their text may quote the file: not shown
        raise SpecError(str(p), f"cannot read the trace: not a readable CSV ({type(exc).__name__})") from None
    if not kept:
        raise SpecError(str(p), "the trace holds no rows")
    frame = pd.concat(kept, ignore_index=True)
    if max_jobs is not None:
        frame = frame.iloc[:max_jobs]
    frame = frame.sort_values("submit_time_s", kind="stable")
    n = len(frame)

    def labels(col: str | None) -> npt.NDArray[np.object_]:
        if col is None:
            return np.full(n, "", dtype=object)
        return frame[col].fillna("").astype(str).to_numpy(dtype=object)

    submit = (frame["submit_time_s"].to_numpy(dtype=np.float64) - start_s) * time_scale
    return JobTable(
        job_id=frame["job_id"].astype(str).to_numpy(dtype=object),
        submit_s=submit,
        duration_s=np.maximum(frame["duration_s"].to_numpy(dtype=np.float64), 1.0),
        gpus=frame["num_gpus"].to_numpy(dtype=np.int64),
        partition=labels(partition_column),
        queue=labels(queue_column),
        skipped=dict(skipped),
    )
