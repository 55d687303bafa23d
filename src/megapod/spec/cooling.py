"""A pod's cooling plant."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from megapod import catalog
from megapod.quantities import PowerW, TempC
from megapod.spec.base import CoolingRef, SpecModel


class Cooling(SpecModel):
    """Heat rejection for one pod: the plant type, its capacity and supply temperature.

    ``supply_temp_c`` and ``design_pue`` come from the plant's catalog entry unless given.
    """

    plant: CoolingRef
    capacity_w: PowerW = Field(gt=0, description="heat rejection capacity at design outdoor temp")
    supply_temp_c: TempC
    design_pue: float = Field(ge=1.0, le=3.0)

    @model_validator(mode="before")
    @classmethod
    def _plant_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        plant = data.get("plant")
        fields: dict[str, Any] = {}
        if isinstance(plant, str) and plant in catalog.raw("cooling"):
            fields = catalog.raw("cooling")[plant]
        elif isinstance(plant, dict) and str(plant.get("catalog")) in catalog.raw("cooling"):
            fields = {**catalog.raw("cooling")[str(plant["catalog"])], **plant}
        elif isinstance(plant, catalog.CoolingPlantEntry):
            fields = plant.model_dump()
        out = dict(data)
        if "supply_temp_c" not in out and "supply_temp_c" in fields:
            out["supply_temp_c"] = fields["supply_temp_c"]
        if "design_pue" not in out and "typical_pue" in fields:
            out["design_pue"] = fields["typical_pue"]
        return out
