"""Reader of the normalized job-trace CSV format (``job_id, submit_time_s, duration_s,
num_gpus, status`` plus optional user/queue columns), as kept in ``shared/data/traces``."""

from __future__ import annotations

from dataclasses import dataclass
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
    """

    job_id: npt.NDArray[np.object_]
    submit_s: npt.NDArray[np.float64]
    duration_s: npt.NDArray[np.float64]
    gpus: npt.NDArray[np.int64]
    partition: npt.NDArray[np.object_]
    queue: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return len(self.submit_s)


def read_trace(
    path: str | Path,
    partition_column: str | None = None,
    queue_column: str | None = None,
    start_s: float = 0.0,
    max_jobs: int | None = None,
    time_scale: float = 1.0,
) -> JobTable:
    """Read a normalized trace CSV; jobs that never ran (empty duration) or ask 0 GPUs are skipped.

    Submit times are shifted so that ``start_s`` becomes 0, then multiplied by ``time_scale``.
    """
    p = Path(path)
    check_regular_file(p, "trace CSV")
    try:
        frame = pd.read_csv(p, dtype={"job_id": str, "status": str}, keep_default_na=True)
    except OSError as exc:
        raise SpecError(str(p), f"cannot read the trace: {exc.strerror}") from None
    except (ValueError, pd.errors.ParserError) as exc:  # their text may quote the file: not shown
        raise SpecError(str(p), f"cannot read the trace: not a readable CSV ({type(exc).__name__})") from None
    wanted = [c for c in (partition_column, queue_column) if c]
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
    frame = frame[frame["duration_s"].notna() & (frame["num_gpus"] > 0) & (frame["submit_time_s"] >= start_s)]
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
    )
