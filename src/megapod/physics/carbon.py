"""Operational carbon from an hourly grid-intensity profile.

Emissions are the energy drawn each hour times that hour's grid intensity (location-based
scope-2 accounting, GHG Protocol Scope 2 Guidance, 2015):

    m_CO2 [t] = Σ_h E_h [Wh] · I_h [g/Wh] / 10^6

The typical-year intensity profile is ``I_h = Ī · m(month_h) · d(hour_h)`` with the monthly and
daily shapes of the grid-region entry normalized to a mean of 1 (:func:`shaped_year`), so that
the annual mean equals the cited ``Ī``. Hour 0 is 1 January 00:00 local time.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from megapod.catalog.price import GridRegionEntry
from megapod.units import KILO, MEGA

FloatArray = npt.NDArray[np.float64]

_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
GRAMS_PER_TONNE = MEGA


def month_of_hour() -> npt.NDArray[np.int64]:
    """Month index (0-11) of each hour of a 365-day year."""
    return np.repeat(np.arange(12), np.array(_DAYS_IN_MONTH) * 24).astype(np.int64)


def shaped_year(mean: float, hourly_shape: list[float], monthly_shape: list[float]) -> FloatArray:
    """8,760 hourly values ``mean · m(month) · d(hour)``, rescaled so their mean is ``mean``."""
    hours = np.tile(np.asarray(hourly_shape, dtype=np.float64), 365)
    months = np.asarray(monthly_shape, dtype=np.float64)[month_of_hour()]
    raw = hours * months
    return np.asarray(mean * raw / raw.mean(), dtype=np.float64)


def hourly_intensity_g_per_wh(region: GridRegionEntry) -> FloatArray:
    """Hourly grid carbon intensity of ``region`` over a typical year [g CO2 / Wh]."""
    mean_g_per_wh = region.carbon_g_per_kwh / KILO
    return shaped_year(mean_g_per_wh, region.carbon_hourly_shape, region.carbon_monthly_shape)


def emissions_t(energy_wh: npt.ArrayLike, intensity_g_per_wh: npt.ArrayLike) -> float:
    """Tonnes of CO2 for energy ``energy_wh`` drawn at intensities ``intensity_g_per_wh``."""
    e = np.asarray(energy_wh, dtype=np.float64)
    i = np.asarray(intensity_g_per_wh, dtype=np.float64)
    return float(np.sum(e * i)) / GRAMS_PER_TONNE
