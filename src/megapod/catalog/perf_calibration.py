"""Per-GPU-generation constants of the performance model (``perf_calibration.yaml``).

These are the only tuned numbers of :mod:`megapod.physics.perf`. Each entry is keyed by a GPU
``generation`` (``ampere``, ``hopper`` …) and says where each figure came from: a
micro-benchmark, a vendor library's published figures, or the published training runs it was
checked against. Nothing here is specific to one model or one run.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from megapod.catalog.entry import CatalogEntry
from megapod.quantities import DurationS, Efficiency, MemoryBytes

#: A software stack's year, as the validation cases give it.
StackYear = Annotated[int, Field(ge=2015, le=2100)]


class PerfCalibrationEntry(CatalogEntry):
    """Achievable fractions of peak and fixed costs for one GPU generation.

    Attributes:
        gemm_efficiency: fraction of the dense peak a large, well-shaped GEMM reaches, per
            data type (the asymptote of the size-dependent efficiency curve).
        gemm_overhead_s: fixed time per GEMM kernel (launch and synchronisation) [s].
        gemm_k_overhead: per-tile fixed cost (prologue, epilogue) expressed as extra steps of
            the reduction dimension: a tile of depth k costs as much as ``k + k_overhead`` at
            the asymptotic rate, so thin GEMMs (small K) run less efficiently.
        tile_m, tile_n: output tile of the GEMM kernels; dimensions are padded up to tiles.
        sms: streaming multiprocessors (compute units) that run tiles concurrently; a GEMM
            with fewer tiles than ``sms`` leaves units idle.
        attention_efficiency: fraction of the 16-bit peak reached by fused (flash) attention.
        attention_efficiency_until: the fraction reached on the software stacks of earlier
            years, as ``{last year: efficiency}`` (each year's stacks ran the kernels of their
            time, which later ones outpace on the same GPU); a stack of a year up to a key
            takes the value of the smallest such key, a later or current stack
            ``attention_efficiency``.
        hbm_efficiency: fraction of the HBM bandwidth reached by element-wise kernels.
        kernel_overhead_s: fixed time per memory-bound kernel [s].
        scale_up_efficiency: fraction of the per-GPU scale-up bandwidth collectives reach.
        scale_out_efficiency: fraction of the per-GPU scale-out bandwidth collectives reach.
        scale_up_latency_s, scale_out_latency_s: per-step latency (alpha) of a collective [s].
        memory_reserve_bytes: memory a training process holds beyond its tensors (CUDA
            context, communication buffers, allocator fragmentation) [byte].
    """

    gemm_efficiency: dict[str, Efficiency]
    gemm_overhead_s: DurationS
    gemm_k_overhead: float = Field(ge=0)
    sms: int = Field(ge=1)
    tile_m: int = Field(ge=1)
    tile_n: int = Field(ge=1)
    attention_efficiency: Efficiency
    attention_efficiency_until: dict[StackYear, Efficiency] = Field(default_factory=dict)
    hbm_efficiency: Efficiency
    kernel_overhead_s: DurationS
    scale_up_efficiency: Efficiency
    scale_out_efficiency: Efficiency
    scale_up_latency_s: DurationS
    scale_out_latency_s: DurationS
    memory_reserve_bytes: MemoryBytes

    def attention_efficiency_for(self, year: int | None) -> float:
        """Fused attention's fraction of the 16-bit peak on the stack of ``year`` (None: current)."""
        if year is not None:
            for last in sorted(self.attention_efficiency_until):
                if year <= last:
                    return float(self.attention_efficiency_until[last])
        return float(self.attention_efficiency)
