"""Server systems (``systems.yaml``): a box or rack-scale unit of GPUs with its own overhead."""

from __future__ import annotations

from pydantic import Field

from megapod.catalog.entry import CatalogEntry
from megapod.quantities import PowerW, RateBps


class SystemEntry(CatalogEntry):
    """A server (or rack-scale system such as GB200 NVL72) that holds GPUs.

    ``max_power_w`` is the system's maximum input power with GPUs at TDP, as the vendor
    states it; ``host_power_w`` is the non-GPU share (CPUs, memory, NICs, fans or pumps,
    storage) at full load.
    """

    gpu: str = Field(description="gpus.yaml entry")
    gpus: int = Field(ge=1, le=1024)
    scale_up_domain: int = Field(ge=1, description="GPUs that share one scale-up domain")
    max_power_w: PowerW = Field(gt=0)
    host_power_w: PowerW
    nics: int = Field(ge=0, description="scale-out (compute fabric) NIC ports")
    nic_rate_bps: RateBps
    rack_units: int = Field(ge=1, le=60)
    liquid_cooled: bool = False
