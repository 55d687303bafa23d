"""The result store: one Parquet file per finished point, named by the point's key.

Each file is written beside its final name and renamed into place, so a sweep killed at any
moment leaves only whole points; the next run reads the keys present and skips them. The
folder is a Parquet dataset (``pandas.read_parquet(folder)`` reads every point), one row a
point: ``key``, ``status``, ``error``, ``elapsed_s``, the outputs, and ``inputs_json`` (the
resolved inputs the key was computed from).
"""

from __future__ import annotations

import json
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

    def _file(self, key: str) -> Path:
        return self.folder / f"{key}.parquet"

    def keys(self) -> set[str]:
        """Keys of the points stored so far."""
        if not self.folder.is_dir():
            return set()
        return {p.stem for p in self.folder.glob("*.parquet")}

    def write(self, key: str, outcome: dict[str, Any], canonical: dict[str, Any]) -> None:
        """Store one point's outcome (see :func:`megapod.sweep.worker.run_point`) atomically."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        row: dict[str, Any] = {
            "key": key,
            "status": outcome["status"],
            "error": outcome["error"],
            "elapsed_s": float(outcome["elapsed_s"]),
            "inputs_json": json.dumps(canonical, sort_keys=True, separators=(",", ":")),
        }
        row.update({k: float(v) for k, v in sorted(outcome["outputs"].items())})
        table = pa.Table.from_pylist([row])
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.folder)
        os.close(fd)
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, self._file(key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read(self, keys: set[str]) -> dict[str, dict[str, Any]]:
        """The stored outcomes of ``keys`` that are present: key -> ``status``, ``error``,
        ``elapsed_s`` and ``outputs``."""
        import pyarrow.parquet as pq

        out: dict[str, dict[str, Any]] = {}
        for key in sorted(keys & self.keys()):
            row = pq.read_table(self._file(key)).to_pylist()[0]
            outputs = {k: v for k, v in row.items() if k not in META_COLUMNS}
            out[key] = {
                "status": row["status"],
                "error": row["error"],
                "elapsed_s": row["elapsed_s"],
                "outputs": outputs,
            }
        return out
