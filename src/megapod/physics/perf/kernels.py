"""Time of the kernels of one transformer step on one GPU: GEMMs, attention, memory-bound ops.

A GEMM ``C[M,N] = A[M,K] · B[K,N]`` of ``2·M·N·K`` FLOP is split into output tiles of
``tile_m × tile_n``; ``sms`` tiles run at once. Each tile costs ``2·tile_m·tile_n·(K + k0)``
FLOP at the per-unit rate ``eta · P / sms``, where ``k0`` is the tile's fixed prologue and
epilogue cost and ``eta`` the asymptotic efficiency of the data type. A GEMM smaller than one
wave still takes a whole wave. The time is bounded below by the roofline's memory term
``bytes(A, B, C) / (HBM bandwidth · hbm_efficiency)`` and carries a fixed launch overhead:

    t = t0 + max( max(1, tiles / sms) · 2·tm·tn·(K + k0) · sms / (eta·P),  bytes / (eta_m·B) )

so efficiency depends on the shape (padding to tiles, thin K, partial waves), not on one
constant. When M is small the tile narrows to a multiple of 16 rows, and when a GEMM has
fewer tiles than units its reduction is split (split-K) over the idle ones, as cuBLAS does.
Flash attention runs at ``attention_efficiency`` of the 16-bit peak; its backward pass does
2.5 times the forward FLOP (five matrix products against two, Dao 2023).
Element-wise kernels (norms, activations, dropout, residual adds, casts, softmax) are bound by
memory: ``t = bytes / (eta_m·B) + kernels · t_k``.

References:
    Williams, Waterman, Patterson, "Roofline: an insightful visual performance model",
    CACM 52(4), 2009.
    NVIDIA, "Matrix Multiplication Background User's Guide" (tile and wave quantization).
    Dao, "FlashAttention-2: Faster Attention with Better Parallelism and Work Partitioning",
    ICLR 2024 (forward 2 GEMMs, backward 5; causal masking halves the work).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from megapod.catalog.gpu import GpuEntry
from megapod.catalog.perf_calibration import PerfCalibrationEntry
from megapod.errors import CatalogError

#: Row granularity of the narrow tiles used when M is small (decode, tiny batches).
SKINNY_TILE = 16
#: Smallest reduction depth a split-K slice keeps.
SPLIT_K_MIN = 256
#: FLOP ratio of the flash-attention backward pass to its forward pass (5 products vs 2).
FLASH_BACKWARD_RATIO = 2.5


@dataclass(frozen=True, slots=True)
class GemmRate:
    """The constants of the GEMM time model for one GPU and one data type, as floats."""

    peak_flops: float
    efficiency: float
    k_overhead: float
    tile_m: int
    tile_n: int
    sms: int
    overhead_s: float
    hbm_bw_bytes_per_s: float
    bytes_per_element: float

    @classmethod
    def for_gpu(cls, gpu: GpuEntry, cal: PerfCalibrationEntry, dtype: str) -> GemmRate:
        """The GEMM constants of ``gpu`` for ``dtype`` from its generation's calibration.

        ``hbm_bw_bytes_per_s`` is the achievable bandwidth (datasheet × ``hbm_efficiency``).
        """
        efficiency = cal.gemm_efficiency.get(dtype)
        if efficiency is None:
            efficiency = cal.gemm_efficiency.get({"fp16": "bf16", "bf16": "fp16"}.get(dtype, ""))
        if efficiency is None:
            raise CatalogError(
                f"perf-calibration {cal.name!r} has no GEMM efficiency for {dtype}; "
                f"it has {', '.join(sorted(cal.gemm_efficiency))}"
            )
        peak = gpu.peak(dtype)
        return cls(
            peak_flops=peak,
            efficiency=efficiency,
            # the per-tile fixed time is the same for every data type, so in steps of the
            # reduction it grows with the data type's speed-up over 16-bit
            k_overhead=cal.gemm_k_overhead * peak / gpu.peak("bf16"),
            tile_m=cal.tile_m,
            tile_n=cal.tile_n,
            sms=cal.sms,
            overhead_s=cal.gemm_overhead_s,
            hbm_bw_bytes_per_s=gpu.hbm_bw_bytes_per_s * cal.hbm_efficiency,
            bytes_per_element=1.0 if dtype in ("fp8", "int8") else (0.5 if dtype == "fp4" else 2.0),
        )


def gemm_time_s(m: float, n: float, k: float, rate: GemmRate, batch: int = 1) -> float:
    """Time of ``batch`` independent ``M×K · K×N`` GEMMs in one kernel on one GPU [s].

    The model is in the module docstring; a batched GEMM adds its tiles and bytes and pays
    one launch overhead.
    """
    if m <= 0 or n <= 0 or k <= 0:
        return 0.0
    tile_m = min(rate.tile_m, SKINNY_TILE * math.ceil(m / SKINNY_TILE))
    tiles = batch * math.ceil(m / tile_m) * math.ceil(n / rate.tile_n)
    depth = k
    if tiles < rate.sms:  # split the reduction so that idle units share the work
        split = max(1, min(rate.sms // tiles, int(k // SPLIT_K_MIN)))
        tiles *= split
        depth = k / split
    waves = tiles / rate.sms if tiles > rate.sms else 1.0
    per_wave_flops = 2.0 * tile_m * rate.tile_n * (depth + rate.k_overhead) * rate.sms
    compute_s = waves * per_wave_flops / (rate.efficiency * rate.peak_flops)
    memory_s = batch * rate.bytes_per_element * (m * k + k * n + m * n) / rate.hbm_bw_bytes_per_s
    return rate.overhead_s + max(compute_s, memory_s)


def gemm_efficiency(m: float, n: float, k: float, rate: GemmRate) -> float:
    """Achieved fraction of the peak of one GEMM: ``2MNK / (t · P)`` [0..1]."""
    t = gemm_time_s(m, n, k, rate)
    return 2.0 * m * n * k / (t * rate.peak_flops) if t > 0 else 0.0


def flash_attention_time_s(
    flops_forward: float, peak_flops: float, efficiency: float, backward: bool = False
) -> float:
    """Time of fused attention doing ``flops_forward`` forward FLOP [s].

    The backward pass costs :data:`FLASH_BACKWARD_RATIO` times the forward FLOP at the same
    efficiency (Dao 2023, Section 3.1.2).
    """
    flops = flops_forward * (FLASH_BACKWARD_RATIO if backward else 1.0)
    return flops / (peak_flops * efficiency)


def memory_bound_time_s(
    bytes_moved: float, hbm_bw_bytes_per_s: float, kernels: int = 0, kernel_overhead_s: float = 0.0
) -> float:
    """Time of element-wise kernels moving ``bytes_moved`` through HBM [s]."""
    return bytes_moved / hbm_bw_bytes_per_s + kernels * kernel_overhead_s
