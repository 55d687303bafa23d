"""A pod's power system: utility feed, conversion chain, batteries, generators."""

from __future__ import annotations

from pydantic import Field

from megapod.quantities import DurationS, Fraction, PowerW
from megapod.spec.base import BatteryRef, EfficiencyRef, GeneratorRef, SpecModel


class Battery(SpecModel):
    """A battery bank of identical units."""

    unit: BatteryRef
    units: int = Field(ge=1, le=100_000)
    reserve_soc: Fraction = Field(0.0, description="state of charge kept back for backup")

    @property
    def energy_wh(self) -> float:
        """Usable energy of the bank between its SoC limits [Wh]."""
        return self.units * self.unit.energy_wh * (self.unit.soc_max - self.unit.soc_min)

    @property
    def power_w(self) -> float:
        """Rated power of the bank [W]."""
        return self.units * self.unit.power_w


class Generators(SpecModel):
    """Standby generator sets."""

    unit: GeneratorRef
    units: int = Field(ge=1, le=10_000)

    @property
    def power_w(self) -> float:
        """Combined rated power [W]."""
        return self.units * self.unit.power_w


class PowerChain(SpecModel):
    """Conversion stages from the utility feed to the chips, each an efficiency curve."""

    transformer: EfficiencyRef = "transformer-mv-liquid"  # type: ignore[assignment]
    ups: EfficiencyRef = "ups-double-conversion"  # type: ignore[assignment]
    pdu: EfficiencyRef = "pdu-standard"  # type: ignore[assignment]
    psu: EfficiencyRef = "psu-80plus-titanium"  # type: ignore[assignment]


class PowerSystem(SpecModel):
    """Power for one pod."""

    feed_w: PowerW = Field(gt=0, description="utility feed capacity of the pod")
    chain: PowerChain = PowerChain()
    battery: Battery | None = None
    generators: Generators | None = None
    ride_through_target_s: DurationS | None = Field(
        None, description="time the battery must carry the pod at full load"
    )
