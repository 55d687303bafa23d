"""Shared pieces of the spec models: the frozen base and catalog references."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from megapod import catalog
from megapod.catalog.cooling import CoolingPlantEntry
from megapod.catalog.entry import CatalogEntry
from megapod.catalog.fabric import ScaleUpEntry, SwitchEntry
from megapod.catalog.gpu import GpuEntry
from megapod.catalog.power import BatteryEntry, EfficiencyCurveEntry, GeneratorEntry
from megapod.catalog.system import SystemEntry
from megapod.catalog.vehicle import VehicleComputeEntry
from megapod.errors import CatalogError

#: Largest site the spec accepts, in GPUs: above every announced site by an order of
#: magnitude, and small enough that a typo such as 10^9 GPUs fails at once.
MAX_SITE_GPUS = 10_000_000
#: Largest replication count of any one element (pods, racks, servers per rack).
MAX_COUNT = 1_000_000


class SpecModel(BaseModel):
    """Base of every spec model: frozen values, unknown keys and non-finite numbers refused.

    ``.nan``, ``.inf`` and numbers past the float range (``1e400``) are refused in every float
    field, with the field named, before any range check or physics sees them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False)


def _resolver(kind: str) -> BeforeValidator:
    """Turn ``"h100-sxm"`` or ``{catalog: h100-sxm, tdp_w: 600}`` into a catalog entry.

    A mapping without ``catalog`` is a full custom entry and must carry its own ``source``.
    """

    def resolve(value: Any) -> Any:
        try:
            return _resolve(value)
        except CatalogError as exc:  # pydantic records ValueErrors with their location
            raise ValueError(str(exc)) from None

    def _resolve(value: Any) -> Any:
        if isinstance(value, CatalogEntry):
            return value
        if isinstance(value, str):
            return catalog.get(kind, value)
        if isinstance(value, dict) and "catalog" in value:
            fields = {k: v for k, v in value.items() if k != "catalog"}
            return catalog.resolve(kind, str(value["catalog"]), fields)
        if isinstance(value, dict):
            return {"name": f"custom-{kind}", **value}
        return value

    return BeforeValidator(resolve)


GpuRef = Annotated[GpuEntry, _resolver("gpu")]
SystemRef = Annotated[SystemEntry, _resolver("system")]
ScaleUpRef = Annotated[ScaleUpEntry, _resolver("scale-up")]
SwitchRef = Annotated[SwitchEntry, _resolver("switch")]
BatteryRef = Annotated[BatteryEntry, _resolver("battery")]
EfficiencyRef = Annotated[EfficiencyCurveEntry, _resolver("efficiency")]
GeneratorRef = Annotated[GeneratorEntry, _resolver("generator")]
CoolingRef = Annotated[CoolingPlantEntry, _resolver("cooling")]
VehicleRef = Annotated[VehicleComputeEntry, _resolver("vehicle")]
