"""Checkpoints of a running unit: the kernel's state between steps, one file per lease.

A checkpoint is an ``.npz`` file named after the lease (``replica-ID.npz``) holding the
kernel's arrays, the step reached and the lease as JSON. It is written to a temporary name
and renamed, so a car that stops mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from megapod.fleet.kernels import KernelState


def path_of(folder: Path, replica_id: int) -> Path:
    """Where the checkpoint of lease ``replica_id`` lives."""
    return folder / f"replica-{replica_id}.npz"


def save(folder: Path, lease: dict[str, Any], state: KernelState) -> Path:
    """Write the checkpoint of ``lease`` at ``state`` (atomically)."""
    folder.mkdir(parents=True, exist_ok=True)
    final = path_of(folder, int(lease["replica_id"]))
    tmp = final.with_name(final.stem + ".tmp.npz")
    arrays = {f"a_{k}": v for k, v in state.arrays.items()}
    meta = np.frombuffer(json.dumps({"step": state.step, "lease": lease}).encode(), dtype=np.uint8)
    np.savez(tmp, meta=meta, **arrays)  # type: ignore[arg-type]
    os.replace(tmp, final)
    return final


def load(path: Path) -> tuple[dict[str, Any], KernelState]:
    """The lease and the kernel state of a checkpoint file."""
    with np.load(path) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        arrays = {k[2:]: np.asarray(data[k], dtype=np.int64) for k in data.files if k.startswith("a_")}
    return meta["lease"], KernelState(int(meta["step"]), arrays)


def pending(folder: Path | None) -> list[Path]:
    """Checkpoint files left in ``folder`` (a car that stopped mid-unit), oldest lease first."""
    if folder is None or not folder.is_dir():
        return []
    found = [p for p in folder.glob("replica-*.npz") if ".tmp" not in p.name]
    return sorted(found, key=lambda p: int(p.stem.split("-")[1]))


def drop(folder: Path | None, replica_id: int) -> None:
    """Remove the checkpoint of a lease that was reported or given up."""
    if folder is not None:
        path_of(folder, replica_id).unlink(missing_ok=True)
