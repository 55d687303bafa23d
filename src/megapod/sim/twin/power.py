"""Power of the twin's state: IT load from GPU counts, facility power through the chain and
cooling plant, and the thermal power cap. Thin wiring over ``megapod.physics``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from megapod.catalog.cooling import CoolingPlantEntry
from megapod.physics.gpu_power import HOST_IDLE_FRACTION, board_power_w, host_power_w, speed_fraction
from megapod.physics.power_chain import PowerFlow, facility_power
from megapod.physics.thermal import derated_capacity_w, plant_cop
from megapod.sim.twin.layout import DesignPower

FloatArray = npt.NDArray[np.float64]


def it_power_w(
    design: DesignPower,
    busy_gpus: FloatArray | float,
    up_gpus: FloatArray | float,
    gpu_cap_w: FloatArray | float | None = None,
) -> FloatArray:
    """IT load of a design [W]: busy GPUs at full utilization (under ``gpu_cap_w``), idle up GPUs
    at idle power, hosts in proportion to the up share (linear in utilization, Fan et al. 2007),
    switches constant. Down or failed nodes draw nothing."""
    busy = np.asarray(busy_gpus, dtype=np.float64)
    up = np.asarray(up_gpus, dtype=np.float64)
    board_busy = board_power_w(1.0, design.gpu_idle_w, design.gpu_tdp_w, gpu_cap_w)
    gpus = max(design.gpus, 1)
    util = np.divide(busy, up, out=np.zeros_like(busy * up), where=up > 0)
    host = host_power_w(design.host_full_w * up / gpus, util, HOST_IDLE_FRACTION)
    return np.asarray(
        busy * board_busy + (up - busy) * design.gpu_idle_w + host + design.switch_w * (up > 0),
        dtype=np.float64,
    )


def facility_flow(
    design: DesignPower, it_w: FloatArray | float, plant: CoolingPlantEntry, outdoor_c: FloatArray | float
) -> PowerFlow:
    """Facility power of a design for IT load ``it_w`` at outdoor temperature ``outdoor_c`` [°C]."""
    cop = plant_cop(plant, outdoor_c)
    return facility_power(it_w, design.rated_it_w, design.curves, cop)


def thermal_speed(
    design: DesignPower,
    plant: CoolingPlantEntry,
    capacity_w: float,
    outdoor_c: float,
    busy_gpus: float,
    up_gpus: float,
) -> tuple[float, float | None]:
    """Speed of busy GPUs when the derated plant cannot remove the heat at full power.

    The cap ``c`` solves ``heat(c) = capacity`` with heat ≈ IT load (linear in the per-GPU
    board power); the speed follows the DVFS power–speed law of :func:`speed_fraction`.
    Returns ``(speed, gpu_cap_w)``; ``(1, None)`` when there is no deficit.
    """
    capacity = float(derated_capacity_w(plant, capacity_w, outdoor_c))
    full = float(it_power_w(design, busy_gpus, up_gpus))
    if full <= capacity or busy_gpus <= 0:
        return 1.0, None
    other = full - busy_gpus * design.gpu_tdp_w
    cap = (capacity - other) / busy_gpus
    cap = min(max(cap, design.gpu_idle_w), design.gpu_tdp_w)
    speed = float(speed_fraction(1.0, design.gpu_idle_w, design.gpu_tdp_w, cap))
    return max(speed, 1e-3), cap


def cap_speed(designs: Sequence[DesignPower], gpu_cap_w: float) -> float:
    """Speed of busy GPUs under a board power cap [W]: the slowest design's, by the DVFS
    power–speed law of :func:`speed_fraction` (the law the thermal cap uses). 1 when the cap is
    at or above every design's TDP."""
    speed = 1.0
    for d in designs:
        s = float(speed_fraction(1.0, d.gpu_idle_w, d.gpu_tdp_w, gpu_cap_w))
        speed = min(speed, s)
    return max(speed, 1e-3)
