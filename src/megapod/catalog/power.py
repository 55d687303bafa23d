"""Power equipment (``power.yaml``): batteries and efficiency curves of the power chain."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from megapod.catalog.entry import CatalogEntry
from megapod.quantities import DurationS, EnergyWh, Fraction, PowerW


class BatteryEntry(CatalogEntry):
    """A battery energy storage unit (Megapack-class), per unit."""

    kind: Literal["battery"] = "battery"
    energy_wh: EnergyWh = Field(gt=0)
    power_w: PowerW = Field(gt=0)
    round_trip_efficiency: Fraction = Field(gt=0)
    soc_min: Fraction = 0.0
    soc_max: Fraction = 1.0
    footprint_m2: float = Field(gt=0)


class EfficiencyCurveEntry(CatalogEntry):
    """Efficiency vs. load fraction of a power-conversion stage (PSU, UPS, PDU, transformer).

    ``points`` are ``(load_fraction, efficiency)`` pairs, increasing in load; between points
    efficiency is interpolated linearly, and held constant outside them.
    """

    kind: Literal["psu", "ups", "pdu", "transformer"]
    points: list[tuple[Fraction, Fraction]] = Field(min_length=1)

    @model_validator(mode="after")
    def _increasing(self) -> EfficiencyCurveEntry:
        loads = [p[0] for p in self.points]
        if loads != sorted(loads) or len(set(loads)) != len(loads):
            raise ValueError("points must be strictly increasing in load fraction")
        if any(e <= 0 for _, e in self.points):
            raise ValueError("efficiencies must be > 0")
        return self


class GeneratorEntry(CatalogEntry):
    """A standby generator set."""

    kind: Literal["generator"] = "generator"
    power_w: PowerW = Field(gt=0)
    start_time_s: DurationS
