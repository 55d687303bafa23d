"""The fleet tier: parked electric vehicles whose onboard computers are rented while idle."""

from __future__ import annotations

from pydantic import Field, field_validator

from megapod.quantities import Fraction
from megapod.spec.base import MAX_COUNT, SpecModel, VehicleRef


class Fleet(SpecModel):
    """Vehicles enrolled in the compute fleet and when they are parked and plugged in.

    ``availability`` gives, for each hour of the day (0-23, local time), the fraction of
    enrolled vehicles parked, plugged in and opted in.
    """

    vehicles: int = Field(ge=1, le=100 * MAX_COUNT)
    module: VehicleRef
    availability: list[Fraction] = Field(min_length=24, max_length=24)
    max_power_draw_w_per_vehicle: float = Field(
        300.0, gt=0, description="cap on the charger draw for compute, per vehicle [W]"
    )

    @field_validator("availability")
    @classmethod
    def _not_all_zero(cls, value: list[float]) -> list[float]:
        if not any(value):
            raise ValueError("availability is zero in every hour: the fleet could never run")
        return value
