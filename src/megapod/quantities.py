"""Pydantic field types for quantities: accept ``"35 kW"`` at the file edge, hold SI floats.

Use these in catalog entries and spec models, e.g. ``tdp_w: PowerW``. A plain number is taken
as already in the SI unit named by the field.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from megapod.units import parse_quantity


def _parser(dimension: str) -> BeforeValidator:
    return BeforeValidator(lambda v: parse_quantity(v, dimension) if v is not None else v)


PowerW = Annotated[float, _parser("power"), Field(ge=0)]
EnergyWh = Annotated[float, _parser("energy"), Field(ge=0)]
RateBps = Annotated[float, _parser("rate"), Field(ge=0)]
"""Data rate in bit/s (network links)."""
BandwidthBytesPerS = Annotated[float, _parser("bandwidth"), Field(ge=0)]
"""Data rate in byte/s (memory and scale-up links)."""
MemoryBytes = Annotated[float, _parser("memory"), Field(ge=0)]
Flops = Annotated[float, _parser("flops"), Field(ge=0)]
DurationS = Annotated[float, _parser("time"), Field(ge=0)]
TempC = Annotated[float, _parser("temperature"), Field(ge=-90, le=150)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Efficiency = Annotated[float, Field(gt=0, le=1)]
