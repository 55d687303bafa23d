"""GPU and accelerator entries (``gpus.yaml``)."""

from __future__ import annotations

from typing import Final

from pydantic import Field, field_validator

from megapod.catalog.entry import CatalogEntry
from megapod.quantities import BandwidthBytesPerS, Flops, MemoryBytes, PowerW

DTYPES: Final = ("fp64", "tf32", "bf16", "fp16", "fp8", "fp4", "int8")


class GpuEntry(CatalogEntry):
    """An accelerator: dense peak throughput per data type, memory, power, scale-up link.

    ``peak_flops`` holds *dense* (no structured sparsity) peak FLOP/s per data type.
    ``scale_up_bw_bytes_per_s`` is the per-GPU scale-up (NVLink-class) bandwidth in one
    direction; datasheets quote the sum of both directions, which is twice this.
    """

    vendor: str
    generation: str = Field(description="architecture, e.g. ampere, hopper, blackwell, cdna3")
    peak_flops: dict[str, Flops]
    hbm_bytes: MemoryBytes = Field(gt=0)
    hbm_bw_bytes_per_s: BandwidthBytesPerS = Field(gt=0)
    tdp_w: PowerW = Field(gt=0)
    idle_w: PowerW
    scale_up_bw_bytes_per_s: BandwidthBytesPerS
    max_scale_up_domain: int = Field(ge=1, description="largest scale-up domain offered, GPUs")
    host_link_bw_bytes_per_s: BandwidthBytesPerS = Field(
        0.0, ge=0, description="per-GPU link to host (CPU) memory, one direction; 0 = none used"
    )
    host_memory_bytes: MemoryBytes = Field(0.0, ge=0, description="host memory per GPU for offloading")

    @field_validator("peak_flops")
    @classmethod
    def _known_dtypes(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(DTYPES))
        if unknown:
            raise ValueError(f"unknown data type(s) {unknown}; use {', '.join(DTYPES)}")
        return value

    def peak(self, dtype: str) -> float:
        """Dense peak FLOP/s for ``dtype``; fp16 falls back to bf16 and vice versa."""
        table = self.peak_flops
        if dtype in table:
            return table[dtype]
        alias = {"fp16": "bf16", "bf16": "fp16"}.get(dtype)
        if alias and alias in table:
            return table[alias]
        from megapod.errors import CatalogError

        raise CatalogError(f"gpu {self.name!r} has no {dtype} throughput; it has {', '.join(sorted(table))}")
