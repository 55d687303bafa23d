"""The result store: one Parquet file per write of finished points (those finished since the
last write: the runner writes at most every half second, and when the run ends), named by the
key of its first point.

Each file is written beside its final name and renamed into place, so a sweep killed at any
moment leaves only whole points; the next run reads the keys present and skips them. The
folder is a Parquet dataset (``pandas.read_parquet(folder)`` reads every point), one row a
point: ``key``, ``status``, ``error``, ``elapsed_s``, the outputs (empty where a point
failed), and ``inputs_json`` (the resolved inputs the key was computed from). Points are
written together, not one a file, because writing a file costs about a millisecond of the
driver's CPU, which on a small machine is taken from the workers.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

#: Columns of a stored point besides its outputs.
META_COLUMNS = ("key", "status", "error", "elapsed_s", "inputs_json")


class PointStore:
    """Finished points under ``folder`` (created by the first write; building writes nothing)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _files(self) -> list[Path]:
        return sorted(self.folder.glob("*.parquet")) if self.folder.is_dir() else []

    def keys(self) -> set[str]:
        """Keys of the points stored so far."""
        import pyarrow.parquet as pq

        return {k for f in self._files() for k in pq.read_table(f, columns=["key"]).column("key").to_pylist()}

    def write(self, points: list[tuple[str, dict[str, Any], str]]) -> None:
        """Store finished points, given as ``(key, outcome, inputs as JSON text)`` (an outcome
        as :func:`megapod.sweep.worker.run_point` returns it), in one file, atomically."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not points:
            return
        rows: list[dict[str, Any]] = []
        for key, outcome, inputs_json in points:
            row: dict[str, Any] = {
                "key": key,
                "status": outcome["status"],
                "error": outcome["error"],
                "elapsed_s": float(outcome["elapsed_s"]),
                "inputs_json": inputs_json,
            }
            row.update({k: float(v) for k, v in sorted(outcome["outputs"].items())})
            rows.append(row)
        names = list(dict.fromkeys(k for row in rows for k in row))  # a failed point has no outputs
        table = pa.Table.from_pylist([{k: row.get(k) for k in names} for row in rows])
        self.folder.mkdir(parents=True, exist_ok=True)
        first = points[0][0]
        fd, tmp = tempfile.mkstemp(prefix=f".{first}.", suffix=".tmp", dir=self.folder)
        os.close(fd)
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, self.folder / f"{first}.parquet")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read(self, keys: set[str]) -> dict[str, dict[str, Any]]:
        """The stored outcomes of ``keys`` that are present: key -> ``status``, ``error``,
        ``elapsed_s`` and ``outputs``."""
        import pyarrow.parquet as pq

        out: dict[str, dict[str, Any]] = {}
        for f in self._files():
            for row in pq.read_table(f).to_pylist():
                if row["key"] not in keys:
                    continue
                outputs = {k: v for k, v in row.items() if k not in META_COLUMNS and v is not None}
                out[row["key"]] = {
                    "status": row["status"],
                    "error": row["error"],
                    "elapsed_s": row["elapsed_s"],
                    "outputs": outputs,
                }
        return out
