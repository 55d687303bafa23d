"""Hourly energy price and grid carbon intensity seen by the twin.

By default both come from the site's grid region (``site.location.grid_region``, catalog kind
``grid-region``) as typical-year hourly profiles built by :mod:`megapod.physics.cost`
(time-of-use price) and :mod:`megapod.physics.carbon` (hourly intensity); run hour ``h``
(``t`` in ``[h·3600, (h+1)·3600)`` s) reads profile hour ``h mod 8,760``, the same mapping as
the weather (hour 0 is 1 January 00:00 local time; the typical year repeats). A scenario may
name another region (``energy.grid_region``) or give a flat value for either signal. A signal
with neither a value nor a region is a :class:`~megapod.errors.SpecError`: no silent zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from megapod import catalog
from megapod.catalog.price import GridRegionEntry
from megapod.errors import SpecError
from megapod.physics.carbon import hourly_intensity_g_per_wh
from megapod.physics.cost import hourly_price_usd_per_wh
from megapod.spec.scenario import Scenario
from megapod.units import HOUR_S, KILO, MEGA

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GridProfile:
    """Price [USD/Wh] and carbon intensity [g CO2/Wh] per hour of a repeating period.

    Each array holds one value per hour of its period (8,760 for a region's typical year, 1
    for a flat value); ``*_from`` says where it came from (a region name or ``"flat"``).
    """

    price_usd_per_wh: FloatArray
    carbon_g_per_wh: FloatArray
    price_from: str
    carbon_from: str

    def price_at(self, hours: npt.NDArray[np.int64]) -> FloatArray:
        """Price of run hours ``hours`` [USD/Wh]."""
        return _at(self.price_usd_per_wh, hours)

    def carbon_at(self, hours: npt.NDArray[np.int64]) -> FloatArray:
        """Carbon intensity of run hours ``hours`` [g CO2/Wh]."""
        return _at(self.carbon_g_per_wh, hours)


def _at(profile: FloatArray, hours: npt.NDArray[np.int64]) -> FloatArray:
    return np.asarray(profile[np.asarray(hours, dtype=np.int64) % len(profile)], dtype=np.float64)


def hour_index(t_s: FloatArray) -> npt.NDArray[np.int64]:
    """Run hour holding each time ``t_s`` [s] (``floor(t / 3600)``)."""
    return np.floor(np.asarray(t_s, dtype=np.float64) / HOUR_S).astype(np.int64)


def grid_profile(scenario: Scenario) -> GridProfile:
    """Resolve the scenario's price and carbon signals (module docstring for the rules)."""
    energy = scenario.energy
    price_flat = energy.price_usd_per_mwh
    carbon_flat = energy.carbon_kg_per_mwh
    region = None
    if price_flat is None or carbon_flat is None:
        missing = "energy.price_usd_per_mwh" if price_flat is None else "energy.carbon_kg_per_mwh"
        region = _region(scenario, missing)
    if price_flat is not None:
        price = np.array([price_flat / MEGA])  # USD/MWh -> USD/Wh
        price_from = "flat"
    else:
        assert region is not None
        price = hourly_price_usd_per_wh(region)
        price_from = region.name
    if carbon_flat is not None:
        carbon = np.array([carbon_flat / KILO])  # kg/MWh = g/kWh -> g/Wh
        carbon_from = "flat"
    else:
        assert region is not None
        carbon = hourly_intensity_g_per_wh(region)
        carbon_from = region.name
    return GridProfile(price, carbon, price_from, carbon_from)


def _region(scenario: Scenario, missing: str) -> GridRegionEntry:
    """The grid region the scenario names, else the site's; SpecError when there is none."""
    name = scenario.energy.grid_region
    field = "energy.grid_region"
    if name is None:
        name = scenario.site.location.grid_region
        field = "site.location.grid_region"
    known = catalog.names("grid-region")
    if not name:
        raise SpecError(
            missing,
            "no value and no grid region to take it from: set site location.grid_region or "
            f"energy.grid_region (one of {', '.join(known)}), or a flat {missing.split('.')[-1]}",
        )
    if name not in known:
        raise SpecError(field, f"{name!r} is not a known grid region; use one of {', '.join(known)}")
    entry = catalog.get("grid-region", name)
    if not isinstance(entry, GridRegionEntry):  # pragma: no cover - the kind ties the model
        raise SpecError(field, f"{name!r} is not a grid-region entry")
    return entry


__all__ = ["GridProfile", "grid_profile", "hour_index"]
