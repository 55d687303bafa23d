"""Cooling plant types (``cooling.yaml``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from megapod.catalog.entry import CatalogEntry
from megapod.quantities import Fraction, PowerW, TempC


class CoolingPlantEntry(CatalogEntry):
    """A heat-rejection plant type with its efficiency vs. outdoor temperature.

    ``cop_points`` are ``(outdoor_temp_c, cop)`` pairs: heat removed per unit of electric
    power of the whole plant (chillers, towers or dry coolers, pumps, fans) at that outdoor
    dry-bulb temperature; interpolated linearly in between.
    """

    kind: Literal["air-chiller", "rear-door", "direct-liquid"]
    cop_points: list[tuple[TempC, float]] = Field(min_length=2)
    supply_temp_c: TempC
    free_cooling_below_c: TempC = Field(description="outdoor dry-bulb under which no compressor runs")
    max_rack_w: PowerW = Field(gt=0, description="highest rack heat load the plant type serves")
    design_outdoor_c: TempC
    derate_per_c: Fraction = Field(description="capacity lost per °C above design_outdoor_c")
    typical_pue: float = Field(ge=1.0, le=3.0)
    temperature_basis: Literal["dry-bulb", "wet-bulb"] = Field(
        "dry-bulb",
        description="outdoor temperature the COP points, free-cooling threshold and derating refer to: "
        "dry-bulb for dry coolers and air-cooled chillers, wet-bulb for evaporative (cooling-tower) plants",
    )
