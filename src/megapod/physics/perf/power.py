"""GPU power of a step's phases: the one place the performance model asks for watts.

Board power follows what each phase's kernels achieve — tensor-core and HBM utilization —
through :func:`megapod.physics.gpu_power.activity_power_w`, with the generation's constants
from ``catalog/data/gpu_power_models.yaml`` (each with its source and error). A phase's
``gpu_utilization`` is the power-equivalent utilization of the linear idle-to-TDP model
(Fan, Weber, Barroso, ISCA 2007), so :func:`gpu_power_at_w` turns it back into the same watts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from megapod.catalog.gpu import GpuEntry
from megapod.catalog.gpu_power_model import GpuPowerModelEntry
from megapod.physics.gpu_power import activity_power_w, gpu_power_w


def phase_powers_w(
    gpu: GpuEntry,
    model: GpuPowerModelEntry,
    tensor_util: Sequence[float],
    memory_util: Sequence[float],
) -> tuple[float, ...]:
    """Board power [W] of phases with the given achieved tensor and HBM utilization."""
    p = activity_power_w(
        list(tensor_util),
        list(memory_util),
        gpu.idle_w,
        gpu.tdp_w,
        model.paused_share,
        model.power_limit_tensor_util,
        model.memory_dynamic_share,
    )
    return tuple(float(x) for x in p)


def gpu_power_at_w(gpu: GpuEntry, utilization: float) -> float:
    """Board power of ``gpu`` at a (power-equivalent) ``utilization`` in [0, 1] [W]."""
    u = min(1.0, max(0.0, float(utilization)))
    return float(gpu_power_w(gpu, u))


def phases_energy_j(gpu: GpuEntry, phases: Iterable[tuple[str, float, float]]) -> float:
    """Energy of one GPU over ``(name, duration_s, utilization)`` phases [J]."""
    return sum(duration * gpu_power_at_w(gpu, util) for _, duration, util in phases)
