"""Servers and racks."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from megapod import catalog
from megapod.quantities import PowerW
from megapod.spec.base import MAX_COUNT, GpuRef, SpecModel, SystemRef


class Server(SpecModel):
    """One server system and the GPU it carries (the system's own GPU unless overridden)."""

    system: SystemRef
    gpu: GpuRef

    @model_validator(mode="before")
    @classmethod
    def _gpu_from_system(cls, data: Any) -> Any:
        if isinstance(data, str):
            data = {"system": data}
        if isinstance(data, dict) and "gpu" not in data:
            system = data.get("system")
            gpu_name = system.gpu if isinstance(system, catalog.SystemEntry) else None
            if isinstance(system, str) and system in catalog.raw("system"):
                gpu_name = catalog.raw("system")[system]["gpu"]
            elif isinstance(system, dict):
                base = catalog.raw("system").get(str(system.get("catalog")), {})
                gpu_name = system.get("gpu", base.get("gpu"))
            if gpu_name is not None:
                data = {**data, "gpu": gpu_name}
        return data

    @property
    def gpus(self) -> int:
        """GPUs in this server."""
        return self.system.gpus

    @property
    def peak_power_w(self) -> float:
        """Server input power with every GPU at TDP [W]: GPUs plus the host share."""
        return self.system.gpus * self.gpu.tdp_w + self.system.host_power_w


class Rack(SpecModel):
    """A rack design, replicated ``count`` times in its pod."""

    name: str = "rack"
    count: int = Field(1, ge=1, le=MAX_COUNT)
    server: Server
    servers: int = Field(ge=1, le=256, description="servers per rack")
    cooling_capacity_w: PowerW = Field(gt=0, description="heat the rack's cooling removes")
    power_limit_w: PowerW | None = Field(None, gt=0, description="rack power distribution limit")

    @property
    def gpus(self) -> int:
        """GPUs in one rack."""
        return self.servers * self.server.gpus

    @property
    def it_peak_w(self) -> float:
        """IT power of one rack with every GPU at TDP [W]."""
        return self.servers * self.server.peak_power_w
