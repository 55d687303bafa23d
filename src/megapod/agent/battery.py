"""The car's power state as the agent sees it: plugged in or not, and the state of charge.

On a machine with a battery (Linux ``/sys/class/power_supply``: a ``Battery`` with
``capacity`` and a mains supply with ``online``) the agent reads it. Anywhere else it runs a
simulated traction battery of the catalog car (``vehicles.yaml``) on the home charger of a
catalog region (``fleet_homes.yaml``), with the fleet model's own rules
(:func:`megapod.fleet.rules.charged_soc`, :func:`~megapod.fleet.rules.drained_soc`, the
charge limit of :mod:`megapod.fleet.availability`): plugged in it charges up to the limit and
computes off the wall; unplugged, computing drains ``power_w + awake_overhead_w``. Simulated
time may run faster than the wall clock (``speed``), so that a test sees the battery move.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from megapod import catalog
from megapod.catalog.vehicle import HomeRegionEntry, VehicleComputeEntry
from megapod.errors import SpecError
from megapod.fleet.rules import charged_soc, drained_soc
from megapod.spec.fleet import CHARGE_LIMIT_SOC

POWER_SUPPLY = Path("/sys/class/power_supply")


@dataclass(frozen=True)
class PowerState:
    """What the agent reports: plugged in, and the state of charge (0-1)."""

    plugged_in: bool
    soc: float


class PowerSource(Protocol):
    """Where the power state comes from; ``read(computing)`` says whether the car computed
    since the last read (a simulated battery drains for it)."""

    def read(self, computing: bool) -> PowerState:
        """The present power state."""
        ...

    def seconds_to(self, floor_soc: float) -> float:
        """Wall seconds a computing car takes to drain to ``floor_soc`` (inf when plugged in)."""
        ...


class SimulatedBattery:
    """A catalog car's battery on a catalog region's home charger, advanced in real time.

    Args:
        module: car computer in the catalog (``vehicle``), e.g. ``tesla-ai4``.
        home: home region in the catalog (``home-region``), e.g. ``us-average``.
        soc: starting state of charge.
        plugged_in: whether the car is on its charger.
        speed: simulated seconds per wall second.
        clock: wall clock [s] (tests pass their own).
    """

    def __init__(
        self,
        module: str = "tesla-ai4",
        home: str = "us-average",
        soc: float = 0.8,
        plugged_in: bool = True,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0.0 <= soc <= 1.0:
            raise SpecError("soc", f"{soc:g}: a state of charge is between 0 and 1")
        if not 0 < speed <= 1e6:
            raise SpecError("battery_speed", f"{speed:g}: must be above 0 and at most 1e6")
        car = catalog.get("vehicle", module)
        region = catalog.get("home-region", home)
        assert isinstance(car, VehicleComputeEntry) and isinstance(region, HomeRegionEntry)
        self.car, self.home = car, region
        self.soc = soc
        self.plugged_in = plugged_in
        self.speed = speed
        self._clock = clock
        self._at = clock()

    @property
    def draw_w(self) -> float:
        """The computer and the awake car [W]."""
        return float(self.car.power_w + self.car.awake_overhead_w)

    def seconds_to(self, floor_soc: float) -> float:
        """Wall seconds of compute on battery until ``floor_soc`` (inf when plugged in)."""
        if self.plugged_in:
            return float("inf")
        energy_wh = max(0.0, self.soc - floor_soc) * self.car.battery_energy_wh
        return energy_wh / self.draw_w * 3600.0 / self.speed

    def read(self, computing: bool) -> PowerState:
        """Advance the battery to now (charging, or draining if the car computed unplugged)."""
        now = self._clock()
        dt_s = max(0.0, now - self._at) * self.speed
        self._at = now
        if self.plugged_in:
            self.soc = float(
                charged_soc(
                    self.soc,
                    dt_s,
                    self.home.charger_power_w,
                    self.home.charger_efficiency,
                    self.car.battery_energy_wh,
                    CHARGE_LIMIT_SOC,
                )
            )
        elif computing:
            self.soc = float(drained_soc(self.soc, dt_s, self.draw_w, self.car.battery_energy_wh))
        return PowerState(self.plugged_in, self.soc)


class SystemBattery:
    """This machine's battery and mains state, from ``/sys/class/power_supply``."""

    def __init__(self, root: Path = POWER_SUPPLY) -> None:
        self.root = root

    def seconds_to(self, floor_soc: float) -> float:
        """Not known for a real machine's draw: inf (the SoC floor is checked between steps)."""
        return float("inf")

    @staticmethod
    def present(root: Path = POWER_SUPPLY) -> bool:
        """Whether this machine reports a battery."""
        return any(_read(p / "type") == "Battery" and (p / "capacity").exists() for p in _entries(root))

    def read(self, computing: bool) -> PowerState:
        """The battery's capacity and whether a mains supply is online."""
        soc, plugged = 1.0, False
        for p in _entries(self.root):
            kind = _read(p / "type")
            if kind == "Battery" and (p / "capacity").exists():
                soc = min(1.0, max(0.0, float(_read(p / "capacity") or 100) / 100.0))
            elif kind in ("Mains", "USB") and _read(p / "online") == "1":
                plugged = True
        return PowerState(plugged, soc)


def _entries(root: Path) -> list[Path]:
    try:
        return sorted(root.iterdir())
    except OSError:
        return []


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""
