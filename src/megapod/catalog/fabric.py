"""Network parts (``fabrics.yaml``): scale-up link generations and scale-out switches."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from megapod.catalog.entry import CatalogEntry
from megapod.quantities import BandwidthBytesPerS, DurationS, PowerW, RateBps


class ScaleUpEntry(CatalogEntry):
    """A scale-up interconnect generation (NVLink, Infinity Fabric).

    ``bw_bytes_per_s`` is per GPU, one direction.
    """

    kind: Literal["scale-up"] = "scale-up"
    bw_bytes_per_s: BandwidthBytesPerS = Field(gt=0)
    latency_s: DurationS
    max_domain: int = Field(ge=1)


class SwitchEntry(CatalogEntry):
    """A scale-out switch: radix, port rate, power."""

    kind: Literal["switch"] = "switch"
    protocol: Literal["infiniband", "ethernet"]
    radix: int = Field(ge=2, description="ports at port_rate_bps")
    port_rate_bps: RateBps = Field(gt=0)
    power_w: PowerW = Field(gt=0, description="typical power with optics, per switch")
    latency_s: DurationS
    in_network_reduction: bool = Field(
        False, description="reduces collectives in the switch (SHARP-style aggregation)"
    )
