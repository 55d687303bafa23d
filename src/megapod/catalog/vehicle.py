"""Vehicle compute modules (``vehicles.yaml``) for the fleet tier."""

from __future__ import annotations

from pydantic import Field

from megapod.catalog.entry import CatalogEntry
from megapod.quantities import BandwidthBytesPerS, Flops, MemoryBytes, PowerW, RateBps


class VehicleComputeEntry(CatalogEntry):
    """The onboard AI computer of an electric vehicle, as rentable compute."""

    int8_ops: Flops = Field(gt=0, description="peak dense INT8 operations per second")
    fp16_flops: Flops
    memory_bytes: MemoryBytes = Field(gt=0)
    memory_bw_bytes_per_s: BandwidthBytesPerS = Field(gt=0)
    power_w: PowerW = Field(gt=0)
    uplink_rate_bps: RateBps = Field(gt=0, description="home/depot network uplink while parked")
