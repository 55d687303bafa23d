"""First-order allowance for failures and checkpoints in a long training run.

A job on ``G`` GPUs is interrupted at rate ``G·λ`` with ``λ`` the per-GPU interruption rate of
a published observation (catalog ``reliability.yaml``; Llama 3 405B: 419 unexpected
interruptions in 54 days on 16,384 H100, Meta 2024, Table 5), so its mean time between
interruptions is ``M = 1 / (G·λ)``. Checkpointing every ``τ`` seconds with write time ``δ``
and restart time ``R`` loses, per unit of useful time (Young, "A first order approximation to
the optimum checkpoint interval", CACM 17(9), 1974; Daly, FGCS 22(3), 2006):

    waste = δ/τ + (τ/2 + R)/M,   τ_opt = √(2 δ M)

and the wall time is the failure-free time divided by ``1 - waste`` (failed hardware is
assumed swapped for spares, so the job keeps its GPUs).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from megapod import catalog
from megapod.catalog.reliability import ReliabilityEntry
from megapod.errors import InfeasibleError


@dataclass(frozen=True)
class FailureAllowance:
    """The failure and checkpoint overhead of one run."""

    source: str
    interruptions_per_gpu_s: float
    job_mtbi_s: float
    checkpoint_interval_s: float
    waste_fraction: float
    expected_interruptions: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return asdict(self)


def interruption_rate_per_gpu_s(entry: ReliabilityEntry) -> float:
    """Interruptions per GPU-second of a reliability observation: Σ counts / (GPUs · time)."""
    return sum(c.interruptions for c in entry.components) / (entry.gpus * entry.observed_s)


def reliability_entry(name: str) -> ReliabilityEntry:
    """The reliability catalog entry ``name``."""
    return catalog.typed("reliability", name, ReliabilityEntry)


def failure_allowance(
    gpus: int,
    failure_free_s: float,
    checkpoint_s: float,
    restart_s: float,
    rate_per_gpu_s: float,
    source: str = "",
) -> FailureAllowance:
    """Young/Daly first-order overhead for a ``gpus``-GPU job of ``failure_free_s`` seconds.

    Raises :class:`InfeasibleError` when the job would lose all its time to interruptions.
    """
    if rate_per_gpu_s <= 0 or gpus <= 0:
        return FailureAllowance(source, rate_per_gpu_s, math.inf, math.inf, 0.0, 0.0)
    mtbi = 1.0 / (gpus * rate_per_gpu_s)
    tau = math.sqrt(2.0 * checkpoint_s * mtbi) if checkpoint_s > 0 else 0.0
    waste = (checkpoint_s / tau if tau > 0 else 0.0) + (tau / 2.0 + restart_s) / mtbi
    if waste >= 1.0:
        raise InfeasibleError(
            f"{gpus:,} GPUs are interrupted every {mtbi / 60:.1f} min on average; with "
            f"{checkpoint_s:.0f} s checkpoints and {restart_s:.0f} s restarts no progress is made: "
            "use fewer GPUs, faster checkpoints or faster restarts"
        )
    wall = failure_free_s / (1.0 - waste)
    return FailureAllowance(source, rate_per_gpu_s, mtbi, tau, waste, wall / mtbi)
