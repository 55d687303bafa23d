"""Hourly typical-year outdoor temperatures built from monthly climate normals.

``load_profile(name)`` returns 8,760 hourly dry-bulb and wet-bulb temperatures [°C] for a site
in ``megapod/data/climate_normals.yaml`` (NOAA NCEI 1991-2020 normals for US sites, SMHI
normals for Luleå). The construction (docs/facility-model.md, "Climate"):

1. Monthly mean daily max/min are placed at mid-month and interpolated linearly (periodic over
   the year) to every day.
2. Diurnal cycle: ``T(h) = (T_max + T_min)/2 + (T_max - T_min)/2 · cos(2π (h - 15)/24)``, a
   cosine with its maximum at 15:00 and minimum at 03:00 local time (a simplified form of the
   diurnal models compared by Reicosky et al., Agric. For. Meteorol. 46, 1989).
3. Dew point ``T_dew = T_min(day) - offset`` (FAO Irrigation and Drainage Paper 56, Allen et
   al. 1998, ch. 3: T_dew ≈ T_min in humid climates); relative humidity from the Magnus
   formula (Alduchov & Eskridge 1996: ``e_s = 6.1094·exp(17.625 T / (T + 243.04))`` hPa) and
   wet-bulb from Stull, "Wet-bulb temperature from relative humidity and air temperature",
   J. Appl. Meteor. Climatol. 50, 2011 (eq. 1; stated valid for RH 5-99 %, T -20..50 °C; the
   result is clipped to ``T_dew ≤ T_wb ≤ T``).

A profile built from normals has no weather: no heat waves or cold snaps, so design-day
extremes are milder than in a real year (the planner applies derating at the normals' peak).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from megapod.catalog.climate_normals import climate_names, normals
from megapod.errors import SpecError

FloatArray = npt.NDArray[np.float64]

_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
#: Hour of the daily maximum temperature, local solar time.
HOUR_OF_MAX = 15.0


@dataclass(frozen=True)
class ClimateProfile:
    """An hourly typical year: 8,760 values from 1 January 00:00 local time.

    Attributes:
        name: profile name (``austin-tx`` …).
        dry_bulb_c, wet_bulb_c, dew_point_c: hourly temperatures [°C].
        source: where the monthly normals come from.
    """

    name: str
    dry_bulb_c: FloatArray
    wet_bulb_c: FloatArray
    dew_point_c: FloatArray
    source: str


#: Names of the bundled climate profiles (the catalog's list).
names = climate_names


def load_profile(name: str) -> ClimateProfile:
    """The hourly typical-year profile ``name``; unknown names raise :class:`SpecError`."""
    table = normals()
    if name not in table:
        raise SpecError("location.climate", f"unknown climate profile {name!r}; known: {', '.join(names())}")
    return _build(name)


@cache
def _build(name: str) -> ClimateProfile:
    entry = normals()[name]
    tmax, tmin = daily_normals(entry["mean_max_c"], entry["mean_min_c"])
    dry = diurnal_hourly_c(tmax, tmin)
    dew_daily = tmin - float(entry.get("dew_point_offset_c", 0.0))
    dew = np.minimum(np.repeat(dew_daily, 24), dry)
    rh = relative_humidity_pct(dry, dew)
    wet = np.clip(stull_wet_bulb_c(dry, rh), dew, dry)
    for arr in (dry, wet, dew):
        arr.setflags(write=False)
    return ClimateProfile(name, dry, wet, dew, str(entry["source"]))


def daily_normals(monthly_max_c: list[float], monthly_min_c: list[float]) -> tuple[FloatArray, FloatArray]:
    """Daily max and min [°C] for 365 days, interpolated linearly between mid-month normals."""
    mids = np.cumsum(_DAYS_IN_MONTH) - _DAYS_IN_MONTH / 2.0
    days = np.arange(365) + 0.5
    xp = np.concatenate([mids - 365.0, mids, mids + 365.0])

    def interp(values: list[float]) -> FloatArray:
        v = np.asarray(values, dtype=np.float64)
        if v.shape != (12,):
            raise SpecError("climate", "monthly normals need 12 values")
        return np.asarray(np.interp(days, xp, np.tile(v, 3)), dtype=np.float64)

    return interp(monthly_max_c), interp(monthly_min_c)


def diurnal_hourly_c(daily_max_c: FloatArray, daily_min_c: FloatArray) -> FloatArray:
    """Hourly temperature [°C] from daily max/min with a cosine peaking at 15:00."""
    hours = np.arange(24, dtype=np.float64)
    shape = np.cos(2.0 * np.pi * (hours - HOUR_OF_MAX) / 24.0)
    mean = (daily_max_c + daily_min_c) / 2.0
    amp = (daily_max_c - daily_min_c) / 2.0
    return np.asarray((mean[:, None] + amp[:, None] * shape[None, :]).ravel(), dtype=np.float64)


def saturation_vapour_pressure_hpa(temp_c: npt.ArrayLike) -> FloatArray:
    """Saturation vapour pressure over water [hPa], Magnus form (Alduchov & Eskridge 1996)."""
    t = np.asarray(temp_c, dtype=np.float64)
    return np.asarray(6.1094 * np.exp(17.625 * t / (t + 243.04)), dtype=np.float64)


def relative_humidity_pct(temp_c: npt.ArrayLike, dew_point_c: npt.ArrayLike) -> FloatArray:
    """Relative humidity [%] from air temperature and dew point (Magnus formula)."""
    rh = 100.0 * saturation_vapour_pressure_hpa(dew_point_c) / saturation_vapour_pressure_hpa(temp_c)
    return np.asarray(np.clip(rh, 0.0, 100.0), dtype=np.float64)


def stull_wet_bulb_c(temp_c: npt.ArrayLike, rh_pct: npt.ArrayLike) -> FloatArray:
    """Wet-bulb temperature [°C] from temperature [°C] and RH [%], Stull (2011) eq. 1."""
    t = np.asarray(temp_c, dtype=np.float64)
    rh = np.asarray(rh_pct, dtype=np.float64)
    tw = (
        t * np.arctan(0.151977 * np.sqrt(rh + 8.313659))
        + np.arctan(t + rh)
        - np.arctan(rh - 1.676331)
        + 0.00391838 * rh**1.5 * np.arctan(0.023101 * rh)
        - 4.686035
    )
    return np.asarray(tw, dtype=np.float64)
