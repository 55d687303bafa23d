"""GPU power at a utilization: the one place the performance model asks for watts.

:func:`gpu_power_at_w` uses :func:`megapod.physics.gpu_power.gpu_power_w` (the board-power
model of the power subsystem) when it is available, and otherwise the linear model it is
built on — idle power plus utilization times the span to TDP (Fan, Weber, Barroso,
"Power Provisioning for a Warehouse-sized Computer", ISCA 2007) — bounded by the TDP.
"""

from __future__ import annotations

from collections.abc import Iterable

from megapod.catalog.gpu import GpuEntry


def gpu_power_at_w(gpu: GpuEntry, utilization: float) -> float:
    """Board power of ``gpu`` at ``utilization`` in [0, 1] [W]."""
    u = min(1.0, max(0.0, float(utilization)))
    try:
        from megapod.physics.gpu_power import gpu_power_w
    except ImportError:  # pragma: no cover - the power subsystem ships with the package
        return gpu.idle_w + u * (gpu.tdp_w - gpu.idle_w)
    return float(gpu_power_w(gpu, u))


def phases_energy_j(gpu: GpuEntry, phases: Iterable[tuple[str, float, float]]) -> float:
    """Energy of one GPU over ``(name, duration_s, utilization)`` phases [J]."""
    return sum(duration * gpu_power_at_w(gpu, util) for _, duration, util in phases)
