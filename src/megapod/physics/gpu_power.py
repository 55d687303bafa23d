"""GPU and server board power vs. utilization and power cap, and the speed a power cap leaves.

Pure functions over floats or numpy arrays (broadcasting), SI units: watts, fractions in [0, 1].

Model (see ``docs/facility-model.md``):

* **Power vs. utilization** — the linear model of Fan, Weber & Barroso, "Power provisioning
  for a warehouse-sized computer", ISCA 2007 (eq. 1): ``P(u) = P_idle + (P_max - P_idle)·u``,
  with ``P_idle`` the board's idle draw and ``P_max`` its TDP (datasheet maximum board power,
  e.g. 700 W for H100 SXM, NVIDIA H100 datasheet). An optional exponent ``r`` gives the
  calibrated form ``P_idle + (P_max - P_idle)·(2u - u^r)`` of the same paper (eq. 2, r = 1.4
  there); ``r = None`` keeps the linear form. Utilization here is the fraction of time the
  SMs are busy with the work (what a performance model's compute share is), not "nvidia-smi
  utilization", which saturates early.
* **Power cap** — the board never draws more than its cap: ``min(P(u), cap)``; caps below the
  idle floor are clamped to it (the driver refuses lower limits).
* **Speed under a cap** — CMOS dynamic power scales as ``C·V²·f`` and voltage tracks frequency
  in the DVFS range, so dynamic power goes roughly as ``f^k`` with ``k ≈ 3`` (Rabaey,
  *Digital Integrated Circuits*, ch. 5; the cubic law used by DVFS studies). The fraction of
  full clock a cap leaves is ``s = min(1, ((cap - P_idle) / (P(u) - P_idle))^(1/k))``. Memory-
  bound work slows less than the clock: a fraction ``m`` of the step time that does not scale
  with the clock gives a speed ``1 / (m + (1 - m)/s)``. With k = 3 an H100 capped at 75 % of
  TDP keeps ≈ 90 % of its speed, consistent with the small losses reported for power-capped
  LLM training (Patel et al., "Characterizing Power Management Opportunities for LLMs in the
  Cloud", ASPLOS 2024).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from megapod.catalog.gpu import GpuEntry
from megapod.catalog.system import SystemEntry

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | npt.ArrayLike

#: Exponent of dynamic power vs. clock frequency under DVFS (P ∝ f·V², V ∝ f). Rabaey ch. 5.
DVFS_POWER_EXPONENT: Final = 3.0
#: Host (CPU, memory, NIC, fans) idle draw as a fraction of its full-load draw. Fan et al.
#: 2007 report servers idling at about half their peak power.
HOST_IDLE_FRACTION: Final = 0.5


def _as_array(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def board_power_w(
    utilization: ArrayLike,
    idle_w: ArrayLike,
    tdp_w: ArrayLike,
    power_cap_w: ArrayLike | None = None,
    shape_exponent: float | None = None,
) -> FloatArray:
    """Board power of a GPU at ``utilization`` under an optional power cap [W].

    ``P = min(P_idle + (P_tdp - P_idle)·g(u), cap)`` with ``g(u) = u`` (linear) or
    ``g(u) = 2u - u^r`` (Fan, Weber & Barroso, ISCA 2007, eqs. 1-2).

    Args:
        utilization: busy fraction in [0, 1] (clipped).
        idle_w: idle board power [W].
        tdp_w: maximum board power at full utilization [W].
        power_cap_w: board power limit [W]; None = TDP. Clamped to [idle_w, tdp_w].
        shape_exponent: ``r`` of the calibrated curve; None for the linear model.
    """
    u = np.clip(_as_array(utilization), 0.0, 1.0)
    idle = _as_array(idle_w)
    tdp = _as_array(tdp_w)
    g = u if shape_exponent is None else 2.0 * u - u**shape_exponent
    p = idle + (tdp - idle) * g
    if power_cap_w is not None:
        cap = np.clip(_as_array(power_cap_w), idle, tdp)
        p = np.minimum(p, cap)
    return np.asarray(p, dtype=np.float64)


def gpu_power_w(gpu: GpuEntry, utilization: ArrayLike, power_cap_w: ArrayLike | None = None) -> FloatArray:
    """Board power of catalog ``gpu`` at ``utilization`` under ``power_cap_w`` [W] (linear model)."""
    return board_power_w(utilization, gpu.idle_w, gpu.tdp_w, power_cap_w)


def speed_fraction(
    utilization: ArrayLike,
    idle_w: ArrayLike,
    tdp_w: ArrayLike,
    power_cap_w: ArrayLike,
    memory_bound_fraction: ArrayLike = 0.0,
    power_exponent: float = DVFS_POWER_EXPONENT,
) -> FloatArray:
    """Fraction of full speed a GPU keeps under ``power_cap_w`` (1 = no slowdown).

    Clock fraction ``s = min(1, ((cap - P_idle)/(P(u) - P_idle))^(1/k))`` (dynamic power ∝ f^k,
    Rabaey ch. 5), then Amdahl-style ``1 / (m + (1 - m)/s)`` for a memory-bound share ``m``
    of the time that does not scale with the clock.

    Args:
        utilization: busy fraction in [0, 1] at full clock.
        idle_w, tdp_w: board idle and maximum power [W].
        power_cap_w: board power limit [W], clamped to [idle_w, tdp_w].
        memory_bound_fraction: share of step time insensitive to the core clock, in [0, 1].
        power_exponent: ``k``; 3 for the cubic DVFS law.
    """
    idle = _as_array(idle_w)
    tdp = _as_array(tdp_w)
    demand = board_power_w(utilization, idle, tdp)
    cap = np.clip(_as_array(power_cap_w), idle, tdp)
    dynamic_demand = demand - idle
    dynamic_allowed = cap - idle
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(dynamic_demand > 0, dynamic_allowed / dynamic_demand, 1.0)
    clock = np.minimum(1.0, np.maximum(ratio, 0.0) ** (1.0 / power_exponent))
    m = np.clip(_as_array(memory_bound_fraction), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        speed = np.where(clock > 0, 1.0 / (m + (1.0 - m) / np.maximum(clock, 1e-300)), m * 0.0)
    return np.asarray(speed, dtype=np.float64)


def cap_for_speed_w(
    utilization: ArrayLike,
    idle_w: ArrayLike,
    tdp_w: ArrayLike,
    speed: ArrayLike,
    power_exponent: float = DVFS_POWER_EXPONENT,
) -> FloatArray:
    """Lowest board power cap that keeps clock fraction ``speed`` [W] (inverse of the DVFS law).

    ``cap = P_idle + (P(u) - P_idle)·s^k``, for a compute-bound job (m = 0).
    """
    idle = _as_array(idle_w)
    demand = board_power_w(utilization, idle, tdp_w)
    s = np.clip(_as_array(speed), 0.0, 1.0)
    return np.asarray(idle + (demand - idle) * s**power_exponent, dtype=np.float64)


def host_power_w(
    host_full_w: ArrayLike, utilization: ArrayLike, idle_fraction: float = HOST_IDLE_FRACTION
) -> FloatArray:
    """Non-GPU server power (CPUs, memory, NICs, fans or pumps) at ``utilization`` [W].

    Linear between ``idle_fraction·host_full_w`` and ``host_full_w`` (Fan et al. 2007).
    """
    u = np.clip(_as_array(utilization), 0.0, 1.0)
    full = _as_array(host_full_w)
    return np.asarray(full * (idle_fraction + (1.0 - idle_fraction) * u), dtype=np.float64)


def server_power_w(
    system: SystemEntry,
    gpu: GpuEntry,
    utilization: ArrayLike,
    power_cap_w: ArrayLike | None = None,
) -> FloatArray:
    """Input power of one server at ``utilization`` with per-GPU cap ``power_cap_w`` [W].

    ``gpus · P_gpu(u, cap) + P_host(u)``; at u = 1 and no cap this is the catalog's
    ``gpus · tdp_w + host_power_w`` (≈ 10.2 kW for an HGX/DGX H100, NVIDIA DGX H100 datasheet).
    """
    gpus_w = system.gpus * gpu_power_w(gpu, utilization, power_cap_w)
    return np.asarray(gpus_w + host_power_w(system.host_power_w, utilization), dtype=np.float64)


def fit_linear_power(utilization: npt.ArrayLike, power_w: npt.ArrayLike) -> tuple[float, float]:
    """Least-squares ``(idle_w, max_w)`` of the linear model from measured samples [W].

    For calibrating a catalog entry from board-power samples (e.g. NVML
    ``nvmlDeviceGetPowerUsage`` readings taken while a step of known utilization runs):
    fits ``P = a + b·u`` and returns ``(a, a + b)``. Needs at least two distinct utilizations.
    """
    u = np.asarray(utilization, dtype=np.float64).ravel()
    p = np.asarray(power_w, dtype=np.float64).ravel()
    if u.size != p.size or np.unique(u).size < 2:
        raise ValueError("need power samples at two or more distinct utilizations")
    slope, intercept = np.polyfit(u, p, 1)
    return float(intercept), float(intercept + slope)


# --- board power from achieved utilization ---------------------------------------------------
#
# The functions above take one "utilization" and draw a straight line from idle to TDP. The
# ones below follow what the kernels achieve instead (docs/performance-model.md, "GPU power"):
#
#   P = P_paused + (P_tdp - P_paused) · g,   g = x_t + a_m · x_m · (1 - x_t)
#   x_t = min(1, u_t / u_lim),  x_m = min(1, u_m)
#
# with ``u_t`` the achieved tensor utilization (FLOP/s over the data type's dense peak),
# ``u_lim`` the utilization at which the board reaches its power limit, ``u_m`` the achieved
# share of HBM bandwidth and ``a_m`` the dynamic share of full-bandwidth HBM traffic. The
# dynamic part scales with the clock as ``f^k`` (DVFS law above). ``P_paused`` is a board
# with a live process and no kernels; the driver's idle state (no process) is ``P_idle``.
# Millisecond excursions reach ``transient_factor · TDP``. The constants live in
# ``catalog/data/gpu_power_models.yaml`` with their sources and errors.


def paused_power_w(idle_w: ArrayLike, tdp_w: ArrayLike, paused_share: ArrayLike) -> FloatArray:
    """Board power with a live process, clocks up and no kernels running [W].

    ``P_idle + paused_share · (P_tdp - P_idle)`` (checkpoints, stalls, pipeline bubbles).
    """
    idle = _as_array(idle_w)
    return np.asarray(
        idle + np.clip(_as_array(paused_share), 0.0, 1.0) * (_as_array(tdp_w) - idle), dtype=np.float64
    )


def activity_power_w(
    tensor_util: ArrayLike,
    memory_util: ArrayLike,
    idle_w: ArrayLike,
    tdp_w: ArrayLike,
    paused_share: float,
    power_limit_tensor_util: float,
    memory_dynamic_share: float,
    clock_fraction: ArrayLike = 1.0,
    power_cap_w: ArrayLike | None = None,
    power_exponent: float = DVFS_POWER_EXPONENT,
) -> FloatArray:
    """Board power from achieved tensor and memory utilization and the clock [W].

    Args:
        tensor_util: achieved tensor-core FLOP/s over the dense peak, in [0, 1].
        memory_util: achieved share of the HBM bandwidth, in [0, 1].
        idle_w, tdp_w: driver idle and maximum board power [W].
        paused_share: the paused level as a share of the idle-to-TDP span.
        power_limit_tensor_util: tensor utilization at which the board reaches TDP.
        memory_dynamic_share: dynamic share of HBM traffic at full bandwidth.
        clock_fraction: core clock over its maximum; the dynamic part scales as ``f^k``.
        power_cap_w: board power limit [W]; None = TDP. Clamped to [paused, TDP].
        power_exponent: ``k`` of the DVFS law.

    At ``tensor_util ≥ power_limit_tensor_util`` this is TDP; with no activity it is the
    paused level; it never exceeds the cap (transients: :func:`transient_peak_w`).
    """
    ut = np.clip(_as_array(tensor_util), 0.0, 1.0)
    um = np.clip(_as_array(memory_util), 0.0, 1.0)
    tdp = _as_array(tdp_w)
    floor = paused_power_w(idle_w, tdp, paused_share)
    x_t = np.minimum(1.0, ut / max(power_limit_tensor_util, 1e-9))
    g = x_t + memory_dynamic_share * um * (1.0 - x_t)
    clock = np.clip(_as_array(clock_fraction), 0.0, 1.0) ** power_exponent
    p = floor + (tdp - floor) * np.minimum(1.0, g) * clock
    if power_cap_w is not None:
        p = np.minimum(p, np.clip(_as_array(power_cap_w), floor, tdp))
    return np.asarray(p, dtype=np.float64)


def transient_peak_w(tdp_w: ArrayLike, transient_factor: ArrayLike) -> FloatArray:
    """Peak of a board's millisecond power excursion above TDP: ``factor · TDP`` [W]."""
    return np.asarray(_as_array(tdp_w) * np.maximum(1.0, _as_array(transient_factor)), dtype=np.float64)


def equivalent_utilization(power_w: ArrayLike, idle_w: ArrayLike, tdp_w: ArrayLike) -> FloatArray:
    """The utilization the linear model (:func:`board_power_w`) needs to draw ``power_w``.

    ``(P - P_idle) / (P_tdp - P_idle)`` clipped to [0, 1]: how a power computed from achieved
    utilization is handed to code that speaks the linear model (waveforms, caps).
    """
    idle = _as_array(idle_w)
    span = np.maximum(_as_array(tdp_w) - idle, 1e-9)
    return np.asarray(np.clip((_as_array(power_w) - idle) / span, 0.0, 1.0), dtype=np.float64)
