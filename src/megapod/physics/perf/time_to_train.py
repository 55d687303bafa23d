"""Time, GPU-hours and GPU energy to train a model on a number of tokens with one layout.

    steps      = ceil(T / (global_batch · seq_len))
    wall_s     = steps · t_step                     (no failures; the simulator adds them)
    gpu_hours  = wall_s · gpus / 3600
    energy_wh  = steps · gpus · Σ_phases P(u_phase) · t_phase / 3600

where ``P(u)`` is the board power at the phase's utilization (:mod:`.power`). Energy counts
the GPU boards only; hosts, network and cooling belong to the power chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from megapod.errors import InfeasibleError
from megapod.physics.perf.hardware import Hardware
from megapod.physics.perf.layout import Layout
from megapod.physics.perf.model import TransformerModel
from megapod.physics.perf.power import phases_energy_j
from megapod.physics.perf.training import StepBreakdown, train_step
from megapod.units import DAY_S, HOUR_S, J_PER_WH


@dataclass(frozen=True, slots=True)
class TrainingRun:
    """A whole training run of ``tokens`` tokens under one layout (no failures)."""

    step: StepBreakdown
    tokens: float
    steps: int
    wall_s: float
    gpus: int
    gpu_hours: float
    gpu_energy_wh: float
    mean_gpu_power_w: float

    @property
    def wall_days(self) -> float:
        """Wall time [day]."""
        return self.wall_s / DAY_S


def time_to_train(model: TransformerModel, hw: Hardware, layout: Layout, tokens: float) -> TrainingRun:
    """Wall time, GPU-hours and GPU energy to train ``model`` on ``tokens`` tokens."""
    if tokens <= 0:
        raise InfeasibleError(f"tokens to train must be > 0, got {tokens}")
    step = train_step(model, hw, layout)
    steps = math.ceil(tokens / (layout.global_batch * model.seq_len))
    wall_s = steps * step.step_time_s
    energy_j_per_gpu_step = phases_energy_j(hw.gpu, step.phases)
    energy_wh = steps * layout.gpus * energy_j_per_gpu_step / J_PER_WH
    return TrainingRun(
        step=step,
        tokens=float(tokens),
        steps=steps,
        wall_s=wall_s,
        gpus=layout.gpus,
        gpu_hours=wall_s * layout.gpus / HOUR_S,
        gpu_energy_wh=energy_wh,
        mean_gpu_power_w=energy_j_per_gpu_step / step.step_time_s,
    )
